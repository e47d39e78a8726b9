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


def test_to_markdown_writes_count_columns_as_integers():
    df = REPORT.loc[:"pooled", ["n_images", "f1"]]
    assert df["n_images"].dtype == float
    lines = to_markdown(df).splitlines()
    assert lines[2] == "| rat01  |      221 | 0.8944 |"
    assert lines[4] == "| pooled |      431 | 0.7731 |"
    # the mean of counts keeps its decimals; NaN stays empty
    means = pd.DataFrame({"tp": [3.0, np.nan, 2.5]})
    assert [r.split("|")[1].strip() for r in to_markdown(means, index=False).splitlines()[2:]] \
        == ["3", "", "2.5000"]
    # a column is a count by its name: whole values elsewhere keep the float format
    other = pd.DataFrame({"n": [3.0, np.nan]})
    assert to_markdown(other, index=False).splitlines()[2:] == ["| 3.0000 |", "|        |"]
    # MultiIndex columns (paper_table(numeric=True)) by their last level
    numbers = paper_table({"M": REPORT}, metrics=("n_images", "f1"), numeric=True)
    assert to_markdown(numbers).splitlines()[2].split("|")[2].strip() == "221"


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_whole_fraction_columns_keep_their_decimals(value):
    """A perfect (or null) F1 everywhere is still written as a fraction."""
    df = pd.DataFrame({"f1": [value, value]})
    assert to_markdown(df, index=False).splitlines()[2].strip("| ") == f"{value:.4f}"


def test_whole_percentages_keep_their_decimals():
    df = pd.DataFrame({"Coverage %": [100.0, 50.0]})
    lines = to_markdown(df, index=False, float_format="{:.2f}").splitlines()[2:]
    assert [r.strip("| ") for r in lines] == ["100.00", "50.00"]


def test_a_perfect_f1_keeps_its_unit_in_the_legend():
    perfect = _report(n_images=[10.0, 10.0, 20.0, 10.0, 0.0], f1=[1.0] * 4 + [0.0],
                      accuracy=[1.0] * 4 + [0.0])
    table = paper_table({"M": perfect}, metrics=("n_images", "f1", "accuracy"))
    assert table.attrs["cells"] == "images / F1 (0-1) / accuracy (%)"
    assert table.loc["M", "Pooled"] == "20/1.0000/100.00"
    assert paper_table({"M": perfect}, numeric=True).attrs["cells"] == (
        "F1 (0-1) / accuracy (%)")
