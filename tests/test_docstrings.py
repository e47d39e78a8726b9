"""Every public class and function has a numpydoc docstring with a runnable example.

The Sphinx build validates parameters and returns of everything it documents;
this test checks, without Sphinx, that each public name exported in an
``__all__`` has an Examples section and documents its parameters, so that a
new public function cannot land without them.
"""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = [
    "skanimal.base",
    "skanimal.benchmark",
    "skanimal.datasets",
    "skanimal.evaluation",
    "skanimal.explain",
    "skanimal.features",
    "skanimal.metrics",
    "skanimal.model_selection",
    "skanimal.nets",
    "skanimal.pipeline",
    "skanimal.preprocessing",
    "skanimal.sampling",
    "skanimal.selective",
    "skanimal.utils",
    "skanimal.utils.discovery",
    "skanimal.utils.estimator_checks",
]


def _public_objects():
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            # the single checks of the check suite are, as in scikit-learn,
            # documented through check_image_estimator and need no example
            single_check = modname.endswith("estimator_checks") and name.startswith(
                "check_") and name != "check_image_estimator"
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not single_check:
                yield f"{modname}.{name}"


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_public_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = {code: msg for code, msg in result["errors"]
              if code in {"EX01", "PR01", "PR02", "GL08", "SS01"}}
    assert not errors, f"{name}: {errors}"
