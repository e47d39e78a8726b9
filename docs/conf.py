"""Sphinx configuration for skanimal's documentation."""

import os
import socket
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
import skanimal  # noqa: E402

project = "skanimal"
author = "the skanimal developers"
copyright = "2026, the skanimal developers"
release = skanimal.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
]

templates_path = ["_templates"]
# keep "--flag" as written (no en dash) in text generated from the CLI's help
smartquotes_action = "qe"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "**.md5", "sg_execution_times.rst"]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc's validator: every documented docstring has its parameters and
# returns; a missing one fails the build (warnings are errors). Examples
# sections on public classes and functions are checked by
# tests/test_docstrings.py (methods, as in scikit-learn, need none).
numpydoc_validation_checks = {"PR01", "PR02", "RT01", "SA04", "GL08"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.on_[a-z_]+$", r"\.initialize$",
                               r"\.get_params_for_optimizer$", r"\.__repr__$", r"\.set_output$",
                               r"\.set_params$", r"\.get_params$", r"\.fit_transform$",
                               r"\.get_metadata_routing$", r"\.set_fit_request$",
                               r"\.set_transform_request$", r"\.set_score_request$",
                               r"\.set_predict_request$", r"\.score$", r"\.pipeline$"}

html_theme = "pydata_sphinx_theme"
html_title = f"skanimal {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"skanimal": None},
    "doc_module": ("skanimal",),
    "backreferences_dir": "generated/backreferences",
}

warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")


def _online(host="docs.python.org", timeout=3.0):
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


# Cross-links to the libraries skanimal builds on; only when their inventories
# can be fetched (CI and offline machines build without them, warning-free).
intersphinx_mapping = {}
if _online():
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "PIL": ("https://pillow.readthedocs.io/en/stable", None),
        "skimage": ("https://scikit-image.org/docs/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "timm": ("https://huggingface.co/docs/timm/main/en", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's generated metadata-request methods refer to its own
    # glossary; they are documented in scikit-learn's user guide instead.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
