"""skanimal.metrics: the report's scores agree with scikit-learn and scipy."""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
)

from skanimal.metrics import (
    BINARY_SCORES,
    binary_scores,
    multiclass_scores,
    regression_scores,
)


@pytest.mark.parametrize("seed", range(5))
def test_binary_scores_agree_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.choice(["no pain", "pain"], 40)
    y_pred = rng.choice(["no pain", "pain"], 40)
    scores = binary_scores(y_true, y_pred, pos_label="pain")
    assert list(scores) == list(BINARY_SCORES)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=["no pain", "pain"]).ravel()
    assert (scores["tp"], scores["tn"], scores["fp"], scores["fn"]) == (tp, tn, fp, fn)
    assert scores["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert scores["f1"] == pytest.approx(f1_score(y_true, y_pred, pos_label="pain"))
    assert scores["specificity"] == pytest.approx(tn / (tn + fp))
    assert scores["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_binary_scores_zero_denominators_are_nan():
    # no positive at all: recall and F1 undefined; predicted positives: F1 = 0
    none = binary_scores([0, 0, 0], [0, 0, 0])
    assert math.isnan(none["recall"]) and math.isnan(none["f1"])
    assert none["balanced_accuracy"] == 1.0  # the one recall that is defined
    some = binary_scores([0, 0, 0], [0, 1, 0])
    assert some["f1"] == 0.0 and math.isnan(some["recall"])
    empty = binary_scores([], [])
    assert empty["tp"] == 0 and all(math.isnan(empty[k]) for k in BINARY_SCORES[4:])


def test_binary_scores_pooled_equals_summed_counts():
    # the PainSeeker protocol: counts summed over folds == counts of all predictions
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    parts = np.array_split(np.arange(60), 6)
    summed = {k: sum(binary_scores(y_true[p], y_pred[p])[k] for p in parts)
              for k in ("tp", "tn", "fp", "fn")}
    pooled = binary_scores(y_true, y_pred)
    assert summed == {k: pooled[k] for k in summed}
    tp, fp, fn = summed["tp"], summed["fp"], summed["fn"]
    assert pooled["f1"] == 2 * tp / (2 * tp + fp + fn)


def test_binary_scores_one_versus_rest_and_errors():
    scores = binary_scores([2, 1, 0, 2], [2, 0, 0, 1], pos_label=2)
    assert (scores["tp"], scores["fn"], scores["tn"], scores["fp"]) == (1, 1, 2, 0)
    with pytest.raises(ValueError, match="4 and 3 samples"):
        binary_scores([0, 1, 0, 1], [0, 1, 0])


def test_multiclass_scores_agree_with_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 50), rng.integers(0, 4, 50) % 3
    scores = multiclass_scores(y_true, y_pred, labels=[0, 1, 2])
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2],
                                                 zero_division=np.nan)
    for c in range(3):
        assert scores[f"precision[{c}]"] == pytest.approx(p[c])
        assert scores[f"f1[{c}]"] == pytest.approx(f[c])
    assert scores["recall_macro"] == pytest.approx(np.mean(r))
    # a class absent from a subset is NaN and left out of the macro average
    sub = multiclass_scores([0, 0, 1], [0, 0, 1], labels=[0, 1, 2])
    assert math.isnan(sub["recall[2]"]) and sub["recall_macro"] == 1.0


def test_regression_scores_agree_with_scipy_and_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=30)
    y_pred = y_true + rng.normal(0, 0.5, 30)
    scores = regression_scores(y_true, y_pred)
    assert scores["pearson_r"] == pytest.approx(stats.pearsonr(y_true, y_pred).statistic)
    assert scores["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred))
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean((y_true - y_pred) ** 2)))
    assert scores["r2"] == pytest.approx(r2_score(y_true, y_pred))
    constant = regression_scores([1.0, 1.0, 1.0], [0.5, 1.0, 2.0])
    assert math.isnan(constant["pearson_r"]) and math.isnan(constant["r2"])
    assert constant["mae"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="numeric"):
        regression_scores(["a", "b"], [1, 2])
