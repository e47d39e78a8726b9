"""The PSPI -> pain level binning of Hosseini et al. as a target transformer."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..datasets._unbc import _LEVEL_EDGES, pspi_to_level
from ..utils._docs import cite_papers

__all__ = ["PSPILevelTransformer", "pspi_to_level"]

# Lowest and highest PSPI of each level 0-6, from the binning's edges.
_LEVEL_LOW = np.concatenate([[0], _LEVEL_EDGES]).astype(float)
_LEVEL_HIGH = np.concatenate([_LEVEL_EDGES - 1, [15]]).astype(float)
_N_LEVELS = len(_LEVEL_LOW)


def _as_column(y, name):
    """y as a float array, and whether it came as one column of a 2-D array."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        return a[:, 0], True
    if a.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D or a single column, got an array of shape {a.shape}.")
    return a, False


@cite_papers("hosseini")
class PSPILevelTransformer(TransformerMixin, BaseEstimator):
    """Bin PSPI scores (0-15) into the seven pain levels, as a target transformer.

    ``transform`` applies :func:`pspi_to_level` (Hosseini et al. [1]_: 0 -> 0,
    1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-9 -> 4, 10-12 -> 5, 13-15 -> 6);
    ``inverse_transform`` maps levels back to a representative PSPI score, so
    that a regressor trained on levels (as the paper's network is) predicts
    on the PSPI scale inside
    :class:`sklearn.compose.TransformedTargetRegressor` (pass
    ``check_inverse=False``: the binning loses information, so it is not
    invertible).

    A regressor predicts non-integer levels: they are mapped by linear
    interpolation between the representatives of the two neighbouring levels
    (levels below 0 or above 6 are clipped), which keeps the mapping
    monotonic.

    Parameters
    ----------
    representative : {"midpoint", "lower", "mean"}, default="midpoint"
        The PSPI score standing for each level: ``"midpoint"`` of its range
        (0, 1.5, 3.5, 5.5, 8, 11, 14), its ``"lower"`` bound (0, 1, 3, 5, 7,
        10, 13), or the ``"mean"`` PSPI of the training scores of that level
        (the midpoint for a level absent from them).

    Attributes
    ----------
    representatives_ : ndarray of shape (7,)
        The PSPI score standing for each level 0-6.
    level_counts_ : ndarray of shape (7,)
        Number of training scores in each level.

    See Also
    --------
    pspi_to_level : The binning as a function.
    skanimal.datasets.load_unbc_mcmaster : Loads PSPI scores and levels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn.linear_model import LinearRegression
    >>> from skanimal.preprocessing import PSPILevelTransformer
    >>> pspi = np.array([0, 2, 4, 6, 9, 12, 15, 1])
    >>> PSPILevelTransformer().fit_transform(pspi)
    array([0, 1, 2, 3, 4, 5, 6, 1])
    >>> PSPILevelTransformer().fit(pspi).inverse_transform([0, 2, 2.5])
    array([0. , 3.5, 4.5])
    >>> X = pspi.reshape(-1, 1).astype(float)
    >>> model = TransformedTargetRegressor(
    ...     LinearRegression(), transformer=PSPILevelTransformer(), check_inverse=False)
    >>> model.fit(X, pspi).predict(X[:3]).round(2)
    array([0.56, 1.8 , 3.35])
    """

    _parameter_constraints: dict = {
        "representative": [StrOptions({"midpoint", "lower", "mean"})],
    }

    def __init__(self, representative="midpoint"):
        self.representative = representative

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the representative PSPI score of each level.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            PSPI scores, whole numbers from 0 to 15 (the target of a
            regression; :class:`~sklearn.compose.TransformedTargetRegressor`
            passes it as one column).
        y : None
            Ignored.

        Returns
        -------
        self : PSPILevelTransformer
            The fitted transformer.
        """
        pspi, _ = _as_column(X, "X")
        level = pspi_to_level(pspi)
        self.level_counts_ = np.bincount(level, minlength=_N_LEVELS)
        midpoint = (_LEVEL_LOW + _LEVEL_HIGH) / 2.0
        if self.representative == "lower":
            self.representatives_ = _LEVEL_LOW.copy()
        elif self.representative == "midpoint":
            self.representatives_ = midpoint
        else:
            sums = np.bincount(level, weights=pspi.astype(float), minlength=_N_LEVELS)
            seen = self.level_counts_ > 0
            self.representatives_ = np.where(
                seen, sums / np.maximum(self.level_counts_, 1), midpoint)
        return self

    def transform(self, X):
        """Bin PSPI scores into levels 0-6.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            PSPI scores, whole numbers from 0 to 15.

        Returns
        -------
        levels : ndarray of int64 of the shape of X
            The level of each score.
        """
        check_is_fitted(self)
        pspi, column = _as_column(X, "X")
        level = pspi_to_level(pspi)
        return level[:, np.newaxis] if column else level

    def inverse_transform(self, X):
        """Map levels (possibly non-integer predictions) back to PSPI scores.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Pain levels, e.g. a regressor's predictions.

        Returns
        -------
        pspi : ndarray of float64 of the shape of X
            The representative PSPI score, interpolated between levels.
        """
        check_is_fitted(self)
        level, column = _as_column(X, "X")
        try:
            level = level.astype(float)
        except (TypeError, ValueError):
            raise TypeError("X must hold numeric pain levels.") from None
        if not np.all(np.isfinite(level)):
            raise ValueError("X contains NaN or infinite pain levels.")
        pspi = np.interp(level, np.arange(_N_LEVELS), self.representatives_)
        return pspi[:, np.newaxis] if column else pspi

    def __sklearn_tags__(self):
        # A target transformer, like sklearn.preprocessing.LabelEncoder: X is
        # one column of scores (1-D, or (n_samples, 1) as
        # TransformedTargetRegressor passes it), not a 2-D feature table.
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.target_tags.one_d_labels = True
        return tags

    def get_feature_names_out(self, input_features=None):
        """The name of the one output column.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["pain_level"]``.
        """
        check_is_fitted(self)
        return np.asarray(["pain_level"], dtype=object)
