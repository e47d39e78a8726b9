"""Tests for skanimal.utils.estimator_checks: it passes good estimators, fails broken ones."""

import importlib
import inspect
import numbers
import os
from functools import partial

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)
from sklearn.utils.validation import check_is_fitted

from skanimal.features import LBPFeatures, make_lbp_svm
from skanimal.utils import check_images, load_image
from skanimal.utils.discovery import all_estimators
from skanimal.utils.estimator_checks import (
    check_image_estimator,
    check_paths_arrays_equal,
    estimator_checks_generator,
    expected_failed_checks,
    make_check_images,
    parametrize_with_checks,
)

# --------------------------------------------------------------------------
# A small correct image transformer, and broken variants of it
# --------------------------------------------------------------------------


class MeanColourGrid(TransformerMixin, BaseEstimator):
    """Mean RGB colour of each cell of a grid (a correct image transformer)."""

    _parameter_constraints = {"grid": [Interval(numbers.Integral, 1, None, closed="left")]}

    def __init__(self, grid=2):
        self.grid = grid

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        check_images(X)
        self.n_features_out_ = 3 * self.grid**2
        return self

    def _load(self, x, i):
        return load_image(x, mode="RGB", size=(16, 16), index=i).astype(np.float64)

    def transform(self, X):
        check_is_fitted(self)
        X = check_images(X)
        g = self.grid
        out = [
            self._load(x, i).reshape(g, 16 // g, g, 16 // g, 3).mean(axis=(1, 3)).ravel()
            for i, x in enumerate(X)
        ]
        return np.asarray(out)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray([f"mean{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags


class SetsAttributeInInit(MeanColourGrid):
    def __init__(self, grid=2):
        self.grid = grid
        self.cache = {}


class BatchDependent(MeanColourGrid):
    """Centres each batch on its own mean: the output of an image depends on its batch."""

    def transform(self, X):
        Xt = super().transform(X)
        return Xt - Xt.mean(axis=0)


class IgnoresArrayScale(MeanColourGrid):
    """Reads files as 0-255 but leaves arrays as they come (uint8 vs float 0-1)."""

    def _load(self, x, i):
        if isinstance(x, np.ndarray):
            return np.resize(x, (16, 16, 3)).astype(np.float64)
        return super()._load(x, i)


class MutatesParameter(MeanColourGrid):
    """Stores a derived value in a parameter during fit."""

    _parameter_constraints = {"grid": [Interval(numbers.Integral, 1, None, closed="left"),
                                       tuple]}

    def fit(self, X, y=None):
        if isinstance(self.grid, tuple):
            self.grid = self.grid[0]
        return super().fit(X, y)

    @classmethod
    def _get_test_params(cls):
        return {"grid": (2, 2)}


class SwallowsMissingFiles(MeanColourGrid):
    """Returns zeros for unreadable files instead of raising."""

    def _load(self, x, i):
        if isinstance(x, str) and not os.path.exists(x):
            return np.zeros((16, 16, 3))
        return super()._load(x, i)


class WritesNextToImages(MeanColourGrid):
    """Leaves a cache file beside each image it reads."""

    def _load(self, x, i):
        if isinstance(x, str):
            with open(x + ".cache", "w") as fh:
                fh.write("cached")
        return super()._load(x, i)


class NoFittedCheck(MeanColourGrid):
    """transform works before fit."""

    def transform(self, X):
        X = check_images(X)
        return np.asarray([self._load(x, i).mean(axis=(0, 1)) for i, x in enumerate(X)])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray(["r", "g", "b"], dtype=object)


class RowPositionLeaks(MeanColourGrid):
    """Adds each image's position in X to its features."""

    def transform(self, X):
        Xt = super().transform(X)
        return Xt + np.arange(len(Xt))[:, None]


def _failed(estimator):
    results = check_image_estimator(estimator, on_fail=None)
    return {r["check"] for r in results if r["status"] == "failed"}


# --------------------------------------------------------------------------
# The suite on skanimal's estimators and on correct small ones
# --------------------------------------------------------------------------


@parametrize_with_checks(
    [
        # LBPFeatures() itself runs in test_public_image_estimators, from all_estimators
        make_lbp_svm("R3P8-4x4").set_params(lbpfeatures__image_size=40),
        make_pipeline(LBPFeatures(grid=2, image_size=32), Ridge()),
        make_pipeline(MeanColourGrid(), StandardScaler(), LogisticRegression()),
        MeanColourGrid(),
    ]
)
def test_estimators_pass_the_suite(estimator, check):
    check(estimator)


def test_broken_estimators_fail_the_intended_checks():
    assert _failed(MeanColourGrid()) == set()
    assert _failed(SetsAttributeInInit()) == {"check_no_attributes_set_in_init"}
    # Centring by the batch mean is permutation-equivariant, so only the
    # batch-split check can see it.
    assert _failed(BatchDependent()) == {"check_subset_invariance"}
    assert _failed(IgnoresArrayScale()) == {
        "check_paths_arrays_equal",
        "check_greyscale_input",
        "check_cross_val_score_groups",
    }
    # A parameter is also a public attribute: both fit checks see the change.
    assert _failed(MutatesParameter()) == {
        "check_fit_does_not_change_params",
        "check_fit_sets_fitted_attributes_only",
    }
    assert _failed(SwallowsMissingFiles()) == {"check_missing_file_error"}
    assert _failed(WritesNextToImages()) == {"check_input_not_modified"}
    assert _failed(NoFittedCheck()) == {"check_unfitted_raises"}
    assert _failed(RowPositionLeaks()) == {
        "check_sample_order_invariance",
        "check_subset_invariance",
    }


def test_on_fail_raise_names_the_check():
    with pytest.raises(AssertionError, match="check_subset_invariance|batch") as info:
        check_image_estimator(BatchDependent())
    notes = getattr(info.value, "__notes__", [])
    assert any("check_subset_invariance failed for BatchDependent" in n for n in notes)


def test_expected_failed_checks_are_skipped():
    results = check_image_estimator(
        BatchDependent(),
        expected_failed_checks={"check_subset_invariance": "centres batches"},
    )
    status = {r["check"]: r["status"] for r in results}
    assert status["check_subset_invariance"] == "skipped"
    assert set(status.values()) == {"passed", "skipped"}
    with pytest.raises(ValueError, match="on_fail"):
        check_image_estimator(MeanColourGrid(), on_fail="warn")


def test_test_params_hook_and_kinds():
    pairs = list(estimator_checks_generator(LBPFeatures()))
    names = [check.func.__name__ for _, check in pairs]
    # API checks once on the instance as given, data checks once per test-param set.
    assert names.count("check_estimator_repr") == 1
    assert names.count("check_subset_invariance") == len(LBPFeatures._get_test_params())
    data_instances = {repr(est) for est, check in pairs
                      if check.func.__name__ == "check_subset_invariance"}
    assert data_instances == {repr(LBPFeatures(**p)) for p in LBPFeatures._get_test_params()}
    given = list(estimator_checks_generator(LBPFeatures(), use_test_params=False))
    assert {repr(est) for est, _ in given} == {"LBPFeatures()"}
    # transformer checks for transformers, prediction checks for classifiers
    assert "check_set_output_pandas" in names and "check_predictions" not in names
    clf_names = {c.func.__name__ for _, c in estimator_checks_generator(make_lbp_svm())}
    assert "check_predictions" in clf_names and "check_set_output_pandas" not in clf_names


def test_parametrize_ids_and_xfail_marks():
    mark = parametrize_with_checks(
        [BatchDependent()],
        expected_failed_checks=lambda est: {"check_subset_invariance": "centres batches"},
    ).mark
    argnames, params = mark.args
    assert argnames == "estimator, check"
    ids = [
        "-".join(mark.kwargs["ids"](v) for v in (p.values if hasattr(p, "values") else p))
        for p in params
    ]
    assert "BatchDependent()-check_subset_invariance" in ids
    marked = [p for p in params if hasattr(p, "marks") and p.marks]
    assert len(marked) == 1 and marked[0].marks[0].name == "xfail"
    with pytest.raises(TypeError, match="instances"):
        parametrize_with_checks([MeanColourGrid])


def test_check_images_are_real_and_structured():
    images, y, groups = make_check_images()
    assert images.dtype == np.uint8 and images.shape[-1] == 3
    assert images.std() > 20  # not flat
    for g in np.unique(groups):  # every subject has both labels
        assert set(y[groups == g]) == {0, 1}


def test_single_check_can_be_called_directly():
    check_paths_arrays_equal("MeanColourGrid", MeanColourGrid())
    with pytest.raises(AssertionError, match="differs from paths"):
        check_paths_arrays_equal("IgnoresArrayScale", IgnoresArrayScale())


# --------------------------------------------------------------------------
# Every public estimator of skanimal is checked (driven by all_estimators)
# --------------------------------------------------------------------------

# Estimators whose check suite runs in their own area's test module: the slow
# ones (networks, deep features) on the cheap parameters they have there, the
# samplers with imbalanced-learn's checks as well. test_every_public_estimator_is_checked
# verifies that those modules really parametrize them.
CHECKED_IN = {
    "AugmentingOverSampler": "test_sampling",
    "ConfidenceThresholdClassifier": "test_selective",
    "ConfidenceThresholdClassifierCV": "test_selective",
    "DeepFeatures": "test_deep_features",
    "FineTunedClassifier": "test_finetune",
    "PainSeekerClassifier": "test_painseeker",
    "Pipeline": "test_pipeline",
    "RandomFractionUnderSampler": "test_sampling",
    "SamplerChain": "test_sampling",
    "SubjectSearchCV": "test_model_selection",
}

# Constructor arguments of the estimators checked here; the others take none. An
# estimator in CHECKED_IN is checked here too when it is listed here.
INIT_PARAMS = {
    # test_selective checks it with threshold=0; at its default threshold it abstains
    # and fails scikit-learn's checks exactly where expected_failed_checks says
    "ConfidenceThresholdClassifier": {"estimator": LogisticRegression()},
}

# The networks' checks fit a network: FineTunedRegressor shares every code path of
# FineTunedClassifier (whose full suite runs in test_finetune) but the target, so it
# runs the API checks and the checks that see its target only.
FAST_PATH = {
    "FineTunedRegressor": {"check_image_input_tags", "check_unfitted_raises",
                           "check_predictions"},
}


def _is_image_estimator(estimator):
    tags = get_tags(estimator).input_tags
    return not tags.two_d_array and (tags.string or tags.three_d_array)


def _checked_here():
    """Instances of the public estimators checked in this module, and failures to build."""
    image, tabular, not_built = [], [], {}
    for name, cls in all_estimators():
        if name in CHECKED_IN and name not in INIT_PARAMS:
            continue
        try:
            estimator = cls(**INIT_PARAMS.get(name, {}))
        except TypeError as exc:  # required arguments: add them to INIT_PARAMS
            not_built[name] = str(exc)
            continue
        (image if _is_image_estimator(estimator) else tabular).append(estimator)
    return image, tabular, not_built


IMAGE_HERE, TABULAR_HERE, NOT_BUILT = _checked_here()


def _values(param):
    return param.values if hasattr(param, "values") else param


def _check_function(check):
    func = check.func if isinstance(check, partial) else check
    return inspect.unwrap(func)


def _strict(params):
    """The parametrisation with its expected failures strict: an entry that passes fails."""
    out = []
    for param in params:
        marks = getattr(param, "marks", ())
        if not marks:
            out.append(param)
            continue
        strict = [pytest.mark.xfail(reason=m.kwargs["reason"], strict=True)
                  if m.name == "xfail" else m for m in marks]
        out.append(pytest.param(*param.values, marks=strict, id=param.id))
    return out


def _fast_path(params):
    kept = []
    for param in params:
        estimator, check = _values(param)
        allowed = FAST_PATH.get(type(estimator).__name__)
        function = _check_function(check)
        if (allowed is None or function.__module__.startswith("sklearn.")
                or function.__name__ in allowed):
            kept.append(param)
    return kept


_IMAGE_MARK = parametrize_with_checks(
    IMAGE_HERE, expected_failed_checks=expected_failed_checks).mark
_TABULAR_MARK = sklearn_parametrize_with_checks(
    TABULAR_HERE, expected_failed_checks=expected_failed_checks).mark


@pytest.mark.parametrize("estimator, check", _strict(_fast_path(_IMAGE_MARK.args[1])),
                         ids=_IMAGE_MARK.kwargs["ids"])
@pytest.mark.filterwarnings("ignore:.*random weights:UserWarning")
def test_public_image_estimators(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator, check", _strict(_TABULAR_MARK.args[1]),
                         ids=_TABULAR_MARK.kwargs["ids"])
def test_public_estimators_sklearn_checks(estimator, check):
    check(estimator)


def _parametrized_pairs(module):
    """(estimator, check, xfail reason) of every 'estimator, check' test in a module."""
    pairs = []
    for name, test in vars(module).items():
        if not name.startswith("test_") or not callable(test):
            continue
        for mark in getattr(test, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            argnames = mark.args[0]
            if isinstance(argnames, str):
                argnames = [a.strip() for a in argnames.split(",")]
            if list(argnames) != ["estimator", "check"]:
                continue
            for param in mark.args[1]:
                estimator, check = _values(param)
                reasons = [m.kwargs.get("reason") for m in getattr(param, "marks", ())
                           if m.name == "xfail"]
                pairs.append((estimator, check, reasons[0] if reasons else None))
    return pairs


def _suites(pairs, cls):
    """Which check suites run on instances of exactly ``cls``."""
    suites = set()
    for estimator, check, _ in pairs:
        if type(estimator) is not cls:
            continue
        module = _check_function(check).__module__
        if module == "skanimal.utils.estimator_checks":
            suites.add("skanimal")
        elif module.startswith(("sklearn.", "imblearn.")):
            suites.add("sklearn")
    return suites


def _pairs_here():
    return [(*_values(p), None) for mark in (_IMAGE_MARK, _TABULAR_MARK)
            for p in mark.args[1]]


def test_every_public_estimator_is_checked():
    assert not NOT_BUILT, f"add their required arguments to INIT_PARAMS: {NOT_BUILT}"
    assert set(CHECKED_IN) <= {name for name, _ in all_estimators()}, (
        "CHECKED_IN names an estimator that skanimal no longer has")
    here = _pairs_here()
    for name, cls in all_estimators():
        pairs = list(here)
        if name in CHECKED_IN:
            pairs += _parametrized_pairs(importlib.import_module(CHECKED_IN[name]))
        suites = _suites(pairs, cls)
        probe = next((est for est, _, _ in pairs if type(est) is cls), None)
        if probe is None:
            probe = cls(**INIT_PARAMS.get(name, {}))
        # scikit-learn's suite runs only a clone check on image input, so image
        # estimators need skanimal's
        needed = "skanimal" if _is_image_estimator(probe) else "sklearn"
        suite = {"skanimal": "skanimal's image-estimator checks",
                 "sklearn": "scikit-learn's (or imbalanced-learn's) checks"}[needed]
        assert needed in suites, (
            f"{name} is not checked by {suite} in "
            f"{CHECKED_IN.get(name, 'test_estimator_checks')}.py")


@pytest.mark.parametrize("name", sorted(CHECKED_IN))
def test_area_modules_use_the_public_expected_failures(name):
    # one list: the xfails of every check suite are expected_failed_checks(estimator)
    cls = dict(all_estimators())[name]
    pairs = _parametrized_pairs(importlib.import_module(CHECKED_IN[name]))
    for estimator, check, reason in pairs:
        if type(estimator) is not cls or reason is None:
            continue
        check_name = _check_function(check).__name__
        assert expected_failed_checks(estimator).get(check_name) == reason, (
            f"{CHECKED_IN[name]}.py marks {check_name} of {name} as an expected failure "
            "with its own reason; pass expected_failed_checks from "
            "skanimal.utils.estimator_checks instead (and add the failure there)")


def test_expected_failed_checks_reasons():
    from skanimal.nets import FineTunedClassifier, PainSeekerClassifier
    from skanimal.selective import ConfidenceThresholdClassifier

    nets = [expected_failed_checks(FineTunedClassifier()),
            expected_failed_checks(PainSeekerClassifier())]
    assert nets[0] == nets[1] and set(nets[0]) == {
        "check_no_attributes_set_in_init", "check_fit_sets_fitted_attributes_only",
        "check_set_params", "check_param_validation"}
    assert "history_" in nets[0]["check_no_attributes_set_in_init"]
    assert "_params_to_validate" in nets[0]["check_set_params"]
    # an abstaining threshold fails check_classifiers_train; threshold=0 abstains never
    clf = ConfidenceThresholdClassifier(LogisticRegression())
    assert list(expected_failed_checks(clf)) == ["check_classifiers_train"]
    assert "threshold=0.75" in expected_failed_checks(clf)["check_classifiers_train"]
    assert expected_failed_checks(clf.set_params(threshold=0.0)) == {}
    # estimators of other libraries, and skanimal's that pass everything
    assert expected_failed_checks(LogisticRegression()) == {}
    assert expected_failed_checks(LBPFeatures()) == {}
    assert all(isinstance(r, str) and len(r) > 40 for r in nets[0].values())


class BatchDependentTestParams(BatchDependent):
    @classmethod
    def _get_test_params(cls):
        return {"grid": 2}


def test_expected_failed_checks_callable_sees_each_instance():
    # the callable is asked per instance: the API checks run on the estimator as
    # given (grid=4), the data checks on its test-parameter instance (grid=2)
    seen = set()

    def failing(estimator):
        seen.add(estimator.grid)
        return {"check_subset_invariance": "centres batches"} if estimator.grid == 2 else {}

    pairs = list(estimator_checks_generator(
        BatchDependentTestParams(grid=4), expected_failed_checks=failing, mark="xfail"))
    assert seen == {2, 4}
    marked = [p for p in pairs if getattr(p, "marks", ())]
    assert [p.values[0].grid for p in marked] == [2]
    assert [p.values[1].func.__name__ for p in marked] == ["check_subset_invariance"]
    results = check_image_estimator(BatchDependentTestParams(grid=4),
                                    expected_failed_checks=failing, on_fail=None)
    status = {r["check"]: r["status"] for r in results}
    assert status["check_subset_invariance"] == "skipped"
    assert set(status.values()) == {"passed", "skipped"}
