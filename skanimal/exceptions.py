"""The base class of the errors a skanimal user can fix.

Every error that skanimal raises because of its *input* rather than its code
derives from :class:`SkanimalError`: data, labels, subjects or folds that
cannot be used and unknown names (:class:`DataError`), a dataset not in the
expected form or a dataset folder that must not be written to, pretrained
weights that cannot be had, a missing or unreadable image, an unusable
embedding cache, a results folder that already holds results or cannot be
written. Each also derives from the built-in exception a Python user would
expect (:class:`ValueError` for bad data, :class:`OSError` and its
subclasses such as :class:`FileNotFoundError` and :class:`FileExistsError`
for files), so ``except ValueError`` or ``except FileNotFoundError`` keeps
working.

The ``skanimal`` command line prints these errors in one line, naming the
flag at fault where there is one, and exits with status 2; any other
exception is a bug and shows its traceback.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

__all__ = ["DataError", "ResultsExistError", "SkanimalError", "VideoReadError"]


class SkanimalError(Exception):
    """Base class of the errors that the user can fix.

    The message names the file, row, parameter or command-line flag at fault
    and says how to fix it. Subclasses also derive from the matching built-in
    exception (:class:`ValueError`, :class:`OSError`).

    See Also
    --------
    DataError : The data or a parameter given with it cannot be used.
    skanimal.datasets.DatasetError : A dataset on disk is not in the expected form.
    skanimal.datasets.MissingFilesError : Files a dataset refers to do not exist.
    skanimal.datasets.DatasetExistsError : A dataset folder holds files not to replace.
    skanimal.features.WeightsUnavailableError : Pretrained weights cannot be had.
    skanimal.features.CacheError : An embedding cache cannot be used.
    skanimal.utils.ImageReadError : An image file cannot be read.
    skanimal.utils.ImageNotFoundError : An image file does not exist.
    VideoReadError : A video file cannot be read, or not to its end.
    ResultsExistError : A results folder already holds results.
    skanimal.benchmark.ResultsFolderError : A results folder cannot be written.

    Examples
    --------
    >>> from skanimal.datasets import DatasetError
    >>> from skanimal.exceptions import SkanimalError
    >>> issubclass(DatasetError, SkanimalError), issubclass(DatasetError, ValueError)
    (True, True)
    """


class DataError(SkanimalError, ValueError):
    """The data or a parameter given with it cannot be used as it is.

    Raised by the checks that every estimator and evaluation function runs
    on its input: subject ids (``groups``), labels, splits that would mix
    subjects or cannot be made from these subjects, unknown names. A
    :class:`ValueError` too, as scikit-learn's checks raise.

    See Also
    --------
    skanimal.datasets.DatasetError : A dataset on disk is not in the expected form.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GroupKFold
    >>> from skanimal.exceptions import DataError
    >>> from skanimal.evaluation import subject_report
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.arange(8.0)[:, None], np.tile([0, 1], 4)
    >>> try:
    ...     subject_report(LogisticRegression(), X, y, np.repeat([1, 2], 4), cv=3)
    ... except DataError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    DataError True
    """


class ResultsExistError(SkanimalError, FileExistsError):
    """A results folder already holds the results of an earlier run.

    Raised instead of overwriting them silently; pass ``overwrite=True``
    (``skanimal benchmark --overwrite``) to replace them, or choose another
    folder.

    Parameters
    ----------
    message : str
        The error message.
    files : iterable of str, default=()
        The result files that exist.

    Attributes
    ----------
    files : list of str
        The result files that exist.

    See Also
    --------
    skanimal.benchmark.write_results : Writes the benchmark's result files.

    Examples
    --------
    >>> from skanimal.exceptions import ResultsExistError
    >>> err = ResultsExistError("results exist", files=["out/benchmark_table.csv"])
    >>> err.files, isinstance(err, FileExistsError)
    (['out/benchmark_table.csv'], True)
    """

    def __init__(self, message, files=()):
        super().__init__(message)
        self.files = list(files)


class VideoReadError(SkanimalError, OSError):
    """A video file cannot be read, or cannot be read to its end.

    Raised by :func:`skanimal.video.sample_frames` (and so by
    :func:`skanimal.video.write_frames` and ``skanimal frames``) for a file
    that does not exist, is not a video FFmpeg can read, has no video stream,
    uses a codec this FFmpeg build cannot decode, holds no frames, or breaks
    off part way (a corrupt or truncated file). The message names the file
    and, for a file read part way, where reading stopped. The frames read
    before the error have been yielded already; ``frames_read``,
    ``last_index`` and ``last_time`` say how far reading got. An
    :class:`OSError`, as :class:`skanimal.utils.ImageReadError` is.

    Parameters
    ----------
    message : str
        The error message.
    path : str, default=None
        The video file.
    frames_read : int, default=0
        The number of frames decoded before the error.
    last_index : int, default=None
        The index (0 = first frame) of the last frame decoded, None if none was.
    last_time : float, default=None
        The time (seconds from the start of the video) of that frame.

    Attributes
    ----------
    path : str or None
        The video file.
    frames_read : int
        The number of frames decoded before the error.
    last_index : int or None
        The index of the last frame decoded.
    last_time : float or None
        Its time in seconds.

    See Also
    --------
    skanimal.video.sample_frames : Decode frames of a video.

    Examples
    --------
    >>> from skanimal.exceptions import VideoReadError
    >>> from skanimal.video import sample_frames
    >>> try:
    ...     next(sample_frames(__file__, every=1.0))  # a Python file is not a video
    ... except VideoReadError as err:
    ...     print(err.path.endswith(".py"), err.frames_read, isinstance(err, OSError))
    True 0 True
    """

    def __init__(self, message, path=None, frames_read=0, last_index=None, last_time=None):
        super().__init__(message)
        self.path = path
        self.frames_read = frames_read
        self.last_index = last_index
        self.last_time = last_time
