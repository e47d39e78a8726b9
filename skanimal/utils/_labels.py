"""Label helpers shared by the abstaining classifiers, their metrics and aggregation."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np

__all__ = ["auto_abstain_value", "equals_value", "is_nan", "labels_equal"]


def is_nan(value):
    """Whether a scalar is a real NaN (never True for str, bool or None)."""
    return isinstance(value, Real) and not isinstance(value, bool) and value != value


def equals_value(values, value):
    """Element-wise ``values == value``, with NaN equal to NaN, never raising."""
    values = np.asarray(values)
    if is_nan(value):
        if values.dtype.kind in "fc":
            return np.isnan(values)
        return np.array([is_nan(v) for v in values], dtype=bool)
    if values.dtype.kind in "biufc" and not isinstance(value, (Real, np.number)):
        return np.zeros(values.shape, dtype=bool)  # a str never equals a number
    if values.dtype.kind in "US" and not isinstance(value, (str, bytes)):
        return np.zeros(values.shape, dtype=bool)
    if values.dtype == object:
        return np.array([v == value for v in values], dtype=bool)
    return values == value


def auto_abstain_value(labels, *, avoid_labels=True):
    """The value ``abstain_value="auto"`` stands for, given these labels.

    -1 for numeric labels and ``"abstain"`` for others. With `avoid_labels`
    (the rule of :class:`~skanimal.selective.ConfidenceThresholdClassifier`,
    given its classes) the value is never one of the labels: -1 is replaced
    by one less than the smallest label, ``"abstain"`` by ``"abstain_"``,
    ``"abstain__"``... Without it (reading predictions back, as
    :func:`~skanimal.evaluation.aggregate_predictions` does when it only sees
    predictions that already hold the abstain value) it is the plain
    convention.
    """
    labels = np.asarray(labels)
    values = labels.ravel().tolist()
    numeric = labels.dtype.kind in "biuf" or all(
        isinstance(c, (Real, np.number)) for c in values
    )
    if numeric:
        finite = [c for c in values if not is_nan(c)]
        if not avoid_labels or not any(c == -1 for c in finite):
            return -1
        return int(np.floor(min(finite))) - 1
    value = "abstain"
    while avoid_labels and value in values:
        value += "_"
    return value


def labels_equal(a, b):
    """Element-wise ``a == b`` for label arrays of possibly different dtypes."""
    if a.dtype == object or b.dtype == object or a.dtype.kind != b.dtype.kind:
        return np.array([x == y for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
    return a == b
