"""The shared base of skanimal's samplers: resample row indices of any X.

imbalanced-learn's samplers validate X as a 2-D table, which rejects a 1-D
array of image paths and a 4-D array of images. skanimal's samplers choose
*rows* and never look inside them, so they take every input a skanimal
estimator takes -- paths, image arrays -- and 2-D feature arrays (embeddings,
DataFrames, sparse matrices) as well.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import os

import numpy as np
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from imblearn.utils._validation import ArraysTransformer
from scipy import sparse
from sklearn.base import _fit_context
from sklearn.preprocessing import label_binarize
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from ..utils._images import _is_augmented, check_images, image_input_kind

__all__ = []

def _is_path_like(x):
    return isinstance(x, (str, bytes, os.PathLike)) or _is_augmented(x)


def check_sampler_input(X):
    """Validate the X of a sampler and tell what it holds.

    Parameters
    ----------
    X : array-like
        Image paths, an image array, or a 2-D feature table.

    Returns
    -------
    X_checked : ndarray, sparse matrix or DataFrame
        Paths as a 1-D object array, images as they are, a table as
        :func:`sklearn.utils.check_array` returns it (any dtype, NaN allowed)
        or the DataFrame itself.
    kind : {"paths", "images", "table"}
        What X holds.
    """
    if sparse.issparse(X):
        return check_array(X, accept_sparse=["csr", "csc"], dtype=None,
                           ensure_all_finite=False), "table"
    ndim = getattr(X, "ndim", None)
    if ndim == 2 and hasattr(X, "columns"):  # DataFrame: rows are picked with iloc
        if len(X) < 1:
            raise ValueError("X is empty: expected at least one sample.")
        return X, "table"
    if ndim is None and not isinstance(X, (str, bytes, os.PathLike)):
        try:
            items = list(X)
        except TypeError:
            items = None
        if items is not None and not any(_is_path_like(x) for x in items):
            arr = np.asarray(items, dtype=None if items else float)
            ndim = arr.ndim
            if ndim == 2:
                X = arr
    if ndim == 2:
        return check_array(X, accept_sparse=["csr", "csc"], dtype=None,
                           ensure_all_finite=False), "table"
    if ndim == 1 and np.asarray(X).dtype.kind in "biuf":
        raise ValueError(
            "Expected a 2-D feature table, image paths or an image array; got a 1-D "
            "numeric array. Reshape a single feature with X.reshape(-1, 1).")
    X = check_images(X)
    return X, "paths" if image_input_kind(X) == "paths" else "images"


def take_rows(X, kind, indices):
    """Rows ``indices`` of a checked X, as a new array (the caller's X is untouched)."""
    if kind == "table":
        return _safe_indexing(X, indices)
    return X[np.asarray(indices, dtype=np.intp)]


class _RowSampler(BaseSampler):
    """Base of the samplers that pick (and copy) rows of any skanimal X.

    Subclasses define ``_sampling_strategy(y)`` (the ``sampling_strategy_``
    dict, as imbalanced-learn defines it for their kind of sampler) and
    ``_fit_resample(X, y, kind)`` returning ``(X_resampled, y_resampled)`` and
    setting ``sample_indices_``.
    """

    def _check_X_y(self, X, y):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, kind = check_sampler_input(X)
        check_consistent_length(X, y)
        if kind == "table":
            validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        else:  # no features: forget those of an earlier fit on a table
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        return X, y, binarize_y, kind

    def _check_y_classes(self, y):
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y to rebalance them, "
                f"got 1 class ({classes[0]!r}).")
        return classes

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Check the input and compute ``sampling_strategy_``.

        Use :meth:`fit_resample`; ``fit`` alone resamples nothing.

        Parameters
        ----------
        X : array-like
            Image file paths, images, or a 2-D feature table.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The sampler.
        """
        check_classification_targets(y)
        X, y, _, _ = self._check_X_y(X, y)
        self._check_y_classes(y)
        self.sampling_strategy_ = self._sampling_strategy(y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y):
        """Resample the data set.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,), ndarray of shape \
(n_samples, height, width[, channels]) or {array-like, sparse matrix} of shape \
(n_samples, n_features)
            Image file paths (or :class:`AugmentedImage` copies), images, or
            a 2-D feature table (e.g. embeddings). It is never modified.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : ndarray, sparse matrix, DataFrame, Series or list
            The resampled X, of the type of X (a list stays a list, a
            Series or a DataFrame keeps its name or columns).
        y_resampled : ndarray, Series, DataFrame or list
            The labels of ``X_resampled``, of the type of y.
        """
        check_classification_targets(y)
        X_orig, y_orig = X, y
        X, y, binarize_y, kind = self._check_X_y(X, y)
        self._check_y_classes(y)
        self.sampling_strategy_ = self._sampling_strategy(y)
        X_res, y_res = self._fit_resample(X, y, kind)
        if binarize_y:
            y_res = label_binarize(y_res, classes=np.unique(y))
        if kind == "table":
            return ArraysTransformer(X_orig, y_orig).transform(X_res, y_res)
        # ArraysTransformer would cast a Series of paths to its string dtype
        # (which would turn AugmentedImage copies into text): rebuild it here.
        _, y_res = ArraysTransformer(X_res, y_orig).transform(X_res, y_res)
        if hasattr(X_orig, "to_numpy"):  # pandas Series of paths
            import pandas as pd

            dtype = object if kind == "paths" and any(map(_is_augmented, X_res)) else None
            X_res = pd.Series(X_res, name=getattr(X_orig, "name", None),
                              dtype=dtype if dtype is not None else X_orig.dtype)
        elif isinstance(X_orig, list):
            X_res = list(X_res)
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # (n, H, W) images
        tags.input_tags.string = True  # image paths, object tables
        tags.input_tags.allow_nan = True  # rows are copied, never read
        tags.sampler_tags.sample_indices = True
        return tags
