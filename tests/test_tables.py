"""Tests for the result tables: paper_table, abstention_table and to_markdown."""

import numpy as np
import pandas as pd
import pytest

from skanimal.evaluation import paper_table, to_markdown


def _report(**columns):
    index = pd.Index(["rat01", "rat02", "pooled", "mean", "std"], dtype=object)
    return pd.DataFrame(columns, index=index)


REPORT = _report(n_images=[221.0, 210.0, 431.0, 215.5, 7.78],
                 f1=[0.89444, 0.749, 0.7731, 0.82, 0.1],
                 accuracy=[187 / 221, 0.7, 0.74166, 0.77, 0.1])


def test_cells_legend_says_f1_is_a_fraction_and_accuracy_a_percentage():
    table = paper_table({"M": REPORT})
    assert table.attrs["cells"] == "F1 (0-1) / accuracy (%)"
    assert table.loc["M", "Pooled"] == "0.7731/74.17"
    fractions = paper_table({"M": REPORT}, percent_accuracy=False)
    assert fractions.attrs["cells"] == "F1 (0-1) / accuracy (0-1)"
    assert fractions.loc["M", "Pooled"] == "0.7731/0.7417"
    numbers = paper_table({"M": REPORT}, numeric=True)
    assert numbers.attrs["cells"] == "F1 (0-1) / accuracy (%)"


def test_counts_in_paper_table_cells_are_integers():
    table = paper_table({"M": REPORT}, metrics=("n_images", "f1", "accuracy"))
    assert table.loc["M"].tolist() == ["221/0.8944/84.62", "210/0.7490/70.00",
                                       "431/0.7731/74.17"]
    assert table.attrs["cells"] == "images / F1 (0-1) / accuracy (%)"
    # the mean of counts is not a whole number: then decimals again
    with_mean = paper_table({"M": REPORT}, metrics=("n_images",), summary=("pooled", "mean"))
    assert with_mean.loc["M", "Mean"] == "215.5000"


def test_to_markdown_writes_whole_number_float_columns_as_integers():
    df = REPORT.loc[:"pooled", ["n_images", "f1"]]
    assert df["n_images"].dtype == float
    lines = to_markdown(df).splitlines()
    assert lines[2] == "| rat01  |      221 | 0.8944 |"
    assert lines[4] == "| pooled |      431 | 0.7731 |"
    # one fractional value keeps the whole column in float_format; NaN stays empty
    mixed = pd.DataFrame({"n": [3.0, np.nan, 2.5]})
    assert [r.split("|")[1].strip() for r in to_markdown(mixed, index=False).splitlines()[2:]] \
        == ["3.0000", "", "2.5000"]
    ints = pd.DataFrame({"n": [3.0, np.nan]})
    assert to_markdown(ints, index=False).splitlines()[2:] == ["|   3 |", "|     |"]


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_whole_fraction_columns_stay_numbers(value):
    """A perfect (or null) F1 everywhere prints as a whole number, still exact."""
    df = pd.DataFrame({"f1": [value, value]})
    assert to_markdown(df, index=False).splitlines()[2].strip("| ") == f"{value:.0f}"
