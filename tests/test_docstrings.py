"""Every public class, function and method has a valid numpydoc docstring.

The Sphinx build validates parameters and returns of everything it documents;
this test checks, without Sphinx, each public name exported in an ``__all__``
(with an Examples section) and each public method or property those classes
define, so that a new public object cannot land without its documentation.
numpydoc is a test dependency: the test never skips.
"""

import importlib
import inspect

import pytest
from numpydoc import validate as numpydoc_validate

PUBLIC_MODULES = [
    "skanimal",  # saved models: save_model, load_model, read_model_metadata
    "skanimal.base",
    "skanimal.benchmark",
    "skanimal.datasets",
    "skanimal.evaluation",
    "skanimal.exceptions",
    "skanimal.explain",
    "skanimal.features",
    "skanimal.metrics",
    "skanimal.model_selection",
    "skanimal.nets",
    "skanimal.pipeline",
    "skanimal.preprocessing",
    "skanimal.sampling",
    "skanimal.scoring",
    "skanimal.selective",
    "skanimal.utils",
    "skanimal.utils.discovery",
    "skanimal.utils.estimator_checks",
    "skanimal.video",
]

# numpydoc's codes checked everywhere: a docstring exists (GL08), sections in
# order (GL07), every parameter documented, with a type, in signature order
# and with a capitalised description (PR01-PR04, PR08), a summary line
# (SS01, SS02) and a Returns section (RT01)
CODES = {"GL07", "GL08", "PR01", "PR02", "PR03", "PR04", "PR08", "SS01", "SS02", "RT01"}
# public classes and functions also need a runnable example
TOP_LEVEL_CODES = CODES | {"EX01"}


def _public_objects():
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not obj.__module__.startswith("skanimal"):
                continue
            # the single checks of the check suite are, as in scikit-learn,
            # documented through check_image_estimator and need no example
            single_check = modname.endswith("estimator_checks") and name.startswith(
                "check_") and name != "check_image_estimator"
            if single_check:
                continue
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            yield qualname, "top"
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if not attr.startswith("_") and (callable(value)
                                                     or isinstance(value, property)):
                        yield f"{qualname}.{attr}", "member"


OBJECTS = dict(_public_objects())


def test_every_public_module_is_listed():
    import pkgutil

    import skanimal

    subpackages = {f"skanimal.{m.name}" for m in pkgutil.iter_modules(skanimal.__path__)
                   if not m.name.startswith("_") and m.name != "cli"}
    assert subpackages <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_public_docstring(name):
    codes = TOP_LEVEL_CODES if OBJECTS[name] == "top" else CODES
    result = numpydoc_validate.validate(name)
    errors = {code: msg for code, msg in result["errors"] if code in codes}
    assert not errors, f"{name}: {errors}"


@pytest.mark.parametrize("name", sorted(n for n, kind in OBJECTS.items() if kind == "top"))
def test_a_docstring_naming_a_paper_cites_it(name):
    # shipped text cites the source papers in a numpydoc References section
    module, _, attr = name.rpartition(".")
    doc = inspect.getdoc(getattr(importlib.import_module(module), attr)) or ""
    if "et al" in doc.split("References")[0]:
        assert "\nReferences\n----------\n.. [1] " in doc, name
    assert "SPEC" not in doc and "PERF_NOTES" not in doc, name
