"""Selective prediction: abstaining classifiers, their metrics and human agreement."""

from ._agreement import human_agreement, signed_confidence
from ._metrics import (
    aurc_score,
    coverage_score,
    risk_coverage_curve,
    selective_accuracy_score,
    selective_report,
)
from ._plot import RiskCoverageDisplay
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
