"""Random undersampling to a fraction, and oversampling with augmented copies."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import math
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._docs import cite_papers
from ._augmented import AugmentedImage, _augment_array
from ._base import _RowSampler, take_rows

__all__ = ["AUGMENTATIONS", "AugmentingOverSampler", "RandomFractionUnderSampler"]

#: The operations :class:`AugmentingOverSampler` can draw, in the order applied.
AUGMENTATIONS = ("crop", "rotate", "flip", "brightness")


@cite_papers("hosseini")
class RandomFractionUnderSampler(_RowSampler):
    """Keep a random fraction of the images of some classes.

    Undersampling "to a fraction" as the pain-intensity paper does
    (Hosseini et al. [1]_: *keep a random 20 % of level-0 frames*): each targeted class
    keeps ``round(fraction * count)`` of its samples (at least one), drawn
    without replacement; every other class is kept whole. The kept rows stay
    in their original order.

    Works on image paths, image arrays and 2-D feature tables (it only picks
    rows), and in :class:`imblearn.pipeline.Pipeline`, where it resamples the
    training data only.

    Parameters
    ----------
    fractions : float or dict, default=0.2
        A float in (0, 1]: the fraction kept of the majority class (the
        smallest label among equally large classes), or of every class with
        ``classes="all"``. A dict ``{class: fraction}``: the fraction kept of
        each listed class.
    classes : {"majority", "all"}, default="majority"
        The classes a float `fractions` applies to: ``"all"`` keeps the same
        fraction of every class (a stratified subsample, e.g. a short
        training budget). Ignored when `fractions` is a dict.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Attributes
    ----------
    sampling_strategy_ : dict
        The number of samples kept of each targeted class (as in
        :class:`imblearn.under_sampling.RandomUnderSampler`).
    sample_indices_ : ndarray of shape (n_new_samples,)
        The rows of X that were kept, in order. Use it to resample other
        per-sample arrays, e.g. ``groups[sampler.sample_indices_]``;
        :class:`skanimal.pipeline.Pipeline` does so for the fit parameters
        of the steps after the sampler.
    n_features_in_ : int
        Number of features, when X is a 2-D table.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X is a DataFrame with string column names.

    See Also
    --------
    AugmentingOverSampler : Oversample with augmented copies.
    imblearn.under_sampling.RandomUnderSampler : Undersample to given counts.
    make_paper_sampler : The resampling schemes of the papers.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.sampling import RandomFractionUnderSampler
    >>> X = np.array([f"frame{i}.png" for i in range(12)], dtype=object)
    >>> y = np.array([0] * 10 + [1, 2])
    >>> sampler = RandomFractionUnderSampler({0: 0.2}, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y_res), sampler.sampling_strategy_
    (array([2, 1, 1]), {0: 2})
    """

    _sampling_type = "under-sampling"

    _parameter_constraints: dict = {
        "fractions": [Interval(Real, 0, 1, closed="right"), Mapping],
        "classes": [StrOptions({"majority", "all"})],
        "random_state": ["random_state"],
    }

    def __init__(self, fractions=0.2, *, classes="majority", random_state=None):
        self.fractions = fractions
        self.classes = classes
        self.random_state = random_state

    def _sampling_strategy(self, y):
        classes, counts = np.unique(y, return_counts=True)
        if isinstance(self.fractions, Mapping):
            fractions = dict(self.fractions)
        elif self.classes == "all":
            fractions = dict.fromkeys(classes.tolist(), self.fractions)
        else:
            fractions = {classes[np.argmax(counts)]: self.fractions}
        count = dict(zip(classes.tolist(), counts.tolist()))
        strategy = {}
        for cls, fraction in fractions.items():
            if cls not in count:
                raise ValueError(
                    f"fractions names class {cls!r}, which is not in y (classes: "
                    f"{classes.tolist()}).")
            if (isinstance(fraction, bool) or not isinstance(fraction, Real)
                    or not 0 < fraction <= 1):
                raise ValueError(
                    f"fractions[{cls!r}] must be a fraction in (0, 1], got {fraction!r}.")
            strategy[cls] = max(1, math.floor(fraction * count[cls] + 0.5))
        return dict(sorted(strategy.items()))

    def _fit_resample(self, X, y, kind):
        rng = check_random_state(self.random_state)
        keep = np.ones(len(y), dtype=bool)
        for cls, n_keep in self.sampling_strategy_.items():
            members = np.flatnonzero(y == cls)
            keep[members] = False
            keep[rng.choice(members, size=n_keep, replace=False)] = True
        self.sample_indices_ = np.flatnonzero(keep)
        return take_rows(X, kind, self.sample_indices_), y[self.sample_indices_]


@cite_papers("tuttle2018", "hosseini")
class AugmentingOverSampler(_RowSampler, BaseOverSampler):
    """Oversample minority classes with augmented copies of their images.

    The papers balance their training sets by *duplicating minority images as
    augmented copies*: random crops of up to 10 % per side, horizontal flips
    or brightness scaled by a factor drawn from N(1, 0.2) (aMGS, Tuttle et
    al. [1]_), flipped and rotated copies (pain levels, Hosseini et al. [2]_).
    Each new copy comes from a minority image chosen in turn (the images of a
    class are cycled in random order, so their numbers of copies differ by at
    most one), and gets ``n_ops`` operations drawn at random among
    ``augmentations``:

    - ``"crop"``: each side cut by a fraction drawn uniformly from
      [0, ``max_crop``], then resized back to the original size (the paper's
      "±10 % per side" read as a cut: the face crop has no pixels outside);
    - ``"rotate"``: an angle drawn uniformly from [-``max_angle``,
      ``max_angle``] degrees (the papers give no angle; **ours**: 15);
    - ``"flip"``: a horizontal flip;
    - ``"brightness"``: a factor drawn from N(1, ``brightness_std``),
      truncated to three standard deviations and to at least 0.05.

    What the copies are depends on X:

    - **image paths**: each copy is an :class:`AugmentedImage` (the source
      path + the operations), decoded lazily by every skanimal reader (LBP,
      deep features with their cache, the networks), so nothing is written;
    - **image arrays**: the copies are computed now, into a new array of the
      dtype of X (float images at 8-bit precision);
    - **2-D feature tables** (embeddings): pixels are gone, so the copies are
      plain duplicates of rows and a :class:`UserWarning` says so (pass
      ``augmentations=()`` for plain random oversampling without warning).
      Resample the images before the feature step to augment them.

    Originals come first, unchanged and in order, then the copies.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many samples each class should have after resampling, as in
        :class:`imblearn.over_sampling.RandomOverSampler`: ``"auto"`` brings
        every class but the majority up to the majority's count; a dict
        gives the target count per class; a float (binary only) the
        minority/majority ratio; a callable ``y -> dict``.
    augmentations : tuple of str, default=("crop", "rotate", "flip", "brightness")
        The operations drawn from (see above). Empty or ``None``: plain
        duplicates.
    n_ops : int, default=1
        Number of different operations applied to each copy (at most
        ``len(augmentations)``). The aMGS paper applies one ("crops, flips,
        or brightness").
    max_angle : float, default=15.0
        Largest rotation, in degrees.
    max_crop : float, default=0.1
        Largest fraction cut from one side, in [0, 0.5).
    brightness_std : float, default=0.2
        Standard deviation of the brightness factor.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws. The draws do not depend on the kind of X, so the
        same seed gives the same copies of a folder of lossless images and of
        the array they were written from.

    Attributes
    ----------
    sampling_strategy_ : dict
        The number of copies made for each class.
    sample_indices_ : ndarray of shape (n_new_samples,)
        The row of X behind each output row (the source of each copy), so
        that a copy keeps its source's subject: ``groups[sample_indices_]``
        (:class:`skanimal.pipeline.Pipeline` resamples ``groups`` this way).
    augmentations_ : dict of ndarray of shape (n_copies,)
        The operations of each copy, as columns of plain arrays (so that a
        fitted sampler can be stored with :mod:`skops.io`):
        ``sample_index`` (int, the source row), ``flip`` (bool), ``angle``,
        ``crop_left``, ``crop_top``, ``crop_right``, ``crop_bottom`` and
        ``brightness`` (float); neutral values for the duplicates of a
        feature table. ``pandas.DataFrame(sampler.augmentations_)`` shows
        them as a table.
    n_features_in_ : int
        Number of features, when X is a 2-D table.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X is a DataFrame with string column names.

    See Also
    --------
    AugmentedImage : One lazily augmented copy of an image file.
    RandomFractionUnderSampler : Keep a random fraction of a class.
    make_paper_sampler : The resampling schemes of the papers.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.sampling import AugmentingOverSampler
    >>> X = np.array(["a.png", "b.png", "c.png", "d.png"], dtype=object)
    >>> y = np.array([0, 0, 0, 1])
    >>> sampler = AugmentingOverSampler(augmentations=("flip",), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res[4:]
    array([AugmentedImage('d.png', flip=True), AugmentedImage('d.png', flip=True)],
          dtype=object)
    >>> y_res, sampler.sample_indices_
    (array([0, 0, 0, 1, 1, 1]), array([0, 1, 2, 3, 3, 3]))
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "augmentations": [tuple, list, None],
        "n_ops": [Interval(Integral, 1, None, closed="left")],
        "max_angle": [Interval(Real, 0, 180, closed="both")],
        "max_crop": [Interval(Real, 0, 0.5, closed="left")],
        "brightness_std": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, sampling_strategy="auto", *, augmentations=AUGMENTATIONS, n_ops=1,
                 max_angle=15.0, max_crop=0.1, brightness_std=0.2, random_state=None):
        self.sampling_strategy = sampling_strategy
        self.augmentations = augmentations
        self.n_ops = n_ops
        self.max_angle = max_angle
        self.max_crop = max_crop
        self.brightness_std = brightness_std
        self.random_state = random_state

    def _sampling_strategy(self, y):
        return check_sampling_strategy(self.sampling_strategy, y, "over-sampling")

    def _check_augmentations(self):
        ops = tuple(self.augmentations or ())
        unknown = [op for op in ops if op not in AUGMENTATIONS]
        if unknown or len(set(ops)) != len(ops):
            raise ValueError(
                f"augmentations must be distinct names among {AUGMENTATIONS}, got "
                f"{self.augmentations!r}.")
        if ops and self.n_ops > len(ops):
            raise ValueError(
                f"n_ops={self.n_ops} exceeds the {len(ops)} augmentations {ops}.")
        return ops

    def _draw(self, rng, ops):
        """The operations of one copy, as AugmentedImage keyword arguments."""
        params = dict(flip=False, angle=0.0, crop=(0.0, 0.0, 0.0, 0.0), brightness=1.0)
        if not ops:
            return params
        for k in sorted(rng.choice(len(ops), size=self.n_ops, replace=False)):
            op = ops[k]
            if op == "flip":
                params["flip"] = True
            elif op == "rotate":
                params["angle"] = round(float(rng.uniform(-self.max_angle, self.max_angle)), 2)
            elif op == "crop":
                sides = rng.uniform(0.0, self.max_crop, size=4)
                params["crop"] = tuple(min(round(float(c), 4), 0.4999) for c in sides)
            else:  # brightness
                std = self.brightness_std
                factor = np.clip(rng.normal(1.0, std), max(1.0 - 3 * std, 0.05), 1.0 + 3 * std)
                params["brightness"] = round(float(factor), 4)
        return params

    def _fit_resample(self, X, y, kind):
        ops = self._check_augmentations()
        rng = check_random_state(self.random_state)
        sources, params = [], []
        for cls, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            members = np.flatnonzero(y == cls)
            rounds = -(-n_new // len(members))
            order = np.concatenate([rng.permutation(members) for _ in range(rounds)])
            for i in order[:n_new]:
                sources.append(int(i))
                params.append(self._draw(rng, ops))
        sources = np.asarray(sources, dtype=np.intp)
        if kind == "table" and ops and len(sources):
            warnings.warn(
                f"AugmentingOverSampler got a 2-D feature table: augmentations need "
                f"pixels, so its {len(sources)} new samples are plain duplicates of rows. "
                "Resample the images (paths or arrays) before the feature step to "
                "augment them, or pass augmentations=() for plain duplicates.",
                UserWarning, stacklevel=3)
            params = [self._draw(rng, ()) for _ in sources]
        self.sample_indices_ = np.concatenate([np.arange(len(y)), sources])
        crop = np.array([p["crop"] for p in params], dtype=float).reshape(-1, 4)
        self.augmentations_ = {
            "sample_index": sources,
            "flip": np.array([p["flip"] for p in params], dtype=bool),
            "angle": np.array([p["angle"] for p in params], dtype=float),
            **{f"crop_{side}": crop[:, k].copy()
               for k, side in enumerate(("left", "top", "right", "bottom"))},
            "brightness": np.array([p["brightness"] for p in params], dtype=float),
        }
        y_res = y[self.sample_indices_]
        if kind == "table":
            return take_rows(X, kind, self.sample_indices_), y_res
        if kind == "paths":
            copies = np.empty(len(sources), dtype=object)
            copies[:] = [AugmentedImage(X[i], **p) for i, p in zip(sources, params)]
            return np.concatenate([X, copies]), y_res
        copies = np.empty((len(sources),) + X.shape[1:], dtype=X.dtype)
        for j, (i, p) in enumerate(zip(sources, params)):
            copies[j] = _augment_array(X[i], **p)
        return np.concatenate([X, copies]), y_res
