"""A protocol's results as one self-contained HTML page, and its standard figures."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import base64
import html
import io
import json

import numpy as np

__all__ = ["confusion_figure", "figure_png", "render_report", "subject_bars_figure"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.note { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.5em 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
"""


def figure_png(fig, *, dpi=110):
    """The PNG bytes of a matplotlib figure (which is then closed).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int, default=110
        Resolution.

    Returns
    -------
    png : bytes
        The PNG file's contents.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skanimal.benchmark import figure_png
    >>> fig, ax = plt.subplots()
    >>> figure_png(fig)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def confusion_figure(y_true, y_pred, *, labels=None, display_labels=None, title=None):
    """A confusion-matrix figure of out-of-fold predictions (scikit-learn's display).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like, default=None
        The label order.
    display_labels : array-like of str, default=None
        Tick labels.
    title : str, default=None
        The axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skanimal.benchmark import confusion_figure
    >>> fig = confusion_figure([0, 1, 1, 0], [0, 1, 0, 0], display_labels=["no pain", "pain"])
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['2', '0', '1', '1']
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(labels) if labels is not None else len(np.unique(np.concatenate(
        [np.asarray(y_true), np.asarray(y_pred)])))
    fig, ax = plt.subplots(figsize=(2.2 + 0.6 * n, 1.8 + 0.6 * n))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels,
                                            display_labels=display_labels, ax=ax,
                                            colorbar=False, cmap="Blues")
    if title:
        ax.set_title(title)
    return fig


def subject_bars_figure(reports, metric, *, paper=None, title=None):
    """Grouped bars of one metric per held-out subject, one bar per method.

    Parameters
    ----------
    reports : dict of {str: pandas.DataFrame}
        Subject-wise reports (:func:`~skanimal.evaluation.subject_report`).
    metric : str
        The report column to plot (e.g. ``"f1"``).
    paper : dict of {str: sequence of float}, default=None
        The paper's per-subject values of a method, drawn as hatched outlines.
    title : str, default=None
        The axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.benchmark import subject_bars_figure
    >>> from skanimal.evaluation import subject_report
    >>> X, y = np.arange(12.0).reshape(-1, 1), np.array([0, 1] * 6)
    >>> report = subject_report(LogisticRegression(), X, y, np.repeat(["a", "b", "c"], 4))
    >>> fig = subject_bars_figure({"logistic": report}, "accuracy")
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['a', 'b', 'c', 'pooled']
    """
    import matplotlib.pyplot as plt

    names = list(reports)
    first = next(iter(reports.values()))
    subjects = [s for s in first.index if s not in ("pooled", "mean", "std")] + ["pooled"]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(subjects) * max(1, len(names)) / 2), 3.6))
    width = 0.8 / max(1, len(names))
    x = np.arange(len(subjects))
    for i, name in enumerate(names):
        values = [float(reports[name].loc[s, metric]) for s in subjects]
        ax.bar(x + i * width, values, width, label=name)
        if paper and name in paper:
            ax.bar(x + i * width, paper[name], width, fill=False, hatch="//", edgecolor="k",
                   linewidth=0.6)
    ax.set_xticks(x + width * (len(names) - 1) / 2, [str(s) for s in subjects])
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.05)
    if title:
        ax.set_title(title)
    # below the axes: row labels are long and would hide the bars
    ax.legend(fontsize="small", ncol=1, loc="upper left", bbox_to_anchor=(0, -0.12),
              frameon=False)
    return fig


def _table_html(df, float_format):
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else float_format.format(v)
        return v

    return df.map(fmt).to_html(escape=True, border=0, na_rep="")


def _record_summary(record):
    """The run record's essentials as a two-column table."""
    esc = html.escape
    versions = record.get("versions") or {}
    dataset = record.get("dataset") or {}
    fingerprint = dataset.get("fingerprint") or {}
    timings = record.get("timings") or {}
    rows = [
        ("command", " ".join(record.get("command") or [])),
        ("preset / settings", json.dumps(record.get("settings"), default=str)),
        ("device", record.get("device")),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("data", f"{dataset.get('source')}: {fingerprint.get('n_images')} images, "
                 f"{dataset.get('n_subjects')} subjects"),
        ("dataset fingerprint (SHA-256)", fingerprint.get("dataset")),
        ("started / finished", f"{record.get('started')} / {record.get('finished', '')}"),
        ("total time", f"{timings['total_s']:.0f} s" if "total_s" in timings else ""),
    ]
    body = "".join(f"<tr><th>{esc(str(k))}</th><td style=\"text-align:left\">"
                   f"{esc(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_report(title, items, *, record=None):
    """One self-contained HTML page: notes, tables and figures, then the run record.

    Parameters
    ----------
    title : str
        The page title.
    items : list of dict
        In page order, each with ``kind`` ``"heading"`` (``text``),
        ``"note"`` (``text``), ``"text"`` (``text``), ``"table"`` (``df``,
        ``caption``, optional ``float_format``) or ``"figure"`` (``png``
        bytes, ``caption``). Figures are embedded as base64 data URIs, so
        the page needs no other file.
    record : dict, default=None
        The run record (``run.json``), shown at the end.

    Returns
    -------
    page : str
        The HTML text.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.benchmark import render_report
    >>> page = render_report("Demo", [{"kind": "table", "caption": "t",
    ...                                "df": pd.DataFrame({"F1": [0.5]})}])
    >>> page.startswith("<!DOCTYPE html>"), "<table" in page
    (True, True)
    """
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{esc(title)}</h1>"]
    for item in items:
        kind = item["kind"]
        if kind == "heading":
            parts.append(f"<h2>{esc(item['text'])}</h2>")
        elif kind == "note":
            parts.append(f'<p class="note">{esc(item["text"])}</p>')
        elif kind == "text":
            parts.append(f"<p>{esc(item['text'])}</p>")
        elif kind == "table":
            parts.append(f"<p><b>{esc(item.get('caption', ''))}</b></p>")
            parts.append(_table_html(item["df"], item.get("float_format", "{:.4f}")))
        elif kind == "figure":
            data = base64.b64encode(item["png"]).decode("ascii")
            caption = esc(item.get("caption", ""))
            parts.append(f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{caption}</figcaption></figure>")
        else:
            raise ValueError(f"unknown report item kind {kind!r}.")
    if record is not None:
        parts.append("<h2>Run record (run.json)</h2>")
        parts.append(_record_summary(record))
        parts.append("<details><summary>The whole run.json</summary>"
                     f"<pre>{esc(json.dumps(record, indent=1, default=str))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
