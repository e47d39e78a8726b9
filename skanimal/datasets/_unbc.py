"""The UNBC-McMaster Shoulder Pain Expression archive, in its distributed layout."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import os

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_params

from ..utils._docs import cite_papers
from ._base import (
    DatasetError,
    MissingFilesError,
    describe,
    format_items,
    make_bunch,
    object_array,
)

__all__ = ["is_unbc_mcmaster", "load_unbc_mcmaster", "pspi_to_level"]

# Upper PSPI bounds (exclusive) of levels 0..5; PSPI >= 13 is level 6.
_LEVEL_EDGES = np.array([1, 3, 5, 7, 10, 13])
_LEVEL_NAMES = np.array(
    ["PSPI 0", "PSPI 1-2", "PSPI 3-4", "PSPI 5-6", "PSPI 7-9", "PSPI 10-12", "PSPI 13-15"],
    dtype=object,
)
_UNBC_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


@cite_papers("hosseini")
def pspi_to_level(pspi):
    """Bin PSPI pain scores (0-15) into the seven pain levels.

    The binning of Hosseini et al.: 0 -> 0, 1-2 -> 1, 3-4 -> 2, 5-6 -> 3,
    7-9 -> 4, 10-12 -> 5, 13-15 -> 6.

    Parameters
    ----------
    pspi : int, float or array-like of shape (n_samples,)
        Prkachin and Solomon Pain Intensity scores: whole numbers from 0 to 15
        (floats such as ``3.0`` are accepted).

    Returns
    -------
    level : int or ndarray of int64
        The level of each score (an int for a scalar input, else an array of
        the input's shape).

    Raises
    ------
    TypeError
        If ``pspi`` is not numeric.
    ValueError
        If a score is not finite, not a whole number, or outside 0-15; the
        message quotes the first offending value and its position.

    See Also
    --------
    load_unbc_mcmaster : Load the UNBC-McMaster archive with levels as target.

    Examples
    --------
    >>> from skanimal.datasets import pspi_to_level
    >>> pspi_to_level([0, 1, 2, 3, 6, 7, 9, 10, 13, 15])
    array([0, 1, 1, 2, 3, 4, 4, 5, 6, 6])
    >>> pspi_to_level(4.0)
    2
    """
    arr = np.asarray(pspi)
    if arr.dtype == object:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise TypeError("pspi must be numeric PSPI scores (0-15).") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"pspi must be numeric PSPI scores (0-15); got an array of dtype {arr.dtype}."
        )
    bad = ~np.isfinite(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(arr) & (arr != np.round(arr))
    if bad.any():
        value, at = _first(arr, bad)
        raise ValueError(
            f"pspi must hold whole numbers from 0 to 15 (the PSPI scale); got {value!r}"
            f"{at}, which is not a whole number."
        )
    out = (arr < 0) | (arr > 15)
    if out.any():
        value, at = _first(arr, out)
        raise ValueError(
            f"pspi must lie between 0 and 15 (the PSPI scale); got {value!r}{at}."
        )
    level = np.searchsorted(_LEVEL_EDGES, arr, side="right").astype(np.int64)
    if level.ndim == 0:
        return int(level)
    return level


def _first(arr, mask):
    """The first value where ``mask`` and a text giving its position."""
    if arr.ndim == 0:
        return arr.item(), ""
    where = tuple(int(i) for i in np.argwhere(mask)[0])
    return arr[where].item(), f" at index {where[0] if arr.ndim == 1 else where}"


def _subdirs(folder):
    with os.scandir(folder) as it:
        return sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))


def _read_pspi(path):
    with open(path, encoding="ascii", errors="replace") as fh:
        text = fh.read().strip()
    if not text:
        raise DatasetError(f"PSPI label file {path!r} is empty.")
    try:
        return float(text.split()[0])
    except ValueError:
        raise DatasetError(
            f"PSPI label file {path!r} does not hold a number: {text[:40]!r}."
        ) from None


def is_unbc_mcmaster(path):
    """Whether a folder is laid out as the UNBC-McMaster archive.

    True when ``path`` is a folder holding the two folders that
    :func:`load_unbc_mcmaster` reads, ``Images`` and ``Frame_Labels/PSPI``;
    nothing else is read (a quick check, e.g. to tell the archive from an
    image folder or a manifest).

    Parameters
    ----------
    path : str or os.PathLike
        A path, which may not exist.

    Returns
    -------
    is_archive : bool
        Whether ``load_unbc_mcmaster(path)`` would find the archive's layout.

    See Also
    --------
    load_unbc_mcmaster : Load the archive.

    Examples
    --------
    >>> import os, tempfile
    >>> from skanimal.datasets import is_unbc_mcmaster
    >>> with tempfile.TemporaryDirectory() as root:
    ...     before = is_unbc_mcmaster(root)
    ...     os.makedirs(os.path.join(root, "Images"))
    ...     os.makedirs(os.path.join(root, "Frame_Labels", "PSPI"))
    ...     print(before, is_unbc_mcmaster(root))
    False True
    """
    try:
        root = os.fspath(path)
    except TypeError:
        return False
    return (os.path.isdir(os.path.join(root, "Images"))
            and os.path.isdir(os.path.join(root, "Frame_Labels", "PSPI")))


@validate_params(
    {"root": [str, os.PathLike], "target": [StrOptions({"level", "pspi", "binary"})]},
    prefer_skip_nested_validation=True,
)
def load_unbc_mcmaster(root, *, target="level"):
    """Load the UNBC-McMaster Shoulder Pain Expression archive.

    The archive is read in its distributed layout::

        root/Images/<subject>/<sequence>/<frame>.png
        root/Frame_Labels/PSPI/<subject>/<sequence>/<frame>_facs.txt

    where each label file holds one number, the frame's PSPI score (e.g.
    ``"   3.0000000e+00"``). Other folders of the archive (AAM landmarks, FACS
    codes, sequence-level ratings) are not read. Subjects, sequences and
    frames are sorted by name. The archive itself is not distributed with
    skanimal: it is licensed by its authors.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding ``Images`` and ``Frame_Labels``.
    target : {"level", "pspi", "binary"}, default="level"
        ``"level"``: the seven pain levels of :func:`pspi_to_level` (0-6);
        ``"pspi"``: the PSPI score itself (float, 0-15); ``"binary"``: 1 when
        PSPI > 0, else 0.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of str of shape (n_samples,)
            Absolute frame paths (object array).
        target : ndarray of shape (n_samples,)
            int64 levels or classes, or float64 PSPI scores.
        groups : ndarray of str of shape (n_samples,)
            The subject folder of each frame.
        target_names : ndarray of str
            ``"PSPI 0"``, ``"PSPI 1-2"``, ... ``"PSPI 13-15"`` for levels,
            ``["no pain", "pain"]`` for binary, ``["PSPI"]`` for scores.
        frame : pandas.DataFrame of shape (n_samples, 9)
            Columns ``path``, ``subject``, ``sequence``, ``video`` (the
            sequence), ``frame`` (file name without extension),
            ``frame_index`` (position in its sequence), ``pspi``, ``level``
            and ``label`` (the target).
        DESCR : str
            Description of the archive.

    Raises
    ------
    FileNotFoundError
        If ``root``, ``root/Images`` or ``root/Frame_Labels/PSPI`` is missing.
    MissingFilesError
        If frames have no label file (the first ones are named); a
        :class:`DatasetError` and a :class:`FileNotFoundError`.
    DatasetError
        A :class:`ValueError` for an archive without frames, or a label file
        that is empty or holds something other than a PSPI score (0-15,
        whole number).

    See Also
    --------
    pspi_to_level : The PSPI binning.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skanimal.datasets import load_unbc_mcmaster
    >>> with tempfile.TemporaryDirectory() as root:
    ...     seq = os.path.join("042-ll042", "ll042t1aaaff")
    ...     img_dir = os.path.join(root, "Images", seq)
    ...     lab_dir = os.path.join(root, "Frame_Labels", "PSPI", seq)
    ...     os.makedirs(img_dir)
    ...     os.makedirs(lab_dir)
    ...     for i, pspi in enumerate([0, 4, 11]):
    ...         name = f"ll042t1aaaff{i + 1:03d}"
    ...         img = Image.fromarray(np.zeros((8, 8), np.uint8))
    ...         img.save(os.path.join(img_dir, name + ".png"))
    ...         with open(os.path.join(lab_dir, name + "_facs.txt"), "w") as fh:
    ...             _ = fh.write(f"   {pspi:.7e}\\n")
    ...     data = load_unbc_mcmaster(root)
    ...     print(data.target, list(data.frame["pspi"]))
    [0 2 5] [0.0, 4.0, 11.0]
    """
    root = os.path.abspath(os.fspath(root))
    images_dir = os.path.join(root, "Images")
    labels_dir = os.path.join(root, "Frame_Labels", "PSPI")
    for folder, what in ((root, "archive folder"), (images_dir, "frame folder"),
                         (labels_dir, "PSPI label folder")):
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"UNBC-McMaster {what} {folder!r} does not exist; expected the archive's "
                "layout root/Images/<subject>/<sequence>/<frame>.png and "
                "root/Frame_Labels/PSPI/<subject>/<sequence>/<frame>_facs.txt."
            )

    rows = []
    missing = []
    for subject in _subdirs(images_dir):
        for sequence in _subdirs(os.path.join(images_dir, subject)):
            seq_dir = os.path.join(images_dir, subject, sequence)
            with os.scandir(seq_dir) as it:
                names = sorted(
                    e.name for e in it
                    if e.is_file() and not e.name.startswith(".")
                    and os.path.splitext(e.name)[1].lower() in _UNBC_EXTENSIONS
                )
            for k, name in enumerate(names):
                stem = os.path.splitext(name)[0]
                label_file = os.path.join(labels_dir, subject, sequence, stem + "_facs.txt")
                try:
                    pspi = _read_pspi(label_file)
                except FileNotFoundError:
                    missing.append((os.path.join(seq_dir, name), label_file))
                    continue
                rows.append((os.path.join(seq_dir, name), subject, sequence, stem, k, pspi,
                             label_file))
    if missing:
        raise MissingFilesError(
            f"UNBC-McMaster archive {root!r}: {len(missing)} frame(s) have no PSPI label "
            "file, the first: "
            + format_items((f"{lab!r} (for {img!r})" for img, lab in missing), 5) + ".",
            [lab for _, lab in missing],
        )
    if not rows:
        raise DatasetError(
            f"UNBC-McMaster archive {root!r} has no frames under {images_dir!r} "
            "(expected Images/<subject>/<sequence>/<frame>.png)."
        )

    pspi = np.array([r[5] for r in rows], dtype=float)
    try:
        level = pspi_to_level(pspi)
    except ValueError:
        bad = np.flatnonzero(~np.isfinite(pspi) | (pspi != np.round(pspi))
                             | (pspi < 0) | (pspi > 15))
        raise DatasetError(
            f"UNBC-McMaster archive {root!r}: {len(bad)} PSPI label file(s) hold a value "
            "that is not a whole number from 0 to 15, the first: "
            + format_items((f"{rows[i][6]!r} ({pspi[i]!r})" for i in bad), 5) + "."
        ) from None

    if target == "level":
        y, target_names = level, _LEVEL_NAMES.copy()
    elif target == "binary":
        y = (pspi > 0).astype(np.int64)
        target_names = np.array(["no pain", "pain"], dtype=object)
    else:
        y, target_names = pspi.copy(), np.array(["PSPI"], dtype=object)

    images = object_array([r[0] for r in rows])
    groups = object_array([r[1] for r in rows])
    sequence = object_array([r[2] for r in rows])
    frame = pd.DataFrame({
        "path": images,
        "subject": groups,
        "sequence": sequence,
        "video": sequence.copy(),
        "frame": object_array([r[3] for r in rows]),
        "frame_index": np.array([r[4] for r in rows], dtype=np.int64),
        "pspi": pspi,
        "level": level,
        "label": y,
    })
    descr = describe("unbc_mcmaster.rst", source=root, target=y, groups=groups,
                     target_names=target_names)
    return make_bunch(images=images, target=y, groups=groups, target_names=target_names,
                      frame=frame, descr=descr)
