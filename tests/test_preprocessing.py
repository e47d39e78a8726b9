"""Tests of skanimal.preprocessing: the PSPI -> level target transformer."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_estimator,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from skanimal.datasets import pspi_to_level as datasets_pspi_to_level
from skanimal.preprocessing import PSPILevelTransformer, pspi_to_level

PSPI = np.arange(16)
# Hosseini et al.: 0->0, 1-2->1, 3-4->2, 5-6->3, 7-9->4, 10-12->5, 13-15->6
LEVELS = np.array([0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6])


class RecordingRegressor(RegressorMixin, BaseEstimator):
    """Predicts the mean training target; records the targets it was fitted on."""

    def fit(self, X, y):
        self.fit_y_ = np.asarray(y)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_transform_is_the_spec_binning_and_reexported():
    assert pspi_to_level is datasets_pspi_to_level
    t = PSPILevelTransformer().fit(PSPI)
    assert np.array_equal(t.transform(PSPI), LEVELS)
    column = t.transform(PSPI.reshape(-1, 1).astype(float))
    assert column.shape == (16, 1) and np.array_equal(column[:, 0], LEVELS)
    assert np.array_equal(t.level_counts_, np.bincount(LEVELS))
    with pytest.raises(ValueError, match="between 0 and 15"):
        t.transform([3, 16])
    with pytest.raises(ValueError, match="single column"):
        t.transform(np.zeros((3, 2)))


@pytest.mark.parametrize("representative", ["midpoint", "lower", "mean"])
def test_inverse_maps_levels_into_their_pspi_range(representative):
    pspi = np.array([0, 0, 2, 2, 1, 4, 7, 7, 8, 15])
    t = PSPILevelTransformer(representative=representative).fit(pspi)
    back = t.inverse_transform(np.arange(7))
    low = np.array([0, 1, 3, 5, 7, 10, 13])
    high = np.array([0, 2, 4, 6, 9, 12, 15])
    assert np.all((back >= low) & (back <= high))  # each level's score is in its range
    assert np.array_equal(t.transform(back.round()), np.arange(7))
    if representative == "lower":
        assert np.array_equal(back, low)
    elif representative == "midpoint":
        assert np.array_equal(back, (low + high) / 2)
    else:  # mean of the training scores of each level; midpoint for unseen ones
        expected = [0, np.mean([2, 2, 1]), 4, 5.5, np.mean([7, 7, 8]), 11, 15]
        assert np.allclose(back, expected)
    # non-integer predictions are interpolated (monotonic), out-of-range clipped
    grid = np.linspace(-1, 7, 81)
    mapped = t.inverse_transform(grid)
    assert np.all(np.diff(mapped) >= 0)
    assert mapped[0] == back[0] and mapped[-1] == back[-1]
    assert np.isclose(t.inverse_transform([2.5])[0], (back[2] + back[3]) / 2)
    assert t.inverse_transform(np.array([[1.0], [4.0]])).shape == (2, 1)


def test_in_transformed_target_regressor():
    rng = np.random.default_rng(0)
    pspi = rng.integers(0, 16, size=40)
    X = rng.normal(size=(40, 3))
    model = TransformedTargetRegressor(RecordingRegressor(), transformer=PSPILevelTransformer(),
                                       check_inverse=False).fit(X, pspi)
    # the regressor learns levels, predictions come back on the PSPI scale
    assert np.array_equal(model.regressor_.fit_y_, pspi_to_level(pspi))
    mean_level = pspi_to_level(pspi).mean()
    expected = np.interp(mean_level, np.arange(7), model.transformer_.representatives_)
    assert np.allclose(model.predict(X[:3]), expected)


def test_api():
    t = PSPILevelTransformer()
    with pytest.raises(NotFittedError):
        t.transform(PSPI)
    with pytest.raises(InvalidParameterError, match="representative"):
        PSPILevelTransformer(representative="median").fit(PSPI)
    fitted = PSPILevelTransformer("mean").fit(PSPI)
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.representatives_, fitted.representatives_)
    assert not hasattr(clone(fitted), "representatives_")
    assert fitted.get_feature_names_out().tolist() == ["pain_level"]
    for check in (check_estimator_repr, check_no_attributes_set_in_init,
                  check_parameters_default_constructible, check_get_params_invariance,
                  check_set_params):
        check("PSPILevelTransformer", PSPILevelTransformer())


@pytest.mark.filterwarnings("ignore:Can't test estimator:sklearn.exceptions.SkipTestWarning")
def test_tags_declare_one_column_input_like_label_encoder():
    # a target transformer takes one column, as LabelEncoder does: its tags must not
    # promise a 2-D feature table (scikit-learn's suite failed 20 checks on them)
    tags = get_tags(PSPILevelTransformer())
    assert tags.input_tags.one_d_array and not tags.input_tags.two_d_array
    assert tags.target_tags.one_d_labels
    results = check_estimator(PSPILevelTransformer(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:80]) for r in results
              if r["status"] == "failed"]
    assert results and not failed
    # the one column TransformedTargetRegressor passes still works
    column = PSPILevelTransformer().fit(PSPI.reshape(-1, 1)).transform(PSPI.reshape(-1, 1))
    assert np.array_equal(column[:, 0], LEVELS)
