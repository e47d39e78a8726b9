"""EigenCAM: the first principal component of a network's last activations.

The dog emotion paper (Boneh-Shitrit et al.) explains its classifiers with
EigenCAM (Muhammad and Yeasin, 2020): the activations of the last layer, one
``C``-vector per position of its grid, are centred and projected on their
first principal component; the projection, shown over the image, is the
explanation. It does not look at the classifier's output, so it is the same
for every class and explains wrong predictions as well as right ones.

The computation is ``pytorch_grad_cam.EigenCAM`` (package ``grad-cam``); this
module finds the last activations of skanimal's estimators, reshapes a
ViT's patch tokens to their grid, fixes the sign of the component and maps
the result back through the estimator's preprocessing onto the input image.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import EigenCAM
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..exceptions import DataError
from ..utils._docs import cite_papers
from ..utils._images import check_images, open_image
from ..utils._torch import precision_context, timm_eval_transform

__all__ = ["eigencam"]

_SUPPORTED = ("DeepFeatures, FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier, "
              "or a Pipeline whose first step is one of them")


# --------------------------------------------------------------------------
# grad-cam's EigenCAM, with a fixed sign, at the activation grid
# --------------------------------------------------------------------------


def _fix_sign(projections):
    """Flip each projection whose value of largest magnitude is negative.

    The first principal component is defined up to its sign (SVD gives
    ``u s v`` or ``(-u) s (-v)``), and grad-cam keeps only the positive part
    of the projection: with the wrong sign a map shows the background. Over
    centred activations the mean of the projection is 0, so the rule is on the
    extreme: the sign is chosen so that the value of largest magnitude is
    positive (the peak of the map is the most distinct region), the rule of
    Seg-Eigen-CAM's sign correction (Chung and Ying, 2025, eq. 13). Exact ties
    (``|min| == |max|``, such as an all-zero projection) keep SVD's sign.
    """
    projections = np.asarray(projections, dtype=np.float32).copy()
    for p in projections:
        if np.abs(p.min()) > np.abs(p.max()):
            p *= -1.0
    return projections


class _SignedEigenCAM(EigenCAM):
    """grad-cam's EigenCAM with the sign of the component fixed, at the grid size.

    Two hooks are overridden, nothing else. ``get_cam_image``: grad-cam's own
    SVD projection (``get_2d_projection``) followed by :func:`_fix_sign` --
    grad-cam's ``EigenCAM`` leaves the sign to the SVD, and its own sign rule
    (``get_2d_projection_with_sign_correction``) is not in every release that
    skanimal allows (``grad-cam>=1.5``). ``get_target_width_height``: the map is
    kept at the activation grid instead of being resized to the network input,
    so that skanimal maps it onto the original image in one interpolation,
    through the inverse of the preprocessing (:func:`_align`).
    """

    def get_cam_image(self, input_tensor, target_layer, targets, activations, grads,
                      eigen_smooth):
        return _fix_sign(get_2d_projection(activations))

    def get_target_width_height(self, input_tensor):
        height, width = self.activations_and_grads.activations[0].shape[-2:]
        return int(width), int(height)


class _LastActivations(nn.Module):
    """The feature map of a model, through an identity layer for grad-cam to hook."""

    def __init__(self, model, *, trunk=False):
        super().__init__()
        self.model = model
        self.trunk = trunk  # model(x) is the feature map itself (PainSeeker's trunk)
        self.activations = nn.Identity()

    def forward(self, x):
        feats = self.model(x) if self.trunk else self.model.forward_features(x)
        return self.activations(feats)


def _vit_token_grid(model, input_size):
    """The patch grid ``(rows, columns)`` of a timm ViT at an input size."""
    patch_embed = getattr(model, "patch_embed", None)
    if patch_embed is None:
        return None
    if hasattr(patch_embed, "dynamic_feat_size"):
        return tuple(int(v) for v in patch_embed.dynamic_feat_size(tuple(input_size)))
    grid = getattr(patch_embed, "grid_size", None)
    return None if grid is None else tuple(int(v) for v in grid)


def _reshape_transform(model, input_size):
    """grad-cam's ``reshape_transform``: activations -> float (B, C, rows, columns).

    Tokens (B, N, D) of a ViT: the ``num_prefix_tokens`` class and register
    tokens are dropped and the patch tokens laid out on their grid. A
    channels-last map (timm ``output_fmt="NHWC"``, Swin) is permuted.
    """
    n_prefix = int(getattr(model, "num_prefix_tokens", 0) or 0)
    grid = _vit_token_grid(model, input_size)
    nhwc = str(getattr(model, "output_fmt", "NCHW")) == "NHWC"

    def transform(feats):
        if feats.ndim == 3:
            patches = feats[:, n_prefix:, :]
            if grid is None or patches.shape[1] != grid[0] * grid[1]:
                raise ValueError(
                    f"cannot lay out {patches.shape[1]} patch tokens ({feats.shape[1]} tokens, "
                    f"{n_prefix} prefix tokens) on a grid (patch grid {grid}) for EigenCAM."
                )
            feats = patches.reshape(len(feats), grid[0], grid[1], -1).permute(0, 3, 1, 2)
        elif feats.ndim == 4:
            if nhwc:
                feats = feats.permute(0, 3, 1, 2)
        else:
            raise ValueError(
                f"EigenCAM needs a feature map (B, C, H, W) or tokens (B, N, D); the model's "
                f"features have shape {tuple(feats.shape)}."
            )
        return feats.float()

    return transform


# --------------------------------------------------------------------------
# The estimators: their model, transform and device
# --------------------------------------------------------------------------


@dataclass
class _Explained:
    model: nn.Module  # a timm model (forward_features), or a trunk (trunk=True)
    trunk: bool
    timm_model: nn.Module  # where num_prefix_tokens / patch_embed are read
    transform: object  # RGB PIL image -> normalised tensor (3, H, W)


def _explained(estimator):
    """The model, feature-map rule and evaluation transform of a fitted estimator."""
    from sklearn.pipeline import Pipeline

    from ..features import DeepFeatures
    from ..nets import FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier

    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[0][1]
    if not isinstance(estimator, (DeepFeatures, FineTunedClassifier, FineTunedRegressor,
                                  PainSeekerClassifier)):
        raise TypeError(
            f"eigencam explains a {_SUPPORTED}; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if isinstance(estimator, DeepFeatures):
        model = estimator._get_model()  # built (with its weights) once, kept by the estimator
        return _Explained(model, False, model, timm_eval_transform(estimator.data_config_))
    if not hasattr(estimator, "eval_transform_"):
        estimator._make_transforms()
    module = estimator.module_
    if isinstance(estimator, PainSeekerClassifier):
        trunk = module.trunk
        return _Explained(trunk, True, getattr(trunk, "model", trunk), estimator.eval_transform_)
    return _Explained(module.backbone, False, module.backbone, estimator.eval_transform_)


# --------------------------------------------------------------------------
# Geometry: where the network input lies in the original image
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    """``u = scale * x + offset`` maps original to network-input coordinates.

    Coordinates are continuous, per axis ``(rows, columns)``, with pixel ``i``
    covering ``[i, i + 1)``. The network input is ``[0, size)``.
    """

    size: tuple
    scale: tuple
    offset: tuple


def _pair(size):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    return (size[0], size[0]) if len(size) == 1 else size


def _resized(height, width, size, max_size=None):
    """The output size of ``torchvision.transforms.Resize(size, max_size)``."""
    if isinstance(size, numbers.Integral) or len(size) == 1:
        short_req = int(size) if isinstance(size, numbers.Integral) else int(size[0])
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = short_req, int(short_req * long / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)
    return int(size[0]), int(size[1])


def _center_crop(height, width, crop):
    """Offsets ``(rows, columns)`` of torchvision's / timm's centre crop (or pad)."""
    ch, cw = crop
    pad_top = (ch - height) // 2 if ch > height else 0
    pad_left = (cw - width) // 2 if cw > width else 0
    padded_h = height + (pad_top + (ch - height + 1) // 2 if ch > height else 0)
    padded_w = width + (pad_left + (cw - width + 1) // 2 if cw > width else 0)
    top = int(round((padded_h - ch) / 2.0))
    left = int(round((padded_w - cw) / 2.0))
    return pad_top - top, pad_left - left


def _geometry(transform, height, width):
    """Follow an evaluation transform's resizes and crops from an image size.

    Understands torchvision's ``Resize`` and ``CenterCrop``, timm's
    ``ResizeKeepRatio`` and ``CenterCropOrPad`` (the timm evaluation
    transforms: centre crop, ``"border"`` padding, ``"squash"``) and the
    tensor conversion and normalisation steps, which move no pixel.
    """
    from PIL import Image
    from timm.data import transforms as timm_tf
    from torchvision import transforms as T

    steps = getattr(transform, "transforms", [transform])
    h, w = float(height), float(width)
    sy = sx = 1.0
    oy = ox = 0.0
    passthrough = tuple(t for t in (
        T.ToTensor, T.Normalize, T.ConvertImageDtype, T.PILToTensor,
        getattr(timm_tf, "MaybeToTensor", None), getattr(timm_tf, "MaybePILToTensor", None),
        getattr(timm_tf, "ToNumpy", None), getattr(timm_tf, "ToTensor", None)) if t is not None)
    for step in steps:
        if isinstance(step, passthrough):
            continue
        if isinstance(step, T.Resize):
            new_h, new_w = _resized(int(h), int(w), step.size, step.max_size)
        elif isinstance(step, timm_tf.ResizeKeepRatio):
            if step.random_scale_prob > 0 or step.random_aspect_prob > 0:
                raise ValueError("cannot align EigenCAM maps through a random resize.")
            stub = Image.new("L", (int(w), int(h)))
            new_h, new_w = step.get_params(stub, step.size, step.longest)
        elif isinstance(step, (T.CenterCrop, timm_tf.CenterCropOrPad)):
            crop = _pair(step.size)
            dy, dx = _center_crop(int(h), int(w), crop)
            oy, ox = oy + dy, ox + dx
            h, w = float(crop[0]), float(crop[1])
            continue
        else:
            raise ValueError(
                f"cannot align EigenCAM maps through the preprocessing step {step!r}; "
                "use resize=False for the maps at the activation grid."
            )
        fy, fx = new_h / h, new_w / w
        sy, sx, oy, ox = sy * fy, sx * fx, oy * fy, ox * fx
        h, w = float(new_h), float(new_w)
    return _Geometry(size=(int(h), int(w)), scale=(sy, sx), offset=(oy, ox))


def _align(grid_maps, geometry, height, width):
    """Grid maps (B, rows, cols) -> maps at the image size, 0 outside the input region.

    Each original pixel centre is mapped into the network input
    (:class:`_Geometry`), where the grid covers the input uniformly, and the
    grid map is sampled there bilinearly (clamped at the input's border).
    Pixels that the network never saw (cut off by a centre crop) are 0.
    """
    (in_h, in_w), (sy, sx), (oy, ox) = geometry.size, geometry.scale, geometry.offset
    uy = sy * (np.arange(height) + 0.5) + oy
    ux = sx * (np.arange(width) + 0.5) + ox
    inside = ((uy >= 0) & (uy < in_h))[:, None] & ((ux >= 0) & (ux < in_w))[None, :]
    gy = np.broadcast_to((2.0 * uy / in_h - 1.0)[:, None], (height, width))
    gx = np.broadcast_to((2.0 * ux / in_w - 1.0)[None, :], (height, width))
    grid = torch.from_numpy(np.stack([gx, gy], axis=-1).astype(np.float32))
    maps = torch.from_numpy(np.ascontiguousarray(grid_maps, dtype=np.float32))[:, None]
    out = nn.functional.grid_sample(maps, grid.expand(len(maps), -1, -1, -1), mode="bilinear",
                                    padding_mode="border", align_corners=False)
    out = out[:, 0].numpy()
    out[:, ~inside] = 0.0
    return _normalise(out, inside)


def _normalise(maps, inside=None):
    """Scale each map to [0, 1] over ``inside`` (a constant map becomes 0)."""
    maps = np.asarray(maps, dtype=np.float32)
    out = np.zeros_like(maps)
    if inside is None:
        inside = np.ones(maps.shape[1:], dtype=bool)
    if not inside.any():
        return out
    for k, m in enumerate(maps):
        vals = m[inside]
        lo, hi = float(vals.min()), float(vals.max())
        if hi > lo:
            out[k][inside] = np.clip((vals - lo) / (hi - lo), 0.0, 1.0)
    return out


# --------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------


def _batches(X, transform, batch_size):
    """Yield ``(start, tensor)`` batches of transformed images; X of one size."""
    first = None
    for start in range(0, len(X), batch_size):
        tensors = []
        for i in range(start, min(start + batch_size, len(X))):
            img = open_image(X[i], index=i)
            img = img if img.mode == "RGB" else img.convert("RGB")
            size = (img.height, img.width)
            if first is None:
                first = size
            elif size != first:
                raise DataError(
                    f"eigencam returns one array of shape (n_samples, height, width), so "
                    f"all images of X must have one size: X[0] is {first[0]}x{first[1]} "
                    f"but X[{i}] is {size[0]}x{size[1]} (height x width). Explain images "
                    f"of different sizes in separate calls."
                )
            tensors.append(transform(img))
        yield first, torch.stack(tensors)


@cite_papers("boneh-shitrit")
def eigencam(estimator, X, *, resize=True, batch_size=16):
    """EigenCAM maps of images under a fitted estimator's network.

    EigenCAM (Muhammad and Yeasin, 2020), the explanation of the dog emotion
    paper [1]_: the last activations of the network, one ``C``-vector per
    position of their grid, are centred and projected on their first
    principal component (an SVD, computed by
    ``pytorch_grad_cam.EigenCAM``); the positive part of the projection, scaled
    to [0, 1], is the map. It is computed from the features alone, not from
    a class score, so it is **class-independent**: the same map whatever
    class was predicted, which is why it also explains wrong predictions.

    The last activations are the backbone's ``forward_features`` output: the
    final feature map of a CNN (``7 x 7`` for a ResNet at 224 pixels; the
    trunk's map for PainSeeker), the tokens after the final norm of a ViT,
    whose class and register tokens (``num_prefix_tokens``) are dropped and
    whose patch tokens are laid out on the model's patch grid (``28 x 28`` for
    ViT-S/8 at 224 pixels, ``14 x 14`` for ViT-S/16).

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~skanimal.features.DeepFeatures`,
        :class:`~skanimal.nets.FineTunedClassifier`,
        :class:`~skanimal.nets.FineTunedRegressor` or
        :class:`~skanimal.nets.PainSeekerClassifier`, with a CNN or ViT
        backbone; or a :class:`~sklearn.pipeline.Pipeline` whose first step is
        one of them (such as ``make_pipeline(DeepFeatures(...), LogisticRegression())``).
        ``DeepFeatures``' ``pooling`` and ``layer`` do not change the map.
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image file paths, or images (uint8 0-255 or float 0-1), all of **one
        size** (the maps are returned as one array).
    resize : bool, default=True
        ``True``: maps at the size of the images of X, aligned with them
        through the estimator's evaluation preprocessing. ``False``: maps at
        the activation grid, before any resizing (``(28, 28)`` for ViT-S/8 at
        224 pixels).
    batch_size : int, default=16
        Images per forward pass.

    Returns
    -------
    maps : ndarray of float32 of shape (n_samples, height, width)
        One map per image, in [0, 1] (each scaled by its own minimum and
        maximum; a constant map is all 0). With ``resize=False`` the shape is
        ``(n_samples, rows, columns)`` of the activation grid.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator is not one of those above.
    skanimal.exceptions.DataError
        If the images of X do not all have one size (the message names the
        first ``X[i]`` that differs from ``X[0]``).

    See Also
    --------
    overlay : Show a map over its image.
    plot_explanations : Maps of right and wrong predictions, per class.
    skanimal.nets.PainSeekerClassifier.attention_maps : PainSeeker's own maps.

    Notes
    -----
    **Sign.** A principal component is defined up to its sign, and with the
    wrong one the map highlights the background. The sign is fixed so that
    the projection's value of largest magnitude is positive (the most
    distinct position is the peak); the mean cannot decide, as the projection
    of centred activations has mean 0. The maps are deterministic: the same
    images and ``batch_size`` give the same maps.

    **Alignment.** The network sees each image through the estimator's
    evaluation transform: for ``DeepFeatures`` timm's (resize of the shorter
    side, then a centre crop of ``crop_pct``; or, with ``pad_to_square``, a
    resize of the longer side and padding), for the networks a resize to
    ``image_size``. The activation grid covers the network input uniformly;
    each pixel of the original image is mapped through the resize and crop
    into the grid and the map sampled there bilinearly. Pixels that a centre
    crop cut off, which the network never saw, are 0.

    The forward pass runs in float32 (with TF32 disabled on CUDA), without
    gradients, on the device where the estimator's network is.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skanimal.explain import eigencam
    >>> from skanimal.features import DeepFeatures
    >>> X = np.random.default_rng(0).integers(0, 255, (2, 40, 56, 3), dtype=np.uint8)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)  # random weights
    ...     features = DeepFeatures("test_vit", weights=None, cache=False, verbose=0).fit(X)
    ...     maps = eigencam(features, X)
    ...     grid = eigencam(features, X, resize=False)
    >>> maps.shape, grid.shape
    ((2, 40, 56), (2, 10, 10))
    >>> bool(maps.min() >= 0 and maps.max() == 1)
    True
    """
    if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    explained = _explained(estimator)
    X = check_images(X)
    model = explained.model
    device = next(model.parameters()).device
    modes = [(m, m.training) for m in model.modules()]
    outputs, geometry, image_size = [], None, None
    try:
        for image_size, batch in _batches(X, explained.transform, int(batch_size)):
            if geometry is None:
                geometry = _geometry(explained.transform, *image_size)
                if geometry.size != tuple(batch.shape[-2:]):  # a transform we misread
                    raise RuntimeError(
                        f"the preprocessing gives {tuple(batch.shape[-2:])} inputs, but its "
                        f"geometry was read as {geometry.size}."
                    )
            outputs.append(_grid_maps(explained, batch.to(device)))
    finally:
        for m, training in modes:
            m.train(training)
    grid_maps = np.concatenate(outputs, axis=0)
    if not resize:
        return _normalise(grid_maps)
    return _align(grid_maps, geometry, *image_size)


def _grid_maps(explained, batch):
    """EigenCAM maps of one preprocessed batch, at the activation grid."""
    wrapper = _LastActivations(explained.model, trunk=explained.trunk)
    cam = _SignedEigenCAM(wrapper, [wrapper.activations],
                          reshape_transform=_reshape_transform(explained.timm_model,
                                                               batch.shape[-2:]))
    try:
        with torch.no_grad(), precision_context("fp32", batch.device):
            # targets=[]: EigenCAM uses no class score (grad-cam would otherwise
            # take the argmax of the features as one)
            return cam(batch, targets=[])
    finally:
        cam.activations_and_grads.release()
