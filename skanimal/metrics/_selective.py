"""Metrics of selective prediction: coverage, selective scores, risk-coverage.

A selective classifier may **abstain**: its prediction for a sample is either
a class or an *abstain value* (``-1`` by default). Coverage is the fraction of
samples it keeps; the selective scores are computed on the kept samples only.
The risk-coverage curve shows how the accuracy on kept samples changes as the
confidence threshold moves (the automated Mouse Grimace Scale keeps 67 % of the
images at a confidence of 0.75, and its accuracy rises from 83 % to 93.2 %;
Tuttle et al., 2018).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._docs import cite_papers
from ..utils._labels import equals_value as _equals
from ..utils._labels import labels_equal
from ..utils._validation import check_1d
from ._scores import binary_scores

__all__ = [
    "aurc_score",
    "coverage_score",
    "risk_coverage_curve",
    "selective_accuracy_score",
    "selective_report",
]


def _as_1d(values, name):
    """A 1-D ndarray of labels (a column vector is raveled)."""
    values = check_1d(values, name)
    if values.shape[0] == 0:
        raise ValueError(f"{name} is empty; give at least one sample.")
    return values


def _retained_mask(y_pred, abstain_value):
    """True for the samples that were not abstained on."""
    return ~_equals(y_pred, abstain_value)


def _check_weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n)
    sample_weight = column_or_1d(sample_weight, dtype=float)
    if sample_weight.shape[0] != n:
        raise ValueError(
            f"sample_weight has {sample_weight.shape[0]} entries for {n} samples."
        )
    if np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight must be finite and non-negative.")
    return sample_weight


@validate_params(
    {
        "y_pred": ["array-like"],
        "abstain_value": [Real, str, None],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def coverage_score(y_pred, *, abstain_value=-1, sample_weight=None):
    """Fraction of samples on which a selective classifier did not abstain.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Predictions: a class, or `abstain_value` where the classifier
        abstained (as returned by
        :meth:`ConfidenceThresholdClassifier.predict`).
    abstain_value : int, float, str or None, default=-1
        The value that marks an abstention; NaN matches NaN. Use the
        classifier's ``abstain_value_``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    coverage : float
        The (weighted) fraction of samples kept, in [0, 1].

    See Also
    --------
    selective_accuracy_score : Accuracy on the kept samples.
    selective_report : Coverage and the selective scores together.

    Examples
    --------
    >>> from skanimal.metrics import coverage_score
    >>> coverage_score([1, 0, -1, 1])
    0.75
    >>> coverage_score(["pain", "abstain"], abstain_value="abstain")
    0.5
    """
    y_pred = _as_1d(y_pred, "y_pred")
    weight = _check_weights(sample_weight, y_pred.shape[0])
    if weight.sum() == 0:
        raise ValueError("sample_weight sums to zero; coverage is undefined.")
    kept = _retained_mask(y_pred, abstain_value)
    return float(np.sum(weight[kept]) / np.sum(weight))


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "abstain_value": [Real, str, None],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def selective_accuracy_score(y_true, y_pred, *, abstain_value=-1, sample_weight=None):
    """Accuracy on the samples a selective classifier did not abstain on.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predictions: a class, or `abstain_value` where the classifier
        abstained.
    abstain_value : int, float, str or None, default=-1
        The value that marks an abstention; NaN matches NaN.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    accuracy : float
        The (weighted) fraction of kept samples that are correct. NaN when the
        classifier abstained on every sample: the accuracy of an empty set is
        undefined, and 0 or 1 would both mislead (scikit-learn's
        ``zero_division=np.nan`` convention). Report it with
        :func:`coverage_score`: a high selective accuracy at a low coverage is
        easy to reach.

    See Also
    --------
    coverage_score : Fraction of samples kept.
    selective_report : Coverage, accuracy, sensitivity and specificity.

    Examples
    --------
    >>> from skanimal.metrics import selective_accuracy_score
    >>> selective_accuracy_score([1, 0, 1, 0], [1, 1, -1, -1])
    0.5
    >>> selective_accuracy_score([1, 0], [-1, -1])
    nan
    """
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred)
    weight = _check_weights(sample_weight, y_pred.shape[0])
    kept = _retained_mask(y_pred, abstain_value)
    total = np.sum(weight[kept])
    if total == 0:
        return np.nan
    correct = labels_equal(y_true[kept], y_pred[kept])
    return float(np.sum(weight[kept][correct]) / total)


@cite_papers("tuttle2018")
@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "pos_label": [Real, str],
        "abstain_value": [Real, str, None],
    },
    prefer_skip_nested_validation=True,
)
def selective_report(y_true, y_pred, *, pos_label=1, abstain_value=-1):
    """Coverage and sensitivity, specificity and accuracy on the kept samples.

    The layout of the automated Mouse Grimace Scale paper [1]_, which reports
    for "all images" and for "confidence >= 0.75" the sensitivity,
    specificity and accuracy, and the fraction of images kept.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predictions: a class, or `abstain_value` where the classifier
        abstained. Pass the predictions of the inner estimator (no
        abstention) for the "all images" numbers.
    pos_label : int, float or str, default=1
        The positive ("pain") class. Sensitivity is the recall of this class,
        specificity the recall of all other classes together (one versus
        rest when there are more than two classes).
    abstain_value : int, float, str or None, default=-1
        The value that marks an abstention; NaN matches NaN.

    Returns
    -------
    report : dict
        ``n_samples`` (int), ``n_retained`` (int), ``coverage``,
        ``accuracy``, ``sensitivity`` and ``specificity`` (floats; the last
        three on the kept samples, NaN when their denominator is zero, e.g.
        ``sensitivity`` when no kept sample is positive).

    See Also
    --------
    selective_accuracy_score : The accuracy alone.
    skanimal.evaluation.subject_report : Scores per held-out subject.

    Examples
    --------
    >>> from skanimal.metrics import selective_report
    >>> y_true = [1, 1, 1, 0, 0, 0]
    >>> y_pred = [1, 0, -1, 0, 0, -1]
    >>> report = selective_report(y_true, y_pred)
    >>> report["n_retained"], report["coverage"]
    (4, 0.666...)
    >>> report["sensitivity"], report["specificity"], report["accuracy"]
    (0.5, 1.0, 0.75)
    """
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred)
    if not np.any(_equals(y_true, pos_label)):
        labels = np.unique(y_true).tolist()
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels in y_true: {labels}."
        )
    kept = _retained_mask(y_pred, abstain_value)
    yt, yp = y_true[kept], y_pred[kept]
    # one versus rest: a kept prediction other than pos_label is negative
    scores = binary_scores(_equals(yt, pos_label), _equals(yp, pos_label), pos_label=True)
    n_kept = int(kept.sum())
    return {
        "n_samples": int(y_true.shape[0]),
        "n_retained": n_kept,
        "coverage": n_kept / y_true.shape[0],
        "accuracy": float(np.mean(labels_equal(yt, yp))) if n_kept else np.nan,
        "sensitivity": scores["sensitivity"],
        "specificity": scores["specificity"],
    }


def _check_curve_inputs(y_true, y_pred, confidence, sample_weight=None):
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    confidence = _as_1d(confidence, "confidence")
    check_consistent_length(y_true, y_pred, confidence)
    try:
        confidence = confidence.astype(float)
    except (TypeError, ValueError):
        raise ValueError("confidence must be numeric.") from None
    if not np.all(np.isfinite(confidence)):
        raise ValueError("confidence contains NaN or infinite values.")
    weight = _check_weights(sample_weight, y_true.shape[0])
    if weight.sum() == 0:
        raise ValueError("sample_weight sums to zero; the curve is undefined.")
    return y_true, y_pred, confidence, weight


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "confidence": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def risk_coverage_curve(y_true, y_pred, confidence, *, sample_weight=None):
    """Selective accuracy against coverage, for every confidence threshold.

    A sample is kept at threshold ``t`` when its confidence is at least
    ``t``. Each distinct confidence value is one threshold, hence one point
    of the curve: samples with equal confidence are kept or dropped together,
    so ties never give points that no threshold can reach.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predictions of the classifier **without** abstention (the winning
        class of every sample).
    confidence : array-like of shape (n_samples,)
        Confidence of each prediction, e.g. the winning-class probability
        (:meth:`ConfidenceThresholdClassifier.confidence`). Any score where
        larger means more confident works.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: coverage is the kept fraction of the total weight and
        the selective accuracy a weighted accuracy.

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Fraction of samples kept at each threshold, increasing; the last is 1.
    selective_accuracy : ndarray of shape (n_thresholds,)
        Accuracy on the kept samples at each threshold (NaN where the kept
        samples all have zero weight). The selective risk is
        ``1 - selective_accuracy``.
    thresholds : ndarray of shape (n_thresholds,)
        The distinct confidence values, decreasing.

    See Also
    --------
    aurc_score : Area under the risk-coverage curve.
    RiskCoverageDisplay : Plot the curve.

    Examples
    --------
    >>> from skanimal.metrics import risk_coverage_curve
    >>> y_true = [1, 0, 1, 0]
    >>> y_pred = [1, 0, 0, 0]
    >>> confidence = [0.9, 0.8, 0.8, 0.6]
    >>> coverage, accuracy, thresholds = risk_coverage_curve(
    ...     y_true, y_pred, confidence)
    >>> coverage.tolist(), accuracy.tolist(), thresholds.tolist()
    ([0.25, 0.75, 1.0], [1.0, 0.666..., 0.75], [0.9, 0.8, 0.6])
    """
    y_true, y_pred, confidence, weight = _check_curve_inputs(
        y_true, y_pred, confidence, sample_weight
    )
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    weight = weight[order]
    correct = labels_equal(y_true[order], y_pred[order])
    # the last position of each run of equal confidence (sorted decreasing)
    last = np.flatnonzero(np.r_[conf[1:] != conf[:-1], True])
    kept = np.cumsum(weight)[last]
    coverage = kept / kept[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.cumsum(weight * correct)[last] / kept
    return coverage, accuracy, conf[last]


@cite_papers("geifman2019")
@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "confidence": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def aurc_score(y_true, y_pred, confidence):
    """Area under the risk-coverage curve (AURC; lower is better).

    The selective risk ``1 - selective accuracy`` integrated over coverage,
    as a step function: ``sum_k (c_k - c_{k-1}) * risk_k`` over the points
    of :func:`risk_coverage_curve`, with ``c_0 = 0``. Without ties in the
    confidence this is the mean, over ``k = 1 .. n``, of the error rate of
    the ``k`` most confident samples (Geifman et al., 2019); with ties it
    does not depend on the order of the tied samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predictions without abstention.
    confidence : array-like of shape (n_samples,)
        Confidence of each prediction; larger means more confident.

    Returns
    -------
    aurc : float
        The area, in [0, 1]. A classifier whose errors are all less confident
        than its correct predictions has the smallest AURC for its error rate.

    See Also
    --------
    risk_coverage_curve : The curve itself.

    Examples
    --------
    >>> from skanimal.metrics import aurc_score
    >>> round(aurc_score([1, 0, 1, 0], [1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6]), 4)
    0.1458
    """
    coverage, accuracy, _ = risk_coverage_curve(y_true, y_pred, confidence)
    return _area_under_risk(coverage, accuracy)


def _area_under_risk(coverage, accuracy):
    """Area under the step function of the risk over coverage (c_0 = 0)."""
    widths = np.diff(np.r_[0.0, coverage])
    return float(np.sum(widths * (1.0 - accuracy)))
