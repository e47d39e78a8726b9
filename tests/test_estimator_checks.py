"""Tests for skanimal.utils.estimator_checks: it passes good estimators, fails broken ones."""

import numbers
import os

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from skanimal.features import LBPFeatures, make_lbp_svm
from skanimal.utils import check_images, load_image
from skanimal.utils.estimator_checks import (
    check_image_estimator,
    check_paths_arrays_equal,
    estimator_checks_generator,
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
        LBPFeatures(),
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
