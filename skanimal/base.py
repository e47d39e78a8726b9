"""Base classes shared by skanimal's estimators."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

__all__ = ["ImageInputMixin"]


class ImageInputMixin:
    """Mixin for estimators whose X is images, declared in the estimator tags.

    skanimal's image estimators take X as a 1-D array of image paths or an
    ndarray of images of shape (n, H, W) or (n, H, W, C), never a 2-D table.
    This mixin declares that honestly in ``__sklearn_tags__`` (``two_d_array``
    False; ``one_d_array``, ``string`` and ``three_d_array`` True), which is
    what :mod:`skanimal.utils.estimator_checks` and scikit-learn's own checks
    read. Put it first in the bases, before scikit-learn's mixins.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator, TransformerMixin
    >>> from skanimal.base import ImageInputMixin
    >>> class Brightness(ImageInputMixin, TransformerMixin, BaseEstimator):
    ...     pass
    >>> tags = Brightness().__sklearn_tags__()
    >>> tags.input_tags.two_d_array, tags.input_tags.string
    (False, True)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True  # a 1-D array of paths
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True  # (n, H, W); (n, H, W, C) too
        return tags
