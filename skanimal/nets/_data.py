"""The networks' train/eval transforms and a subject-wise validation split.

The networks of :mod:`skanimal.nets` keep X as a numpy array of image paths
or images (so that scikit-learn's cross-validation can index it) and read the
pixels lazily, one image at a time, through :class:`ImageDataset`, the dataset
:class:`~skanimal.features.DeepFeatures` reads images with too.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers
import warnings

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, StratifiedGroupKFold
from sklearn.utils.multiclass import type_of_target
from torch.utils.data import Subset

from ..utils._docs import cite_papers
from ..utils._torch import ImageDataset

__all__ = ["GroupValidSplit", "ImageDataset", "make_transforms"]

def _interpolation(name):
    """torchvision's interpolation mode of a timm config name (bilinear by default)."""
    from timm.data.transforms import str_to_interp_mode

    try:
        return str_to_interp_mode(str(name or "bilinear"))
    except KeyError:  # "random" and other training-only modes
        return str_to_interp_mode("bilinear")


def _pair(size, name):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a (height, width) pair, got {size!r}.") from None
    if h < 1 or w < 1:
        raise ValueError(f"{name} must be positive, got {size!r}.")
    return h, w


@cite_papers("liu2025")
def make_transforms(data_config=None, *, train_resize=256, crop=224, hflip=True):
    """The training and evaluation image transforms of a network.

    Training: resize to ``train_resize`` (square), random crop of ``crop``,
    random horizontal flip, tensor, normalisation. Evaluation: a deterministic
    resize to ``crop``, tensor, normalisation. This is the PainSeeker paper's
    augmentation (256 -> random 224 crop -> flip) with its defaults.

    Parameters
    ----------
    data_config : dict, default=None
        The timm data configuration of the backbone (as returned by
        :func:`skanimal.features.load_backbone`); its ``mean``, ``std`` and
        ``interpolation`` are used. ``None`` means ImageNet's statistics and
        bilinear resizing.
    train_resize : int or tuple of (int, int), default=256
        Size the training images are resized to before the random crop.
    crop : int or tuple of (int, int), default=224
        The network's input size: random crop size in training, resize size
        in evaluation. Must not exceed ``train_resize``.
    hflip : bool, default=True
        Whether training images are flipped horizontally at random.

    Returns
    -------
    train_transform : callable
        PIL image -> float tensor (3, crop_h, crop_w), random.
    eval_transform : callable
        PIL image -> float tensor (3, crop_h, crop_w), deterministic.

    Examples
    --------
    >>> from PIL import Image
    >>> from skanimal.nets import make_transforms
    >>> train_tf, eval_tf = make_transforms(train_resize=40, crop=32)
    >>> tuple(eval_tf(Image.new("RGB", (50, 60))).shape)
    (3, 32, 32)
    """
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    from torchvision import transforms as T

    config = dict(data_config or {})
    mean = tuple(config.get("mean") or IMAGENET_DEFAULT_MEAN)
    std = tuple(config.get("std") or IMAGENET_DEFAULT_STD)
    interp = _interpolation(config.get("interpolation"))
    crop_hw = _pair(crop, "crop")
    resize_hw = _pair(train_resize, "train_resize")
    if resize_hw[0] < crop_hw[0] or resize_hw[1] < crop_hw[1]:
        raise ValueError(
            f"train_resize={train_resize!r} is smaller than crop={crop!r}: the random "
            "crop must fit in the resized image."
        )
    norm = T.Normalize(mean=mean, std=std)
    train = [T.Resize(resize_hw, interpolation=interp, antialias=True), T.RandomCrop(crop_hw)]
    if hflip:
        train.append(T.RandomHorizontalFlip())
    train += [T.ToTensor(), norm]
    evaluate = [T.Resize(crop_hw, interpolation=interp, antialias=True), T.ToTensor(), norm]
    return T.Compose(train), T.Compose(evaluate)


def _dataset_targets(dataset):
    """The targets of an :class:`ImageDataset` or a (nested) Subset of one, or None."""
    if isinstance(dataset, Subset):
        y = _dataset_targets(dataset.dataset)
        return None if y is None else y[np.asarray(dataset.indices)]
    return getattr(dataset, "y", None)


def _is_classification(y):
    if y is None:
        return False
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[1] > 1:
        return False
    return type_of_target(y.ravel()) in ("binary", "multiclass")


@cite_papers("liu2025")
class GroupValidSplit:
    """An internal validation split that keeps subjects apart.

    A ``train_split`` for skorch nets: the validation part holds whole
    subjects, never images of a subject that is also in the training part, as
    every source paper requires. With ``groups=None`` the split is
    image-wise (skorch's :class:`~skorch.dataset.ValidSplit`) and a
    :class:`UserWarning` says so.

    Parameters
    ----------
    cv : float or int, default=0.2
        A float in (0, 1): the proportion of subjects (stratified: about that
        proportion, as one fold of ``round(1 / cv)``) held out. An int >= 2:
        one fold of a ``cv``-fold group split.
    stratified : bool, default=True
        For classification targets, use
        :class:`~sklearn.model_selection.StratifiedGroupKFold` so that the
        validation subjects carry every class where possible.
    random_state : int or None, default=None
        Seed of the shuffling of subjects.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.nets import GroupValidSplit, ImageDataset
    >>> ds = ImageDataset(np.zeros((8, 4, 4), dtype=np.uint8), y=[0, 1] * 4)
    >>> groups = np.repeat([0, 1, 2, 3], 2)
    >>> train, valid = GroupValidSplit(0.25, random_state=0)(ds, ds.y, groups=groups)
    >>> set(groups[train.indices]) & set(groups[valid.indices])
    set()
    """

    def __init__(self, cv=0.2, *, stratified=True, random_state=None):
        self.cv = cv
        self.stratified = stratified
        self.random_state = random_state

    def __repr__(self):
        return (f"{type(self).__name__}(cv={self.cv!r}, stratified={self.stratified!r}, "
                f"random_state={self.random_state!r})")

    def _check_cv(self):
        cv = self.cv
        if isinstance(cv, bool) or not isinstance(cv, numbers.Real):
            raise TypeError(f"GroupValidSplit: cv must be a float in (0, 1) or an int >= 2, "
                            f"got {cv!r}.")
        if isinstance(cv, numbers.Integral):
            if cv < 2:
                raise ValueError(f"GroupValidSplit: an int cv must be >= 2, got {cv}.")
            return int(cv)
        if not 0.0 < cv < 1.0:
            raise ValueError(f"GroupValidSplit: a float cv must lie in (0, 1), got {cv}.")
        return float(cv)

    def __call__(self, dataset, y=None, groups=None):
        cv = self._check_cv()
        n = len(dataset)
        if y is None:
            y = _dataset_targets(dataset)
        classification = self.stratified and _is_classification(y)
        if groups is None:
            warnings.warn(
                "GroupValidSplit got no groups: the internal validation split is "
                "image-wise, so images of one subject may fall in both parts and the "
                "validation scores are optimistic. Pass groups= to fit.",
                UserWarning, stacklevel=2,
            )
            from skorch.dataset import ValidSplit

            return ValidSplit(cv, stratified=classification,
                              random_state=self.random_state)(dataset, y)
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != n:
            raise ValueError(
                f"groups must be 1-D with one entry per image: got shape {groups.shape} "
                f"for {n} images."
            )
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            raise ValueError(
                f"GroupValidSplit needs at least 2 subjects in groups to hold one out, "
                f"got {n_groups}."
            )
        idx = np.arange(n)
        if isinstance(cv, int):
            n_splits = min(cv, n_groups)
        else:
            n_splits = min(max(2, int(round(1.0 / cv))), n_groups)
        if classification:
            y_arr = np.asarray(y).ravel()
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True,
                                            random_state=self.random_state)
            with warnings.catch_warnings():
                # "The least populated class has only k members": expected with few subjects
                warnings.simplefilter("ignore", UserWarning)
                train_idx, valid_idx = next(splitter.split(idx, y_arr, groups))
        elif isinstance(cv, int):
            train_idx, valid_idx = next(GroupKFold(n_splits=n_splits).split(idx, groups=groups))
        else:
            splitter = GroupShuffleSplit(n_splits=1, test_size=cv,
                                         random_state=self.random_state)
            train_idx, valid_idx = next(splitter.split(idx, groups=groups))
        return Subset(dataset, train_idx.tolist()), Subset(dataset, valid_idx.tolist())
