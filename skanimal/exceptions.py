"""The base class of the errors a skanimal user can fix.

Every error that skanimal raises because of its *input* rather than its code
(a dataset not in the expected form, pretrained weights that cannot be had, an
unreadable image, an unusable embedding cache, a results folder that already
holds results) derives from :class:`SkanimalError`. Each also derives from the
built-in exception a Python user would expect (:class:`ValueError` for bad
data, :class:`OSError` for files), so ``except ValueError`` keeps working.

The ``skanimal`` command line prints these errors in one line and exits with
status 2; any other exception is a bug and shows its traceback.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

__all__ = ["ResultsExistError", "SkanimalError"]


class SkanimalError(Exception):
    """Base class of the errors that the user can fix.

    The message names the file, row, parameter or command-line flag at fault
    and says how to fix it. Subclasses also derive from the matching built-in
    exception (:class:`ValueError`, :class:`OSError`).

    See Also
    --------
    skanimal.datasets.DatasetError : A dataset on disk is not in the expected form.
    skanimal.features.WeightsUnavailableError : Pretrained weights cannot be had.
    skanimal.features.CacheError : An embedding cache cannot be used.
    skanimal.utils.ImageReadError : An image file cannot be read.
    ResultsExistError : A results folder already holds results.

    Examples
    --------
    >>> from skanimal.datasets import DatasetError
    >>> from skanimal.exceptions import SkanimalError
    >>> issubclass(DatasetError, SkanimalError), issubclass(DatasetError, ValueError)
    (True, True)
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
