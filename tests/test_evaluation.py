"""Tests of skanimal.evaluation: subject-wise reports and the paper's tables."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import (
    GroupShuffleSplit,
    KFold,
    LeaveOneGroupOut,
)

from skanimal.evaluation import paper_table, subject_report, to_markdown
from skanimal.metrics import binary_scores
from skanimal.nets import FineTunedClassifier

# --------------------------------------------------------------------------- #
# Deterministic estimators whose predictions can be worked out by hand.
# --------------------------------------------------------------------------- #


class BinningClassifier(ClassifierMixin, BaseEstimator):
    """Predict ``classes_[k]``, k = number of `edges` <= X[:, 0].

    Fitting only records the classes (and fails on purpose when the training
    set is smaller than `min_train_size`), so predictions do not depend on the
    fold and can be computed by hand.
    """

    def __init__(self, edges=(0.5,), min_train_size=0):
        self.edges = edges
        self.min_train_size = min_train_size

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        if len(X) < self.min_train_size:
            raise ValueError(f"only {len(X)} training samples")
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        x = np.asarray(X, dtype=float)[:, 0]
        return self.classes_[np.digitize(x, self.edges)]


class FitRaises(ClassifierMixin, BaseEstimator):
    """A classifier whose fit always fails."""

    def fit(self, X, y):
        raise RuntimeError("fit was called")

    def predict(self, X):  # pragma: no cover - never reached
        return np.zeros(len(X))


class RuleRegressor(RegressorMixin, BaseEstimator):
    """Predict ``slope * X[:, 0]``; fitting learns nothing."""

    def __init__(self, slope=2.0):
        self.slope = slope

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return self.slope * np.asarray(X, dtype=float)[:, 0]


# --------------------------------------------------------------------------- #
# A binary toy set, with TP/TN/FP/FN per subject worked out by hand for
# BinningClassifier(edges=(0.5,)) (predict 1 when x >= 0.5):
#   A: y 1 1 1 0,     x .9 .8 .2 .1        -> pred 1 1 0 0      tp2 tn1 fp0 fn1
#   B: y 1 0 0 0 0 0, x .7 .6 .3 .2 .1 .05 -> pred 1 1 0 0 0 0  tp1 tn4 fp1 fn0
#   C: y 0 0,         x .9 .1              -> pred 1 0          tp0 tn1 fp1 fn0
#   D: y 0 0,         x .1 .2              -> pred 0 0          tp0 tn2 fp0 fn0
# The rows are interleaved so that subjects are not contiguous in X.
# --------------------------------------------------------------------------- #

_TOY = [
    ("A", 1, 0.9), ("A", 1, 0.8), ("A", 1, 0.2), ("A", 0, 0.1),
    ("B", 1, 0.7), ("B", 0, 0.6), ("B", 0, 0.3), ("B", 0, 0.2), ("B", 0, 0.1),
    ("B", 0, 0.05),
    ("C", 0, 0.9), ("C", 0, 0.1),
    ("D", 0, 0.1), ("D", 0, 0.2),
]  # fmt: skip
_HAND_COUNTS = {  # (tp, tn, fp, fn)
    "A": (2, 1, 0, 1),
    "B": (1, 4, 1, 0),
    "C": (0, 1, 1, 0),
    "D": (0, 2, 0, 0),
}


@pytest.fixture(scope="module")
def toy():
    order = np.random.default_rng(0).permutation(len(_TOY))
    groups = np.array([_TOY[i][0] for i in order], dtype=object)
    y = np.array([_TOY[i][1] for i in order])
    x = np.array([_TOY[i][2] for i in order])
    X = np.column_stack([x, np.zeros_like(x)])
    return X, y, groups


def _f1(tp, tn, fp, fn):
    den = 2 * tp + fp + fn
    return 2 * tp / den if den else math.nan


def test_binary_per_subject_matches_hand_counts(toy):
    X, y, groups = toy
    report = subject_report(BinningClassifier(), X, y, groups)
    assert report.index.tolist() == ["A", "B", "C", "D", "pooled", "mean", "std"]
    assert report.index.name == "subject"
    assert report.columns.tolist() == [
        "n_images", "tp", "tn", "fp", "fn", "f1", "accuracy", "precision", "recall",
        "specificity",
    ]  # fmt: skip
    for s, (tp, tn, fp, fn) in _HAND_COUNTS.items():
        row = report.loc[s]
        assert row[["tp", "tn", "fp", "fn"]].tolist() == [tp, tn, fp, fn]
        n = tp + tn + fp + fn
        assert row["n_images"] == n
        np.testing.assert_allclose(row["accuracy"], (tp + tn) / n)
        np.testing.assert_allclose(row["f1"], _f1(tp, tn, fp, fn), equal_nan=True)
    # A: 2 tp, 1 fn -> recall 2/3, precision 1; B: one fp -> precision 1/2.
    np.testing.assert_allclose(report.loc["A", ["precision", "recall"]], [1.0, 2 / 3])
    np.testing.assert_allclose(
        report.loc["B", ["precision", "specificity"]], [0.5, 0.8]
    )
    # C has no positives but one positive prediction: F1 = 0 (a real error),
    # recall undefined; D has neither: F1, precision and recall are NaN.
    assert report.loc["C", "f1"] == 0.0 and report.loc["C", "precision"] == 0.0
    assert np.isnan(report.loc["C", "recall"])
    assert report.loc[["D"], ["f1", "precision", "recall"]].isna().all(axis=None)
    assert report.loc["D", "specificity"] == 1.0


def test_binary_pooled_sums_counts_and_differs_from_mean(toy):
    X, y, groups = toy
    report = subject_report(BinningClassifier(), X, y, groups)
    tp, tn, fp, fn = np.sum(list(_HAND_COUNTS.values()), axis=0)  # 3, 8, 2, 1
    pooled = report.loc["pooled"]
    assert pooled[["tp", "tn", "fp", "fn"]].tolist() == [tp, tn, fp, fn]
    assert pooled["n_images"] == len(y)
    np.testing.assert_allclose(pooled["f1"], 2 * tp / (2 * tp + fp + fn))  # 6 / 9
    np.testing.assert_allclose(pooled["accuracy"], (tp + tn) / len(y))  # 11 / 14
    # The mean row averages per-subject values, skipping D's NaN F1.
    per_subject_f1 = [_f1(*c) for s, c in _HAND_COUNTS.items() if s != "D"]
    np.testing.assert_allclose(report.loc["mean", "f1"], np.mean(per_subject_f1))
    assert not np.isclose(report.loc["mean", "f1"], pooled["f1"], atol=0.05)
    # std is the sample standard deviation (ddof=1) over subjects.
    np.testing.assert_allclose(report.loc["std", "f1"], np.std(per_subject_f1, ddof=1))
    accs = [(c[0] + c[1]) / sum(c) for c in _HAND_COUNTS.values()]
    np.testing.assert_allclose(report.loc["std", "accuracy"], np.std(accs, ddof=1))
    assert report.attrs["std_ddof"] == 1


def test_binary_per_subject_agrees_with_sklearn(toy):
    X, y, groups = toy
    report, pred = subject_report(
        BinningClassifier(), X, y, groups, return_predictions=True
    )
    for s in ["A", "B", "C", "D"]:
        part = pred[pred["subject"] == s]
        expected = f1_score(part["y_true"], part["y_pred"], zero_division=np.nan)
        np.testing.assert_allclose(report.loc[s, "f1"], expected, equal_nan=True)
    np.testing.assert_allclose(
        report.loc["pooled", "f1"], f1_score(pred["y_true"], pred["y_pred"])
    )


def test_predictions_follow_the_order_of_X(toy):
    X, y, groups = toy
    _, pred = subject_report(BinningClassifier(), X, y, groups, return_predictions=True)
    assert pred.index.tolist() == list(range(len(y)))
    assert pred.index.name == "position"
    assert pred["subject"].tolist() == groups.tolist()
    np.testing.assert_array_equal(pred["y_true"], y)
    np.testing.assert_array_equal(pred["y_pred"], (X[:, 0] >= 0.5).astype(int))
    # LeaveOneGroupOut holds subjects out in sorted order: A is fold 0, ...
    fold_of = {"A": 0, "B": 1, "C": 2, "D": 3}
    assert pred["fold"].tolist() == [fold_of[g] for g in groups]
    assert pred["y_pred"].dtype == y.dtype


def test_string_labels_default_and_explicit_pos_label(toy):
    X, y, groups = toy
    y_str = np.where(y == 1, "pain", "no pain")
    numeric = subject_report(BinningClassifier(), X, y, groups)
    named = subject_report(BinningClassifier(), X, y_str, groups)
    # "pain" > "no pain": the greater label is positive, like 1 for {0, 1}.
    assert named.attrs["pos_label"] == "pain" and numeric.attrs["pos_label"] == 1
    assert_frame_equal(named, numeric, check_like=False)
    flipped = subject_report(BinningClassifier(), X, y_str, groups, pos_label="no pain")
    np.testing.assert_array_equal(flipped["tp"], numeric["tn"])
    np.testing.assert_array_equal(flipped["fp"], numeric["fn"])
    with pytest.raises(ValueError, match="pos_label='sick' is not one of the labels"):
        subject_report(BinningClassifier(), X, y_str, groups, pos_label="sick")


def test_paper_table3_is_reproduced_from_per_rat_counts():
    """Rebuild per-rat TP/TN/FP/FN from Table 3 of the PainSeeker paper and check
    that the pooled column (summed counts) and the layout match the paper."""
    # Per rat: (no pain, pain) images (SPEC section 3) and the paper's F1/acc.
    sizes = [(56, 165), (102, 108), (148, 50), (138, 92), (63, 119), (34, 63)]
    paper = {
        "PainSeeker (Ours)": "0.8944/84.62 0.7490/70.00 0.5586/75.25 0.6847/69.57 "
        "0.8000/71.43 0.8000/73.20 0.7731/74.17",
        "ResNet-18": "0.8802/80.54 0.7004/66.19 0.4274/66.16 0.6240/59.13 "
        "0.7905/65.93 0.8029/72.16 0.7393/68.01",
        "LBP R1P8 (4x4)": "0.7862/71.95 0.7292/64.29 0.5399/62.12 0.6291/65.65 "
        "0.6923/64.84 0.6087/62.89 0.6854/65.64",
    }
    reports = {}
    for method, cells in paper.items():
        xs, ys, gs = [], [], []
        for rat, ((n_neg, n_pos), cell) in enumerate(zip(sizes, cells.split()), 1):
            f1, acc = (float(v) for v in cell.split("/"))
            correct = round(acc / 100 * (n_neg + n_pos))
            wrong = n_neg + n_pos - correct
            tp = round(f1 * wrong / (2 * (1 - f1)))  # from F1 = 2tp / (2tp + wrong)
            tn = correct - tp
            fn, fp = n_pos - tp, n_neg - tn
            # The feature is the prediction; BinningClassifier replays it.
            ys += [1] * tp + [1] * fn + [0] * tn + [0] * fp
            xs += [1] * tp + [0] * fn + [0] * tn + [1] * fp
            gs += [rat] * (n_neg + n_pos)
        X = np.column_stack([xs, xs]).astype(float)
        reports[method] = subject_report(BinningClassifier(), X, np.array(ys), gs)
    table = paper_table(reports, subject_label="Rat#{}")
    assert table.columns.tolist() == [f"Rat#{k}" for k in range(1, 7)] + ["Pooled"]
    for method, cells in paper.items():
        assert table.loc[method].tolist() == cells.split()
    # The paper's pooled F1 is not the mean of its per-rat F1 values.
    ours = reports["PainSeeker (Ours)"]
    assert abs(ours.loc["mean", "f1"] - ours.loc["pooled", "f1"]) > 0.02


def test_multiclass_hand_computed():
    # BinningClassifier(edges=(1, 2)) predicts the sorted classes "low" for
    # x < 1, "mid" for 1 <= x < 2, "top" for x >= 2.
    #   S1: true low low mid top, x 0 0 1 1  -> pred low low mid mid
    #   S2: true mid top top low, x 1 2 0 2  -> pred mid top low top
    y = np.array(["low", "low", "mid", "top", "mid", "top", "top", "low"], dtype=object)
    x = np.array([0, 0, 1, 1, 1, 2, 0, 2], dtype=float)
    groups = np.array(["S1"] * 4 + ["S2"] * 4)
    X = x[:, None]
    report = subject_report(BinningClassifier(edges=(1, 2)), X, y, groups)
    assert report.attrs["task"] == "multiclass"
    assert report.attrs["classes"] == ["low", "mid", "top"]
    s1 = report.loc["S1"]
    # S1: top never predicted (precision NaN, recall 0, F1 0); low 2/2;
    # mid: tp 1, fp 1 -> precision 0.5, recall 1, F1 2/3.
    assert np.isnan(s1["precision[top]"])
    assert s1["recall[top]"] == 0 and s1["f1[top]"] == 0
    np.testing.assert_allclose(
        s1[["precision[mid]", "recall[mid]", "f1[mid]"]], [0.5, 1, 2 / 3]
    )
    np.testing.assert_allclose(s1["accuracy"], 3 / 4)
    np.testing.assert_allclose(s1["precision_macro"], (1 + 0.5) / 2)  # NaN skipped
    np.testing.assert_allclose(s1["f1_macro"], (0 + 1 + 2 / 3) / 3)
    # Pooled = summed confusion matrix:
    # low tp2 fp1 fn1; mid tp2 fp1 fn0; top tp1 fp1 fn2.
    pooled = report.loc["pooled"]
    np.testing.assert_allclose(pooled["accuracy"], 5 / 8)
    np.testing.assert_allclose(
        pooled[["f1[low]", "f1[mid]", "f1[top]"]], [4 / 6, 4 / 5, 2 / 5]
    )
    p, r, f, _ = precision_recall_fscore_support(
        y, BinningClassifier(edges=(1, 2)).fit(X, y).predict(X), average="macro"
    )
    np.testing.assert_allclose(
        pooled[["precision_macro", "recall_macro", "f1_macro"]], [p, r, f]
    )
    with pytest.raises(ValueError, match="only used with binary"):
        subject_report(BinningClassifier(edges=(1, 2)), X, y, groups, pos_label="top")


def test_multiclass_warns_when_a_training_fold_lacks_a_class():
    y = np.array([0, 1, 2, 0, 1, 0, 1])
    groups = np.array([1, 1, 1, 2, 2, 3, 3])  # only subject 1 has class 2
    X = np.arange(7.0)[:, None]
    message = (
        r"fold 0 \(held-out subject\(s\) \[1\]\) has no sample of "
        r"class\(es\) \[2\]"
    )
    with pytest.warns(UserWarning, match=message):
        report = subject_report(BinningClassifier(edges=(2, 4)), X, y, groups)
    assert report.loc[1, "n_images"] == 3


def test_regression_per_subject_and_pooled():
    y = np.array([1.0, 2.0, 4.0, 0.0, 1.0, 5.0, 3.0])
    x = np.array([0.5, 1.5, 1.5, 0.0, 1.0, 2.0, 9.0])
    groups = np.array(["a", "a", "a", "b", "b", "b", "c"])
    X = x[:, None]
    pred = 2 * x
    metrics = ["pearson_r", "mae", "rmse", "r2"]
    report = subject_report(RuleRegressor(), X, y, groups, metrics=metrics)
    assert report.attrs["task"] == "regression"
    for s in ["a", "b"]:
        m = groups == s
        err = pred[m] - y[m]
        r = np.corrcoef(pred[m], y[m])[0, 1]
        np.testing.assert_allclose(report.loc[s, "pearson_r"], r)
        np.testing.assert_allclose(report.loc[s, "mae"], np.abs(err).mean())
        np.testing.assert_allclose(report.loc[s, "rmse"], np.sqrt((err**2).mean()))
    # One sample: correlation undefined; its error is |18 - 3|.
    assert np.isnan(report.loc["c", "pearson_r"]) and report.loc["c", "mae"] == 15
    # Pooled: all out-of-fold predictions together, not a mean over subjects.
    pooled = report.loc["pooled"]
    np.testing.assert_allclose(pooled["pearson_r"], np.corrcoef(pred, y)[0, 1])
    np.testing.assert_allclose(pooled["rmse"], np.sqrt(np.mean((pred - y) ** 2)))
    mean_mae = report.loc[["a", "b", "c"], "mae"].mean()
    np.testing.assert_allclose(report.loc["mean", "mae"], mean_mae)
    assert report.loc["pooled", "mae"] != report.loc["mean", "mae"]


def test_logistic_regression_matches_a_manual_loop_and_uses_params():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=48) > 0).astype(int)
    groups = np.repeat(np.arange(4), 12)
    w = rng.uniform(0.2, 3.0, size=48)
    est = LogisticRegression(C=0.5)
    _, pred = subject_report(
        est, X, y, groups, params={"sample_weight": w}, return_predictions=True
    )
    expected = np.empty_like(y)
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        fitted = clone(est).fit(X[train], y[train], sample_weight=w[train])
        expected[test] = fitted.predict(X[test])
    np.testing.assert_array_equal(pred["y_pred"], expected)
    assert not hasattr(est, "coef_")  # the estimator itself is never fitted


@pytest.mark.parametrize("kind", ["list", "dataframe"])
def test_X_container_does_not_matter(toy, kind):
    X, y, groups = toy
    Xc = X.tolist() if kind == "list" else pd.DataFrame(X, columns=["x", "z"])
    assert_frame_equal(
        subject_report(BinningClassifier(), Xc, pd.Series(y), pd.Series(groups)),
        subject_report(BinningClassifier(), X, y, groups),
    )


def test_n_jobs_2_equals_n_jobs_1():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    y = (X[:, 1] > 0).astype(int)
    groups = np.repeat(["r1", "r2", "r3", "r4"], 10)
    one = subject_report(LogisticRegression(), X, y, groups, n_jobs=1)
    two = subject_report(LogisticRegression(), X, y, groups, n_jobs=2, verbose=1)
    assert_frame_equal(one, two)
    folds = [f["subjects"] for f in two.attrs["folds"]]
    assert folds == [["r1"], ["r2"], ["r3"], ["r4"]]


def test_group_kfold_int_cv_and_partial_split(toy):
    X, y, groups = toy
    report = subject_report(BinningClassifier(), X, y, groups, cv=2)
    assert "GroupKFold(n_splits=2" in report.attrs["cv"]
    held_out = sorted(s for f in report.attrs["folds"] for s in f["subjects"])
    assert held_out == list("ABCD")
    # Per-subject rows do not depend on how subjects are grouped into folds.
    assert_frame_equal(report, subject_report(BinningClassifier(), X, y, groups))
    # One train/test split (like the dog paper's 22/7 dogs): only tested
    # subjects get rows; the predictions only cover tested samples.
    split = GroupShuffleSplit(n_splits=1, test_size=2, random_state=0)
    rep, pred = subject_report(
        BinningClassifier(), X, y, groups, cv=split, return_predictions=True
    )
    train, test = next(split.split(X, y, groups))
    assert rep.index[:-3].tolist() == sorted(set(groups[test]))
    assert pred.index.tolist() == sorted(test)
    assert rep.loc["pooled", "n_images"] == len(test)


def test_leaking_splitter_is_rejected(toy):
    X, y, groups = toy
    with pytest.raises(ValueError, match=r"not subject-wise: fold 0 has subject\(s\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # KFold ignores groups
            subject_report(BinningClassifier(), X, y, groups, cv=KFold(3))
    # An explicit list of (train, test) pairs is checked too.
    a = np.flatnonzero(groups == "A")
    leaky = [(np.setdiff1d(np.arange(len(y)), a[:2]), a)]  # A's last 2 also train
    with pytest.raises(ValueError, match=r"subject\(s\) \['A'\] in both"):
        subject_report(BinningClassifier(), X, y, groups, cv=leaky)
    with pytest.raises(ValueError, match="at most once|single fold"):
        subject_report(
            BinningClassifier(), X, y, groups,
            cv=GroupShuffleSplit(n_splits=4, test_size=2, random_state=0),
        )  # fmt: skip


def test_single_class_training_fold_fails_before_fitting():
    X = np.arange(9.0)[:, None]
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0])
    groups = np.array(["r1", "r1", "r1", "r2", "r2", "r2", "r3", "r3", "r3"])
    # Holding out r1 leaves only class 0; FitRaises would raise RuntimeError
    # if anything were fitted first.
    message = (
        r"training set of fold 0 \(held-out subject\(s\) \['r1'\]\) contains a "
        r"single class, 0"
    )
    with pytest.raises(ValueError, match=message):
        subject_report(FitRaises(), X, y, groups)


def test_groups_and_y_are_checked(toy):
    X, y, groups = toy
    with pytest.raises(ValueError, match="needs groups"):
        subject_report(BinningClassifier(), X, y, None)
    with pytest.raises(ValueError, match="groups has 13 entries but X and y have 14"):
        subject_report(BinningClassifier(), X, y, groups[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        subject_report(BinningClassifier(), X, y[:-1], groups)
    with pytest.raises(ValueError, match="single subject"):
        subject_report(BinningClassifier(), X, y, np.zeros(len(y)))
    with pytest.raises(ValueError, match="collide with the report's summary rows"):
        renamed = np.where(groups == "A", "pooled", groups)
        subject_report(BinningClassifier(), X, y, renamed)
    with pytest.raises(ValueError, match="The 'cv' parameter"):
        subject_report(BinningClassifier(), X, y, groups, cv="loro")


def test_metrics_selection_and_callables(toy):
    X, y, groups = toy

    def n_predicted_pain(y_true, y_pred):
        return float(np.sum(y_pred == 1))

    report = subject_report(
        BinningClassifier(), X, y, groups,
        metrics=["f1", "sensitivity", "balanced_accuracy", n_predicted_pain],
    )  # fmt: skip
    assert report.columns.tolist() == [
        "n_images", "f1", "sensitivity", "balanced_accuracy", "n_predicted_pain",
    ]  # fmt: skip
    # A: recall 2/3, specificity 1; B: recall 1, specificity 4/5.
    np.testing.assert_allclose(report.loc["A", "balanced_accuracy"], (2 / 3 + 1) / 2)
    np.testing.assert_allclose(report.loc["B", "sensitivity"], 1.0)
    assert report.loc[["A", "B", "C", "D"], "n_predicted_pain"].tolist() == [2, 2, 1, 0]
    assert report.loc["pooled", "n_predicted_pain"] == 5
    with pytest.raises(ValueError, match="Unknown metric 'auc'"):
        subject_report(BinningClassifier(), X, y, groups, metrics=["auc"])
    with pytest.raises(ValueError, match="distinctive __name__"):
        subject_report(BinningClassifier(), X, y, groups, metrics=[lambda t, p: 0.0])


def test_error_score(toy):
    X, y, groups = toy
    # Holding out B (6 images) leaves 8 training images: only fold 1 fails.
    est = BinningClassifier(min_train_size=9)
    with pytest.raises(ValueError, match="only 8 training samples") as info:
        subject_report(est, X, y, groups)
    if hasattr(info.value, "add_note"):  # Python >= 3.11
        notes = " ".join(getattr(info.value, "__notes__", []))
        assert "fold 1 (held-out subject(s) ['B'])" in notes
    with pytest.warns(FitFailedWarning, match="1 of 4 folds failed"):
        report, pred = subject_report(
            est, X, y, groups, error_score=np.nan, return_predictions=True
        )
    assert report.loc["B", "n_images"] == 6
    assert report.loc["B"].drop("n_images").isna().all()
    kept = [c for s, c in _HAND_COUNTS.items() if s != "B"]
    tp, tn, fp, fn = np.sum(kept, axis=0)
    assert report.loc["pooled", ["tp", "tn", "fp", "fn"]].tolist() == [tp, tn, fp, fn]
    assert report.loc["pooled", "n_images"] == len(y) - 6
    assert pred.loc[pred["subject"] == "B", "y_pred"].isna().all()
    assert "only 8 training samples" in report.attrs["folds"][1]["error"]
    with pytest.warns(FitFailedWarning, match="scored 0.0"):
        zero = subject_report(est, X, y, groups, error_score=0.0, metrics=["f1"])
    assert zero.loc["B", "f1"] == 0.0
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        est = BinningClassifier(min_train_size=99)
        subject_report(est, X, y, groups, error_score=np.nan)


def test_attrs_metadata(toy):
    X, y, groups = toy
    report = subject_report(BinningClassifier(), X, y, groups)
    attrs = report.attrs
    assert attrs["task"] == "binary" and attrs["classes"] == [0, 1]
    assert attrs["cv"] == "LeaveOneGroupOut()"
    assert attrs["estimator"] == "BinningClassifier()"
    assert [f["n_test"] for f in attrs["folds"]] == [4, 6, 2, 2]
    assert [f["n_train"] for f in attrs["folds"]] == [10, 8, 12, 12]


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #


def _report(f1s, accs, index):
    index = pd.Index(index, dtype=object)
    return pd.DataFrame({"f1": f1s, "accuracy": accs}, index=index)


def test_paper_table_strings_and_numbers():
    a = _report([0.77312, 0.5, 0.6, 0.55, 0.1], [0.74166, 1.0, 0.5, 0.75, 0.2],
                ["rat01", "rat02", "pooled", "mean", "std"])  # fmt: skip
    b = _report([np.nan, 0.25, 0.3, 0.2], [0.5, 0.0444, 0.4, 0.3],
                ["rat01", "rat03", "pooled", "mean"])  # fmt: skip
    table = paper_table({"A": a, "B": b})
    assert table.index.name == "Method" and table.index.tolist() == ["A", "B"]
    assert table.columns.tolist() == ["rat01", "rat02", "rat03", "Pooled"]
    expected = ["0.7731/74.17", "0.5000/100.00", "", "0.6000/50.00"]
    assert table.loc["A"].tolist() == expected
    assert table.loc["B"].tolist() == ["nan/50.00", "", "0.2500/4.44", "0.3000/40.00"]
    fractions = paper_table(
        {"A": a}, percent_accuracy=False, summary=("pooled", "mean")
    )
    assert fractions.columns.tolist() == ["rat01", "rat02", "Pooled", "Mean"]
    expected = ["0.7731/0.7417", "0.5000/1.0000", "0.6000/0.5000", "0.5500/0.7500"]
    assert fractions.loc["A"].tolist() == expected
    numbers = paper_table({"A": a, "B": b}, numeric=True)
    assert isinstance(numbers.columns, pd.MultiIndex)
    assert numbers.loc["A", ("rat01", "accuracy")] == pytest.approx(74.166)
    assert numbers.loc["A", ("Pooled", "f1")] == 0.6
    assert np.isnan(numbers.loc["B", ("rat02", "f1")])
    with pytest.raises(ValueError, match="report of 'X' has no 'mean' row"):
        paper_table({"A": a, "X": b.drop(index="mean")}, summary="mean")
    with pytest.raises(ValueError, match=r"no column\(s\) \['rmse'\]"):
        paper_table({"A": a}, metrics=("f1", "rmse"))


def test_to_markdown_layout():
    df = pd.DataFrame(
        {"Rat#1": ["0.8944/84.62", "a|b"], "Pooled": [0.77312, np.nan]},
        index=pd.Index(["PainSeeker", "x"], name="Method"),
    )
    lines = to_markdown(df).splitlines()
    assert lines == [
        "| Method     |        Rat#1 | Pooled |",
        "| :--------- | -----------: | -----: |",
        "| PainSeeker | 0.8944/84.62 | 0.7731 |",
        "| x          |         a\\|b |        |",
    ]
    assert to_markdown(df, index=False).splitlines()[0] == "|        Rat#1 | Pooled |"
    report = _report([0.5, 0.6], [0.5, 0.6], [1, "pooled"])
    head = to_markdown(paper_table({"M": report}, numeric=True)).splitlines()[0]
    assert head == "| Method |   1 f1 | 1 accuracy | Pooled f1 | Pooled accuracy |"


def _mean_grey_features(X):
    """Image input -> (mean, std) of the greyscale pixels of each image."""
    from skanimal.utils import check_images, load_image

    X = check_images(X)
    grey = [load_image(x, mode="L", index=i).astype(float) for i, x in enumerate(X)]
    return np.array([[g.mean() / 255, g.std() / 255] for g in grey])


def test_image_paths_and_arrays_give_the_same_report(png_folder, image_labels_groups):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    paths, images = png_folder
    y, groups = image_labels_groups
    features = FunctionTransformer(_mean_grey_features)
    model = make_pipeline(features, LogisticRegression())
    from_paths, pred = subject_report(model, paths, y, groups, return_predictions=True)
    from_arrays = subject_report(model, images, y, groups)
    assert_frame_equal(from_paths, from_arrays)
    assert from_paths.index[:-3].tolist() == [0, 1, 2, 3]
    assert from_paths.loc["pooled", "n_images"] == len(paths)
    np.testing.assert_array_equal(pred["y_true"], y)


# --------------------------------------------------------------------------- #
# Abstention (aMGS protocol): confidence = max(p, 1 - p) with p = X[:, 0].
# With threshold 0.75 an image is retained when x >= 0.75 or x <= 0.25:
#   A: all 4 retained, tp2 tn1 fp0 fn1    B: .2 .1 .05 retained, tn3
#   C: both retained, tn1 fp1             D: both retained, tn2
# pooled: 11 of 14 retained, tp2 tn7 fp1 fn1.
# --------------------------------------------------------------------------- #


class ProbaBinningClassifier(BinningClassifier):
    """BinningClassifier whose P(class 1) is X[:, 0]."""

    def predict_proba(self, X):
        x = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - x, x])


def test_abstain_threshold_hand_computed(toy):
    X, y, groups = toy
    report, pred = subject_report(ProbaBinningClassifier(), X, y, groups,
                                  abstain_threshold=0.75, return_predictions=True)
    expected = {  # n_retained, coverage, selective acc / sensitivity / specificity
        "A": (4, 1.0, 3 / 4, 2 / 3, 1.0),
        "B": (3, 3 / 6, 1.0, math.nan, 1.0),
        "C": (2, 1.0, 1 / 2, math.nan, 1 / 2),
        "D": (2, 1.0, 1.0, math.nan, 1.0),
        "pooled": (11, 11 / 14, 9 / 11, 2 / 3, 7 / 8),
    }
    cols = ["n_retained", "coverage", "selective_accuracy", "selective_sensitivity",
            "selective_specificity"]
    for row, values in expected.items():
        np.testing.assert_allclose(report.loc[row, cols].to_numpy(float), values,
                                   equal_nan=True, err_msg=row)
    # the ordinary metrics still score every image
    assert report.loc["pooled", "n_images"] == 14
    assert report.loc["pooled", "accuracy"] == pytest.approx(11 / 14)
    np.testing.assert_allclose(pred["confidence"], np.maximum(X[pred.index, 0],
                                                              1 - X[pred.index, 0]))
    assert pred["retained"].sum() == 11
    assert report.attrs["abstain_threshold"] == 0.75


def test_abstain_threshold_needs_probabilities(toy):
    X, y, groups = toy
    with pytest.raises(ValueError, match="BinningClassifier has no predict_proba"):
        subject_report(BinningClassifier(), X, y, groups, abstain_threshold=0.75)
    with pytest.raises(ValueError, match="abstain_threshold"):
        subject_report(ProbaBinningClassifier(), X, y, groups, abstain_threshold=1.5)
    with pytest.raises(ValueError, match="applies to classifiers"):
        subject_report(RuleRegressor(), X, X[:, 0] * 3.3, groups, abstain_threshold=0.5)


class _CountingNet(FineTunedClassifier):
    """A real skorch net that counts its inference passes over test images."""

    def infer(self, x, **fit_params):
        if not self.module_.training:
            type(self).n_inferred += len(x)
        return super().infer(x, **fit_params)


@pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning",
                            "ignore:GroupValidSplit got no groups:UserWarning")
def test_abstain_threshold_runs_inference_once_per_test_image(png_folder,
                                                               image_labels_groups):
    paths, _ = png_folder
    y, groups = image_labels_groups
    net = _CountingNet(**{**FineTunedClassifier._get_test_params(), "train_split": None,
                          "random_state": 0})
    _CountingNet.n_inferred = 0
    report, pred = subject_report(net, paths, y, groups, abstain_threshold=0.6,
                                  return_predictions=True)
    # every held-out image went through the network exactly once
    assert _CountingNet.n_inferred == len(paths)
    # and the label is the winning class of that single pass
    again = clone(net).fit(paths[groups != 0], y[groups != 0])
    proba = again.predict_proba(paths[groups == 0])
    np.testing.assert_array_equal(pred.loc[groups == 0, "y_pred"], proba.argmax(axis=1))
    np.testing.assert_allclose(pred.loc[groups == 0, "confidence"], proba.max(axis=1),
                               rtol=1e-5)
    assert report.loc["pooled", "n_retained"] == pred["retained"].sum()


def test_pooled_row_is_the_metric_on_all_out_of_fold_predictions(toy):
    X, y, groups = toy
    report, pred = subject_report(ProbaBinningClassifier(), X, y, groups,
                                  return_predictions=True)
    pooled = binary_scores(pred["y_true"], pred["y_pred"], pos_label=1)
    for name in ("tp", "tn", "fp", "fn", "f1", "accuracy", "precision", "recall"):
        assert report.loc["pooled", name] == pytest.approx(pooled[name], nan_ok=True), name
    for subject, rows in pred.groupby("subject"):
        own = binary_scores(rows["y_true"], rows["y_pred"], pos_label=1)
        assert report.loc[subject, "f1"] == pytest.approx(own["f1"], nan_ok=True)


def test_untested_subjects_and_failed_folds_keep_integer_predictions():
    # y_pred holds None for a subject in no test set: the scores of the
    # tested ones must still see integer labels (multiclass, callable metric)
    from sklearn.metrics import f1_score as sk_f1
    from sklearn.model_selection import GroupShuffleSplit

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), 10)
    y = np.tile([0, 1, 2], 20)
    X = (y + rng.normal(0, 0.3, y.size))[:, None]
    cv = GroupShuffleSplit(n_splits=1, test_size=2, random_state=0)

    def macro_f1(y_true, y_pred):
        return sk_f1(y_true, y_pred, average="macro")

    report = subject_report(LogisticRegression(), X, y, groups, cv=cv,
                            metrics=["accuracy", macro_f1])
    assert report.loc["pooled", "n_images"] == 20
    assert 0.5 < report.loc["pooled", "macro_f1"] <= 1.0


# --- checkpoint: resuming an interrupted evaluation (issue 10) ----------------------------


class _FailOnSubject(LogisticRegression):
    """Fails when fitted without `subject` in the training part (i.e. when it is held out)."""

    def __init__(self, C=1.0, fail_subject=None):
        super().__init__(C=C)
        self.fail_subject = fail_subject

    def fit(self, X, y, groups=None):
        if self.fail_subject is not None and self.fail_subject not in set(groups):
            raise KeyboardInterrupt("stopped")
        return super().fit(X, y)


def test_checkpoint_resumes_only_unfinished_folds_and_gives_the_same_report(tmp_path):
    from skanimal.exceptions import ResultsExistError

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    groups = np.repeat(["r1", "r2", "r3", "r4"], 10)
    fresh = subject_report(LogisticRegression(), X, y, groups)
    # an interruption in the third fold (subject r3 held out) leaves two folds stored
    with pytest.raises(KeyboardInterrupt):
        subject_report(_FailOnSubject(fail_subject="r3"), X, y, groups,
                       params={"groups": groups}, checkpoint=tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["fold-0.npz", "fold-1.npz"]

    first = subject_report(LogisticRegression(), X, y, groups, checkpoint=tmp_path / "b")
    again = subject_report(LogisticRegression(), X, y, groups, checkpoint=tmp_path / "b")
    pd.testing.assert_frame_equal(again, fresh)
    assert [f["resumed"] for f in first.attrs["folds"]] == [False] * 4
    assert [f["resumed"] for f in again.attrs["folds"]] == [True] * 4
    assert [f["fit_time"] for f in again.attrs["folds"]] == [
        f["fit_time"] for f in first.attrs["folds"]]
    # another estimator's folds are refused, not mixed in
    with pytest.raises(ResultsExistError, match="fold 0 of another evaluation"):
        subject_report(LogisticRegression(C=0.01), X, y, groups, checkpoint=tmp_path / "b")


def test_checkpoint_keeps_string_labels_and_probabilities(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(30, 2))
    y = np.where(X[:, 0] > 0, "pain", "no pain")
    groups = np.repeat(["a", "b", "c"], 10)
    kwargs = dict(abstain_threshold=0.7, return_predictions=True, checkpoint=tmp_path)
    report, pred = subject_report(LogisticRegression(), X, y, groups, **kwargs)
    report2, pred2 = subject_report(LogisticRegression(), X, y, groups, **kwargs)
    pd.testing.assert_frame_equal(report2, report)
    pd.testing.assert_frame_equal(pred2, pred)
    assert set(pred2["y_pred"]) <= {"pain", "no pain"}
