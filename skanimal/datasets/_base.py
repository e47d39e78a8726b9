"""Helpers shared by the dataset loaders: errors, DESCR texts, Bunch building,
column conversion and atomic file writing."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import re
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..exceptions import SkanimalError

__all__ = ["DatasetError", "DatasetExistsError", "MissingFilesError"]

#: File name extensions recognised as images by the folder loaders.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class DatasetError(SkanimalError, ValueError):
    """A dataset on disk (manifest, folder, archive) is not in the expected form.

    The message names the file or folder at fault and, where it applies, the
    rows or files concerned.

    See Also
    --------
    MissingFilesError : The subclass raised for files that do not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> from skanimal.datasets import DatasetError, load_manifest
    >>> with tempfile.TemporaryDirectory() as d:
    ...     csv = os.path.join(d, "manifest.csv")
    ...     with open(csv, "w") as fh:
    ...         _ = fh.write("path,label\\na.png,1\\n")
    ...     try:
    ...         load_manifest(csv)
    ...     except DatasetError as exc:
    ...         print("lacks the required column(s) subject" in str(exc))
    True
    """


class MissingFilesError(DatasetError, FileNotFoundError):
    """Files that a dataset refers to do not exist.

    A :class:`DatasetError` (hence a :class:`ValueError`) and a
    :class:`FileNotFoundError`.

    Parameters
    ----------
    message : str
        The error message; it names the dataset and the first missing files.
    missing : iterable of str, default=()
        Every missing file.

    Attributes
    ----------
    missing : list of str
        Every missing file.

    See Also
    --------
    DatasetError : The base class of dataset format errors.

    Examples
    --------
    >>> import tempfile, os
    >>> from skanimal.datasets import MissingFilesError, load_manifest
    >>> with tempfile.TemporaryDirectory() as d:
    ...     csv = os.path.join(d, "manifest.csv")
    ...     with open(csv, "w") as fh:
    ...         _ = fh.write("path,label,subject\\na.png,1,rat1\\n")
    ...     try:
    ...         load_manifest(csv)
    ...     except MissingFilesError as exc:
    ...         print([os.path.basename(p) for p in exc.missing])
    ['a.png']
    """

    def __init__(self, message, missing=()):
        super().__init__(message)
        self.missing = list(missing)


class DatasetExistsError(DatasetError, FileExistsError):
    """A folder that a dataset would be written to holds files it must not replace.

    Raised by :func:`~skanimal.datasets.save_dataset` for a folder that is
    not empty (without ``overwrite=True``), that is a file, or that holds
    files the overwrite would replace or remove but that ``save_dataset``
    did not write. A :class:`DatasetError` (hence a :class:`ValueError`) and
    a :class:`FileExistsError`.

    See Also
    --------
    DatasetError : The base class of dataset format errors.

    Examples
    --------
    >>> import os, tempfile
    >>> from skanimal.datasets import DatasetExistsError, make_grimace_faces, save_dataset
    >>> faces = make_grimace_faces(n_samples=12, image_size=32)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with open(os.path.join(d, "manifest.csv"), "w") as fh:
    ...         _ = fh.write("path,label,subject\\n")
    ...     try:
    ...         save_dataset(faces, d, overwrite=True)
    ...     except DatasetExistsError as exc:
    ...         print("not written by save_dataset" in str(exc))
    True
    """


def load_descr(name):
    """Return the text of ``skanimal/datasets/descr/<name>``."""
    return (resources.files("skanimal.datasets") / "descr" / name).read_text(
        encoding="utf-8"
    )


def describe(descr_name, *, source, target, groups, target_names):
    """A DESCR text: the static description plus a summary of the loaded data."""
    text = load_descr(descr_name).rstrip("\n")
    lines = [
        "",
        "",
        "This copy",
        "---------",
        "",
        f":Source: ``{source}``",
        f":Number of images: {len(target)}",
        f":Number of subjects: {len(np.unique(np.asarray(groups, dtype=str)))}",
    ]
    if np.asarray(target).dtype.kind in "iub":
        values, counts = np.unique(target, return_counts=True)
        parts = []
        names = list(target_names)
        for val, cnt in zip(values, counts):
            name = names[val] if 0 <= val < len(names) else str(val)
            parts.append(f"{name} ({val}): {cnt}")
        lines.append(":Images per class: " + "; ".join(parts))
    elif np.asarray(target).dtype.kind in "OUS":
        values, counts = np.unique(np.asarray(target, dtype=str), return_counts=True)
        lines.append(
            ":Images per class: "
            + "; ".join(f"{v}: {c}" for v, c in zip(values, counts))
        )
    return text + "\n".join(lines) + "\n"


def make_bunch(*, images, target, groups, target_names, frame, descr):
    """The Bunch every loader returns."""
    return Bunch(
        images=images,
        target=target,
        groups=groups,
        target_names=target_names,
        frame=frame,
        DESCR=descr,
    )


def object_array(values):
    """A 1-D object ndarray of Python ``str``."""
    out = np.empty(len(values), dtype=object)
    out[:] = [str(v) for v in values]
    return out


def format_items(items, limit=5):
    """``"a, b, c"`` with at most ``limit`` items and ``"... (N more)"``."""
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more)"
    return shown


_INT_RE = re.compile(r"^[+-]?\d+$")

#: Cell texts read as a missing value (compared as written, after stripping
#: spaces): exactly pandas' default ``na_values`` of :func:`pandas.read_csv`,
#: which spreadsheet and R exports write for an empty cell. Case matters, as in
#: pandas: ``"NA"`` and ``"None"`` are missing, ``"none"`` is text.
MISSING_MARKERS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


def is_blank(series):
    """Boolean mask of empty (or whitespace-only) cells of a column, as an ndarray."""
    return (series.astype(str).str.strip() == "").to_numpy()


def is_missing(series):
    """Boolean mask of cells that are empty or hold a missing-value marker.

    The markers are :data:`MISSING_MARKERS` (``"NA"``, ``"nan"``, ``"NULL"``,
    ``"None"``, ``"#N/A"`` ...), compared case-sensitively as pandas does.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.datasets._base import is_missing
    >>> is_missing(pd.Series(["NA", " nan ", "", "none", "na", "rat1"])).tolist()
    [True, True, True, False, False, False]
    """
    return series.astype(str).str.strip().isin(MISSING_MARKERS).to_numpy()


def all_integers(values):
    """Whether every string in ``values`` is an integer literal."""
    return len(values) > 0 and all(_INT_RE.match(str(v).strip()) for v in values)


def to_number(value):
    """Parse one cell as int or float, or raise ValueError."""
    text = str(value).strip()
    if _INT_RE.match(text):
        return int(text)
    return float(text)


def numeric_labels(values):
    """Labels as numbers when every one is a finite number, else None.

    ``"1"``, ``"1.0"`` and ``" 1 "`` are the same class: all-integral labels
    become ``int64``, others ``float64``.

    Examples
    --------
    >>> from skanimal.datasets._base import numeric_labels
    >>> numeric_labels(["1", "1.0", "0"])
    array([1, 1, 0])
    >>> numeric_labels(["0.5", "1"])
    array([0.5, 1. ])
    >>> print(numeric_labels(["1", "pain"]))
    None
    """
    try:
        numbers = np.array([to_number(v) for v in values], dtype=np.float64)
    except (ValueError, OverflowError):
        return None
    if len(numbers) == 0 or not np.isfinite(numbers).all():
        return None
    integral = numbers == np.rint(numbers)
    if integral.all() and np.abs(numbers).max() < 2**53:
        return numbers.astype(np.int64)
    return numbers


def infer_column(series):
    """Convert a column of strings to int, float or bool where all cells fit.

    Empty cells and missing-value markers (:data:`MISSING_MARKERS`, such as
    ``"NA"``) become NaN in numeric columns; a column that is not entirely
    numeric (or boolean) is kept as strings, as written (empty cells as ``""``).
    """
    text = series.astype(str).str.strip()
    missing = pd.Series(is_missing(text), index=text.index)
    filled = text[~missing]
    if len(filled) == 0:
        return pd.Series(np.full(len(series), np.nan), index=series.index)
    if filled.isin(["True", "False"]).all() and len(filled) == len(text):
        return text == "True"
    if all_integers(filled) and len(filled) == len(text):
        return pd.Series([int(v) for v in text], index=series.index, dtype=np.int64)
    try:
        vals = [np.nan if m else float(v) for v, m in zip(text, missing)]
    except ValueError:
        return series
    return pd.Series(vals, index=series.index, dtype=np.float64)
