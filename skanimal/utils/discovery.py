"""Discover skanimal's public estimators, displays and functions.

The functions mirror :mod:`sklearn.utils.discovery`: they walk skanimal's
public modules (skipping private ``_`` modules, tests and
:mod:`skanimal.utils.estimator_checks`) and list what is defined in
skanimal. Importing every public module imports torch, timm and skorch.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter
from pathlib import Path

__all__ = ["all_displays", "all_estimators", "all_functions"]

_MODULE_TO_IGNORE = {"tests", "conftest", "estimator_checks", "__main__"}

_TYPE_FILTERS = ("classifier", "regressor", "transformer", "cluster", "sampler")


def _public_modules():
    """Import and yield every public skanimal module."""
    root = str(Path(__file__).parent.parent)  # the skanimal package
    for _, module_name, _ in pkgutil.walk_packages(path=[root], prefix="skanimal."):
        parts = module_name.split(".")
        if any(part in _MODULE_TO_IGNORE for part in parts) or "._" in module_name:
            continue
        yield import_module(module_name)


def _public_members(predicate):
    """``(name, object)`` of skanimal's public members that satisfy ``predicate``."""
    members = set()
    for module in _public_modules():
        for name, obj in inspect.getmembers(module, predicate):
            module_of = getattr(obj, "__module__", "") or ""
            if name.startswith("_") or not module_of.startswith("skanimal."):
                continue
            members.add((name, obj))
    return members


def _is_abstract(cls):
    return bool(getattr(cls, "__abstractmethods__", None))


def all_estimators(type_filter=None):
    """Get a list of all estimators from skanimal.

    This function crawls skanimal's public modules and gets all classes that
    inherit from :class:`~sklearn.base.BaseEstimator`, like
    :func:`sklearn.utils.discovery.all_estimators`. Abstract classes,
    classes of private modules and classes defined outside skanimal (the
    scikit-learn or skorch classes a module imports) are not included.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "cluster", "transformer", \
"sampler"} or list of such str, default=None
        Which kind of estimators should be returned. If None, no filter is
        applied and all estimators are returned. ``"classifier"``,
        ``"regressor"``, ``"cluster"`` and ``"transformer"`` select the
        subclasses of scikit-learn's mixins of these names; ``"sampler"``
        selects imbalanced-learn samplers (subclasses of
        :class:`imblearn.base.SamplerMixin`, which have ``fit_resample``), as
        imbalanced-learn's own ``all_estimators`` does.
        A list selects the estimators of at least one of the types.

    Returns
    -------
    estimators : list of tuples
        List of ``(name, class)``, where ``name`` is the class name as string
        and ``class`` is the actual type of the class, sorted by name.

    Raises
    ------
    ValueError
        If ``type_filter`` holds a value that is not one of the types above.

    See Also
    --------
    sklearn.utils.discovery.all_estimators : The same for scikit-learn.
    skanimal.utils.estimator_checks.expected_failed_checks : The checks that
        skanimal's estimators fail by design.

    Examples
    --------
    >>> from skanimal.utils.discovery import all_estimators
    >>> estimators = all_estimators()
    >>> type(estimators), type(estimators[0])
    (<class 'list'>, <class 'tuple'>)
    >>> [name for name, _ in all_estimators(type_filter="sampler")]
    ['AugmentingOverSampler', 'RandomFractionUnderSampler', 'SamplerChain']
    >>> all_estimators(type_filter="regressor")[:1]
    [('FineTunedRegressor', <class 'skanimal.nets._finetune.FineTunedRegressor'>)]
    """
    # lazy imports, as in scikit-learn
    from imblearn.base import SamplerMixin
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        ClusterMixin,
        RegressorMixin,
        TransformerMixin,
    )

    estimators = [
        (name, cls)
        for name, cls in _public_members(inspect.isclass)
        if issubclass(cls, BaseEstimator) and not _is_abstract(cls)
    ]
    if type_filter is not None:
        types = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = [t for t in types if t not in _TYPE_FILTERS]
        if unknown:
            raise ValueError(
                "Parameter type_filter must be 'classifier', 'regressor', "
                f"'transformer', 'cluster', 'sampler' or None, got {unknown!r}."
            )
        tests = {
            "classifier": lambda c: issubclass(c, ClassifierMixin),
            "regressor": lambda c: issubclass(c, RegressorMixin),
            "transformer": lambda c: issubclass(c, TransformerMixin),
            "cluster": lambda c: issubclass(c, ClusterMixin),
            "sampler": lambda c: issubclass(c, SamplerMixin),
        }
        estimators = [
            (name, cls) for name, cls in estimators if any(tests[t](cls) for t in types)
        ]
    # sort by name only (itemgetter), for reproducibility
    return sorted(set(estimators), key=itemgetter(0))


def all_displays():
    """Get a list of all displays from skanimal.

    Displays are the public classes whose name ends with ``Display``, like
    :func:`sklearn.utils.discovery.all_displays`.

    Returns
    -------
    displays : list of tuples
        List of ``(name, class)``, where ``name`` is the display class name as
        string and ``class`` is the actual type of the class, sorted by name.

    See Also
    --------
    sklearn.utils.discovery.all_displays : The same for scikit-learn.

    Examples
    --------
    >>> from skanimal.utils.discovery import all_displays
    >>> [name for name, _ in all_displays()]
    ['RiskCoverageDisplay']
    """
    displays = _public_members(inspect.isclass)
    return sorted(
        ((name, cls) for name, cls in displays if name.endswith("Display")),
        key=itemgetter(0),
    )


def all_functions():
    """Get a list of all public functions from skanimal.

    Functions of :mod:`skanimal.utils.estimator_checks` (the checks) are not
    included, like :func:`sklearn.utils.discovery.all_functions`.

    Returns
    -------
    functions : list of tuples
        List of ``(name, function)``, where ``name`` is the function name as
        string and ``function`` is the actual function, sorted by name.

    See Also
    --------
    sklearn.utils.discovery.all_functions : The same for scikit-learn.

    Examples
    --------
    >>> from skanimal.utils.discovery import all_functions
    >>> names = [name for name, _ in all_functions()]
    >>> "check_images" in names, "check_image_estimator" in names
    (True, False)
    """
    functions = _public_members(inspect.isfunction)
    return sorted(
        ((func.__name__, func) for _, func in functions if not func.__name__.startswith("_")),
        key=itemgetter(0),
    )
