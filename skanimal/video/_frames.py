"""Frames of videos: decoded with PyAV, sampled by presentation time, written as images.

:func:`sample_frames` streams the frames of one video (one every N seconds,
every frame, or the sharpest of each window, optionally only sharp ones);
:func:`write_frames` writes them as image files with a ``manifest.csv`` that
:func:`skanimal.datasets.load_manifest` and :mod:`skanimal.scoring` read.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import math
import os
import re
import warnings
from collections.abc import Mapping
from fractions import Fraction
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..exceptions import DataError, ResultsExistError, VideoReadError
from ..utils._io import atomic_path

__all__ = ["Frame", "sample_frames", "write_frames"]

_IMAGE_FORMATS = {"jpg": "JPEG", "png": "PNG"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: A clean end of file this much (seconds) before the declared duration is a truncation.
_DURATION_SLACK = 1.0


class Frame(NamedTuple):
    """One decoded video frame, as :func:`sample_frames` yields it.

    A named tuple: ``image, time, index, video, sharpness = frame`` works too.

    Parameters
    ----------
    image : ndarray of uint8 of shape (height, width, 3)
        The frame in RGB.
    time : float
        Its presentation time, in seconds from the start of the video stream.
    index : int
        Its position among all the frames of the video (0 = the first frame
        decoded), whether or not they were sampled.
    video : str
        The absolute path of the video file.
    sharpness : float or None
        The variance of the Laplacian of the greyscale frame (see
        :func:`sample_frames`); None when it was not needed (``mode="first"``
        without ``min_sharpness``).

    See Also
    --------
    sample_frames : Decode and sample the frames of a video.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.video import Frame
    >>> frame = Frame(np.zeros((4, 6, 3), np.uint8), 2.5, 62, "/data/rat1.mp4", None)
    >>> frame.time, frame.index, frame.image.shape
    (2.5, 62, (4, 6, 3))
    """

    image: np.ndarray
    time: float
    index: int
    video: str
    sharpness: float | None


# --------------------------------------------------------------------------
# opening a video
# --------------------------------------------------------------------------


def _describe_streams(container):
    kinds = [f"#{s.index} {s.type} ({_codec_text(container, s)})" for s in container.streams]
    return ", ".join(kinds) if kinds else "no streams"


def _codec_text(container, stream):
    """The codec of a stream as FFmpeg names it, even one without a decoder here."""
    ctx = stream.codec_context
    if ctx is not None and ctx.name:
        return ctx.name
    import av.logging

    # with no decoder PyAV has no codec context; FFmpeg's own summary names the codec tag
    old = av.logging.get_level()
    try:
        av.logging.set_level(av.logging.INFO)
        with av.logging.Capture(local=True):
            text = container.dumps_format()
    except Exception:  # pragma: no cover - a summary is only for the message
        text = ""
    finally:
        av.logging.set_level(old)
    found = re.search(rf"Stream #\d+:{stream.index}\S*: \w+: ([^,\n]+)", text or "")
    return found.group(1).strip() if found else "unknown codec"


def _open(path):
    """The open container and its first video stream; a VideoReadError naming the problem."""
    import av

    if not os.path.exists(path):
        raise VideoReadError(f"video {path!r} does not exist.", path)
    if os.path.isdir(path):
        raise VideoReadError(f"video {path!r} is a folder, not a video file.", path)
    try:
        container = av.open(path)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoReadError(
            f"video {path!r} is not a video file FFmpeg can read, or is corrupt or truncated "
            f"(an mp4 or mov file cut short loses its index) ({exc.__class__.__name__}: "
            f"{getattr(exc, 'strerror', None) or exc}).", path) from None
    try:
        if not container.streams.video:
            raise VideoReadError(
                f"video {path!r} has no video stream (its streams: "
                f"{_describe_streams(container)}).", path)
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoReadError(
                f"video {path!r}: its video stream's codec, "
                f"{_codec_text(container, stream)!r}, cannot be decoded by the FFmpeg that "
                f"PyAV {av.__version__} ships; convert the video (e.g. ffmpeg -i IN -c:v "
                "libx264 OUT.mp4).", path)
    except BaseException:
        container.close()
        raise
    return container, stream


# --------------------------------------------------------------------------
# sample_frames
# --------------------------------------------------------------------------


def _exact(seconds):
    """A float number of seconds as the exact decimal it was written as (0.1 -> 1/10)."""
    return None if seconds is None else Fraction(repr(float(seconds)))


def _sharpness(frame):
    """Variance of the Laplacian of the greyscale (luma) frame, pixel values 0-255.

    The 5-point Laplacian (the kernel of :func:`scipy.ndimage.laplace`) on the
    interior pixels, in int16 numpy arithmetic: the same values as
    ``ndimage.laplace`` away from the border, 4-5 times faster on a 640x480
    frame (0.5 ms against 2.5 ms), which matters when every frame is scored.
    """
    g = frame.to_ndarray(format="gray").astype(np.int16)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var(dtype=np.float64))


def _display_transform(frame):
    """How to turn a decoded frame into the picture a player shows, from its display matrix.

    Phone videos store the sensor's picture and a display matrix (FFmpeg's
    ``AV_FRAME_DATA_DISPLAYMATRIX`` side data, the ``tkhd`` matrix of mp4 and
    mov files, once shown by FFmpeg as the ``rotate`` tag) that players apply.
    The matrix maps a stored pixel ``(x, y)`` to ``(a x + c y, b x + d y)``
    (plus a translation) with ``a, b, c, d`` its entries 0, 1, 3 and 4.
    Returns ``(transpose, flip_rows, flip_columns)``, None without a matrix or
    for one that is not a multiple of 90 degrees (with or without a mirror),
    which FFmpeg's own players do not apply either.
    """
    try:
        entries = [sd for sd in frame.side_data
                   if str(getattr(sd.type, "name", sd.type)).upper().endswith("DISPLAYMATRIX")]
        if not entries:
            return None
        m = np.frombuffer(bytes(entries[0]), dtype=np.int32, count=9).astype(np.float64)
    except (AttributeError, TypeError, ValueError, BufferError):
        return None
    a, b, c, d = m[0], m[1], m[3], m[4]
    eps = 1e-3 * max(abs(a), abs(b), abs(c), abs(d), 1.0)
    if abs(b) < eps and abs(c) < eps and abs(a) > eps and abs(d) > eps:
        transform = (False, d < 0, a < 0)  # x' = a x, y' = d y
    elif abs(a) < eps and abs(d) < eps and abs(b) > eps and abs(c) > eps:
        transform = (True, b < 0, c < 0)  # x' = c y, y' = b x: rows become columns
    else:
        return None
    return None if transform == (False, False, False) else transform


def _displayed(frame):
    """The frame as RGB uint8 in display orientation (see :func:`_display_transform`)."""
    image = frame.to_ndarray(format="rgb24")
    transform = _display_transform(frame)
    if transform is None:
        return image
    transpose, flip_rows, flip_columns = transform
    if transpose:
        image = image.swapaxes(0, 1)
    if flip_rows:
        image = image[::-1]
    if flip_columns:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def _where(n, index, time):
    if n == 0:
        return "before the first frame"
    return f"after {n} frame(s), the last being frame {index} at {time:.3f} s"


@validate_params(
    {
        "video": [str, os.PathLike],
        "every": [Interval(Real, 0, None, closed="neither"), None],
        "mode": [StrOptions({"first", "sharpest"})],
        "window": [Interval(Real, 0, None, closed="neither"), None],
        "min_sharpness": [Interval(Real, 0, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def sample_frames(video, every, *, mode="first", window=None, min_sharpness=None):
    """Decode the frames of a video, one every `every` seconds or all, as they stream.

    The video is decoded with PyAV (whose wheels ship FFmpeg) one frame at a
    time and frames are yielded as they are decoded, so memory stays flat
    however long the video is. Times are presentation times (``pts *
    time_base``, in seconds from the start of the video stream), so
    sampling is right for variable frame rate videos too.

    Parameters
    ----------
    video : str or os.PathLike
        The video file (any container and codec FFmpeg decodes: mp4, mkv,
        avi, mov, ts ...). It is only read.
    every : float or None
        Seconds between sampled frames: with ``mode="first"`` the first frame
        at or after each multiple of `every` (0, `every`, 2 `every`, ...; a
        gap in a variable-frame-rate video gives the first frame after it).
        None: every frame (the dog-emotion paper's clips, where every frame
        carries the clip's label).
    mode : {"first", "sharpest"}, default="first"
        ``"sharpest"``: instead of the first frame of each interval, the frame
        with the highest sharpness among those in the window ``[k every, k
        every + window)``. Needs `every`.
    window : float, default=None
        The length in seconds of the windows of ``mode="sharpest"``, at most
        `every`; None: `every` (every frame of the interval is a candidate).
    min_sharpness : float, default=None
        Never yield a frame whose sharpness is under this value. With
        ``mode="first"`` the first frame of an interval that is sharp enough
        is taken (an interval with none gives no frame); with ``"sharpest"``
        a window whose sharpest frame is under it gives none; with
        ``every=None`` blurred frames are dropped. 0 keeps every frame but
        fills in :attr:`Frame.sharpness`, to choose a threshold.

    Returns
    -------
    frames : generator of :class:`Frame`
        The sampled frames in time order, each decoded when the generator
        is advanced: ``image`` (RGB, uint8, height x width x 3, in display
        orientation: see Notes), ``time``
        (seconds), ``index`` (position among all decoded frames), ``video``
        (absolute path) and ``sharpness`` (None when not computed). The
        file is closed when the generator ends or is closed.

    Raises
    ------
    VideoReadError
        When the function is called: the file does not exist, is not a video
        FFmpeg reads, has no video stream (the message lists its streams), or
        its codec cannot be decoded (the message names it). During
        iteration: decoding fails part way, the file holds no frames, or it
        ends cleanly well before the length its header declares (a truncated
        mp4, mkv or avi; a truncated MPEG-TS file declares nothing and ends
        silently). The frames read before it have been yielded; the error's
        ``frames_read``, ``last_index`` and ``last_time`` (and its message)
        say where reading stopped.
    skanimal.exceptions.DataError
        ``mode="sharpest"`` without `every`, or `window` longer than `every`.

    See Also
    --------
    write_frames : Write sampled frames as images with a manifest CSV.

    Notes
    -----
    Sharpness is the variance of the Laplacian (the 5-point kernel of
    :func:`scipy.ndimage.laplace`, on the pixels off the border) of the
    greyscale (luma) frame with pixel values 0-255: high for sharp
    edges, low for blurred or uniform frames. Its scale depends on the
    content and resolution, so choose `min_sharpness` from the values of
    your own videos (``min_sharpness=0``). It is computed only when needed.

    Frames are decoded with FFmpeg's automatic (frame and slice) threading,
    which changes neither the frames nor their order.

    Frames come out as a video player shows them: a video that stores a
    display matrix (phone videos filmed upright store the sensor's landscape
    picture and a rotation of 90 or 270 degrees; older FFmpeg versions showed
    it as the ``rotate`` tag) gives each frame rotated (and mirrored) by it,
    e.g. a 1920x1080 video with a 90 degree rotation gives 1080 wide, 1920
    high frames. Sharpness is the same either way (the 5-point Laplacian is
    symmetric). A rotation that is not a multiple of 90 degrees is not
    applied, as FFmpeg's players do not apply it.

    Examples
    --------
    >>> import os, tempfile
    >>> import av, numpy as np
    >>> from skanimal.video import sample_frames
    >>> path = os.path.join(tempfile.mkdtemp(), "clip.mp4")
    >>> with av.open(path, "w") as out:  # 3 s at 10 fps; grey level = 8 x frame index
    ...     stream = out.add_stream("mpeg4", rate=10)
    ...     stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
    ...     for i in range(30):
    ...         image = np.full((32, 32, 3), 8 * i, np.uint8)
    ...         out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    ...     out.mux(stream.encode())
    >>> [(f.index, f.time) for f in sample_frames(path, every=1.0)]
    [(0, 0.0), (10, 1.0), (20, 2.0)]
    >>> len(list(sample_frames(path, every=None)))
    30
    """
    path = os.path.abspath(os.fspath(video))
    if mode == "sharpest" and every is None:
        raise DataError("mode='sharpest' picks the sharpest frame of each interval of "
                        "`every` seconds: give every (e.g. every=10.0).")
    if window is not None and (every is None or window > every):
        raise DataError(f"window={window!r} must be at most every={every!r} seconds "
                        "(the sharpest frame is sought in [k every, k every + window)).")
    container, _ = _open(path)  # the errors a user can fix before iterating
    container.close()
    return _decode(path, _exact(every), mode, _exact(window if window is not None else every),
                   min_sharpness)


def _decode(path, every, mode, window, min_sharpness):
    import av

    container, stream = _open(path)
    with container:
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        period = Fraction(1, 1) / Fraction(rate) if rate else Fraction(1, 25)
        origin = stream.start_time
        state = {"n": 0, "index": None, "time": None}
        taken = None  # the interval of the last frame taken (mode "first")
        best = None  # (sharpness, frame, time, index, interval) (mode "sharpest")

        def emit(frame, t, index, sharp):
            return Frame(_displayed(frame), float(t), index, path, sharp)

        def read():
            nonlocal origin
            try:
                for frame in container.decode(stream):
                    if frame.pts is None:
                        t = (state["time"] + period) if state["time"] is not None else 0
                    else:
                        if origin is None:
                            origin = frame.pts
                        t = (frame.pts - origin) * time_base
                    yield frame, t
                    state["n"] += 1
                    state["index"], state["time"] = state["n"] - 1, t
            except av.FFmpegError as exc:
                raise VideoReadError(
                    f"video {path!r} could not be decoded to its end: FFmpeg stopped "
                    f"{_where(state['n'], state['index'], state['time'] or 0)} "
                    f"({exc.__class__.__name__}: {getattr(exc, 'strerror', None) or exc}). "
                    "The frames before it were read; the file may be corrupt or truncated.",
                    path, state["n"], state["index"], _float(state["time"])) from None

        error = None
        try:
            for frame, t in read():
                index = state["n"]
                if every is None:
                    sharp = None if min_sharpness is None else _sharpness(frame)
                    if sharp is None or sharp >= min_sharpness:
                        yield emit(frame, t, index, sharp)
                    continue
                k = math.floor(t / every)
                if mode == "first":
                    if taken is not None and k <= taken:
                        continue
                    sharp = None if min_sharpness is None else _sharpness(frame)
                    if sharp is None or sharp >= min_sharpness:
                        taken = k
                        yield emit(frame, t, index, sharp)
                    continue
                if best is not None and best[4] != k:
                    if min_sharpness is None or best[0] >= min_sharpness:
                        yield emit(best[1], best[2], best[3], best[0])
                    best = None
                if t - k * every >= window:
                    continue
                sharp = _sharpness(frame)
                if best is None or sharp > best[0]:
                    best = (sharp, frame, t, index, k)
        except VideoReadError as exc:
            error = exc
        # the sharpest frame of the last window read, also when reading broke off
        if best is not None and (min_sharpness is None or best[0] >= min_sharpness):
            yield emit(best[1], best[2], best[3], best[0])
        if error is not None:
            raise error
        _check_complete(path, stream, container, state, period)


def _float(t):
    return None if t is None else float(t)


def _check_complete(path, stream, container, state, period):
    """A VideoReadError for no frames, or a clean end well before the declared length."""
    n, index, t = state["n"], state["index"], state["time"]
    if n == 0:
        raise VideoReadError(f"video {path!r} holds no frames (its video stream is empty; "
                             "the file may be truncated).", path)
    declared = stream.frames or 0
    end = float(t + period)
    if declared:
        short = n < declared - 1
        said = f"of the {declared} frames its header declares"
    else:
        if stream.duration is not None and stream.time_base is not None:
            length = float(stream.duration * stream.time_base)
        elif container.duration is not None and len(container.streams) == 1:
            length = container.duration / 1e6  # the container's, when it has no other stream
        else:
            return
        short = length - end > max(_DURATION_SLACK, 2 * float(period))
        said = f"of the {length:.3f} s its header declares"
    if short:
        raise VideoReadError(
            f"video {path!r} ends early: reading stopped {_where(n, index, float(t))}, "
            f"{said}; the file is probably truncated. The frames before it were read.",
            path, n, index, float(t))


# --------------------------------------------------------------------------
# write_frames
# --------------------------------------------------------------------------


def _video_paths(videos):
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    paths = [os.path.abspath(os.fspath(v)) for v in videos]
    if not paths:
        raise DataError("videos is empty: give at least one video file.")
    seen, dupes = set(), []
    for p in paths:
        if p in seen:
            dupes.append(p)
        seen.add(p)
    if dupes:
        raise DataError(f"videos lists the same file more than once: {dupes[0]!r}.")
    return paths


def _subjects(paths, subject_pattern):
    """One subject per video, from the pattern searched in its file name (as load_image_folder)."""
    if subject_pattern is None:
        return None
    pattern = re.compile(subject_pattern)
    if "subject" not in pattern.groupindex:
        raise DataError(f"subject_pattern {pattern.pattern!r} has no named group 'subject'; "
                        "write it as (?P<subject>...).")
    subjects, bad = [], []
    for p in paths:
        found = pattern.search(os.path.basename(p))
        if found is None or not found.group("subject"):
            bad.append(os.path.basename(p))
        else:
            subjects.append(found.group("subject"))
    if bad:
        raise DataError(
            f"subject_pattern {pattern.pattern!r} does not find a subject in {len(bad)} of "
            f"{len(paths)} video file name(s), the first: {bad[0]!r}.")
    return subjects


def _labels(paths, label):
    """One label per video: one for all, one per video, or a mapping path / file name -> label."""
    if label is None:
        return None
    if isinstance(label, Mapping):
        by_path = {os.path.abspath(os.fspath(k)): v for k, v in label.items()}
        by_name = {os.fspath(k): v for k, v in label.items()}
        out = [by_path.get(p, by_name.get(os.path.basename(p))) for p in paths]
        absent = [os.path.basename(p) for p, v in zip(paths, out) if v is None]
        if absent:
            raise DataError(f"label has no label for {len(absent)} video(s), the first: "
                            f"{absent[0]!r}; key it by the video's path or file name.")
        return out
    if isinstance(label, (str, Integral, Real)):
        return [label] * len(paths)
    out = list(label)
    if len(out) != len(paths):
        raise DataError(f"label has {len(out)} values for {len(paths)} videos: give one "
                        "label, one per video, or a mapping video -> label.")
    return out


def _folders(paths):
    """A distinct, file-system-safe folder name per video, from its file name."""
    names, used = [], set()
    for p in paths:
        stem = _UNSAFE.sub("_", os.path.splitext(os.path.basename(p))[0]).strip("._") or "video"
        name, k = stem, 2
        while name.lower() in used:
            name, k = f"{stem}_{k}", k + 1
        used.add(name.lower())
        names.append(name)
    return names


def _check_output(output, folders, overwrite):
    if os.path.exists(output) and not os.path.isdir(output):
        raise ResultsExistError(f"output {output!r} is a file, not a folder.", [output])
    manifest = os.path.join(output, "manifest.csv")
    if overwrite:
        return manifest
    held = [manifest] if os.path.exists(manifest) else []
    held += [os.path.join(output, f) for f in folders
             if os.path.isdir(os.path.join(output, f)) and os.listdir(os.path.join(output, f))]
    if held:
        raise ResultsExistError(
            f"output {output!r} already holds the frames of an earlier run "
            f"({', '.join(map(repr, held[:3]))}{' ...' if len(held) > 3 else ''}); pass "
            "overwrite=True to replace them, or choose another folder.", held)
    return manifest


def _write_manifest(manifest, rows):
    import pandas as pd

    with atomic_path(manifest) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)


@validate_params(
    {
        "videos": [str, os.PathLike, "array-like"],
        "output": [str, os.PathLike],
        "every": [Interval(Real, 0, None, closed="neither"), None],
        "mode": [StrOptions({"first", "sharpest"})],
        "window": [Interval(Real, 0, None, closed="neither"), None],
        "min_sharpness": [Interval(Real, 0, None, closed="left"), None],
        "subject_pattern": [str, re.Pattern, None],
        "label": "no_validation",
        "image_format": [StrOptions(set(_IMAGE_FORMATS))],
        "quality": [Interval(Integral, 1, 100, closed="both")],
        "overwrite": ["boolean"],
        "on_error": [StrOptions({"raise", "skip"})],
    },
    prefer_skip_nested_validation=True,
)
def write_frames(videos, output, *, every, mode="first", window=None, min_sharpness=None,
                 subject_pattern=None, label=None, image_format="jpg", quality=95,
                 overwrite=False, on_error="raise"):
    """Write sampled frames of videos as image files, with a manifest CSV.

    Each video's frames (as :func:`sample_frames` samples them) go to
    ``output/<video name>/<video name>_<frame index>.jpg`` and one
    ``output/manifest.csv`` lists them all, so the dog-emotion paper's "every
    frame of a clip carries the clip's label" (``every=None``, `label`) and
    the aMGS paper's one frame every 10 s (``every=10``) are one call.
    Frames stream to disk one at a time.

    Parameters
    ----------
    videos : str, os.PathLike or list of them
        The video files; they are only read.
    output : str or os.PathLike
        The folder written (created if needed).
    every : float or None
        Seconds between frames, or None for every frame; see
        :func:`sample_frames`.
    mode : {"first", "sharpest"}, default="first"
        See :func:`sample_frames`.
    window : float, default=None
        See :func:`sample_frames`.
    min_sharpness : float, default=None
        See :func:`sample_frames`; with it the manifest has a ``sharpness``
        column.
    subject_pattern : str or re.Pattern, default=None
        A regular expression with a named group ``subject``, searched
        (:func:`re.search`) in each video's file name, as in
        :func:`skanimal.datasets.load_image_folder`, e.g.
        ``r"^(?P<subject>mouse\\d+)_"``; every frame gets its video's subject.
    label : str, int, list or dict, default=None
        The label of every frame of a video: one for all videos, one per
        video (in order), or a mapping from video path or file name to label.
    image_format : {"jpg", "png"}, default="jpg"
        The frames' file format.
    quality : int, default=95
        JPEG quality (1-100); ignored for PNG.
    overwrite : bool, default=False
        Replace the manifest and frames of an earlier run. Otherwise a
        folder holding ``manifest.csv``, or a non-empty frame folder of one of
        these videos, is refused before anything is decoded. Other files are
        never touched; frames of an earlier run that this one does not
        write stay on disk but are not in the new manifest.
    on_error : {"raise", "skip"}, default="raise"
        A video that cannot be read to its end (a
        :class:`~skanimal.exceptions.VideoReadError`): ``"raise"`` writes the
        manifest of every frame written so far, the broken video's included,
        and raises the error; ``"skip"`` keeps its frames read so far, warns
        (:class:`RuntimeWarning`, with the error's message) and goes on.

    Returns
    -------
    manifest : str
        The path of ``output/manifest.csv``. Columns: ``path`` (relative to
        `output`), ``video`` (absolute path), ``time`` (seconds from the
        start of the video), ``frame`` (index of the frame in its video),
        ``sharpness`` (with `min_sharpness` or ``mode="sharpest"``),
        ``subject`` (with `subject_pattern`) and ``label`` (with `label`).

    Raises
    ------
    skanimal.exceptions.VideoReadError
        A video cannot be read (see :func:`sample_frames`).
    skanimal.exceptions.ResultsExistError
        `output` holds an earlier run and `overwrite` is False.
    skanimal.exceptions.DataError
        The pattern finds no subject in a video's name (naming it), `label`
        has no label for a video, a video is listed twice, or no frame was
        sampled (e.g. none passed `min_sharpness`).

    See Also
    --------
    sample_frames : The frames, without writing them.
    skanimal.datasets.load_manifest : Read the manifest, with labels and subjects.
    skanimal.scoring.score_animals : Score the frames with a fitted model.

    Notes
    -----
    :func:`skanimal.datasets.load_manifest`, and so ``skanimal benchmark
    --data``, needs ``label`` and ``subject`` columns: give `label` and
    `subject_pattern` to train or evaluate on the frames. A manifest without
    them (frames of new animals, to score) is read by
    :func:`skanimal.datasets.load_new_images` (``skanimal predict --data
    DIR``), whose ``images`` and ``frame`` go to
    :func:`skanimal.scoring.score_animals`;
    :func:`skanimal.scoring.score_videos` does both steps. Every image and the manifest are
    written atomically (a temporary file, then a rename).

    Examples
    --------
    >>> import os, tempfile
    >>> import av, numpy as np
    >>> from skanimal.datasets import load_manifest
    >>> from skanimal.video import write_frames
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "mouse1_day2.mp4")
    >>> with av.open(path, "w") as out:  # 3 s at 10 fps
    ...     stream = out.add_stream("mpeg4", rate=10)
    ...     stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
    ...     for i in range(30):
    ...         image = np.full((32, 32, 3), 8 * i, np.uint8)
    ...         out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    ...     out.mux(stream.encode())
    >>> manifest = write_frames(path, os.path.join(folder, "frames"), every=1.0,
    ...                         subject_pattern=r"^(?P<subject>mouse\\d+)_", label="pain")
    >>> data = load_manifest(manifest)
    >>> list(data.groups), list(data.target), list(data.frame["time"])
    (['mouse1', 'mouse1', 'mouse1'], ['pain', 'pain', 'pain'], [0.0, 1.0, 2.0])
    """
    from PIL import Image

    paths = _video_paths(videos)
    subjects = _subjects(paths, subject_pattern)
    labels = _labels(paths, label)
    folders = _folders(paths)
    output = os.path.abspath(os.fspath(output))
    manifest = _check_output(output, folders, overwrite)
    ext, pil_format = image_format, _IMAGE_FORMATS[image_format]
    options = {"quality": quality} if pil_format == "JPEG" else {}
    with_sharpness = min_sharpness is not None or mode == "sharpest"
    # open every video first: a missing or unreadable one fails before any frame is written
    frames_of = [sample_frames(p, every, mode=mode, window=window, min_sharpness=min_sharpness)
                 for p in paths]
    os.makedirs(output, exist_ok=True)
    rows = []
    for k, (path, frames) in enumerate(zip(paths, frames_of)):
        folder = os.path.join(output, folders[k])
        os.makedirs(folder, exist_ok=True)
        try:
            for frame in frames:
                name = f"{folders[k]}_{frame.index:06d}.{ext}"
                with atomic_path(os.path.join(folder, name)) as tmp:
                    Image.fromarray(frame.image).save(tmp, format=pil_format, **options)
                row = {"path": f"{folders[k]}/{name}", "video": path, "time": frame.time,
                       "frame": frame.index}
                if with_sharpness:
                    row["sharpness"] = frame.sharpness
                if subjects is not None:
                    row["subject"] = subjects[k]
                if labels is not None:
                    row["label"] = labels[k]
                rows.append(row)
        except VideoReadError as exc:
            if on_error == "skip":
                warnings.warn(f"{exc} Skipped the rest of this video.", RuntimeWarning,
                              stacklevel=2)
                continue
            if rows:
                _write_manifest(manifest, rows)
                exc.args = (f"{exc} {manifest!r} lists the {len(rows)} frame(s) written "
                            "so far.",)
            raise
    if not rows:
        raise DataError(
            f"no frame of the {len(paths)} video(s) was sampled"
            + (f" with a sharpness of at least min_sharpness={min_sharpness!r}"
               if min_sharpness is not None else "")
            + "; nothing was written to the manifest.")
    _write_manifest(manifest, rows)
    return manifest
