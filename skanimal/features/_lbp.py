"""Local binary pattern histograms over a grid of cells, and the LBP + SVM baseline.

This is the hand-crafted baseline of the PainSeeker paper (Table 3): a
greyscale face resized to 224x224, local binary patterns with ``P = 8``
neighbours and radius ``R`` in {1, 3}, one histogram of codes per cell of a
``G x G`` grid, the cell histograms concatenated, and a linear SVM with
``C = 1``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers
import os
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import PIL
import skimage
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from ..base import ImageInputMixin
from ..utils._docs import cite_papers
from ..utils._images import check_images, load_image
from ..utils._validation import check_pair
from ._cache import (
    EmbeddingCache,
    _fill_from_cache,
    _resolve_cache,
    _store_computed,
    namespace_id,
)
from ._lbp_codes import lbp_codes

__all__ = ["LBP_SETTINGS", "LBPFeatures", "lbp_n_bins", "make_lbp_svm"]

#: The six named settings of the paper: name -> LBPFeatures parameters.
LBP_SETTINGS = MappingProxyType(
    {
        f"R{radius}P8-{g}x{g}": MappingProxyType(
            {"n_points": 8, "radius": radius, "grid": (g, g)}
        )
        for radius in (1, 3)
        for g in (4, 8, 16)
    }
)

# default and ror histograms have 2**n_points bins per cell: cap them.
_MAX_POINTS_FULL_CODES = 16

# Version of the LBP code, part of every cache namespace: bump it whenever a
# change in this module changes the cell counts it computes.
_LBP_CODE_VERSION = 1
# The cache stores float32; cell counts up to 2**24 are exact in float32.
_EXACT_FLOAT32_INT = 2**24
# Images computed between two cache writes (one transaction each).
_STORE_EVERY = 256


def _setting_params(name):
    """Return the LBPFeatures parameters of a named setting (a new dict)."""
    try:
        return dict(LBP_SETTINGS[name])
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown LBP setting {name!r}; valid settings are {sorted(LBP_SETTINGS)}."
        ) from None


@validate_params(
    {
        "n_points": [Interval(numbers.Integral, 1, None, closed="left")],
        "method": [StrOptions({"default", "ror", "uniform", "nri_uniform"})],
    },
    prefer_skip_nested_validation=True,
)
def lbp_n_bins(n_points, method):
    """Number of histogram bins of one cell for a local binary pattern mapping.

    Parameters
    ----------
    n_points : int
        Number of circularly symmetric neighbours ``P``.
    method : {"default", "ror", "uniform", "nri_uniform"}
        The mapping of :func:`skimage.feature.local_binary_pattern`.

    Returns
    -------
    n_bins : int
        ``P * (P - 1) + 3`` for ``"nri_uniform"`` (59 for ``P = 8``), ``P + 2``
        for ``"uniform"``, and ``2 ** P`` for ``"default"`` and ``"ror"``.

    Notes
    -----
    ``"ror"`` codes are the smallest rotation of each ``P``-bit pattern, so
    they lie in ``[0, 2 ** P)`` but only a few values occur (36 for
    ``P = 8``). The histogram keeps all ``2 ** P`` bins so that bin ``k`` is
    code ``k``; the always-empty bins are constant columns that a linear model
    ignores.

    Examples
    --------
    >>> from skanimal.features import lbp_n_bins
    >>> lbp_n_bins(8, "nri_uniform"), lbp_n_bins(8, "uniform"), lbp_n_bins(8, "ror")
    (59, 10, 256)
    """
    if method == "nri_uniform":
        return n_points * (n_points - 1) + 3
    if method == "uniform":
        return n_points + 2
    return 2**n_points



def _split_sizes(length, n_parts):
    """Section sizes of ``np.array_split(np.arange(length), n_parts)``."""
    sizes = np.full(n_parts, length // n_parts, dtype=np.intp)
    sizes[: length % n_parts] += 1
    return sizes


@lru_cache(maxsize=16)
def _cell_layout(height, width, rows, cols, n_bins):
    """Per-pixel offsets ``cell * n_bins`` and the pixel count of every cell.

    Cells follow :func:`numpy.array_split`: when ``height`` is not a multiple
    of ``rows``, the first ``height % rows`` cell rows are one pixel taller
    (likewise for columns). The arrays are cached and read-only.
    """
    row_sizes = _split_sizes(height, rows)
    col_sizes = _split_sizes(width, cols)
    row_cell = np.repeat(np.arange(rows, dtype=np.intp), row_sizes)
    col_cell = np.repeat(np.arange(cols, dtype=np.intp), col_sizes)
    offsets = (row_cell[:, None] * cols + col_cell[None, :]) * n_bins
    cell_sizes = np.outer(row_sizes, col_sizes).ravel().astype(np.float64)
    offsets.setflags(write=False)
    cell_sizes.setflags(write=False)
    return offsets, cell_sizes


def _cell_histograms(codes, grid, n_bins, normalize):
    """Concatenated per-cell histograms of an integer-valued code map."""
    rows, cols = grid
    offsets, cell_sizes = _cell_layout(codes.shape[0], codes.shape[1], rows, cols, n_bins)
    # One bincount over cell-offset codes gives every cell histogram at once;
    # the codes are integers (uint8, or exact integers in float64).
    hist = np.bincount(
        (offsets + codes.astype(np.intp)).ravel(), minlength=rows * cols * n_bins
    ).astype(np.float64)
    if hist.shape[0] != rows * cols * n_bins:  # a code outside [0, n_bins)
        raise RuntimeError(f"LBP codes outside [0, {n_bins}).")
    if normalize:
        hist.reshape(rows * cols, n_bins)[...] /= cell_sizes[:, None]
    return hist


def _normalize_cells(counts, n_bins):
    """Divide each cell histogram of ``counts`` (n_samples, n_cells * n_bins) in place
    by its sum, i.e. by the number of pixels of the cell.

    Every pixel falls in exactly one bin of its cell, so the sum is the pixel
    count (an exact integer in float64): the result equals a division by the
    cell sizes bit for bit, also for images of their own size
    (``image_size=None``), whose cell sizes are not known here.
    """
    cells = counts.reshape(counts.shape[0], -1, n_bins)
    cells /= cells.sum(axis=2, keepdims=True)
    return counts


def _lbp_histograms(gray, *, n_points, radius, method, grid, n_bins, index, normalize=False):
    """Concatenated per-cell LBP histograms (counts) of one greyscale uint8 image."""
    height, width = gray.shape
    rows, cols = grid
    if height < rows or width < cols:
        raise ValueError(
            f"image X[{index}] is {height}x{width} pixels, smaller than the "
            f"{rows}x{cols} grid: every cell needs at least one pixel. Use a "
            "smaller grid or set image_size."
        )
    codes = lbp_codes(gray, n_points, radius, method)  # scikit-image's, bit for bit
    return _cell_histograms(codes, grid, n_bins, normalize)


class LBPFeatures(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Grid of local binary pattern histograms of greyscale face images.

    Each image is converted to greyscale (ITU-R 601-2 luma) and resized to
    ``image_size``; :func:`skimage.feature.local_binary_pattern` codes it with
    ``n_points`` neighbours on a circle of ``radius`` pixels; the code map is
    cut into a ``grid`` of cells and one histogram of codes is computed per
    cell; the histograms are concatenated cell by cell (row-major cell order:
    all bins of cell (0, 0), then of cell (0, 1), ...).

    The transformer learns nothing from the data: ``fit`` only validates the
    parameters and X, so it can be computed once outside cross-validation.

    Parameters
    ----------
    n_points : int, default=8
        Number of circularly symmetric neighbours ``P``. At most 16 for
        ``method="default"`` or ``"ror"``, whose histograms have ``2 ** P``
        bins per cell.
    radius : float, default=1
        Radius ``R`` of the circle of neighbours, in pixels.
    method : {"nri_uniform", "uniform", "default", "ror"}, default="nri_uniform"
        The pattern mapping of :func:`skimage.feature.local_binary_pattern`,
        with ``n_bins_`` bins per cell:

        - ``"nri_uniform"``: non-rotation-invariant uniform patterns,
          ``P * (P - 1) + 3`` bins (59 for ``P = 8``), as in face analysis;
        - ``"uniform"``: rotation-invariant uniform patterns, ``P + 2`` bins;
        - ``"default"``: raw codes, ``2 ** P`` bins;
        - ``"ror"``: rotation-invariant codes, ``2 ** P`` bins of which only
          the minimal rotations can be non-zero (see :func:`lbp_n_bins`).

        ``"var"`` is not supported: it yields continuous contrast values, not
        codes, and would need a binning of its own.
    grid : int or tuple of (int, int), default=(4, 4)
        Number of cells as ``(rows, columns)``; an int means a square grid.
        When the image height is not a multiple of ``rows``, cells follow
        :func:`numpy.array_split`: the first ``height % rows`` rows of cells
        are one pixel taller (likewise for columns).
    image_size : int or tuple of (int, int) or None, default=(224, 224)
        Size ``(height, width)`` that images are resized to (bilinear) before
        coding; an int means square. ``None`` keeps each image's own size: the
        output length is the same for every size, since the grid adapts.
    normalize : bool, default=True
        Divide each cell histogram by the number of pixels in the cell (L1
        normalisation), so that cells of unequal size are comparable.
    draft : bool, default=False
        Let libjpeg decode JPEG files at the smallest of the scales 1/2, 1/4
        and 1/8 at which they are still at least ``image_size``, straight to
        greyscale (:meth:`PIL.Image.Image.draft`), before the resize.
        Decoding then costs 2 to 3 times less (640x480 and 1280x960 files),
        and decoding is most of the time left once the codes are computed,
        but the pixels are not those of a full decode: on 640x480 and
        1280x960 JPEG photographs and faces resized to 224x224 they differed
        by 0.3 to 0.9 grey levels on average, 99 % of the pixels by at most
        8, up to ~30 at sharp edges; the L1-normalised cell histograms of 8x8
        grids moved by 0.1 to 0.16 per cell in L1 distance on average (at
        most 0.3, out of 2), cosine similarity above 0.99. Off by default, so
        that the features are those of the full image. Only JPEG files
        are affected (not arrays, other formats, nor ``image_size=None``);
        drafted histograms are cached apart from full-decode ones.
    n_jobs : int, default=None
        Number of images processed in parallel, with threads (scikit-image and
        Pillow release the GIL). ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context; ``-1`` means all processors.
    cache : bool, str, path, EmbeddingCache or None, default=False
        Where the histograms of each image are kept, as in
        :class:`~skanimal.features.DeepFeatures`: ``True``, the default cache
        directory (``$SKANIMAL_CACHE_DIR`` or ``~/.cache/skanimal``); a
        directory; an :class:`~skanimal.features.EmbeddingCache`; or ``False``
        (or ``None``) for none. Coding one image takes a few milliseconds, so
        the default is no cache; it pays in hyper-parameter searches and
        repeated cross-validations, which code the same images again and
        again (:func:`~skanimal.model_selection.make_preset_estimator` turns
        it on).

    Attributes
    ----------
    n_bins_ : int
        Number of histogram bins per cell.
    grid_ : tuple of (int, int)
        The grid as ``(rows, columns)``.
    image_size_ : tuple of (int, int) or None
        The size images are resized to, as ``(height, width)``.
    n_features_out_ : int
        Number of output features, ``rows * columns * n_bins_``.
    cache_ : EmbeddingCache or None
        The cache, or None when ``cache=False``.
    cache_config_ : dict
        Everything that determines the cached numbers; its digest is
        :attr:`cache_namespace_`.
    cache_namespace_ : str
        The cache namespace of this configuration.

    See Also
    --------
    make_lbp_svm : The paper's LBP + linear SVM pipeline.
    skimage.feature.local_binary_pattern : The LBP codes.

    Notes
    -----
    The output is float64: the classifiers that follow (liblinear, libsvm)
    work in float64 and would copy float32 input, so float32 would save no
    memory; float64 also holds unnormalised counts exactly.

    ``transform`` uses the parameters as they were at ``fit`` time, except
    ``n_jobs``.

    **Speed.** For ``n_points=8`` the codes are computed by a vectorised
    numpy version of :func:`skimage.feature.local_binary_pattern` that
    repeats its float64 bilinear sampling, offset rounding and ``>=``
    comparison operation for operation, so its codes are equal bit for bit
    (tested for the four methods and integer and fractional radii), five to
    eight times faster; other ``n_points`` call scikit-image. From JPEG files
    on one core, decoding then takes most of the time: see ``draft``.

    **Cache.** One vector is cached per image (keyed by its content: a hash
    of the file's bytes or of the array, see
    :func:`~skanimal.features.image_keys`) and per setting. The namespace is
    the digest of :attr:`cache_config_`: ``n_points``, ``radius``,
    ``method``, the grid, ``image_size``, ``draft`` (when it applies), the
    version of this module's code and the versions of scikit-image (the LBP codes) and Pillow (the
    greyscale conversion and the resizing): a library update may change codes
    or pixels, not only rounding, and recomputing LBP histograms costs seconds,
    not hours, so their entries are not reused across versions. ``n_jobs``
    does not change the numbers and is not part of it, nor is ``normalize``:
    the cache holds the cell **counts** (exact in float32 up to 2**24 pixels a
    cell; an image with larger cells is computed but not cached) and the
    normalisation is applied after reading, so normalised and raw histograms
    share entries and equal the uncached output bit for bit. Identical images
    in X are computed once.

    The six settings of the paper are in :data:`LBP_SETTINGS` and available
    through :meth:`from_setting`.

    References
    ----------
    .. [1] T. Ahonen, A. Hadid and M. Pietikainen, "Face Description with
           Local Binary Patterns: Application to Face Recognition", IEEE
           TPAMI 28(12), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.features import LBPFeatures
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    >>> lbp = LBPFeatures(grid=4, image_size=64).fit(X)
    >>> lbp.transform(X).shape
    (3, 944)
    >>> lbp.get_feature_names_out()[:2]
    array(['lbp_r0c0_b0', 'lbp_r0c0_b1'], dtype=object)
    >>> LBPFeatures.from_setting("R3P8-8x8")
    LBPFeatures(grid=(8, 8), radius=3)

    With a cache, a second transform reads every histogram back:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cached = LBPFeatures(grid=4, image_size=64, cache=tmp).fit(X)
    ...     first = cached.transform(X)
    ...     again = cached.transform(X)
    ...     n_entries = cached.cache_.info()["n_entries"].tolist()
    ...     cached.cache_.close()
    >>> bool((first == again).all()), n_entries
    (True, [3])
    """

    _parameter_constraints: dict = {
        "n_points": [Interval(numbers.Integral, 1, None, closed="left")],
        "radius": [Interval(numbers.Real, 0, None, closed="neither")],
        "method": [StrOptions({"nri_uniform", "uniform", "default", "ror"})],
        "grid": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "image_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            tuple,
            list,
            None,
        ],
        "normalize": ["boolean"],
        "draft": ["boolean"],
        "n_jobs": [numbers.Integral, None],
        "cache": ["boolean", str, os.PathLike, EmbeddingCache, None],
    }

    def __init__(
        self,
        n_points=8,
        radius=1,
        method="nri_uniform",
        grid=(4, 4),
        image_size=(224, 224),
        normalize=True,
        draft=False,
        n_jobs=None,
        cache=False,
    ):
        self.n_points = n_points
        self.radius = radius
        self.method = method
        self.grid = grid
        self.image_size = image_size
        self.normalize = normalize
        self.draft = draft
        self.n_jobs = n_jobs
        self.cache = cache

    @classmethod
    def from_setting(cls, name, **params):
        """Create the transformer of one of the paper's named settings.

        Parameters
        ----------
        name : {"R1P8-4x4", "R1P8-8x8", "R1P8-16x16", "R3P8-4x4", "R3P8-8x8", \
                "R3P8-16x16"}
            The setting: radius ``R``, ``P`` neighbours, grid of cells.
        **params : dict
            Other parameters of :class:`LBPFeatures`; they override the
            setting.

        Returns
        -------
        transformer : LBPFeatures
            An unfitted transformer.

        Examples
        --------
        >>> from skanimal.features import LBPFeatures
        >>> LBPFeatures.from_setting("R1P8-16x16", n_jobs=2)
        LBPFeatures(grid=(16, 16), n_jobs=2)
        """
        return cls(**{**_setting_params(name), **params})

    def _validated_config(self):
        """Check the parameters that the constraints cannot express."""
        if self.method in ("default", "ror") and self.n_points > _MAX_POINTS_FULL_CODES:
            raise ValueError(
                f"n_points={self.n_points} is too large for method={self.method!r}: "
                f"its histograms have 2**n_points bins per cell. Use n_points <= "
                f"{_MAX_POINTS_FULL_CODES} or method='uniform'/'nri_uniform'."
            )
        grid = check_pair(self.grid, "grid", labels="(rows, columns)")
        image_size = None if self.image_size is None else check_pair(self.image_size, "image_size")
        if image_size is not None and (image_size[0] < grid[0] or image_size[1] < grid[1]):
            raise ValueError(
                f"image_size={self.image_size!r} is smaller than grid={self.grid!r}: "
                "every cell needs at least one pixel."
            )
        return grid, image_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and X; nothing is learned.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images (uint8 0-255 or float 0-1).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self.grid_, self.image_size_ = self._validated_config()
        check_images(X)
        self.n_bins_ = lbp_n_bins(self.n_points, self.method)
        self.n_features_out_ = self.grid_[0] * self.grid_[1] * self.n_bins_
        # Frozen copy of the coding parameters used by transform.
        self._lbp_params = {
            "n_points": int(self.n_points),
            "radius": float(self.radius),
            "method": self.method,
            "grid": self.grid_,
            "n_bins": self.n_bins_,
        }
        self._normalize = bool(self.normalize)
        # draft decoding changes the pixels only when images are resized
        self._draft = bool(self.draft) and self.image_size_ is not None
        self.cache_ = _resolve_cache(self.cache)
        self.cache_config_ = {
            "feature": "LBPFeatures",
            "lbp_code_version": _LBP_CODE_VERSION,
            "values": "cell counts",
            "n_points": self._lbp_params["n_points"],
            "radius": self._lbp_params["radius"],
            "method": self.method,
            "grid": list(self.grid_),
            "image_size": None if self.image_size_ is None else list(self.image_size_),
            "scikit-image": skimage.__version__,
            "pillow": PIL.__version__,
        }
        if self._draft:
            # Drafted JPEG pixels differ from full decodes, so drafted
            # histograms get namespaces of their own. The key is added only
            # when drafting, so the namespaces of full decodes (the default)
            # are those of the releases before ``draft`` existed and their
            # cached entries stay valid.
            self.cache_config_["jpeg_decode"] = "draft"
        self.cache_namespace_ = namespace_id(self.cache_config_)
        return self

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _counts(self, X, todo):
        """Cell counts of the images ``todo`` = [(index, rows, key)]: (len(todo), n_features)."""
        out = np.empty((len(todo), self.n_features_out_), dtype=np.float64)
        draft = getattr(self, "_draft", False)  # fitted before draft existed: full decodes
        for row, (i, _, _) in enumerate(todo):
            gray = load_image(X[i], mode="L", size=self.image_size_, index=int(i),
                              draft=draft)
            out[row] = _lbp_histograms(gray, index=int(i), **self._lbp_params)
        return out

    def _compute(self, X, todo, out):
        """Count the images ``todo`` into ``out``, storing each batch in the cache."""
        n_jobs = min(effective_n_jobs(self.n_jobs), len(todo))
        n_batches = -(-len(todo) // _STORE_EVERY)
        if n_jobs > 1:
            n_batches = max(n_batches, min(len(todo), 4 * n_jobs))
        bounds = np.linspace(0, len(todo), n_batches + 1).round().astype(int)
        batches = [todo[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        if n_jobs == 1:
            results = (self._counts(X, batch) for batch in batches)
        else:
            results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                delayed(self._counts)(X, batch) for batch in batches
            )
        for batch, counts in zip(batches, results):
            for (_, rows, _), vec in zip(batch, counts):
                out[rows] = vec
            if self.cache_ is not None:  # every batch: an interrupted run keeps it
                exact = counts.max(axis=1) <= _EXACT_FLOAT32_INT
                if not exact.all():
                    batch = [t for t, ok in zip(batch, exact) if ok]
                    counts = counts[exact]
                _store_computed(self.cache_, self.cache_namespace_, batch,
                                counts.astype(np.float32), config=self.cache_config_)

    def transform(self, X):
        """Compute the concatenated cell histograms of each image.

        Histograms found in the cache are read back; the others are computed
        (and stored when there is a cache).

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images (uint8 0-255 or float 0-1).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_cells * n_bins)
            The histograms, float64, cell-major (all bins of a cell together).
        """
        check_is_fitted(self)
        X = check_images(X)
        n_samples = X.shape[0]
        out = np.empty((n_samples, self.n_features_out_), dtype=np.float64)
        todo = _fill_from_cache(self.cache_, self.cache_namespace_, X, out)
        if todo:
            self._compute(X, todo, out)
        # what the last transform did (images computed / read from the cache)
        self._last_extraction = {
            "n_computed": len(todo),
            "n_cached": n_samples - sum(len(t[1]) for t in todo),
        }
        if self._normalize:
            _normalize_cells(out, self.n_bins_)
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``lbp_r{row}c{col}_b{code}``.

        Parameters
        ----------
        input_features : None
            Ignored: the input is images, which have no feature names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column, e.g. ``"lbp_r0c1_b58"`` for code 58 in
            the cell of the first row and second column.
        """
        check_is_fitted(self)
        rows, cols = self.grid_
        names = [
            f"lbp_r{r}c{c}_b{b}"
            for r in range(rows)
            for c in range(cols)
            for b in range(self.n_bins_)
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # image input: ImageInputMixin
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []  # always float64
        tags.requires_fit = True
        return tags

    @classmethod
    def _get_test_params(cls):
        """Cheap parameters for :mod:`skanimal.utils.estimator_checks`."""
        return [
            {"grid": 2, "image_size": 32},
            {"grid": (3, 2), "image_size": (30, 25), "method": "uniform", "radius": 2},
        ]



@cite_papers("liu2025")
def make_lbp_svm(setting="R1P8-4x4", *, C=1.0, n_jobs=None, cache=False, draft=False,
                 **svm_params):
    """Build the paper's LBP + linear SVM pipeline for a named setting.

    Parameters
    ----------
    setting : {"R1P8-4x4", "R1P8-8x8", "R1P8-16x16", "R3P8-4x4", "R3P8-8x8", \
            "R3P8-16x16"}, default="R1P8-4x4"
        The LBP setting (see :data:`LBP_SETTINGS`): radius ``R``, ``P = 8``
        neighbours and the grid of cells; the other :class:`LBPFeatures`
        parameters keep their defaults (``nri_uniform`` codes, 224x224 images,
        L1-normalised cells).
    C : float, default=1.0
        Regularisation parameter of the SVM (the paper uses 1).
    n_jobs : int, default=None
        Threads used by :class:`LBPFeatures` to code images.
    cache : bool, str, path, EmbeddingCache or None, default=False
        The ``cache`` of :class:`LBPFeatures`: ``True`` keeps the histograms
        of every image in the default cache directory, which pays when the
        pipeline is fitted many times on the same images (searches).
    draft : bool, default=False
        The ``draft`` of :class:`LBPFeatures`: decode JPEG files at a reduced
        scale, faster but with slightly different pixels.
    **svm_params : dict
        Other parameters of :class:`sklearn.svm.LinearSVC`. The defaults set
        here are ``max_iter=10_000`` and ``random_state=0``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``make_pipeline(LBPFeatures(...), LinearSVC(C=C, ...))``, unfitted; its
        steps are named ``"lbpfeatures"`` and ``"linearsvc"``.

    See Also
    --------
    LBPFeatures : The LBP histogram transformer.

    Notes
    -----
    The paper says "SVM, linear kernel, C = 1" without naming the loss or the
    solver. This uses :class:`sklearn.svm.LinearSVC` (liblinear: squared
    hinge loss, ``dual="auto"``), not ``SVC(kernel="linear")`` (libsvm:
    hinge loss, unregularised intercept), for three measured reasons, on the
    default :func:`~skanimal.datasets.make_grimace_faces` data (1,138 images,
    pooled leave-one-rat-out, 944 to 15,104 features):

    - with ``C = 1`` and L1-normalised cells (small feature values) the
      libsvm problem underfits and predicts close to the training prior,
      which a leave-one-subject-out split punishes: ``SVC`` reached 49 %
      (R1P8-4x4) and 56 % (R3P8-4x4) accuracy, below the 52.5 % majority
      rate, where ``LinearSVC`` reached 67 % and 68 % (the paper reports
      65.6 % and 67.7 % on real rats); on 16x16 grids both reach ~72 %;
    - ``LinearSVC`` converged within its iteration limit on all six settings
      (``max_iter=10_000`` leaves a margin) and its results did not change
      with ``random_state`` or with ``dual=False``;
    - it scales linearly with the number of images, where ``SVC`` grows with
      its square (six folds of R1P8-16x16: 6.7 s against 22 s).

    For the libsvm formulation use
    ``make_pipeline(LBPFeatures.from_setting(setting), SVC(kernel="linear"))``.

    Examples
    --------
    >>> from skanimal.features import make_lbp_svm
    >>> pipe = make_lbp_svm("R3P8-8x8")
    >>> pipe.named_steps["lbpfeatures"]
    LBPFeatures(grid=(8, 8), radius=3)
    >>> pipe.named_steps["linearsvc"]
    LinearSVC(max_iter=10000, random_state=0)
    """
    svm_params = {"max_iter": 10_000, "random_state": 0, **svm_params}
    return make_pipeline(
        LBPFeatures(**_setting_params(setting), n_jobs=n_jobs, cache=cache, draft=draft),
        LinearSVC(C=C, **svm_params),
    )
