"""Subject-wise evaluation reports and result tables in the papers' layout."""

from ._aggregate import (
    aggregate_predictions,
    difference_scores,
    group_accuracy_score,
    make_group_scorer,
)
from ._subject_report import SUMMARY_ROWS, subject_report
from ._tables import abstention_table, paper_table, to_markdown

__all__ = [
    "SUMMARY_ROWS",
    "abstention_table",
    "aggregate_predictions",
    "difference_scores",
    "group_accuracy_score",
    "make_group_scorer",
    "paper_table",
    "subject_report",
    "to_markdown",
]
