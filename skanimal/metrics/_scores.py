"""Classification and regression scores of one set of predictions, as a dict.

Thin over :mod:`sklearn.metrics` and :mod:`scipy.stats`: these are the
columns of :func:`skanimal.evaluation.subject_report`, whose per-subject rows
apply them to each held-out subject's predictions and whose pooled row
applies them to all out-of-fold predictions together -- which for the binary
scores is the same as summing TP, TN, FP and FN over the folds, as the
PainSeeker paper computes its pooled F1 and accuracy (Liu et al., 2025).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
    root_mean_squared_error,
)
from sklearn.utils._param_validation import validate_params

from ..utils._docs import cite_papers
from ..utils._labels import equals_value
from ..utils._validation import _py, check_1d

__all__ = [
    "BINARY_SCORES",
    "MULTICLASS_SCORES",
    "REGRESSION_SCORES",
    "binary_scores",
    "multiclass_scores",
    "regression_scores",
]

#: The keys of :func:`binary_scores`, in order.
BINARY_SCORES = (
    "tp", "tn", "fp", "fn", "f1", "accuracy", "precision", "recall", "sensitivity",
    "specificity", "balanced_accuracy",
)
#: The averaged keys of :func:`multiclass_scores` (per-class keys follow them).
MULTICLASS_SCORES = ("accuracy", "precision_macro", "recall_macro", "f1_macro")
#: The keys of :func:`regression_scores`, in order.
REGRESSION_SCORES = ("pearson_r", "mae", "rmse", "r2")


def _pair(y_true, y_pred):
    y_true, y_pred = check_1d(y_true, "y_true"), check_1d(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred have {y_true.shape[0]} and {y_pred.shape[0]} samples; "
            "give one prediction per sample."
        )
    return y_true, y_pred


def _nanmean(values):
    values = np.asarray(values, dtype=float)
    return float(np.mean(values[~np.isnan(values)])) if np.any(~np.isnan(values)) else np.nan


@cite_papers("liu2025")
@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "pos_label": "no_validation"},
    prefer_skip_nested_validation=True,
)
def binary_scores(y_true, y_pred, *, pos_label=1):
    """Counts and scores of a binary (or one-versus-rest) classification.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels. A label other than `pos_label` counts as negative,
        so that with more than two classes the scores are one versus rest.
    pos_label : int, float, bool or str, default=1
        The positive ("pain") class.

    Returns
    -------
    scores : dict
        ``tp``, ``tn``, ``fp``, ``fn`` (int) and ``f1``, ``accuracy``,
        ``precision``, ``recall``, ``sensitivity`` (= recall),
        ``specificity`` (the recall of the negatives) and
        ``balanced_accuracy`` (the mean of recall and specificity, of the one
        that is defined when the other is not). A ratio whose denominator is
        zero is NaN (scikit-learn's ``zero_division=np.nan``): F1 is NaN only
        when there are neither true nor predicted positives. Empty input gives
        zero counts and NaN scores.

    See Also
    --------
    sklearn.metrics.precision_recall_fscore_support : The scores computed here.
    multiclass_scores : Scores of more than two classes.

    Examples
    --------
    >>> from skanimal.metrics import binary_scores
    >>> scores = binary_scores([1, 1, 0, 0], [1, 0, 0, 1])
    >>> scores["tp"], scores["fn"], scores["f1"], scores["specificity"]
    (1, 1, 0.5, 0.5)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    true_pos = equals_value(y_true, pos_label)
    pred_pos = equals_value(y_pred, pos_label)
    if true_pos.size == 0:
        counts = dict.fromkeys(("tp", "tn", "fp", "fn"), 0)
        return {**counts, **dict.fromkeys(BINARY_SCORES[4:], np.nan)}
    tn, fp, fn, tp = confusion_matrix(true_pos, pred_pos, labels=[False, True]).ravel()
    precision, recall, f1, _ = precision_recall_fscore_support(
        true_pos, pred_pos, labels=[False, True], average=None, zero_division=np.nan
    )
    return {
        "tp": int(tp),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "f1": float(f1[1]),
        "accuracy": float(accuracy_score(true_pos, pred_pos)),
        "precision": float(precision[1]),
        "recall": float(recall[1]),
        "sensitivity": float(recall[1]),
        "specificity": float(recall[0]),
        "balanced_accuracy": _nanmean(recall),
    }


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "labels": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def multiclass_scores(y_true, y_pred, *, labels):
    """Accuracy, macro-averaged and per-class precision, recall and F1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like of shape (n_classes,)
        Every class of the task, so that a subset of the samples (one
        subject's images) is scored over the same classes.

    Returns
    -------
    scores : dict
        ``accuracy``, ``precision_macro``, ``recall_macro``, ``f1_macro``, then
        ``precision[<class>]``, ``recall[<class>]`` and ``f1[<class>]`` for each
        class. A class with a zero denominator is NaN and left out of the macro
        averages (scikit-learn's ``zero_division=np.nan``). Empty input gives
        NaN scores.

    See Also
    --------
    sklearn.metrics.precision_recall_fscore_support : The scores computed here.
    binary_scores : Counts and scores of two classes.

    Examples
    --------
    >>> from skanimal.metrics import multiclass_scores
    >>> scores = multiclass_scores([0, 1, 2, 2], [0, 1, 2, 1], labels=[0, 1, 2])
    >>> scores["accuracy"], scores["recall[2]"], round(scores["f1_macro"], 4)
    (0.75, 0.5, 0.7778)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    labels = check_1d(labels, "labels")
    n = y_true.shape[0]
    if n:
        per_class = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=None, zero_division=np.nan
        )[:3]
        accuracy = float(accuracy_score(y_true, y_pred))
    else:
        per_class = [np.full(len(labels), np.nan)] * 3
        accuracy = np.nan
    scores = {"accuracy": accuracy}
    for name, values in zip(("precision", "recall", "f1"), per_class):
        scores[f"{name}_macro"] = _nanmean(values)
    for name, values in zip(("precision", "recall", "f1"), per_class):
        for c, v in zip(labels, values):
            scores[f"{name}[{_py(c)}]"] = float(v)
    return scores


@cite_papers("hosseini")
@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def regression_scores(y_true, y_pred):
    """Pearson correlation, mean absolute error, RMSE and R² of predictions.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True values (e.g. a PSPI score or pain level).
    y_pred : array-like of shape (n_samples,)
        Predicted values.

    Returns
    -------
    scores : dict
        ``pearson_r`` (:func:`scipy.stats.pearsonr`; NaN for fewer than two
        samples or a constant vector, where it is undefined), ``mae``,
        ``rmse`` and ``r2`` (NaN when `y_true` is constant).

    See Also
    --------
    scipy.stats.pearsonr : The correlation.
    sklearn.metrics.r2_score : The coefficient of determination.

    Examples
    --------
    >>> from skanimal.metrics import regression_scores
    >>> scores = regression_scores([0, 1, 2, 3], [0, 1, 2, 5])
    >>> round(scores["pearson_r"], 4), scores["mae"], scores["rmse"]
    (0.9562, 0.5, 1.0)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    try:
        y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    except (TypeError, ValueError):
        raise ValueError("y_true and y_pred must be numeric for regression scores.") from None
    n = y_true.shape[0]
    if n == 0:
        return dict.fromkeys(REGRESSION_SCORES, np.nan)
    constant_true = np.ptp(y_true) == 0
    if n < 2 or constant_true or np.ptp(y_pred) == 0:
        pearson = np.nan  # undefined, and scipy would warn
    else:
        pearson = float(stats.pearsonr(y_true, y_pred).statistic)
    if n < 2 or constant_true:
        r2 = np.nan
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r2 = float(r2_score(y_true, y_pred))
    return {
        "pearson_r": pearson,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "r2": r2,
    }
