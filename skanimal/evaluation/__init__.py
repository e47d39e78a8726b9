"""Subject-wise evaluation reports and result tables in the papers' layout."""

from ._subject_report import SUMMARY_ROWS, subject_report
from ._tables import abstention_table, paper_table, to_markdown

__all__ = [
    "SUMMARY_ROWS",
    "abstention_table",
    "paper_table",
    "subject_report",
    "to_markdown",
]
