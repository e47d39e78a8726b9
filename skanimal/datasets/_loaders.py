"""Datasets on disk: manifest CSV files, folders of images, and writing them.

A *manifest* is a CSV file with one row per image and at least the columns
``path`` (relative to the CSV's folder, or absolute), ``label`` and
``subject``; optional columns ``label_name``, ``video``, ``time``, ``score``
and a face box ``x, y, width, height`` (or its corners ``x0, y0, x1, y1``),
which makes the image a lazily cropped
:class:`~skanimal.sampling.AugmentedImage`; any other column is kept.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import codecs
import csv as _csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Mapping
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..exceptions import DataError
from ..sampling import AugmentedImage
from ..utils import check_images, open_image
from ..utils._images import ImageReadError, _image_path, _oriented_size
from ..utils._io import atomic_path, write_text_atomic
from ._base import (
    IMAGE_EXTENSIONS,
    DatasetError,
    DatasetExistsError,
    MissingFilesError,
    describe,
    format_items,
    infer_column,
    is_blank,
    is_missing,
    make_bunch,
    numeric_labels,
    object_array,
    to_number,
)

__all__ = ["check_dataset_folder", "load_image_folder", "load_manifest", "load_new_images",
           "save_dataset"]

_REQUIRED = ("path", "label", "subject")
_BOX = ("x", "y", "width", "height")  # the face box: top-left corner and size
_CORNERS = ("x0", "y0", "x1", "y1")  # the same box by its corners (older manifests)
_NUMERIC = ("time", "score") + _BOX + _CORNERS
_STRINGS = ("path", "label", "label_name", "subject", "video")
_FORMATS = {"png": "PNG", "tiff": "TIFF", "bmp": "BMP"}


def _rows(mask):
    """Data-row numbers (1 = first row under the header) where ``mask``."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask))]


def _row_text(rows):
    return f"data row(s) {format_items(rows, 10)} (row 1 is the line after the header)"


# --------------------------------------------------------------------------
# load_manifest
# --------------------------------------------------------------------------


@validate_params(
    {
        "path": [str, os.PathLike],
        "check_files": ["boolean"],
        "box_scale": [Interval(Real, 1, None, closed="left")],
        "square": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_manifest(path, *, check_files=True, box_scale=1.0, square=False):
    """Load a dataset described by a manifest CSV file.

    A manifest lists one image per row with its label and subject, so it can
    describe any folder layout; :func:`save_dataset` writes one. The CSV is
    validated as a whole and every problem is reported with the CSV's name
    and the rows concerned.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file, UTF-8 text (a UTF-8, UTF-16 or UTF-32 file that starts
        with a byte-order mark is read too). Required columns: ``path`` (image
        file, relative to the CSV's folder or absolute), ``label`` (the class)
        and ``subject`` (the animal or person shown). Optional columns:
        ``label_name`` (the name of each integer label), ``video``, ``time``,
        ``score`` (e.g. a grimace score) and a face box ``x, y, width,
        height`` (pixels of the image as decoded, after its EXIF orientation:
        the top-left corner and the size; all four columns or none, and a row
        gives all four values or leaves all four empty). The box may also be
        given by its corners ``x0, y0, x1, y1`` (``x1 = x + width``), but not
        in both forms. Any other column is kept in ``frame``. Empty cells and
        the usual missing-value markers of :func:`pandas.read_csv` (``NA``,
        ``N/A``, ``nan``, ``NaN``, ``NULL``, ``None``, ``#N/A`` ...,
        case-sensitive: ``none`` is text)
        are missing values, except in ``label_name``, which is free text
        (only an empty name is missing). A delimiter at the end of every data
        row, as some spreadsheet programs export, is ignored.
    check_files : bool, default=True
        Check that every image file exists and that every face box lies
        within its image (which reads the images' headers).
    box_scale : float, default=1.0
        Enlarge every face box about its centre by this factor, >= 1 (1.25
        adds 25 %, as the UNBC-McMaster papers crop); the enlarged box is
        clipped to the image when it is read.
    square : bool, default=False
        Grow every (enlarged) face box to a square of its longer side, about
        its centre, before it is clipped.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of object of shape (n_samples,)
            Absolute image paths (``str``); a row with a face box gives an
            :class:`~skanimal.sampling.AugmentedImage` of its file with
            ``box=(x, y, width, height)``, ``box_scale`` and ``square``,
            which every skanimal reader crops when it reads the pixels.
        target : ndarray of shape (n_samples,)
            The ``label`` column: when every label is a number, integers if
            all are whole (``"1"`` and ``"1.0"`` are the same class) and
            floats otherwise; else the labels as strings.
        groups : ndarray of str of shape (n_samples,)
            The ``subject`` column, as strings (``"rat01"`` stays
            ``"rat01"``, ``7`` becomes ``"7"``).
        target_names : ndarray of str
            With a ``label_name`` column, the names ordered by their label
            (``target_names[i]`` names the ``i``-th smallest label, which is
            label ``i`` when labels are 0, 1, ...). Otherwise the sorted
            unique labels, as strings.
        frame : pandas.DataFrame of shape (n_samples, n_columns)
            Every column of the CSV, in its order; ``path`` holds absolute
            paths (of the files, also for boxed rows), ``label`` the target
            and ``subject`` the groups; the box columns are kept as given. Other
            columns are integers, floats or booleans when all their cells are,
            else strings.
        DESCR : str
            Description of the manifest format and of this dataset.

    Raises
    ------
    MissingFilesError
        If ``path`` does not exist, or (when ``check_files`` is True) image
        files do not exist (a :class:`DatasetError` and a
        :class:`FileNotFoundError`).
    DatasetError
        A :class:`ValueError` naming the CSV, for a folder given as ``path``,
        a file that is not UTF-8 text (and has no byte-order mark), rows with
        more values than the header has columns, missing required columns,
        no rows, missing labels, subjects or paths, duplicated paths, face
        boxes that are partial (some of the four columns or values missing),
        given in both forms, non-numeric, negative, empty (``width`` or
        ``height`` <= 0, ``x1 <= x0`` or ``y1 <= y0``) or (with
        ``check_files``) not within their image, non-numeric ``time`` or
        ``score``, or label names that do not map one to one to labels.

    See Also
    --------
    save_dataset : Write a dataset as image files plus a manifest.
    load_image_folder : Load a folder with one sub-folder per class.
    load_deeplabcut : Face boxes from DeepLabCut keypoints.
    skanimal.sampling.AugmentedImage : The lazily cropped image of a boxed row.

    Examples
    --------
    >>> import tempfile
    >>> from skanimal.datasets import make_grimace_faces, save_dataset, load_manifest
    >>> faces = make_grimace_faces(n_samples=12, image_size=32)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     data = load_manifest(save_dataset(faces, d))
    ...     print(len(data.images), list(data.target_names))
    12 ['no pain', 'pain']

    A face box per row crops the image when it is read:

    >>> import os
    >>> import pandas as pd
    >>> from skanimal.utils import load_image
    >>> with tempfile.TemporaryDirectory() as d:
    ...     csv = save_dataset(faces, d)
    ...     rows = pd.read_csv(csv).assign(x=4, y=2, width=20, height=16)
    ...     rows.to_csv(csv, index=False)
    ...     data = load_manifest(csv, box_scale=1.25)
    ...     print(data.images[0].box, load_image(data.images[0]).shape)
    (4.0, 2.0, 20.0, 16.0) (20, 25, 3)
    """
    return _load_manifest(path, required=_REQUIRED, check_files=check_files,
                          box_scale=box_scale, square=square)


def _load_manifest(path, *, required, check_files, box_scale, square):
    """load_manifest with `required` columns; an absent label or subject column gives
    None as target or groups."""
    csv = os.path.abspath(os.fspath(path))
    raw = _read_manifest(csv)

    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise DatasetError(
            f"manifest {csv!r} lacks the required column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(repr, raw.columns))}. Required: {', '.join(required)}."
        )
    dupe_cols = raw.columns[raw.columns.duplicated()].tolist()
    if dupe_cols:
        raise DatasetError(f"manifest {csv!r} has duplicated column(s) {dupe_cols}.")
    if len(raw) == 0:
        raise DatasetError(f"manifest {csv!r} has a header but no rows.")
    raw = raw.reset_index(drop=True)
    present = tuple(c for c in _REQUIRED if c in raw.columns)
    for col in present + (("label_name",) if "label_name" in raw.columns else ()):
        raw[col] = raw[col].astype(str).str.strip()
        # a label_name is free text ("none" is a name): only an empty one is missing
        missing = is_blank(raw[col]) if col == "label_name" else is_missing(raw[col])
        if missing.any():
            markers = sorted(set(raw[col][missing]) - {""})
            said = (
                f" ({', '.join(map(repr, markers))} read as missing)" if markers else ""
            )
            raise DatasetError(
                f"manifest {csv!r}: empty or missing {col!r} on "
                f"{_row_text(_rows(missing))}{said}. Every row needs a {col}."
            )

    base = os.path.dirname(csv)
    paths = [os.path.normpath(os.path.join(base, p)) for p in raw["path"]]
    dup = pd.Series(paths).duplicated(keep=False).to_numpy()
    if dup.any():
        first = paths[int(np.flatnonzero(dup)[0])]
        raise DatasetError(
            f"manifest {csv!r} lists the same image more than once: {_row_text(_rows(dup))}"
            f" (e.g. {first!r}). Each row must be a distinct image file."
        )
    if check_files:
        absent = [p for p in paths if not os.path.isfile(p)]
        if absent:
            raise MissingFilesError(
                f"manifest {csv!r}: {len(absent)} of {len(paths)} image file(s) do not "
                f"exist, the first: {format_items(map(repr, absent), 5)}.",
                absent,
            )

    frame = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        if col == "path":
            frame[col] = paths
        elif col in ("subject", "video", "label_name"):
            frame[col] = raw[col].astype(str)
        elif col == "label":
            frame[col] = raw[col]
        elif col in _NUMERIC:
            frame[col] = _numeric_column(raw[col], col, csv)
        else:
            frame[col] = infer_column(raw[col])

    boxes = _face_boxes(frame, csv)
    if check_files and boxes is not None:
        _check_boxes_within(paths, boxes, csv)

    images = object_array(paths)
    if boxes is not None:
        for i in np.flatnonzero(~np.isnan(boxes[:, 0])):
            images[i] = AugmentedImage(paths[i], box=tuple(boxes[i]), box_scale=box_scale,
                                       square=square)
    groups = object_array(frame["subject"]) if "subject" in frame.columns else None
    if "label" not in frame.columns:
        return Bunch(images=images, target=None, groups=groups, target_names=None,
                     frame=frame, DESCR=f"Images listed by the manifest {csv}.")
    target = numeric_labels(raw["label"])
    if target is None:
        target = object_array(raw["label"])
    frame["label"] = target
    if "label_name" in frame.columns:
        target_names = _names_from_column(target, frame["label_name"], csv)
    else:
        target_names = object_array(np.unique(target))
    if groups is None:
        return Bunch(images=images, target=target, groups=None, target_names=target_names,
                     frame=frame, DESCR=f"Images listed by the manifest {csv}.")
    descr = describe("manifest.rst", source=csv, target=target, groups=groups,
                     target_names=target_names)
    return make_bunch(images=images, target=target, groups=groups,
                      target_names=target_names, frame=frame, descr=descr)


def _numeric_column(column, name, csv):
    values = column.astype(str).str.strip()
    out = np.full(len(values), np.nan)
    bad = []
    for i, (v, missing) in enumerate(zip(values, is_missing(values))):
        if missing:
            continue
        try:
            out[i] = to_number(v)
        except ValueError:
            bad.append(i + 1)
    if bad:
        raise DatasetError(
            f"manifest {csv!r}: column {name!r} must be numeric; non-numeric values on "
            f"{_row_text(bad)} (e.g. {values.iloc[bad[0] - 1]!r})."
        )
    return out


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _manifest_text(csv):
    """The text of a manifest: UTF-8, or the Unicode encoding its byte-order mark names."""
    if os.path.isdir(csv):
        raise DatasetError(
            f"manifest {csv!r} is a folder, not a CSV file; pass the manifest file "
            f"itself, e.g. {os.path.join(csv, 'manifest.csv')!r}."
        )
    if not os.path.isfile(csv):
        raise MissingFilesError(f"manifest file {csv!r} does not exist.", [csv])
    with open(csv, "rb") as fh:
        data = fh.read()
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    fix = 'Save it as UTF-8 ("CSV UTF-8" in spreadsheet programs) and load it again.'
    if encoding == "utf-8" and b"\x00" in data:
        # valid UTF-8 may hold NUL bytes, but no CSV text does
        raise DatasetError(
            f"manifest {csv!r} holds NUL bytes (line {data[: data.index(0)].count(10) + 1}),"
            f" as UTF-16 text without a byte-order mark does; it is not UTF-8 text. {fix}"
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"manifest {csv!r} is not {encoding.upper()} text: byte "
            f"0x{data[exc.start]:02x} on line {data[: exc.start].count(10) + 1} cannot be "
            "decoded (it may be Latin-1 or Windows-1252 text, as older spreadsheet "
            f"programs export). {fix}"
        ) from None


def _read_manifest(csv):
    """The manifest as a frame of stripped-name str columns, every cell as written."""
    text = _manifest_text(csv)
    try:
        # index_col=False: a spreadsheet export that ends every data row with a
        # delimiter must not make the path column the index; its empty last
        # fields are dropped (a usecols keeps pandas from warning on each row,
        # and _check_row_widths refuses rows whose extra fields hold values)
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                          skipinitialspace=True, index_col=False,
                          usecols=lambda name: True)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"manifest {csv!r} is empty: expected a header row with "
                           f"the columns {', '.join(_REQUIRED)}.") from None
    except pd.errors.ParserError as exc:
        raise DatasetError(f"manifest {csv!r} is not a valid CSV file: {exc}") from exc
    _check_row_widths(text, len(raw.columns), csv)
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def _check_row_widths(text, n_columns, csv):
    """Refuse data rows with more non-empty fields than the header has columns.

    Trailing empty fields (a delimiter at the end of every row) are dropped by
    ``index_col=False``; a row with values beyond the header would lose them.
    """
    records = (r for r in _csv.reader(io.StringIO(text), skipinitialspace=True) if r)
    next(records, None)  # the header
    wide = [
        k for k, record in enumerate(records, start=1)
        if len(record) > n_columns and any(f.strip() for f in record[n_columns:])
    ]
    if wide:
        raise DatasetError(
            f"manifest {csv!r}: {_row_text(wide)} have more values than the header has "
            f"columns ({n_columns}); add the missing column names to the header or "
            "remove the extra values."
        )


def _face_boxes(frame, csv):
    """The face boxes of a manifest as ``(x, y, width, height)`` rows (NaN: no box), or None.

    The box is given by ``x, y, width, height`` or, in older manifests, by its
    corners ``x0, y0, x1, y1``; a partial set of columns, both forms, partial,
    negative or empty boxes are refused, naming the CSV and rows.
    """
    forms = {cols: [c for c in cols if c in frame.columns] for cols in (_BOX, _CORNERS)}
    given = [cols for cols, present in forms.items() if present]
    if not given:
        return None
    if len(given) == 2:
        raise DatasetError(
            f"manifest {csv!r} gives a face box both as {', '.join(_BOX)} and as "
            f"{', '.join(_CORNERS)}; keep one of the two forms.")
    cols = given[0]
    present = forms[cols]
    if len(present) < 4:
        raise DatasetError(
            f"manifest {csv!r} has the box column(s) {', '.join(present)} but not "
            f"{', '.join(c for c in cols if c not in present)}: a face box needs all "
            f"four of {', '.join(cols)} (rename the column(s) if they are not a face box)."
        )
    box = frame[list(cols)].to_numpy(dtype=float)
    nan = np.isnan(box)
    partial = nan.any(axis=1) & ~nan.all(axis=1)
    if partial.any():
        raise DatasetError(
            f"manifest {csv!r}: incomplete face box (some of {', '.join(cols)} empty) on "
            f"{_row_text(_rows(partial))}. Give all four values or none."
        )
    has = ~nan[:, 0]
    negative = has & ((box[:, 0] < 0) | (box[:, 1] < 0))
    if cols == _CORNERS:
        negative |= has & ((box[:, 2] < 0) | (box[:, 3] < 0))
        box = np.column_stack([box[:, :2], box[:, 2:] - box[:, :2]])
        empty_rule = "x1 <= x0 or y1 <= y0"
    else:
        empty_rule = "width or height <= 0"
    if negative.any():
        names = ", ".join(cols if cols == _CORNERS else cols[:2])
        raise DatasetError(
            f"manifest {csv!r}: negative face box coordinate(s) ({names} must be >= 0, "
            f"pixels from the image's top-left corner) on {_row_text(_rows(negative))}."
        )
    empty = has & ((box[:, 2] <= 0) | (box[:, 3] <= 0))
    if empty.any():
        raise DatasetError(
            f"manifest {csv!r}: empty face box ({empty_rule}) on {_row_text(_rows(empty))}."
        )
    if not np.isfinite(box[has]).all():
        bad = has & ~np.isfinite(box).all(axis=1)
        raise DatasetError(
            f"manifest {csv!r}: infinite face box value(s) on {_row_text(_rows(bad))}.")
    return box


def _check_boxes_within(paths, boxes, csv):
    """Refuse face boxes that do not lie within their image (read from its header)."""
    outside, sizes = [], {}
    for i in np.flatnonzero(~np.isnan(boxes[:, 0])):
        try:
            width, height = _oriented_size(paths[i])
        except ImageReadError as exc:
            raise DatasetError(
                f"manifest {csv!r}: cannot read the image of data row {i + 1} to check its "
                f"face box: {exc}") from None
        x, y, w, h = boxes[i]
        if x + w > width or y + h > height:
            outside.append(int(i) + 1)
            sizes.setdefault("first", (i, width, height))
    if outside:
        i, width, height = sizes["first"]
        x, y, w, h = boxes[i]
        raise DatasetError(
            f"manifest {csv!r}: face box not within its image on {_row_text(outside)}; "
            f"e.g. data row {i + 1}: x + width = {x + w:g}, y + height = {y + h:g} for "
            f"an image of {width}x{height} pixels (width x height, as decoded after its "
            "EXIF orientation). Clip the boxes to the image; box_scale enlargements are "
            "clipped when read."
        )


def _names_from_column(target, names, csv):
    """target_names ordered by label, checking the label <-> name mapping."""
    pairs = pd.DataFrame({"label": target, "name": np.asarray(names, dtype=object)})
    per_label = pairs.groupby("label", sort=True)["name"].unique()
    clash = {k: list(v) for k, v in per_label.items() if len(v) > 1}
    if clash:
        raise DatasetError(
            f"manifest {csv!r}: a label has several label_name values: "
            f"{format_items((f'{k!r} -> {v}' for k, v in clash.items()), 5)}."
        )
    per_name = pairs.groupby("name", sort=True)["label"].unique()
    clash = {k: list(v) for k, v in per_name.items() if len(v) > 1}
    if clash:
        raise DatasetError(
            f"manifest {csv!r}: a label_name is used for several labels: "
            f"{format_items((f'{k!r} -> {v}' for k, v in clash.items()), 5)}."
        )
    return object_array([v[0] for v in per_label.to_numpy()])


# --------------------------------------------------------------------------
# load_image_folder
# --------------------------------------------------------------------------


def _visible_entries(folder):
    with os.scandir(folder) as it:
        return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)


@validate_params(
    {
        "root": [str, os.PathLike],
        "subject_pattern": [str, re.Pattern, None],
        "subject_map": [Mapping, Callable, None],
        "extensions": [tuple, list],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(root, *, subject_pattern=None, subject_map=None,
                      extensions=IMAGE_EXTENSIONS):
    """Load images stored as ``root/<label>/<image files>``.

    Every visible sub-folder of ``root`` is a class, named after the folder;
    its image files (matched by extension, case-insensitive, hidden files
    skipped, not recursive) are the samples. Files directly in ``root`` are
    ignored. Order is deterministic: classes sorted by name, then files sorted
    by name.

    Subject ids are required: subject-wise evaluation (no subject in both
    training and test data) is the rule in skanimal, and a folder layout does
    not say who each image shows. Give them with exactly one of
    ``subject_pattern`` or ``subject_map``; there is deliberately no default
    (such as one subject per image), because a silent default would make
    image-wise -- leaky -- evaluation look subject-wise.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one sub-folder per class.
    subject_pattern : str or re.Pattern, default=None
        A regular expression with a named group ``subject``, searched
        (:func:`re.search`) in each file name, e.g. ``r"^(?P<subject>rat\\d+)_"``.
    subject_map : dict or callable, default=None
        A mapping from file name (or from ``"<label>/<file name>"``, which
        is tried first) to subject, or a callable taking the absolute path
        of a file and returning its subject.
    extensions : tuple of str, default=(".png", ".jpg", ".jpeg", ".bmp", \
".tif", ".tiff", ".webp")
        The file name extensions taken as images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of str of shape (n_samples,)
            Absolute image paths (object array).
        target : ndarray of int of shape (n_samples,)
            Class codes, indices into ``target_names``.
        groups : ndarray of str of shape (n_samples,)
            The subject of each image.
        target_names : ndarray of str
            The class folder names, sorted.
        frame : pandas.DataFrame of shape (n_samples, 5)
            Columns ``path``, ``file``, ``label``, ``label_name``, ``subject``.
        DESCR : str
            Description of the layout and of this dataset.

    Raises
    ------
    MissingFilesError
        If ``root`` is not a folder (a :class:`DatasetError` and a
        :class:`FileNotFoundError`).
    skanimal.exceptions.DataError
        A :class:`ValueError`, if no or both of ``subject_pattern`` and
        ``subject_map`` are given, the pattern has no ``subject`` group, or
        ``extensions`` is empty.
    DatasetError
        A :class:`ValueError` naming the folder or files at fault: no class
        folders, a class folder without images, file names the pattern does
        not match, files missing from the map, empty subjects.

    See Also
    --------
    load_manifest : Load a dataset from a manifest CSV (any layout).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skanimal.datasets import load_image_folder
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for label in ("no_pain", "pain"):
    ...         os.makedirs(os.path.join(root, label))
    ...         for rat in ("rat1", "rat2"):
    ...             Image.fromarray(np.zeros((8, 8), np.uint8)).save(
    ...                 os.path.join(root, label, f"{rat}_0.png"))
    ...     data = load_image_folder(root, subject_pattern=r"^(?P<subject>rat\\d+)_")
    ...     print(data.target, list(data.groups), list(data.target_names))
    [0 0 1 1] ['rat1', 'rat2', 'rat1', 'rat2'] ['no_pain', 'pain']
    """
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise MissingFilesError(
            f"image folder {root!r} does not exist or is not a folder.", [root])
    if (subject_pattern is None) == (subject_map is None):
        which = "both were" if subject_pattern is not None else "neither was"
        raise DataError(
            "load_image_folder needs subject ids for subject-wise evaluation: pass exactly "
            "one of subject_pattern (a regex with a named group 'subject' searched in each "
            "file name, e.g. r'^(?P<subject>rat\\d+)_') or subject_map (a dict file name "
            f"-> subject, or a callable path -> subject); {which} given."
        )
    if subject_pattern is not None:
        pattern = re.compile(subject_pattern)
        if "subject" not in pattern.groupindex:
            raise DataError(
                f"subject_pattern {pattern.pattern!r} has no named group 'subject'; "
                "write it as (?P<subject>...)."
            )
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    if not exts:
        raise DataError("extensions is empty: give at least one file name extension.")

    class_dirs = [e for e in _visible_entries(root) if e.is_dir()]
    if not class_dirs:
        raise DatasetError(
            f"image folder {root!r} has no sub-folders: expected root/<label>/<images>."
        )
    paths, files, codes, empty = [], [], [], []
    for code, entry in enumerate(class_dirs):
        found = [
            e for e in _visible_entries(entry.path)
            if e.is_file() and os.path.splitext(e.name)[1].lower() in exts
        ]
        if not found:
            empty.append(entry.name)
        for e in found:
            paths.append(os.path.join(root, entry.name, e.name))
            files.append(e.name)
            codes.append(code)
    if empty:
        raise DatasetError(
            f"image folder {root!r}: class folder(s) {format_items(map(repr, empty), 5)} "
            f"contain no image files (extensions {', '.join(exts)}). Remove them or add "
            "images."
        )
    target_names = object_array([e.name for e in class_dirs])
    target = np.asarray(codes, dtype=np.int64)
    rel = [f"{target_names[c]}/{f}" for c, f in zip(codes, files)]

    subjects, bad = [], []
    if subject_pattern is not None:
        for f, r in zip(files, rel):
            m = pattern.search(f)
            if m is None or not m.group("subject"):
                bad.append(r)
                subjects.append(None)
            else:
                subjects.append(m.group("subject"))
        if bad:
            raise DatasetError(
                f"image folder {root!r}: subject_pattern {pattern.pattern!r} does not find a "
                f"subject in {len(bad)} of {len(files)} file name(s), the first: "
                f"{format_items(map(repr, bad), 5)}."
            )
    elif isinstance(subject_map, Mapping):
        for f, r in zip(files, rel):
            s = subject_map.get(r, subject_map.get(f))
            if s is None or str(s).strip() == "":
                bad.append(r)
            subjects.append(s)
        if bad:
            raise DatasetError(
                f"image folder {root!r}: subject_map has no subject for {len(bad)} of "
                f"{len(files)} file(s), the first: {format_items(map(repr, bad), 5)}."
            )
    else:
        for p, r in zip(paths, rel):
            s = subject_map(p)
            if s is None or str(s).strip() == "":
                bad.append(r)
            subjects.append(s)
        if bad:
            raise DatasetError(
                f"image folder {root!r}: subject_map returned no subject for {len(bad)} "
                f"file(s), the first: {format_items(map(repr, bad), 5)}."
            )
    groups = object_array(subjects)
    images = object_array(paths)
    frame = pd.DataFrame({
        "path": images,
        "file": object_array(files),
        "label": target,
        "label_name": target_names[target],
        "subject": groups,
    })
    descr = describe("image_folder.rst", source=root, target=target, groups=groups,
                     target_names=target_names)
    return make_bunch(images=images, target=target, groups=groups,
                      target_names=target_names, frame=frame, descr=descr)


# --------------------------------------------------------------------------
# load_new_images
# --------------------------------------------------------------------------


def _image_files(root, exts):
    """Visible image files under `root`, recursively, sorted by relative path."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(folder, f) for f in files
                     if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts)
    return sorted(found, key=lambda p: os.path.relpath(p, root).split(os.sep))


@validate_params(
    {
        "path": [str, os.PathLike],
        "subject_pattern": [str, re.Pattern, None],
        "box_scale": [Interval(Real, 1, None, closed="left")],
        "square": ["boolean"],
        "extensions": [tuple, list],
    },
    prefer_skip_nested_validation=True,
)
def load_new_images(path, *, subject_pattern=None, box_scale=1.0, square=False,
                    extensions=IMAGE_EXTENSIONS):
    """Load images of new animals to score: a manifest, or a folder of images.

    Unlike the training loaders, labels are not needed (a model predicts
    them) and subjects are optional (without them, images are summarised per
    video).

    Parameters
    ----------
    path : str or os.PathLike
        One of:

        - a manifest CSV as :func:`load_manifest` reads it, where only
          ``path`` is required: ``label``, ``subject``, ``video``, ``time``,
          ``session``, a face box ... are used when present (the manifest of
          :func:`skanimal.video.write_frames` is one);
        - a folder holding such a ``manifest.csv`` (e.g. the output of
          ``skanimal frames``), read through it;
        - any other folder: its image files, searched recursively (hidden
          files and folders skipped), sorted by relative path. The subject
          of an image is found by `subject_pattern`, else it is the name of
          the first-level sub-folder it is in (the ``path/<animal>/<images>``
          layout); images directly in `path` then have no subject.
    subject_pattern : str or re.Pattern, default=None
        For a folder without manifest: a regular expression with a named
        group ``subject``, searched in each image's path relative to `path`
        (``/``-separated), e.g. ``r"^(?P<subject>mouse\\d+)_"``.
    box_scale : float, default=1.0
        For a manifest with face boxes, as in :func:`load_manifest`.
    square : bool, default=False
        For a manifest with face boxes, as in :func:`load_manifest`.
    extensions : tuple of str, default=(".png", ".jpg", ".jpeg", ".bmp", \
".tif", ".tiff", ".webp")
        For a folder without manifest: the image file name extensions.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of object of shape (n_samples,)
            Absolute image paths, or lazily cropped
            :class:`~skanimal.sampling.AugmentedImage` copies for boxed rows.
        target : ndarray of shape (n_samples,) or None
            The manifest's ``label`` column, None without one.
        groups : ndarray of str of shape (n_samples,) or None
            The subjects, None when they are not known.
        target_names : ndarray of str or None
            As in :func:`load_manifest`, None without labels.
        frame : pandas.DataFrame of shape (n_samples, n_columns)
            The manifest's columns, or ``path``, ``file`` and (when known)
            ``subject`` for a folder.
        DESCR : str
            Where the images come from.

    Raises
    ------
    MissingFilesError
        If `path` does not exist, or image files of a manifest do not.
    DatasetError
        A :class:`ValueError` naming the manifest or folder at fault: a
        folder without image files, file names the pattern does not match,
        `subject_pattern` given with a manifest (its ``subject`` column gives
        the subjects), or a manifest :func:`load_manifest` would refuse for
        a reason other than a missing label or subject column.

    See Also
    --------
    load_manifest : Load a labelled dataset for training.
    skanimal.scoring.score_animals : Score the images.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skanimal.datasets import load_new_images
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for mouse in ("m1", "m2"):
    ...         os.makedirs(os.path.join(root, mouse))
    ...         for t in range(2):
    ...             Image.fromarray(np.zeros((8, 8), np.uint8)).save(
    ...                 os.path.join(root, mouse, f"frame{t}.png"))
    ...     data = load_new_images(root)
    ...     print(len(data.images), list(data.groups), data.target)
    4 ['m1', 'm1', 'm2', 'm2'] None
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise MissingFilesError(f"{path!r} does not exist: give a manifest CSV or a folder "
                                "of images.", [path])
    manifest = path if not os.path.isdir(path) else os.path.join(path, "manifest.csv")
    if os.path.isfile(manifest):
        if subject_pattern is not None:
            raise DatasetError(
                f"subject_pattern applies to a folder of images; {manifest!r} is a manifest, "
                "whose 'subject' column gives the subjects.")
        return _load_manifest(manifest, required=("path",), check_files=True,
                              box_scale=box_scale, square=square)
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    paths = _image_files(path, exts)
    if not paths:
        raise DatasetError(f"folder {path!r} holds no image files (extensions "
                           f"{', '.join(exts)}), in it or in its sub-folders.")
    rel = [os.path.relpath(p, path).replace(os.sep, "/") for p in paths]
    frame = pd.DataFrame({"path": object_array(paths),
                          "file": object_array([os.path.basename(p) for p in paths])})
    if subject_pattern is not None:
        pattern = re.compile(subject_pattern)
        if "subject" not in pattern.groupindex:
            raise DataError(f"subject_pattern {pattern.pattern!r} has no named group "
                            "'subject'; write it as (?P<subject>...).")
        found = [pattern.search(r) for r in rel]
        bad = [r for r, m in zip(rel, found) if m is None or not m.group("subject")]
        if bad:
            raise DatasetError(
                f"folder {path!r}: subject_pattern {pattern.pattern!r} does not find a "
                f"subject in {len(bad)} of {len(rel)} image path(s), the first: "
                f"{format_items(map(repr, bad), 5)}.")
        frame["subject"] = object_array([m.group("subject") for m in found])
    elif any("/" in r for r in rel):
        frame["subject"] = object_array([r.split("/")[0] if "/" in r else "" for r in rel])
        loose = [r for r in rel if "/" not in r]
        if loose:
            raise DatasetError(
                f"folder {path!r} holds images both in sub-folders (one per animal) and "
                f"directly in it ({format_items(map(repr, loose), 3)}): move those into "
                "an animal's folder, or give subject_pattern.")
    groups = frame["subject"].to_numpy() if "subject" in frame.columns else None
    return Bunch(images=object_array(paths), target=None, groups=groups, target_names=None,
                 frame=frame, DESCR=f"Image files under {path}.")


# --------------------------------------------------------------------------
# save_dataset
# --------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_stems(frame, n):
    """File name stems: the sanitised ``image_id`` when unique, else numbers."""
    width = max(6, len(str(n - 1)))
    numbers = [f"{i:0{width}d}" for i in range(n)]
    if frame is None or "image_id" not in frame.columns:
        return numbers
    ids = [_UNSAFE.sub("_", str(v)).strip("._") for v in frame["image_id"]]
    if all(ids) and len(set(i.lower() for i in ids)) == n:
        return ids
    return numbers


def _get(dataset, key):
    if isinstance(dataset, Mapping):
        return dataset.get(key)
    return getattr(dataset, key, None)


@validate_params(
    {
        "dataset": [Mapping],
        "directory": [str, os.PathLike],
        "overwrite": ["boolean"],
        "format": [StrOptions(set(_FORMATS))],
    },
    prefer_skip_nested_validation=True,
)
def save_dataset(dataset, directory, *, overwrite=False, format="png"):
    """Write a dataset as lossless image files plus a manifest CSV.

    The images go to ``directory/images/`` (named after ``frame["image_id"]``
    when it is unique, else numbered), and ``directory/manifest.csv`` gets one
    row per image with the columns ``path`` (relative to the CSV, ``/``
    separators), ``label`` (the target), ``label_name`` (when the target holds
    integer codes of ``target_names``), ``subject`` and every other column of
    ``frame``. :func:`load_manifest` reads it back with the same target,
    groups, frame columns and pixels.

    Each image is written as :func:`~skanimal.utils.open_image` reads it
    (greyscale or RGB; an alpha channel is composited on white, as every
    skanimal estimator does), so ``load_image(saved)`` equals
    ``load_image(original)`` pixel for pixel. An image that is an
    :class:`~skanimal.sampling.AugmentedImage` (e.g. a boxed row of a
    manifest) is written cropped and augmented, and then the face box columns
    of ``frame`` are left out of the new manifest, so that the crops are not
    cropped again. Every file is written to a
    temporary file in its folder and then moved in place, and the manifest is
    written last, so a manifest never refers to half-written images.

    Parameters
    ----------
    dataset : dict or :class:`~sklearn.utils.Bunch`
        With ``images`` (paths, or an image array of shape (n, H, W[, C])),
        ``target`` and ``groups`` (or a ``subject`` column in ``frame``);
        optional ``target_names`` and ``frame``.
    directory : str or os.PathLike
        The output folder, created if needed. It must be empty unless
        ``overwrite`` is True.
    overwrite : bool, default=False
        Write into a non-empty folder, replacing a dataset that
        ``save_dataset`` wrote there: its ``manifest.csv`` and images are
        replaced, and its images that this dataset does not have are
        removed, so that the folder never mixes two datasets. Only files
        that ``save_dataset`` wrote and that have not changed since are
        replaced or removed (they are recorded, with their SHA-256, in
        ``.skanimal-dataset.json``); other files are kept, and a file the
        overwrite would replace that it did not write is refused.
    format : {"png", "tiff", "bmp"}, default="png"
        The (lossless) image file format.

    Returns
    -------
    manifest : str
        The absolute path of ``manifest.csv``.

    Raises
    ------
    DatasetExistsError
        A :class:`FileExistsError`, if ``directory`` is a file, is not empty
        and ``overwrite`` is False, or holds files that the overwrite would
        replace or remove but that ``save_dataset`` did not write (see
        :func:`check_dataset_folder`).
    skanimal.exceptions.DataError
        A :class:`ValueError`, if the lengths of images, target, groups and
        frame differ, subjects are missing, or a source image would be
        overwritten by its own copy.

    See Also
    --------
    load_manifest : Read the saved dataset back.
    check_dataset_folder : The folder check, to run before generating a dataset.

    Examples
    --------
    >>> import os, tempfile
    >>> from skanimal.datasets import make_grimace_faces, save_dataset
    >>> faces = make_grimace_faces(n_samples=12, image_size=32)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     csv = save_dataset(faces, d)
    ...     print(os.path.basename(csv), len(os.listdir(os.path.join(d, "images"))))
    manifest.csv 12
    """
    images = _get(dataset, "images")
    target = _get(dataset, "target")
    if images is None or target is None:
        raise DataError("dataset must have 'images' and 'target'.")
    images = check_images(images, input_name="dataset.images")
    n = len(images)
    target = np.asarray(target)
    if target.ndim != 1 or len(target) != n:
        raise DataError(
            f"dataset.target has shape {target.shape}; expected ({n},), one label per image."
        )
    frame = _get(dataset, "frame")
    if frame is not None:
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        if len(frame) != n:
            raise DataError(f"dataset.frame has {len(frame)} rows for {n} images.")
        frame = frame.reset_index(drop=True)
    groups = _get(dataset, "groups")
    if groups is None and frame is not None and "subject" in frame.columns:
        groups = frame["subject"].to_numpy()
    if groups is None:
        raise DataError(
            "dataset has no subjects: give 'groups' (or a 'subject' column in 'frame'); "
            "a manifest needs one subject per image for subject-wise evaluation."
        )
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n:
        raise DataError(f"dataset.groups has shape {groups.shape}; expected ({n},).")
    if pd.isna(groups).any() or (np.asarray(groups, dtype=str) == "").any():
        raise DataError("dataset.groups has empty or missing subjects.")
    target_names = _get(dataset, "target_names")

    directory = os.path.abspath(os.fspath(directory))
    recorded = check_dataset_folder(directory, overwrite=overwrite)
    img_dir = os.path.join(directory, "images")
    ext = "." + ("tif" if format == "tiff" else format)
    stems = _file_stems(frame, n)
    rel = [f"images/{s}{ext}" for s in stems]
    dest = [os.path.join(img_dir, s + ext) for s in stems]
    if images.dtype == object:
        sources = {os.path.realpath(_image_path(p)) for p in images}
        clash = [d for d in dest if os.path.realpath(d) in sources]
        if clash:
            raise DataError(
                f"saving to {directory!r} would overwrite source image(s) "
                f"{format_items(map(repr, clash), 3)}; choose another folder."
            )
    # the files of an earlier save that this one does not write: removed, so
    # that the folder never mixes two datasets (only files save_dataset wrote)
    stale = [f for f in recorded if f not in set(rel) | {_MANIFEST}
             and os.path.lexists(os.path.join(directory, f))]
    _refuse_foreign(directory, recorded, rel + stale)
    os.makedirs(img_dir, exist_ok=True)
    # recorded before writing, so that an interrupted save can be overwritten
    _write_record(directory, {**recorded, **dict.fromkeys([*rel, _MANIFEST])})

    written = {}
    for i, (x, name, out) in enumerate(zip(images, rel, dest)):
        img = open_image(x, index=i)
        buffer = io.BytesIO()
        img.save(buffer, format=_FORMATS[format])
        data = buffer.getvalue()
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
        written[name] = hashlib.sha256(data).hexdigest()

    manifest = pd.DataFrame({"path": rel, "label": target})
    if (target_names is not None and target.dtype.kind in "iu"
            and len(target) and target.min() >= 0 and target.max() < len(target_names)):
        manifest["label_name"] = np.asarray(target_names, dtype=object)[target]
    manifest["subject"] = np.asarray(groups, dtype=str).astype(object)
    if frame is not None:
        # the files written are already cropped: a face box of the source files
        # must not crop them again when the manifest is read back
        cropped = images.dtype == object and any(
            isinstance(x, AugmentedImage) and x.operations for x in images)
        skip = {"path", "label", "label_name", "subject"}
        skip |= set(_BOX + _CORNERS) if cropped else set()
        for col in frame.columns:
            if str(col) not in skip:
                manifest[str(col)] = frame[col].to_numpy()
    csv = os.path.join(directory, _MANIFEST)
    text = manifest.to_csv(index=False, lineterminator="\n")
    write_text_atomic(csv, text)
    written[_MANIFEST] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    for name in stale:
        os.unlink(os.path.join(directory, name))
    _write_record(directory, written)
    return csv


_MANIFEST = "manifest.csv"
#: The record of the files save_dataset wrote in a folder, with their SHA-256:
#: an overwrite replaces or removes only files listed there, unchanged.
_RECORD = ".skanimal-dataset.json"
_RECORD_FORMAT = "skanimal.datasets.save_dataset"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_record(directory, files):
    record = {"format": _RECORD_FORMAT, "version": 1, "files": files}
    write_text_atomic(os.path.join(directory, _RECORD), json.dumps(record, indent=1) + "\n")


def _read_record(directory):
    """{relative path: SHA-256 or None (being written)} of an earlier save_dataset."""
    path = os.path.join(directory, _RECORD)
    if not os.path.lexists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
        files = record["files"] if record.get("format") == _RECORD_FORMAT else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        files = None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in files.items()):
        raise DatasetExistsError(
            f"folder {directory!r} holds {_RECORD!r}, which is not a record that "
            "save_dataset wrote; choose another folder, or remove that file and every "
            "file you do not want replaced.")
    # only plain relative paths inside the folder
    return {k: v for k, v in files.items()
            if not os.path.isabs(k) and ".." not in k.replace("\\", "/").split("/")}


def _refuse_foreign(directory, recorded, names):
    """Refuse to replace or remove a file save_dataset did not write (or that changed)."""
    foreign = []
    for name in dict.fromkeys(names):
        path = os.path.join(directory, name)
        if not os.path.lexists(path):
            continue
        ours = (name in recorded and os.path.isfile(path) and not os.path.islink(path)
                and recorded[name] in (None, _sha256(path)))
        if not ours:
            foreign.append(name)
    if foreign:
        raise DatasetExistsError(
            f"folder {directory!r} holds {len(foreign)} file(s) that overwriting would "
            f"replace or remove but that were not written by save_dataset (or were changed "
            f"since): {format_items(map(repr, foreign), 5)}. Move them away or choose "
            "another folder; overwrite=True only replaces a dataset save_dataset wrote.",
        )


def check_dataset_folder(directory, *, overwrite=False):
    """Check that :func:`save_dataset` may write a dataset to a folder.

    Run by :func:`save_dataset` itself; call it first to refuse a folder
    before a dataset is generated. A folder that does not exist or is empty
    is fine. A folder that holds files is refused, unless `overwrite`; then
    its ``manifest.csv`` must be one that ``save_dataset`` wrote there and
    that has not changed since (its record, with every file's SHA-256, is
    ``.skanimal-dataset.json``). Other files are never replaced or removed.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder.
    overwrite : bool, default=False
        Whether a dataset that ``save_dataset`` wrote there may be replaced.

    Returns
    -------
    recorded : dict of {str: str or None}
        The files of the earlier dataset (paths relative to `directory`,
        ``/`` separators) with their SHA-256; empty when there is none.

    Raises
    ------
    DatasetExistsError
        If `directory` is a file, is not empty and `overwrite` is False, or
        holds a ``manifest.csv`` that ``save_dataset`` did not write.

    See Also
    --------
    save_dataset : Write the dataset.

    Examples
    --------
    >>> import tempfile
    >>> from skanimal.datasets import check_dataset_folder, make_grimace_faces, save_dataset
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_dataset_folder(d)
    ...     _ = save_dataset(make_grimace_faces(n_samples=12, image_size=32), d)
    ...     sorted(check_dataset_folder(d, overwrite=True))[-1]
    {}
    'manifest.csv'
    """
    directory = os.path.abspath(os.fspath(directory))
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise DatasetExistsError(f"{directory!r} exists and is not a folder.")
    if not os.path.isdir(directory) or not os.listdir(directory):
        return {}
    if not overwrite:
        raise DatasetExistsError(
            f"folder {directory!r} is not empty; choose an empty or new folder, or pass "
            "overwrite=True to replace a dataset that save_dataset wrote there (other "
            "files are kept)."
        )
    recorded = _read_record(directory)
    _refuse_foreign(directory, recorded, [_MANIFEST])
    return recorded
