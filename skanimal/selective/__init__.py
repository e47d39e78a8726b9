"""Selective prediction: abstaining classifiers, their metrics and human agreement.

The metrics of selective prediction live in :mod:`skanimal.metrics` and are
re-exported here, next to the classifiers they score.
"""

from ..metrics import (
    RiskCoverageDisplay,
    aurc_score,
    coverage_score,
    risk_coverage_curve,
    selective_accuracy_score,
    selective_report,
)
from ._agreement import human_agreement, signed_confidence
from ._threshold import ConfidenceThresholdClassifier, ConfidenceThresholdClassifierCV

__all__ = [
    "ConfidenceThresholdClassifier",
    "ConfidenceThresholdClassifierCV",
    "RiskCoverageDisplay",
    "aurc_score",
    "coverage_score",
    "human_agreement",
    "risk_coverage_curve",
    "selective_accuracy_score",
    "selective_report",
    "signed_confidence",
]
