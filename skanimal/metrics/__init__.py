"""Metrics: the scores of the subject-wise reports and of selective prediction.

Thin over :mod:`sklearn.metrics` and :mod:`scipy.stats`. The pooled row of a
subject-wise report is a metric on all out-of-fold predictions together; its
per-subject rows are the same metric on each subject's predictions.
"""

from ._plot import RiskCoverageDisplay
from ._scores import (
    BINARY_SCORES,
    MULTICLASS_SCORES,
    REGRESSION_SCORES,
    binary_scores,
    multiclass_scores,
    regression_scores,
)
from ._selective import (
    aurc_score,
    coverage_score,
    risk_coverage_curve,
    selective_accuracy_score,
    selective_report,
)

__all__ = [
    "BINARY_SCORES",
    "MULTICLASS_SCORES",
    "REGRESSION_SCORES",
    "RiskCoverageDisplay",
    "aurc_score",
    "binary_scores",
    "coverage_score",
    "multiclass_scores",
    "regression_scores",
    "risk_coverage_curve",
    "selective_accuracy_score",
    "selective_report",
]
