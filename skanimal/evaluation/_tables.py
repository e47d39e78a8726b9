"""Result tables in the layout of the papers (PainSeeker, Table 3).

:func:`paper_table` turns several :func:`~skanimal.evaluation.subject_report`
results into one table: a row per method, a column per held-out subject and a
"Pooled" column, each cell "F1/Acc" as in "0.7731/74.17" (F1 a fraction,
accuracy in percent; ``table.attrs["cells"]`` says so). :func:`to_markdown`
writes any such frame as a GitHub Markdown table.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..utils._docs import cite_papers
from ._subject_report import SUMMARY_ROWS

__all__ = ["abstention_table", "paper_table", "to_markdown"]

_SUMMARY_LABELS = {"pooled": "Pooled", "mean": "Mean", "std": "Std"}
# Metrics that are proportions shown in percent when percent_accuracy=True.
_PERCENT_METRICS = ("accuracy", "balanced_accuracy")


# Cell legend words of the usual report columns.
_METRIC_WORDS = {"f1": "F1", "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                 "n_images": "images"}

#: The count columns of the reports (images, confusion counts, retained
#: images, fold sizes): written as integers. Whether a column is a count is
#: decided by its name, never by its values, so that a perfect F1 of 1.0 stays
#: "1.0000" and a 100.00 % column keeps its decimals.
COUNT_COLUMNS = frozenset({"n_images", "tp", "tn", "fp", "fn", "n_retained", "n_samples",
                           "n_train", "n_test", "n_subjects"})


def _is_count(label):
    """Whether a column label names a count (a MultiIndex label by its last level)."""
    if isinstance(label, tuple):
        label = label[-1] if label else None
    return isinstance(label, str) and label in COUNT_COLUMNS


def _count_text(value, float_format):
    """A count as an integer; a non-whole one (the mean of counts) in ``float_format``."""
    if value == np.round(value):
        return f"{value:.0f}"
    return float_format.format(value)


def _cell_legend(metrics, percent):
    """What a cell holds, e.g. "F1 (0-1) / accuracy (%)"."""
    words = []
    for m in metrics:
        unit = "" if m in COUNT_COLUMNS else " (%)" if m in percent else " (0-1)"
        words.append(_METRIC_WORDS.get(m, m) + unit)
    return " / ".join(words)


def _label(subject, subject_label):
    if callable(subject_label):
        return str(subject_label(subject))
    return subject_label.format(subject)


@cite_papers("liu2025")
def paper_table(
    reports,
    *,
    metrics=("f1", "accuracy"),
    percent_accuracy=True,
    numeric=False,
    summary=("pooled",),
    subject_label="{}",
):
    """Lay out subject-wise reports like Table 3 of the PainSeeker paper.

    One row per method; one column per held-out subject, then one per summary
    row (by default only "Pooled"); each cell joins the chosen metrics with
    "/" - F1 as a fraction with 4 decimals and accuracy in percent with 2
    decimals, as in ``"0.7731/74.17"``. A count (``n_images``, ``tp``, ``tn``,
    ``fp``, ``fn``, ``n_retained``, ...) is written as an integer (a mean of
    counts that is not whole, with 4 decimals); whether a metric is a count
    is decided by its name, not by its values. What the
    cells hold is in ``table.attrs["cells"]``, e.g. ``"F1 (0-1) / accuracy
    (%)"``: use it as the table's caption.

    Parameters
    ----------
    reports : dict of str to DataFrame
        ``{method name: report}`` where each report is returned by
        :func:`~skanimal.evaluation.subject_report` (or has its layout: a row
        per subject then the rows "pooled", "mean", "std"). Rows keep the dict's
        order.
    metrics : tuple of str, default=("f1", "accuracy")
        Report columns shown in each cell, in order.
    percent_accuracy : bool, default=True
        Show ``accuracy`` and ``balanced_accuracy`` in percent with 2 decimals
        (the paper's style); otherwise as fractions with 4 decimals like the
        other metrics.
    numeric : bool, default=False
        Return the unrounded numbers instead of strings: a frame whose columns
        are a MultiIndex (column label, metric). Accuracy is in percent there
        too when `percent_accuracy` is True.
    summary : tuple of {"pooled", "mean", "std"}, default=("pooled",)
        Summary rows of the reports shown as the last columns, labelled
        "Pooled", "Mean", "Std".
    subject_label : str or callable, default="{}"
        Column label of a subject: a format string applied to the subject id
        (e.g. ``"Rat#{}"``), or a callable returning the label.

    Returns
    -------
    table : pandas.DataFrame
        Index "Method" (the dict keys). Subjects missing from a report give an
        empty cell ("") or NaN when `numeric`; a NaN metric is written "nan".
        ``table.attrs["cells"]`` describes the cells, metric by metric with
        its unit: "(0-1)" for a fraction, "(%)" for a percentage, nothing for
        a count.

    See Also
    --------
    skanimal.evaluation.subject_report : Compute one report.
    skanimal.evaluation.to_markdown : Write the table as Markdown.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.evaluation import paper_table
    >>> report = pd.DataFrame(
    ...     {"f1": [0.8944, 0.749, 0.7731], "accuracy": [187 / 221, 0.7, 0.7417]},
    ...     index=[1, 2, "pooled"],
    ... )
    >>> table = paper_table({"PainSeeker": report}, subject_label="Rat#{}")
    >>> table.loc["PainSeeker"].tolist()
    ['0.8944/84.62', '0.7490/70.00', '0.7731/74.17']
    >>> table.columns.tolist()
    ['Rat#1', 'Rat#2', 'Pooled']
    >>> table.attrs["cells"]
    'F1 (0-1) / accuracy (%)'
    >>> numbers = paper_table({"PainSeeker": report}, numeric=True)
    >>> float(numbers.loc["PainSeeker", ("1", "accuracy")])
    84.61538461538461
    """
    if not isinstance(reports, Mapping) or not reports:
        raise TypeError(
            "reports must be a non-empty dict {method name: report DataFrame}, got "
            f"{type(reports).__name__}."
        )
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("metrics is empty.")
    if isinstance(summary, str):
        summary = (summary,)
    bad = [s for s in summary if s not in SUMMARY_ROWS]
    if bad:
        raise ValueError(
            f"summary must hold names among {list(SUMMARY_ROWS)}, got {bad}."
        )
    if not (isinstance(subject_label, str) or callable(subject_label)):
        raise TypeError("subject_label must be a format string or a callable.")

    # Column order: subjects in order of first appearance, then summaries.
    subjects = []
    for name, report in reports.items():
        if not isinstance(report, pd.DataFrame):
            raise TypeError(f"The report of {name!r} is not a DataFrame.")
        missing = [m for m in metrics if m not in report.columns]
        if missing:
            raise ValueError(
                f"The report of {name!r} has no column(s) {missing}; its columns are "
                f"{list(report.columns)}."
            )
        for s in summary:
            if s not in report.index:
                raise ValueError(f"The report of {name!r} has no {s!r} row.")
        for subject in report.index:
            if not (isinstance(subject, str) and subject in SUMMARY_ROWS):
                if subject not in subjects:
                    subjects.append(subject)
    keys = subjects + list(summary)
    labels = [_label(s, subject_label) for s in subjects]
    labels += [_SUMMARY_LABELS[s] for s in summary]
    if len(set(labels)) != len(labels):
        raise ValueError(f"Column labels are not unique: {labels}.")

    percent = {m for m in metrics if percent_accuracy and m in _PERCENT_METRICS}
    scale = {m: 100.0 if m in percent else 1.0 for m in metrics}
    data = {}
    for key, label in zip(keys, labels):
        for m in metrics:
            data[(label, m)] = [
                float(r.at[key, m]) * scale[m] if key in r.index else np.nan
                for r in reports.values()
            ]
    index = pd.Index(list(reports), name="Method")
    values = pd.DataFrame(data, index=index)
    values.columns = pd.MultiIndex.from_tuples(
        values.columns, names=["column", "metric"]
    )
    legend = _cell_legend(metrics, percent)
    if numeric:
        values.attrs["cells"] = legend
        return values

    table = {}
    present = {
        (label, name): key in report.index
        for key, label in zip(keys, labels)
        for name, report in reports.items()
    }
    for label in labels:
        column = []
        for name in reports:
            if not present[(label, name)]:
                column.append("")
                continue
            parts = []
            for m in metrics:
                v = values.at[name, (label, m)]
                if np.isnan(v):
                    parts.append("nan")
                elif m in COUNT_COLUMNS:
                    parts.append(_count_text(v, "{:.4f}"))
                else:
                    parts.append(f"{v:.{2 if m in percent else 4}f}")
            column.append("/".join(parts))
        table[label] = column
    table = pd.DataFrame(table, index=index, dtype=object)
    table.attrs["cells"] = legend
    return table


_ABSTENTION_COLUMNS = {  # report column -> table column
    "accuracy": "Accuracy % (all)",
    "recall": "Sensitivity % (all)",
    "specificity": "Specificity % (all)",
    "coverage": "Coverage %",
    "selective_accuracy": "Accuracy % (retained)",
    "selective_sensitivity": "Sensitivity % (retained)",
    "selective_specificity": "Specificity % (retained)",
}


@cite_papers("tuttle2018")
def abstention_table(reports, *, row="pooled"):
    """Compare all images with the confidently classified ones, per method.

    The layout of the aMGS paper (Tuttle et al., 2018): sensitivity, specificity
    and accuracy on all images, the share of images retained at the
    confidence threshold, and the same three metrics on the retained images,
    all in percent.

    Parameters
    ----------
    reports : dict of str to DataFrame
        ``{method name: report}`` where each report is returned by
        :func:`~skanimal.evaluation.subject_report` with `abstain_threshold`
        set. A report without the abstention columns (a method without
        ``predict_proba``) gives NaN in them.
    row : str, default="pooled"
        The report row shown: ``"pooled"`` (counts summed over all folds),
        ``"mean"``, or a subject id.

    Returns
    -------
    table : pandas.DataFrame
        Index "Method"; the columns ``"Accuracy % (all)"``, ``"Sensitivity %
        (all)"``, ``"Specificity % (all)"``, ``"Coverage %"``, ``"Accuracy %
        (retained)"``, ``"Sensitivity % (retained)"`` and ``"Specificity %
        (retained)"``; sensitivity and specificity are NaN for multiclass
        reports. ``table.attrs["abstain_threshold"]`` is the threshold of the
        reports (None if they differ).

    See Also
    --------
    skanimal.evaluation.subject_report : Compute the reports.
    skanimal.selective.ConfidenceThresholdClassifier : The abstaining estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.evaluation import abstention_table, subject_report
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 2))
    >>> y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    >>> rats = np.repeat(["r1", "r2", "r3", "r4"], 20)
    >>> report = subject_report(LogisticRegression(), X, y, rats,
    ...                         abstain_threshold=0.75)
    >>> table = abstention_table({"logistic": report})
    >>> table.loc["logistic", ["Accuracy % (all)", "Coverage %"]].round(2).tolist()
    [77.5, 62.5]
    """
    if not isinstance(reports, Mapping) or not reports:
        raise TypeError(
            "reports must be a non-empty dict {method name: report DataFrame}, got "
            f"{type(reports).__name__}."
        )
    rows = {}
    thresholds = set()
    for name, report in reports.items():
        if not isinstance(report, pd.DataFrame):
            raise TypeError(f"The report of {name!r} is not a DataFrame.")
        if row not in report.index:
            raise ValueError(f"The report of {name!r} has no row {row!r}.")
        thresholds.add(report.attrs.get("abstain_threshold"))
        rows[name] = [
            100.0 * float(report.at[row, col]) if col in report.columns else np.nan
            for col in _ABSTENTION_COLUMNS
        ]
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=list(_ABSTENTION_COLUMNS.values()))
    table.index.name = "Method"
    thresholds.discard(None)
    table.attrs["abstain_threshold"] = thresholds.pop() if len(thresholds) == 1 else None
    return table


def to_markdown(df, *, index=True, float_format="{:.4f}"):
    """Write a DataFrame as a GitHub-flavoured Markdown table.

    Columns are padded to a common width; the index column is left-aligned and
    the other columns right-aligned. The count columns of the reports
    (``n_images``, ``tp``, ``tn``, ``fp``, ``fn``, ``n_retained``, ...;
    for MultiIndex columns, the last level), stored as floats, are written as
    integers; every other float column in ``float_format``, whatever its
    values (a perfect F1 of 1.0 is "1.0000"). Needs no optional dependency.

    Parameters
    ----------
    df : pandas.DataFrame
        E.g. the result of :func:`paper_table`. MultiIndex columns are joined
        with a space.
    index : bool, default=True
        Write the index as the first column (headed by its name).
    float_format : str, default="{:.4f}"
        Format of float cells, except whole values in count columns; NaN and
        None give an empty cell.

    Returns
    -------
    markdown : str
        The table, one line per row, ending with a newline. "|" in cells is
        escaped.

    See Also
    --------
    skanimal.evaluation.paper_table : Build the table to write.
    pandas.DataFrame.to_markdown : The same, through the optional ``tabulate``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.evaluation import to_markdown
    >>> df = pd.DataFrame({"Rat#1": ["0.8944/84.62"], "Pooled": ["0.7731/74.17"]},
    ...                   index=pd.Index(["PainSeeker"], name="Method"))
    >>> print(to_markdown(df), end="")
    | Method     |        Rat#1 |       Pooled |
    | :--------- | -----------: | -----------: |
    | PainSeeker | 0.8944/84.62 | 0.7731/74.17 |
    >>> counts = pd.DataFrame({"n_images": [221.0, 210.0], "f1": [0.8944, 0.749]})
    >>> print(to_markdown(counts, index=False), end="")
    | n_images |     f1 |
    | -------: | -----: |
    |      221 | 0.8944 |
    |      210 | 0.7490 |
    """
    # pandas.DataFrame.to_markdown needs the optional `tabulate` package, which
    # skanimal does not depend on; a table this simple takes a few lines.
    counts = [_is_count(c) for c in df.columns]

    def text(value, count=False):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, (float, np.floating)):
            value = (_count_text(value, float_format) if count
                     else float_format.format(value))
        return str(value).replace("|", "\\|").replace("\n", " ")

    def header(label):
        if isinstance(label, tuple):
            return " ".join(text(part) for part in label)
        return text(label)

    head = [header(c) for c in df.columns]
    rows = [[text(v, c) for v, c in zip(row, counts)]
            for row in df.itertuples(index=False, name=None)]
    align = ["---:"] * len(head)
    if index:
        name = df.index.names
        head = [" ".join(text(n) for n in name if n is not None)] + head
        rows = [[header(i)] + r for i, r in zip(df.index, rows)]
        align = [":---"] + align
    widths = [max([3, len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(head)]

    def line(cells, left):
        out = [
            c.ljust(w) if (j == 0 and left) else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths))
        ]
        return "| " + " | ".join(out) + " |"

    sep = [
        (":" + "-" * (w - 1)) if a == ":---" else ("-" * (w - 1) + ":")
        for a, w in zip(align, widths)
    ]
    lines = [line(head, index), "| " + " | ".join(sep) + " |"]
    lines += [line(r, index) for r in rows]
    return "\n".join(lines) + "\n"
