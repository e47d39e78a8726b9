"""The torch layer shared by the frozen features and the networks.

One rule for each of: which device ``device="auto"`` means
(:func:`resolve_device`), which arithmetic ``precision="auto"`` means and how
it is applied (:func:`resolve_precision`, :func:`precision_context`), how
images become tensors (:class:`ImageDataset`, :func:`timm_eval_transform`),
and how torch's generators are seeded without touching the caller's
(:func:`torch_seed`). :class:`~skanimal.features.DeepFeatures` and the
networks of :mod:`skanimal.nets` both use them, so that they agree.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import copy
from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from ._images import check_images, open_image

__all__ = [
    "PRECISION_DTYPES",
    "ImageDataset",
    "precision_context",
    "resolve_device",
    "resolve_precision",
    "timm_eval_transform",
    "torch_seed",
]

#: Autocast dtype of each precision (None: plain float32).
PRECISION_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


# --------------------------------------------------------------------------
# Devices and precision
# --------------------------------------------------------------------------


def _mps_available():
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def resolve_device(device="auto"):
    """The :class:`torch.device` a ``device`` parameter means, checked.

    ``"auto"`` is CUDA when available, then Apple MPS, then the CPU. Any other
    value must name a torch device that exists here.

    Parameters
    ----------
    device : "auto", str, torch.device or None, default="auto"
        The parameter. ``None`` stays ``None`` (skorch then leaves tensors
        where they are).

    Returns
    -------
    device : torch.device or None
        The device.

    Raises
    ------
    ValueError
        If ``device`` is not a torch device, or names CUDA or MPS on a machine
        without them; the message says which values work.

    Examples
    --------
    >>> from skanimal.utils._torch import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in {"cuda", "mps", "cpu"}
    True
    """
    if device is None:
        return None
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', "
            "'cuda:1' or 'mps'."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but CUDA is not available here; use device='auto' or 'cpu'."
        )
    if dev.type == "mps" and not _mps_available():
        raise ValueError(
            f"device={device!r}, but MPS is not available here; use device='auto' or 'cpu'."
        )
    return dev


def resolve_precision(precision, device):
    """The arithmetic a ``precision`` parameter means on a device.

    ``"auto"`` is bfloat16 autocast on CUDA devices that support it, and
    float32 everywhere else: on CPUs (without native bfloat16 they are several
    times slower in it), on MPS, and on CUDA devices without bfloat16.
    float16 is never chosen automatically: training in it needs loss scaling,
    bfloat16 (float32's exponent range) does not.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16", "fp16"}
        The parameter; anything but ``"auto"`` is returned as it is.
    device : torch.device
        Where the network runs, from :func:`resolve_device`.

    Returns
    -------
    precision : {"fp32", "bf16", "fp16"}
        The resolved precision.

    Examples
    --------
    >>> import torch
    >>> from skanimal.utils._torch import resolve_precision
    >>> resolve_precision("auto", torch.device("cpu"))
    'fp32'
    """
    if precision != "auto":
        return precision
    if device is not None and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


@contextmanager
def _ieee_fp32_on_cuda():
    """Disable TF32 on CUDA, so that ``precision="fp32"`` really is float32."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    matmul = torch.backends.cuda.matmul
    if conv is not None and hasattr(conv, "fp32_precision"):
        old = conv.fp32_precision, matmul.fp32_precision
        conv.fp32_precision, matmul.fp32_precision = "ieee", "ieee"
        try:
            yield
        finally:
            conv.fp32_precision, matmul.fp32_precision = old
    else:  # older torch
        old = torch.backends.cudnn.allow_tf32, matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, matmul.allow_tf32 = old


def precision_context(precision, device):
    """A context in which a forward pass runs in ``precision`` on ``device``.

    ``"bf16"`` / ``"fp16"``: :func:`torch.autocast` to that dtype.
    ``"fp32"``: plain float32; on CUDA with TF32 disabled, so that float32
    is IEEE float32.

    Parameters
    ----------
    precision : {"fp32", "bf16", "fp16"}
        A resolved precision (:func:`resolve_precision`).
    device : torch.device
        Where the forward pass runs.

    Returns
    -------
    context : contextlib.AbstractContextManager
        The context to run the forward pass in.
    """
    dtype = PRECISION_DTYPES[precision]
    if dtype is not None:
        return torch.autocast(device_type=device.type, dtype=dtype)
    if device.type == "cuda":
        return _ieee_fp32_on_cuda()
    return nullcontext()


@contextmanager
def torch_seed(seed, *, cuda=False):
    """Seed torch inside the block; the caller's generator states are restored after.

    Parameters
    ----------
    seed : int or None
        The seed; ``None`` leaves the generators alone.
    cuda : bool, default=False
        Fork and seed the CUDA generators too (where CUDA is available), not
        only the CPU's.

    Yields
    ------
    None
        Within the block torch's generators start from ``seed``.
    """
    if seed is None:
        yield
        return
    devices = []
    if cuda and torch.cuda.is_available():
        devices = list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


class ImageDataset(torch.utils.data.Dataset):
    """A torch dataset of face images read lazily from paths or an array.

    Item ``i`` is ``(transform(image_i), y[i])``: the image is opened with
    :func:`skanimal.utils.open_image` (EXIF orientation, alpha, greyscale and
    16-bit images handled there), converted to RGB, then transformed. Without
    a transform the image becomes a float tensor of shape (3, H, W) in [0, 1].

    Parameters
    ----------
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image file paths, or images (uint8 0-255 or float 0-1), validated by
        :func:`skanimal.utils.check_images`.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets. ``None`` yields a dummy target ``0`` (as skorch's Dataset).
    transform : callable, default=None
        Applied to the RGB :class:`PIL.Image.Image`; must return a tensor.
    draft : tuple of (str, tuple of (int, int)), default=None
        ``(mode, (width, height))``: decode JPEG files at the smallest DCT
        scale at which they are still at least ``width`` x ``height``
        (the ``draft`` of :func:`skanimal.utils.open_image`). ``None`` decodes
        every file at its full size.

    Attributes
    ----------
    X : ndarray
        The validated input.
    y : ndarray or None
        The targets.
    draft : tuple or None
        The JPEG draft request.

    See Also
    --------
    skanimal.nets.make_transforms : The training and evaluation transforms.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.nets import ImageDataset
    >>> ds = ImageDataset(np.zeros((2, 8, 10), dtype=np.uint8), y=[0, 1])
    >>> len(ds), tuple(ds[1][0].shape), int(ds[1][1])
    (2, (3, 8, 10), 1)
    """

    def __init__(self, X, y=None, transform=None, draft=None):
        self.X = check_images(X)
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(self.X):
                raise ValueError(
                    f"X and y have different lengths: {len(self.X)} images, {len(y)} targets."
                )
        self.y = y
        self.transform = transform
        self.draft = draft
        self._positions = None

    @classmethod
    def from_checked(cls, X, y=None, transform=None, draft=None, positions=None):
        """A dataset over images already validated by :func:`check_images`.

        Skips the validation (a pass over every pixel of an image array) that
        the caller has just done.

        Parameters
        ----------
        X : ndarray
            The output of :func:`skanimal.utils.check_images`.
        y : array-like of shape (n_samples,), default=None
            Targets, as for the constructor.
        transform : callable, default=None
            As for the constructor.
        draft : tuple of (str, tuple of (int, int)), default=None
            As for the constructor.
        positions : sequence of int, default=None
            The position in the caller's X of each image, quoted in error
            messages (a dataset over a subset of X); ``None``: their
            positions here.

        Returns
        -------
        dataset : ImageDataset
            The dataset.
        """
        dataset = cls.__new__(cls)
        dataset.X, dataset.y, dataset.transform = X, None if y is None else np.asarray(y), transform
        dataset.draft = draft
        dataset._positions = None if positions is None else [int(p) for p in positions]
        return dataset

    def __len__(self):
        return len(self.X)

    def load(self, i):
        """Open image ``i`` as an RGB PIL image (no transform).

        Parameters
        ----------
        i : int
            Position in X.

        Returns
        -------
        image : PIL.Image.Image
            The decoded image in mode RGB.
        """
        positions = getattr(self, "_positions", None)  # absent in older pickles
        index = int(i) if positions is None else positions[i]
        img = open_image(self.X[i], index=index, draft=getattr(self, "draft", None))
        return img if img.mode == "RGB" else img.convert("RGB")

    def __getitem__(self, i):
        img = self.load(i)
        if self.transform is None:
            x = torch.from_numpy(np.array(img, dtype=np.float32) / np.float32(255.0))
            x = x.permute(2, 0, 1).contiguous()
        else:
            x = self.transform(img)
        target = 0 if self.y is None else self.y[i]
        return x, target

    def with_transform(self, transform):
        """A shallow copy of the dataset with another transform (X is shared).

        Parameters
        ----------
        transform : callable or None
            The transform of the copy.

        Returns
        -------
        dataset : ImageDataset
            The copy.
        """
        new = copy.copy(self)
        new.transform = transform
        return new


def timm_eval_transform(data_config):
    """The timm evaluation transform of a resolved data configuration.

    Parameters
    ----------
    data_config : dict
        As :func:`timm.data.resolve_model_data_config` returns it (input
        size, interpolation, mean, std, crop_pct, crop_mode).

    Returns
    -------
    transform : callable
        RGB PIL image -> normalised float tensor of shape (3, height, width).
    """
    from timm.data import create_transform

    return create_transform(**data_config, is_training=False)
