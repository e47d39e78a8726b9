"""skanimal: scikit-learn-compatible recognition of pain and emotional states from faces.

Subpackages
-----------
datasets
    The built-in generated dataset and loaders for manifests, image folders and
    UNBC-McMaster.
features
    Image transformers: local binary patterns and frozen deep features, cached.
nets
    Networks trained end to end (PainSeeker, fine-tuned backbones).
selective
    Abstaining classifiers, selective metrics and agreement with human scores.
sampling
    Class-imbalance samplers for image paths, image arrays and embeddings.
pipeline
    imbalanced-learn's pipeline, with groups and other per-sample fit parameters
    resampled with X and y.
preprocessing
    Target transformers (PSPI to pain level).
model_selection
    Subject-wise hyper-parameter search with Optuna.
evaluation
    Subject-wise evaluation reports, per-animal aggregation and result tables.
explain
    Attention maps over the faces.
benchmark
    The benchmark suite behind ``skanimal benchmark``.
utils
    Image input, validation and the image-estimator check suite.
exceptions
    :class:`SkanimalError`, the base class of the errors the user can fix.

Saved models
------------
:func:`save_model` writes a fitted estimator (a pipeline, an abstaining
classifier, a network) to one file; :func:`load_model` loads it without
running code from the file; :func:`read_model_metadata` reads what it is.
"""

__version__ = "0.1.0.dev0"

from .exceptions import SkanimalError  # noqa: E402  (after __version__, which submodules read)

__all__ = [
    "ModelExistsError",
    "ModelFileError",
    "ModelNotFoundError",
    "SkanimalError",
    "__version__",
    "load_model",
    "read_model_metadata",
    "save_model",
]

# Saved models (skanimal._persist) import scikit-learn, skops and torch when
# used: ``import skanimal`` stays light.
_PERSIST_NAMES = {"ModelExistsError", "ModelFileError", "ModelNotFoundError", "load_model",
                  "read_model_metadata", "save_model"}


def __getattr__(name):
    if name in _PERSIST_NAMES:
        from . import _persist

        return getattr(_persist, name)
    raise AttributeError(f"module 'skanimal' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _PERSIST_NAMES)
