"""Tests of skanimal.utils.discovery: every public estimator, display and function is found."""

import inspect

import pytest
from imblearn.base import SamplerMixin
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
)

import skanimal.features
import skanimal.nets
import skanimal.sampling
import skanimal.selective
from skanimal.utils.discovery import all_displays, all_estimators, all_functions

PUBLIC_PACKAGES = [
    "benchmark", "datasets", "evaluation", "explain", "features", "metrics",
    "model_selection", "nets", "pipeline", "preprocessing", "sampling", "selective", "utils",
]


def _exported_estimators():
    """Every estimator class in the ``__all__`` of a public package, found independently."""
    import importlib

    found = set()
    for package in PUBLIC_PACKAGES:
        try:
            module = importlib.import_module(f"skanimal.{package}")
        except ModuleNotFoundError:  # a package not (yet) in this version
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found.add((name, obj))
    return found


def test_all_estimators_lists_every_exported_estimator_once_sorted():
    estimators = all_estimators()
    names = [name for name, _ in estimators]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert set(estimators) == _exported_estimators()
    # the ones the papers' methods are built from, by name
    assert {"LBPFeatures", "DeepFeatures", "FineTunedClassifier", "PainSeekerClassifier",
            "ConfidenceThresholdClassifier", "SamplerChain", "SubjectSearchCV"} <= set(names)
    for name, cls in estimators:
        assert cls.__name__ == name and cls.__module__.startswith("skanimal.")
        assert not getattr(cls, "__abstractmethods__", None)


def test_all_estimators_skips_private_imported_and_non_estimators():
    names = {name for name, _ in all_estimators()}
    # non-estimator public classes
    assert not names & {"EmbeddingCache", "AugmentedImage", "GroupValidSplit",
                        "PainSeekerModule", "ImageDataset", "RiskCoverageDisplay"}
    # private bases and the mixins of skanimal.base
    assert not any(name.startswith("_") for name in names)
    assert "ImageInputMixin" not in names and "ImageNetMixin" not in names
    # classes of other libraries that skanimal's modules import
    assert "BaseEstimator" not in names and "LogisticRegression" not in names


@pytest.mark.parametrize("type_filter, mixin", [
    ("classifier", ClassifierMixin),
    ("regressor", RegressorMixin),
    ("transformer", TransformerMixin),
    ("sampler", SamplerMixin),
])
def test_type_filter_selects_by_mixin(type_filter, mixin):
    everything = all_estimators()
    selected = all_estimators(type_filter=type_filter)
    assert selected == [(n, c) for n, c in everything if issubclass(c, mixin)]
    assert selected  # skanimal has at least one of each


def test_type_filter_values():
    names = lambda est: [name for name, _ in est]  # noqa: E731
    assert names(all_estimators("sampler")) == [
        "AugmentingOverSampler", "RandomFractionUnderSampler", "SamplerChain"]
    assert names(all_estimators(type_filter="regressor")) == ["FineTunedRegressor"]
    assert "PainSeekerClassifier" in names(all_estimators("classifier"))
    assert "LBPFeatures" in names(all_estimators("transformer"))
    assert all_estimators(type_filter="cluster") == []
    both = all_estimators(type_filter=["classifier", "regressor"])
    assert names(both) == sorted(names(all_estimators("classifier"))
                                 + names(all_estimators("regressor")))
    # the list given is not consumed (scikit-learn copies it too)
    filters = ["sampler", "regressor"]
    all_estimators(type_filter=filters)
    assert filters == ["sampler", "regressor"]
    with pytest.raises(ValueError, match=r"type_filter must be .*'sampler'.*\['tree'\]"):
        all_estimators(type_filter=["classifier", "tree"])
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="classifiers")


def test_all_displays():
    assert all_displays() == [("RiskCoverageDisplay", skanimal.selective.RiskCoverageDisplay)]


def test_all_functions():
    functions = all_functions()
    names = [name for name, _ in functions]
    assert names == sorted(names) and len(set(names)) == len(names)
    for name in ("check_images", "make_lbp_svm", "make_paper_sampler", "prsc_loss",
                 "all_estimators"):
        assert name in names
    for name, func in functions:
        assert inspect.isfunction(func) and func.__name__ == name
        assert func.__module__.startswith("skanimal.")
        assert func.__module__ != "skanimal.utils.estimator_checks"
    assert "check_image_estimator" not in names and "check_fit_returns_self" not in names
    assert not any(name.startswith("_") for name in names)
    # re-exported once, from wherever it is public
    assert dict(functions)["make_lbp_svm"] is skanimal.features.make_lbp_svm
    assert dict(functions)["make_paper_sampler"] is skanimal.sampling.make_paper_sampler
    assert dict(functions)["prsc_loss"] is skanimal.nets.prsc_loss
