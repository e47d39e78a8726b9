"""Face boxes from DeepLabCut keypoints.

DeepLabCut writes, for each analysed video, the predicted position of every
body part in every frame: a CSV file with three header rows (``scorer``,
``bodyparts``, ``coords`` -- four with ``individuals`` for multi-animal
projects) whose ``coords`` are ``x``, ``y`` and ``likelihood``, and the same
table in an HDF5 file. :func:`load_deeplabcut` turns the face keypoints of
such a file into one face box per frame.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import csv as _csv
import os
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from ..sampling import AugmentedImage
from ..utils._images import ImageReadError, _oriented_size
from ._base import DatasetError, MissingFilesError, format_items

__all__ = ["load_deeplabcut"]

_LEVELS3 = ("scorer", "bodyparts", "coords")
_LEVELS4 = ("scorer", "individuals", "bodyparts", "coords")
_HDF5 = (".h5", ".hdf5", ".hdf")
#: DeepLabCut's individual that holds a multi-animal project's unique body parts
_SINGLE = "single"


# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------


def _csv_layout(path):
    """(number of header rows, number of index columns) of a DeepLabCut CSV."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for _, row in zip(range(5), _csv.reader(fh))]
    names = [row[0].strip() if row else "" for row in rows]
    if "coords" not in names or names[0] != "scorer":
        raise DatasetError(
            f"DeepLabCut file {path!r} does not start with DeepLabCut's header rows "
            f"(scorer, bodyparts, coords; individuals too for multi-animal projects): "
            f"its first cells are {names!r}.")
    n_header = names.index("coords") + 1
    coords = rows[n_header - 1]
    n_index = next((k for k, cell in enumerate(coords) if k and cell.strip()), len(coords))
    return n_header, n_index


def _read_table(path):
    """The DeepLabCut table of a CSV or HDF5 file (columns: a MultiIndex)."""
    if not os.path.isfile(path):
        raise MissingFilesError(f"DeepLabCut file {path!r} does not exist.", [path])
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in _HDF5:
            with pd.HDFStore(path, mode="r") as store:
                keys = store.keys()
                key = ("/df_with_missing" if "/df_with_missing" in keys
                       else keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise DatasetError(
                        f"DeepLabCut file {path!r} holds {len(keys)} tables "
                        f"({format_items(keys)}) and none is DeepLabCut's "
                        "'df_with_missing'.")
                table = store[key]
        else:
            n_header, n_index = _csv_layout(path)
            table = pd.read_csv(path, header=list(range(n_header)),
                                index_col=list(range(n_index)))
    except DatasetError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError,
            pd.errors.ParserError) as exc:
        raise DatasetError(f"cannot read DeepLabCut file {path!r}: {exc}") from exc
    if not isinstance(table, pd.DataFrame):
        raise DatasetError(f"DeepLabCut file {path!r} does not hold a table.")
    return table


def _check_columns(table, source):
    """The table with its column levels named as DeepLabCut names them."""
    columns = table.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels not in (3, 4):
        raise DatasetError(
            f"DeepLabCut file {source}: expected 3 column levels (scorer, bodyparts, "
            "coords) or 4 (scorer, individuals, bodyparts, coords), got "
            f"{columns.nlevels}.")
    levels = _LEVELS4 if columns.nlevels == 4 else _LEVELS3
    table = table.copy()
    table.columns = columns.set_names(levels)
    scorers = table.columns.unique("scorer")
    if len(scorers) > 1:
        raise DatasetError(
            f"DeepLabCut file {source} holds the predictions of {len(scorers)} scorers "
            f"({format_items(scorers)}); keep one.")
    coords = set(table.columns.unique("coords"))
    if not {"x", "y"} <= coords:
        raise DatasetError(
            f"DeepLabCut file {source}: the coords level has {sorted(coords)}; expected "
            "x, y and likelihood.")
    return table.droplevel("scorer", axis=1)


def _keypoints(table, individual, bodyparts, source):
    """x, y and likelihood arrays of shape (n_frames, n_bodyparts) (likelihood may be None)."""
    part = table if individual is None else table[individual]

    def values(coord):
        block = part.xs(coord, axis=1, level="coords")
        block = block.reindex(columns=bodyparts)
        try:
            return block.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise DatasetError(
                f"DeepLabCut file {source}: non-numeric {coord!r} values.") from None

    lik = values("likelihood") if "likelihood" in part.columns.unique("coords") else None
    return values("x"), values("y"), lik


def _image_name(value):
    """An image path of DeepLabCut's index as one ``/``-separated text.

    Older DeepLabCut versions write a single index column, with the separators
    of the operating system (``labeled-data\\video1\\img001.png`` on Windows),
    newer ones three (``labeled-data``, ``video1``, ``img001.png``).
    """
    parts = value if isinstance(value, tuple) else (value,)
    pieces = []
    for part in parts:
        if part is None or (isinstance(part, float) and np.isnan(part)):
            continue
        pieces += [q for q in str(part).strip().replace("\\", "/").split("/") if q]
    absolute = not isinstance(value, tuple) and str(value).strip().startswith("/")
    return "/" * absolute + "/".join(pieces)


def _frame_index(index):
    """The rows' frame numbers (int array) or image names (list of str)."""
    if isinstance(index, pd.MultiIndex):  # labelled-data style: folder, video, file
        return None, [_image_name(tuple(parts)) for parts in index]
    values = index.to_numpy()
    if values.dtype.kind in "iu":
        return values.astype(np.int64), None
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values % 1 == 0):
        return values.astype(np.int64), None
    text = [str(v) for v in values]
    if all(t.strip().lstrip("-").isdigit() for t in text):
        return np.array([int(t) for t in text], dtype=np.int64), None
    return None, [_image_name(v) for v in values]


def _join(folder, name):
    return name if name.startswith("/") else os.path.join(folder, *name.split("/"))


def _image_folder(names, base):
    """The folder the image names are relative to: ``base`` or the nearest folder above.

    DeepLabCut's labelled data (``CollectedData_*.csv`` in
    ``project/labeled-data/video1``) names its images relative to the project
    folder (``labeled-data/video1/img001.png``), its analysed images relative
    to their own folder: the nearest folder, from the file's up, in which all
    the images exist (else the one holding most of them; else ``base``).
    """
    unique = list(dict.fromkeys(names))
    best, best_count, folder = base, 0, base
    while True:
        count = sum(os.path.isfile(_join(folder, n)) for n in unique)
        if count == len(unique):
            return folder
        if count > best_count:
            best, best_count = folder, count
        parent = os.path.dirname(folder)
        if parent == folder:
            return best
        folder = parent


# --------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------


def _boxes(x, y, lik, likelihood, min_keypoints):
    """(x, y, width, height, n_keypoints, reason) per frame; reason None for a kept box."""
    ok = np.isfinite(x) & np.isfinite(y)
    if lik is not None:
        with np.errstate(invalid="ignore"):
            ok &= lik >= likelihood
    n = ok.sum(axis=1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        x0 = np.nanmin(np.where(ok, x, np.nan), axis=1)
        x1 = np.nanmax(np.where(ok, x, np.nan), axis=1)
        y0 = np.nanmin(np.where(ok, y, np.nan), axis=1)
        y1 = np.nanmax(np.where(ok, y, np.nan), axis=1)
    # keypoints predicted just outside the frame: the box starts at its edge
    left, top = np.maximum(x0, 0.0), np.maximum(y0, 0.0)
    width, height = x1 - left, y1 - top
    reason = np.full(len(n), None, dtype=object)
    with np.errstate(invalid="ignore"):
        reason[(n > 0) & ((width <= 0) | (height <= 0))] = "empty box"
    reason[(n > 0) & (n < min_keypoints)] = f"fewer than {min_keypoints} confident keypoints"
    reason[n == 0] = "no confident keypoint"
    return left, top, width, height, n, reason


def _match_image_names(images, video, root, source):
    """`images` for a file indexed by image paths: a frame with ``image`` and ``path``."""
    if isinstance(images, Mapping):
        images = pd.Series(list(images.values()), index=list(images.keys()), dtype=object)
    if isinstance(images, pd.Series):
        images = pd.DataFrame({"image": list(images.index), "path": images.to_numpy()})
    images = images.reset_index(drop=True)
    if not {"image", "path"} <= set(images.columns):
        raise DatasetError(
            f"DeepLabCut file {source} is indexed by image paths: images must map them "
            "to image files (a dict or Series from the file's image path to the image "
            "file, or a frame with columns 'image' and 'path'); it has "
            f"{list(images.columns)}.")
    if "video" in images.columns and video is not None:
        images = images[images["video"].astype(str) == str(video)].reset_index(drop=True)
        if images.empty:
            raise DatasetError(f"images has no row of video {video!r} (for {source}).")
    names = [_image_name(tuple(v) if isinstance(v, (tuple, list)) else v)
             for v in images["image"]]
    if len(set(names)) != len(names):
        twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
        raise DatasetError(f"images lists the image(s) {format_items(twice)} of DeepLabCut "
                           f"file {source} more than once.")
    paths = [os.fspath(p) for p in images["path"]]
    if root is not None:
        paths = [os.path.join(root, p) for p in paths]
    return images.assign(image=names, path=paths)


def _match_images(images, video, fps, root, source):
    """The `images` argument as a frame with columns ``frame`` and ``path`` (and any others)."""
    if isinstance(images, Mapping):
        images = pd.Series(images, dtype=object)
    if isinstance(images, pd.Series):
        images = pd.DataFrame({"frame": images.index, "path": images.to_numpy()})
    images = images.reset_index(drop=True)
    if "path" not in images.columns:
        raise DatasetError(
            "images must have a 'path' column (and 'frame', the frame number in the video, "
            f"or 'time' with fps); it has {list(images.columns)}.")
    if "video" in images.columns and video is not None:
        images = images[images["video"].astype(str) == str(video)].reset_index(drop=True)
        if images.empty:
            raise DatasetError(f"images has no row of video {video!r} (for {source}).")
    elif "video" in images.columns and images["video"].astype(str).nunique() > 1:
        raise DatasetError(
            f"images holds the frames of {images['video'].nunique()} videos; a DeepLabCut "
            f"file ({source}) is one video's: pass video= to pick its frames.")
    if "frame" in images.columns:
        frame = pd.to_numeric(images["frame"], errors="coerce").to_numpy(dtype=float)
        what = "'frame'"
    elif "time" in images.columns:
        if fps is None:
            raise DatasetError(
                "images gives the frames by 'time' (seconds): pass fps=, the video's frame "
                "rate, to turn times into DeepLabCut's frame numbers, or give a 'frame' "
                "column.")
        frame = np.rint(pd.to_numeric(images["time"], errors="coerce").to_numpy(float) * fps)
        what = "'time'"
    else:
        raise DatasetError(
            "images needs a 'frame' column (the frame number in the video) or a 'time' "
            f"column with fps; it has {list(images.columns)}.")
    bad = ~np.isfinite(frame)
    if bad.any():
        rows = [int(i) for i in np.flatnonzero(bad)]
        raise DatasetError(f"images: missing or non-numeric {what} in row(s) "
                           f"{format_items(rows)}.")
    images = images.assign(frame=frame.astype(np.int64))
    paths = [os.fspath(p) for p in images["path"]]
    if root is not None:
        paths = [os.path.join(root, p) for p in paths]
    return images.assign(path=paths)


def _clip_to_images(frame, source):
    """Clip every box to its image file (read from its header), or name missing files."""
    absent = [p for p in dict.fromkeys(frame["path"]) if not os.path.isfile(p)]
    if absent:
        raise MissingFilesError(
            f"{len(absent)} image file(s) of the boxes of DeepLabCut file {source} do not "
            f"exist, the first: {format_items(map(repr, absent), 5)}.", absent)
    sizes = {}
    for p in dict.fromkeys(frame["path"]):
        try:
            sizes[p] = _oriented_size(p)
        except ImageReadError as exc:
            raise DatasetError(f"cannot read an image of the boxes of DeepLabCut file "
                               f"{source}: {exc}") from None
    width = np.array([sizes[p][0] for p in frame["path"]], dtype=float)
    height = np.array([sizes[p][1] for p in frame["path"]], dtype=float)
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    outside = (x >= width) | (y >= height)
    frame = frame.assign(width=np.minimum(frame["width"], width - x),
                         height=np.minimum(frame["height"], height - y))
    return frame, outside


# --------------------------------------------------------------------------
# load_deeplabcut
# --------------------------------------------------------------------------


@validate_params(
    {
        "path": [str, os.PathLike, pd.DataFrame],
        "bodyparts": [list, tuple, None],
        "likelihood": [Interval(Real, 0, 1, closed="both")],
        "video": [str, None],
        "frames": ["array-like", None],
        "images": [Mapping, pd.Series, pd.DataFrame, None],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "min_keypoints": [Interval(Integral, 1, None, closed="left")],
        "box_scale": [Interval(Real, 1, None, closed="left")],
        "square": ["boolean"],
        "root": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def load_deeplabcut(path, *, bodyparts=None, likelihood=0.8, video=None, frames=None,
                    images=None, fps=None, min_keypoints=1, box_scale=1.0, square=False,
                    root=None):
    """Load face boxes from DeepLabCut's keypoint output for one video.

    Each frame's face box is the bounding box of the chosen face keypoints
    whose likelihood is at least ``likelihood`` (0.8 by default, the
    threshold of the mouse-face-detector pipeline). Frames without a
    confident face are dropped and counted. The boxes can be attached to the
    image files of the frames (``images``), which gives lazily cropped
    :class:`~skanimal.sampling.AugmentedImage` values that every skanimal
    estimator reads as face crops, and a ``frame`` that, with labels and
    subjects added, is a manifest for :func:`load_manifest`.

    Parameters
    ----------
    path : str, os.PathLike or pandas.DataFrame
        DeepLabCut's output for one video: the CSV file (three header rows
        ``scorer``, ``bodyparts``, ``coords``, or four with ``individuals``
        for a multi-animal project; ``coords`` are ``x``, ``y``,
        ``likelihood``; the index is the frame number, or the image path
        for analysed images and labelled data: one column
        ``labeled-data/video1/img001.png`` or, in newer DeepLabCut versions,
        three, ``labeled-data``, ``video1``, ``img001.png``), its HDF5 file (``.h5``, read
        with :func:`pandas.read_hdf`, table ``df_with_missing`` when there
        are several), or that table already loaded. A table without
        ``likelihood`` (hand-labelled data) counts every given keypoint as
        confident.
    bodyparts : list of str, default=None
        The face keypoints to box, e.g. ``["nose", "left_eye", "right_eye",
        "left_ear", "right_ear"]``. None takes every body part (for a
        multi-animal file, every body part of the animals, not the unique
        ones of DeepLabCut's ``single`` individual).
    likelihood : float, default=0.8
        The smallest likelihood of a keypoint used, in [0, 1].
    video : str, default=None
        The video's name: added as a ``video`` column, and used to pick this
        video's rows from ``images`` when it has a ``video`` column.
    frames : array-like of int, default=None
        Keep only these frame numbers (e.g. the sampled ones); requested
        frames the file does not have are dropped as ``"not in the file"``.
    images : dict, pandas.Series or pandas.DataFrame, default=None
        The image files of frames: a mapping (or Series) from frame number to
        path, or a frame with a ``path`` column and either ``frame`` (the
        frame number, counted from 0 as DeepLabCut counts them) or ``time``
        (seconds; needs ``fps``), such as the manifest that
        ``skanimal.video.sample_frames`` writes (``path, video, time``). Only
        these frames are kept; their other columns are carried over, and
        their boxes are clipped to the image (whose header is read). For a
        file indexed by image paths: a mapping (or Series) from the file's
        image paths (``"labeled-data/video1/img001.png"`` or the tuple of the
        three index columns) to image files, or a frame with columns
        ``image`` (those paths) and ``path``; only these images are kept.
    fps : float, default=None
        The video's frame rate, turning the ``time`` of ``images`` into frame
        numbers (``round(time * fps)``; exact for constant-frame-rate video).
    min_keypoints : int, default=1
        The fewest confident keypoints a kept box needs.
    box_scale : float, default=1.0
        The enlargement, about its centre, of each box in ``images`` (see
        :class:`~skanimal.sampling.AugmentedImage`); the ``frame`` holds the
        boxes as measured.
    square : bool, default=False
        Grow each box in ``images`` to a square.
    root : str or os.PathLike, default=None
        The folder that relative image paths are in: those of ``images``
        and those of a file indexed by image paths. By default the paths of
        ``images`` are taken as given, and those of the file are found from
        the file's folder up: the nearest folder holding all its images (the
        file's own for analysed images, the project folder for
        ``labeled-data/<video>/CollectedData_<scorer>.csv``).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        frame : pandas.DataFrame
            One row per kept box: ``path`` (when the image files are known:
            an image-path index or ``images``), ``image`` (for a file
            indexed by image paths: its path as the file names it, with
            ``/`` separators), ``frame`` (for a video's
            frame numbers), ``video`` (when given), ``individual`` (for a
            multi-animal file), ``x``, ``y``, ``width``, ``height`` (pixels;
            top-left corner and size, the top-left corner clipped at 0) and
            ``n_keypoints`` (confident keypoints in the box), then the other
            columns of ``images``.
        images : ndarray of object of shape (n_boxes,) or None
            With the image files known, one
            :class:`~skanimal.sampling.AugmentedImage` per row of ``frame``
            (``box``, ``box_scale``, ``square``); else None.
        n_dropped : int
            The frames (for a multi-animal file, frame-animal pairs) dropped.
        dropped : pandas.DataFrame
            Those frames, with ``path``, ``image`` or ``frame`` (and ``individual``) and
            ``reason``: ``"no confident keypoint"``, ``"fewer than N
            confident keypoints"``, ``"empty box"`` (keypoints on one line),
            ``"not in the file"`` or ``"outside the image"``.
        bodyparts : list of str
            The keypoints used.
        DESCR : str
            A description of the boxes.

    Raises
    ------
    MissingFilesError
        If ``path`` or an image file of the boxes does not exist.
    DatasetError
        A :class:`ValueError` naming the file: not DeepLabCut's layout,
        several scorers, unknown body parts, ``images`` without ``path`` or
        frame numbers (or image paths), an image or frame listed twice, or a
        file indexed by image paths given ``frames``.

    Warns
    -----
    UserWarning
        When frames are dropped, naming the file and how many of how many
        (the same numbers as ``n_dropped``).

    See Also
    --------
    load_manifest : Read a manifest whose rows carry face boxes.
    skanimal.sampling.AugmentedImage : The lazily cropped images.

    Notes
    -----
    A multi-animal file gives one box per animal (``individual``) and frame.
    Frames are the rows of DeepLabCut's table, numbered as DeepLabCut
    numbers the decoded frames of the video, from 0.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skanimal.datasets import load_deeplabcut
    >>> columns = pd.MultiIndex.from_product(
    ...     [["DLC_resnet50"], ["nose", "left_eye", "right_eye"], ["x", "y", "likelihood"]],
    ...     names=["scorer", "bodyparts", "coords"])
    >>> table = pd.DataFrame([[50, 60, 0.99, 40, 40, 0.95, 62, 42, 0.9],
    ...                       [51, 61, 0.30, 41, 41, 0.20, 63, 43, 0.1]],
    ...                      columns=columns, dtype=float)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     boxes = load_deeplabcut(table)
    >>> boxes.frame
       frame     x     y  width  height  n_keypoints
    0      0  40.0  40.0   22.0    20.0            3
    >>> boxes.n_dropped, boxes.dropped["reason"][0]
    (1, 'no confident keypoint')
    """
    if isinstance(path, pd.DataFrame):
        source, table, base = "(the table given)", path, os.getcwd()
    else:
        file = os.path.abspath(os.fspath(path))
        source, table, base = repr(file), _read_table(file), os.path.dirname(file)
    table = _check_columns(table, source)
    if root is not None:
        root = os.fspath(root)
    numbers, names = _frame_index(table.index)
    if names is not None and frames is not None:
        raise DatasetError(
            f"DeepLabCut file {source} is indexed by image paths, not frame numbers: "
            "frames= applies to a video's output only (pick its images with images=).")
    if numbers is not None and len(np.unique(numbers)) != len(numbers):
        raise DatasetError(f"DeepLabCut file {source} lists a frame number more than once.")
    if names is not None and len(set(names)) != len(names):
        twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
        raise DatasetError(f"DeepLabCut file {source} lists the image(s) "
                           f"{format_items(twice)} more than once.")
    multi = "individuals" in table.columns.names
    individuals = list(table.columns.unique("individuals")) if multi else [None]
    parts = _bodyparts(table, bodyparts, individuals, source)

    rows, dropped = [], []
    ids = numbers if numbers is not None else np.asarray(names, dtype=object)
    id_name = "frame" if numbers is not None else "image"
    for individual in individuals:
        own = [p for p in parts if individual is None
               or (individual, p) in table.columns.droplevel("coords")]
        if not own:
            continue
        x, y, lik = _keypoints(table, individual, own, source)
        left, top, width, height, n, reason = _boxes(x, y, lik, likelihood, min_keypoints)
        block = pd.DataFrame({id_name: ids, "x": left, "y": top, "width": width,
                              "height": height, "n_keypoints": n, "reason": reason})
        if multi:
            block.insert(1, "individual", str(individual))
        rows.append(block)
    table_rows = pd.concat(rows, ignore_index=True)

    keys = [id_name] + (["individual"] if multi else [])
    if frames is not None or images is not None:
        table_rows, missing = _restrict(table_rows, frames, images, video, fps, root,
                                        source, individuals if multi else None, id_name)
        dropped.append(missing)
    elif names is not None:  # the images named by the file, found where they are
        folder = (root if root is not None else base if isinstance(path, pd.DataFrame)
                  else _image_folder(names, base))
        table_rows.insert(0, "path", [_join(folder, n) for n in table_rows["image"]])
    if video is not None and "video" not in table_rows.columns:
        table_rows.insert(1, "video", video)
    if "path" in table_rows.columns:
        keys = ["path"] + keys
    lost = table_rows["reason"].notna()
    dropped.append(table_rows.loc[lost, keys + ["reason"]])
    frame = table_rows.loc[~lost].drop(columns="reason").reset_index(drop=True)
    boxed = None
    if "path" in frame.columns:
        frame, outside = (_clip_to_images(frame, source) if len(frame)
                          else (frame, np.zeros(0, bool)))
        if outside.any():
            dropped.append(frame.loc[outside, keys].assign(reason="outside the image"))
            frame = frame.loc[~outside].reset_index(drop=True)
        boxed = np.empty(len(frame), dtype=object)
        boxed[:] = [AugmentedImage(p, box=(bx, by, bw, bh), box_scale=box_scale,
                                   square=square)
                    for p, bx, by, bw, bh in zip(frame["path"], frame["x"], frame["y"],
                                                 frame["width"], frame["height"])]
    frame = _order_columns(frame)
    dropped = pd.concat([d for d in dropped if len(d)] or [pd.DataFrame(columns=keys + ["reason"])],
                        ignore_index=True)[keys + ["reason"]]
    n_dropped = len(dropped)
    total = n_dropped + len(frame)
    if n_dropped:
        counts = dropped["reason"].value_counts()
        warnings.warn(
            f"DeepLabCut file {source}: {n_dropped} of {total} "
            f"{'frame-animal pairs' if multi else 'frames'} dropped without a confident "
            f"face box ({', '.join(f'{v} {k}' for k, v in counts.items())}); "
            "they are listed in the result's 'dropped'.", UserWarning, stacklevel=2)
    descr = (
        f"Face boxes from DeepLabCut file {source}: {len(frame)} kept of {total}, "
        f"{n_dropped} dropped; the bounding box of the keypoints {', '.join(parts)} "
        f"with likelihood >= {likelihood:g} (at least {min_keypoints})."
    )
    return Bunch(frame=frame, images=boxed, n_dropped=n_dropped, dropped=dropped,
                 bodyparts=parts, DESCR=descr)


def _bodyparts(table, bodyparts, individuals, source):
    """The body parts to box, checked against the file's."""
    columns = table.columns
    have = list(columns.unique("bodyparts"))
    if individuals == [None]:
        default = have
    else:
        animals = [i for i in individuals if i != _SINGLE] or individuals
        default = list(dict.fromkeys(bp for ind, bp, _ in columns if ind in animals))
    if bodyparts is None:
        return default
    parts = [str(p) for p in bodyparts]
    if not parts:
        raise DatasetError("bodyparts is empty: name the face keypoints to box.")
    unknown = [p for p in parts if p not in have]
    if unknown:
        raise DatasetError(
            f"DeepLabCut file {source} has no body part(s) {format_items(unknown)}; it "
            f"has {format_items(have, 30)}.")
    return list(dict.fromkeys(parts))


def _restrict(rows, frames, images, video, fps, root, source, individuals, by="frame"):
    """Keep the requested frames (and attach image paths); the missing ones as dropped."""
    keys = [by] + (["individual"] if individuals is not None else [])
    if by == "image":
        wanted = _match_image_names(images, video, root, source)
    elif images is not None:
        wanted = _match_images(images, video, fps, root, source)
        if frames is not None:
            wanted = wanted[wanted["frame"].isin(np.asarray(frames, dtype=np.int64))]
    else:
        wanted = pd.DataFrame({"frame": np.unique(np.asarray(frames, dtype=np.int64))})
    if individuals is not None:
        per = rows["individual"].unique()
        wanted = wanted.merge(pd.DataFrame({"individual": per}), how="cross")
    merged = wanted.merge(rows, on=keys, how="left", indicator=True)
    absent = merged["_merge"] == "left_only"
    merged = merged.drop(columns="_merge")
    missing = merged.loc[absent, ["path"] * (images is not None) + keys]
    missing = missing.assign(reason="not in the file")
    kept = merged.loc[~absent].reset_index(drop=True)
    return kept, missing


_FIRST = ("path", "image", "frame", "video", "individual", "x", "y", "width", "height",
          "n_keypoints")


def _order_columns(frame):
    first = [c for c in _FIRST if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]].reset_index(drop=True)
