"""PainSeeker: region attention with pain-related score calibration (Liu et al. 2025).

The network of Liu et al. (2025). A convolutional trunk maps an image to a ``C x M x M`` feature
map, read as ``K = M * M`` region features ``x_ij`` (eq. 1). A fully
connected layer ``g`` scores each region and the scores are squashed by a
sigmoid and normalised over the regions (eq. 2)::

    beta_ij = sigmoid(g(x_ij)) / sum_j sigmoid(g(x_ij))

The fused feature ``sum_j beta_ij x_ij`` goes through a fully connected layer
``h`` to the class logits (eq. 3), trained with the cross-entropy (eq. 4) plus
``lambda`` times the PRSC margin loss on the sorted ``beta`` (eq. 5, 6).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers
import os

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from skorch import NeuralNetClassifier
from skorch.utils import to_numpy
from torch import nn

from ..features._backbones import build_meta_model, load_backbone, resolve_backbone
from ..utils._docs import cite_papers
from ._base import ImageNetMixin, mixin_parameter_docs
from ._data import GroupValidSplit

__all__ = ["PainSeekerClassifier", "PainSeekerModule", "prsc_loss"]


# --------------------------------------------------------------------------- eq. 5


@cite_papers("liu2025")
def prsc_loss(beta, margin=0.2, k_high=5, *, reduction="mean"):
    """Pain-related score calibration loss (PainSeeker, eq. 5).

    For each image ``i`` the region scores ``beta_i`` (K of them) are sorted in
    descending order; ``beta^h_i1 ... beta^h_iKh`` are the ``k_high`` highest
    and ``mean_r_i`` is the mean of the other ``K - k_high``. Then::

        L_PRSC_i = (1 / k_high) * sum_{j <= k_high} max(0, margin - (beta^h_ij - mean_r_i))

    The loss pushes the ``k_high`` most attended regions at least ``margin``
    above the average of the rest. Tied scores give the same value whichever
    of them is taken as "high".

    Parameters
    ----------
    beta : torch.Tensor of shape (n_images, K)
        The normalised region scores of eq. 2 (any real values are accepted;
        extra trailing dimensions, such as an ``M x M`` map, are flattened).
    margin : float, default=0.2
        The margin ``delta``, at least 0. The paper's value; with ``K = 49``
        regions whose scores sum to 1 it is large, which is
        what the paper wrote.
    k_high : int, default=5
        ``K_h``, the number of high-score regions, ``1 <= k_high < K``.
    reduction : {"mean", "none"}, default="mean"
        ``"mean"``: the mean over images (a scalar, as in eq. 6);
        ``"none"``: the loss of each image, shape (n_images,).

    Returns
    -------
    loss : torch.Tensor
        A scalar tensor (``reduction="mean"``) or shape (n_images,);
        differentiable with respect to ``beta``.

    Raises
    ------
    ValueError
        If ``beta`` has fewer than 2 dimensions or no image, if ``k_high`` is
        not in ``[1, K - 1]``, or if ``margin`` is negative or not finite.

    See Also
    --------
    PainSeekerModule : Produces ``beta``.

    Examples
    --------
    >>> import torch
    >>> from skanimal.nets import prsc_loss
    >>> beta = torch.tensor([[0.4, 0.3, 0.2, 0.1]])
    >>> # top 2: 0.4, 0.3; rest mean 0.15; hinge: 0.2-0.25 -> 0, 0.2-0.15 = 0.05
    >>> round(prsc_loss(beta, margin=0.2, k_high=2).item(), 6)
    0.025
    """
    if not isinstance(beta, torch.Tensor):
        raise TypeError(f"beta must be a torch.Tensor, got {type(beta).__name__}.")
    if beta.ndim < 2:
        raise ValueError(
            f"beta must have shape (n_images, K) (or (n_images, M, M)), got shape "
            f"{tuple(beta.shape)}."
        )
    if beta.shape[0] == 0:
        raise ValueError("beta holds no image (shape[0] == 0).")
    beta = beta.reshape(beta.shape[0], -1)
    n_regions = beta.shape[1]
    if (
        isinstance(k_high, bool)
        or not isinstance(k_high, numbers.Integral)
        or not 1 <= k_high < n_regions
    ):
        raise ValueError(
            f"k_high must be an int with 1 <= k_high < K, the number of regions; got "
            f"k_high={k_high!r} with K={n_regions}."
        )
    if (
        isinstance(margin, bool)
        or not isinstance(margin, numbers.Real)
        or not (0 <= float(margin) < float("inf"))
    ):
        raise ValueError(f"margin must be a finite real >= 0, got margin={margin!r}.")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}.")
    k_high = int(k_high)
    ranked = torch.sort(beta, dim=1, descending=True).values
    high = ranked[:, :k_high]
    rest_mean = ranked[:, k_high:].mean(dim=1, keepdim=True)
    per_image = torch.clamp(float(margin) - (high - rest_mean), min=0).sum(dim=1) / k_high
    return per_image.mean() if reduction == "mean" else per_image


# --------------------------------------------------------------------------- eq. 1-3


class PainSeekerModule(nn.Module):
    """The PainSeeker network: trunk -> region attention (eq. 2) -> fused feature -> logits.

    Parameters
    ----------
    trunk : torch.nn.Module
        Maps images ``(B, 3, H, W)`` to a spatial feature map ``(B, C, M, N)``
        (the convolutional layers of ResNet-18 give ``(B, 512, 7, 7)`` at 224
        pixels). Its ``K = M * N`` positions are the regions ``x_ij`` (eq. 1).
    n_features : int
        ``C``, the channels of the feature map.
    n_classes : int
        The number of classes of ``h``.

    Attributes
    ----------
    trunk : torch.nn.Module
        The trunk.
    g : torch.nn.Linear
        The region scorer, ``C -> 1`` (eq. 2).
    h : torch.nn.Linear
        The classifier on the fused feature, ``C -> n_classes`` (eq. 3).

    See Also
    --------
    prsc_loss : The calibration loss on ``beta``.
    PainSeekerClassifier : The scikit-learn estimator that trains it.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skanimal.nets import PainSeekerModule
    >>> trunk = nn.Conv2d(3, 8, kernel_size=8, stride=8)  # 32 px -> 4 x 4 regions
    >>> module = PainSeekerModule(trunk, n_features=8, n_classes=2)
    >>> logits, beta = module(torch.randn(5, 3, 32, 32))
    >>> tuple(logits.shape), tuple(beta.shape)
    ((5, 2), (5, 16))
    >>> torch.allclose(beta.sum(dim=1), torch.ones(5))
    True
    """

    def __init__(self, trunk, n_features, n_classes):
        super().__init__()
        self.trunk = trunk
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.g = nn.Linear(self.n_features, 1)
        self.h = nn.Linear(self.n_features, self.n_classes)

    def regions(self, x):
        """Region features (eq. 1) of a batch of images.

        Parameters
        ----------
        x : torch.Tensor of shape (B, 3, H, W)
            Normalised images.

        Returns
        -------
        feats : torch.Tensor of shape (B, K, C)
            The ``K = M * N`` region features.
        size : tuple of (int, int)
            The map size ``(M, N)``.
        """
        fmap = self.trunk(x)
        if fmap.ndim != 4:
            raise ValueError(
                f"The trunk must return a spatial feature map (B, C, M, N); it returned shape "
                f"{tuple(fmap.shape)}. Use a convolutional backbone."
            )
        if fmap.shape[1] != self.n_features:
            raise ValueError(
                f"The trunk returned {fmap.shape[1]} channels, but n_features={self.n_features}."
            )
        size = tuple(fmap.shape[2:])
        return fmap.flatten(2).transpose(1, 2), size

    def attend(self, feats):
        """Attention weights (eq. 2) of region features.

        Parameters
        ----------
        feats : torch.Tensor of shape (B, K, C)
            Region features.

        Returns
        -------
        beta : torch.Tensor of shape (B, K)
            Sigmoid scores normalised to sum to 1 over the regions.
        """
        scores = torch.sigmoid(self.g(feats).squeeze(-1))
        return scores / scores.sum(dim=1, keepdim=True)

    def forward(self, x):
        """Class logits (eq. 3) and the region weights ``beta`` (eq. 2).

        Parameters
        ----------
        x : torch.Tensor of shape (B, 3, H, W)
            A batch of normalised images.

        Returns
        -------
        logits : torch.Tensor of shape (B, n_classes)
            Unnormalised class scores (softmax gives eq. 3's probabilities).
        beta : torch.Tensor of shape (B, K)
            The region weights, summing to 1 over the ``K`` regions of each image.
        """
        feats, _ = self.regions(x)
        beta = self.attend(feats)
        fused = torch.einsum("bk,bkc->bc", beta, feats)
        return self.h(fused), beta

    def attention_map(self, x):
        """The region weights as maps.

        Parameters
        ----------
        x : torch.Tensor of shape (B, 3, H, W)
            Normalised images.

        Returns
        -------
        maps : torch.Tensor of shape (B, M, N)
            Each map sums to 1.
        """
        feats, size = self.regions(x)
        return self.attend(feats).reshape(x.shape[0], *size)


# --------------------------------------------------------------------------- estimator


class _SpatialTrunk(nn.Module):
    """A timm model's ``forward_features``: the spatial map, not the pooled vector."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.forward_features(x)


@cite_papers("liu2025")
class PainSeekerClassifier(ImageNetMixin, NeuralNetClassifier):
    __doc__ = """PainSeeker: region attention with pain-related score calibration (Liu et al. 2025).

    A skorch network [1]_. The convolutional layers of a
    pretrained backbone (ResNet-18 in the paper; any timm model with a spatial
    feature map) give ``K = M x M`` region features; a layer ``g`` scores each
    region, the sigmoid scores are normalised over the regions into the
    attention ``beta`` (eq. 2), and a layer ``h`` classifies the
    ``beta``-weighted sum of the regions (eq. 3). The loss of a batch is the
    mean over its images of the cross-entropy plus ``lambda_prsc`` times the
    PRSC margin loss (eq. 4-6, :func:`prsc_loss`). ``lambda_prsc=0`` is the
    paper's "PainSeeker w/o PRSC" ablation.

    Training batches get the paper's augmentation (resize 256, random 224
    crop, horizontal flip); prediction and validation batches a deterministic
    resize to ``image_size``.

    Parameters
    ----------
    backbone : str, default="resnet18"
        A short name or timm model name (:func:`skanimal.features.resolve_backbone`)
        of a convolutional model: its ``forward_features`` must return a map
        ``(B, C, M, M)`` (ResNet-18: 512 x 7 x 7 at 224 pixels).
    weights : "pretrained", None or path-like, default="pretrained"
        The backbone's weights, under the rules of
        :func:`skanimal.features.load_backbone` (never silently random).
    lambda_prsc : float, default=0.1
        ``lambda`` of eq. 6, the weight of the PRSC loss; 0 switches it off.
    margin : float, default=0.2
        ``delta`` of eq. 5.
    k_high : int, default=5
        ``K_h`` of eq. 5, the number of high-score regions; must be smaller
        than the number of regions ``K`` (49 for a 7 x 7 map), checked in
        ``fit``.
    weight_decay : float, default=0.01
        The optimizer's weight decay (the paper's Adam setting).
    model_kwargs : dict, default=None
        Extra arguments of ``timm.create_model``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Further arguments go as ``optimizer__name=value`` (skorch).
    lr : float, default=1e-4
        The learning rate.
    max_epochs : int, default=10
        Number of epochs (the paper does not give one; add
        ``callbacks=[skorch.callbacks.EarlyStopping()]`` to stop on the
        validation loss).
    batch_size : int, default=64
        Batch size.
    train_split : callable or None, default=GroupValidSplit(0.2)
        The internal validation split; ``fit(X, y, groups=...)`` keeps
        subjects apart (without groups it warns that it is image-wise).
        ``None`` trains on everything.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        The classification loss ``L_CE`` on the logits.
""" + mixin_parameter_docs(
        "image_size", "train_resize", "hflip", "class_weight", "sampler", "random_state",
        "device") + """
    **kwargs : dict
        Any other skorch parameter (``callbacks``, ``verbose``,
        ``iterator_train__num_workers``...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : PainSeekerModule
        The network (``trunk``, ``g``, ``h``).
    map_size_ : tuple of (int, int)
        ``(M, N)``, the size of the region grid at ``image_size``.
    weights_id_ : str
        The backbone weights' fingerprint.
    history_ : skorch.History
        Per-epoch losses and scores.

    See Also
    --------
    prsc_loss : The calibration loss.
    PainSeekerModule : The network.
    FineTunedClassifier : The paper's ResNet-18 baseline.
    skanimal.explain.overlay_attention : Show :meth:`attention_maps` on an image.

    Notes
    -----
    With ``K = 49`` regions whose ``beta`` sum to 1, the paper's margin 0.2 can
    only be met when the ``K_h`` highest regions hold nearly all the mass; the
    equations are implemented as written in the paper [1]_. The defaults
    ``image_size=224`` and ``train_resize=None`` (256) are the paper's.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skanimal.nets import PainSeekerClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 255, size=(8, 64, 64, 3), dtype=np.uint8)
    >>> y = np.array(["no pain", "pain"] * 4)
    >>> net = PainSeekerClassifier("test_resnet", weights=None, image_size=64,
    ...                            train_resize=72, k_high=2, max_epochs=1, batch_size=4,
    ...                            train_split=None, verbose=0, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)  # random weights
    ...     net = net.fit(X, y)
    >>> net.predict(X[:2]).shape, net.map_size_
    ((2,), (2, 2))
    >>> maps = net.attention_maps(X[:3])
    >>> maps.shape, np.allclose(maps.sum(axis=(1, 2)), 1.0)
    ((3, 2, 2), True)
    """

    _parameter_constraints = {
        "backbone": [str],
        "weights": [str, os.PathLike, None],
        "lambda_prsc": [Interval(numbers.Real, 0, None, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "k_high": [Interval(numbers.Integral, 1, None, closed="left")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "model_kwargs": [dict, None],
    }

    def __init__(self, backbone="resnet18", *, weights="pretrained", lambda_prsc=0.1,
                 margin=0.2, k_high=5, weight_decay=0.01, model_kwargs=None,
                 optimizer=torch.optim.Adam, lr=1e-4, max_epochs=10, batch_size=64,
                 train_split=GroupValidSplit(0.2), criterion=nn.CrossEntropyLoss,
                 image_size=224, train_resize=None, hflip=True, class_weight=None,
                 sampler=None, random_state=None, device="auto", **kwargs):
        self.backbone = backbone
        self.weights = weights
        self.lambda_prsc = lambda_prsc
        self.margin = margin
        self.k_high = k_high
        self.weight_decay = weight_decay
        self.model_kwargs = model_kwargs
        kwargs.pop("module", None)
        super().__init__(
            module=None, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, criterion=criterion,
            image_size=image_size, train_resize=train_resize, hflip=hflip,
            class_weight=class_weight, sampler=sampler, random_state=random_state,
            device=device, **kwargs,
        )

    def _validate_own_params(self):
        super()._validate_own_params()
        if "optimizer__weight_decay" in self.get_params(deep=False):
            raise ValueError(
                "Pass the weight decay as weight_decay=..., not optimizer__weight_decay."
            )

    def _map_size(self, spec):
        """``(M, N)`` of the backbone's feature map at ``image_size``, computed on meta."""
        meta = build_meta_model(spec, model_kwargs=self.model_kwargs)
        with torch.no_grad():
            fmap = meta.forward_features(
                torch.empty(1, 3, self.image_size, self.image_size, device="meta"))
        if fmap.ndim != 4:
            raise ValueError(
                f"backbone={self.backbone!r} has no spatial feature map (its forward_features "
                f"gives shape {tuple(fmap.shape)}); PainSeeker needs a convolutional backbone "
                f"whose features are (B, C, M, M), such as 'resnet18'."
            )
        return tuple(int(s) for s in fmap.shape[2:])

    def _build_module(self):
        spec = resolve_backbone(self.backbone)
        if spec.family == "vit":
            raise ValueError(
                f"backbone={self.backbone!r} is a ViT (tokens, not a spatial map); "
                f"PainSeeker needs a convolutional backbone such as 'resnet18'."
            )
        map_size = self._map_size(spec)
        n_regions = map_size[0] * map_size[1]
        if self.k_high >= n_regions:
            raise ValueError(
                f"k_high={self.k_high} must be smaller than the number of regions K = "
                f"{map_size[0]} x {map_size[1]} = {n_regions} that backbone "
                f"{self.backbone!r} gives at image_size={self.image_size}; lower k_high or "
                f"raise image_size."
            )
        model, weights_id, config = load_backbone(spec, self.weights,
                                                  model_kwargs=self.model_kwargs)
        model.requires_grad_(True).train()
        module = PainSeekerModule(_SpatialTrunk(model), model.num_features, self.n_outputs_)
        module.data_config = dict(config)
        self.weights_id_ = weights_id
        self.map_size_ = map_size
        return module

    def get_params_for_optimizer(self, prefix, named_parameters):
        """The optimizer's arguments, with the paper's weight decay by default.

        Parameters
        ----------
        prefix : str
            The optimizer's name (``"optimizer"``).
        named_parameters : iterator of (str, torch.nn.Parameter)
            The module's parameters.

        Returns
        -------
        args : tuple
            The positional arguments of the optimizer.
        kwargs : dict
            Its keyword arguments (``lr``, ``weight_decay``...).
        """
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer":
            kwargs.setdefault("weight_decay", self.weight_decay)
        return args, kwargs

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The loss of eq. 6: cross-entropy + ``lambda_prsc`` * PRSC, means over the batch.

        Parameters
        ----------
        y_pred : tuple of (torch.Tensor, torch.Tensor)
            The module's ``(logits, beta)``.
        y_true : torch.Tensor
            The encoded class labels.
        X : object, default=None
            The input batch (unused).
        training : bool, default=False
            Whether in training.

        Returns
        -------
        loss : torch.Tensor
            A scalar.
        """
        logits, beta = y_pred
        loss = super().get_loss(logits, y_true, X=X, training=training)
        if self.lambda_prsc:
            loss = loss + self.lambda_prsc * prsc_loss(beta.float(), margin=self.margin,
                                                       k_high=self.k_high)
        return loss

    def attention_maps(self, X):
        """The attention ``beta`` of each image as an ``M x M`` map (eq. 2).

        Images get the evaluation transform (resize to ``image_size``).

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.

        Returns
        -------
        maps : ndarray of shape (n_samples, M, N)
            Each map sums to 1; ``(M, N)`` is :attr:`map_size_`. Upsample one
            over its image with :func:`skanimal.explain.overlay_attention`.
        """
        self._check_fitted()
        maps = [to_numpy(out[1]) for out in self.forward_iter(X, training=False)]
        maps = np.concatenate(maps, axis=0)
        return maps.reshape(len(maps), *self.map_size_)

    @classmethod
    def _get_test_params(cls):
        return {"backbone": "test_resnet", "weights": None, "image_size": 64,
                "train_resize": 72, "k_high": 2, "max_epochs": 1, "batch_size": 8,
                "verbose": 0, "device": "cpu"}
