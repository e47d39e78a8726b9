"""Label helpers shared by the abstaining classifiers and their aggregation."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np

__all__ = ["auto_abstain_value", "labels_equal"]


def auto_abstain_value(labels):
    """The value ``abstain_value="auto"`` stands for, given these labels.

    -1 when every label is a number (the labels of a numeric classifier), else
    ``"abstain"``: the rule of
    :class:`~skanimal.selective.ConfidenceThresholdClassifier`, which
    :func:`~skanimal.evaluation.aggregate_predictions` must read back.
    """
    labels = np.asarray(labels)
    numeric = labels.dtype.kind in "biuf" or all(
        isinstance(c, (Real, np.number)) for c in labels
    )
    return -1 if numeric else "abstain"


def labels_equal(a, b):
    """Element-wise ``a == b`` for label arrays of possibly different dtypes."""
    if a.dtype == object or b.dtype == object or a.dtype.kind != b.dtype.kind:
        return np.array([x == y for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
    return a == b
