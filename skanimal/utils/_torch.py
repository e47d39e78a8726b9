"""The torch layer shared by the frozen features and the networks.

One rule for each of: which device ``device="auto"`` means
(:func:`resolve_device`), which arithmetic ``precision="auto"`` means and how
it is applied (:func:`resolve_precision`, :func:`precision_context`), how
images become tensors (:class:`ImageDataset`, :func:`timm_eval_transform`;
JPEG files decoded and preprocessed on the network's device instead:
:class:`JpegBytesDataset`, :func:`device_eval_batch`), and how torch's
generators are seeded without touching the caller's (:func:`torch_seed`).
:class:`~skanimal.features.DeepFeatures` and the networks of
:mod:`skanimal.nets` both use them, so that they agree.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import copy
from contextlib import contextmanager, nullcontext
from typing import NamedTuple

import numpy as np
import torch

from ._images import check_images, open_image

__all__ = [
    "DEVICE_INTERPOLATIONS",
    "PRECISION_DTYPES",
    "EncodedJpeg",
    "ImageDataset",
    "JpegBytesDataset",
    "device_eval_batch",
    "encoded_items",
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

    def _position(self, i):
        """The position of image ``i`` in the caller's X, quoted in errors."""
        positions = getattr(self, "_positions", None)  # absent in older pickles
        return int(i) if positions is None else positions[i]

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
        img = open_image(self.X[i], index=self._position(i),
                         draft=getattr(self, "draft", None))
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


# --------------------------------------------------------------------------
# JPEG decoding on the device (DeepFeatures(decode="torchvision"))
# --------------------------------------------------------------------------

#: timm interpolations that the device path resizes with as Pillow does
#: (antialiased bilinear and bicubic, Pillow's kernels).
DEVICE_INTERPOLATIONS = ("bilinear", "bicubic")

_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"


class EncodedJpeg(NamedTuple):
    """The bytes of one JPEG file, to be decoded on the device by :func:`device_eval_batch`."""

    data: torch.Tensor  # 1-D uint8: the file's bytes
    orientation: int  # EXIF orientation (1-8), applied after decoding
    source: str  # the path, quoted in errors and read with Pillow if decoding fails
    index: int  # its position in the caller's X


def _encoded_jpeg(path, index):
    """The :class:`EncodedJpeg` of a plain RGB JPEG file, or None for any other content.

    The first bytes decide (not the file name); Pillow then reads the header
    only (no pixel is decoded): greyscale and CMYK JPEGs, files without an end
    marker (truncated), files over Pillow's decompression-bomb limit and
    anything Pillow cannot open give None, and are read by Pillow like every
    other image, with its errors.
    """
    import os

    from PIL import Image

    from ._images import _check_pixel_count, _readable_formats

    try:
        with open(path, "rb") as fh:
            if fh.read(3) != _JPEG_SOI:
                return None
            fh.seek(0)
            with Image.open(fh, formats=_readable_formats()) as img:  # the header only
                if img.format not in ("JPEG", "MPO") or img.mode != "RGB":
                    return None
                _check_pixel_count(img, path, index)  # too large: Pillow's path says so
                orientation = int(img.getexif().get(0x0112, 1) or 1)
            size = os.fstat(fh.fileno()).st_size
            data = torch.empty(size, dtype=torch.uint8)  # torch's memory: shareable
            fh.seek(0)
            if fh.readinto(data.numpy()) != size:
                return None
    except Exception:  # noqa: BLE001  (Pillow reads it again and names the problem)
        return None
    if _JPEG_EOI not in data[-64:].numpy().tobytes():
        return None
    if orientation not in range(1, 9):
        orientation = 1
    return EncodedJpeg(data, orientation, path, index)


class JpegBytesDataset(torch.utils.data.Dataset):
    """An :class:`ImageDataset` whose JPEG files are read as bytes, not decoded.

    Item ``i`` is ``(payload, target)``: for a plain path whose content is an
    RGB JPEG, ``payload`` is its :class:`EncodedJpeg`; for every other element
    (other formats, greyscale or CMYK JPEGs, image arrays, augmented copies,
    unreadable files) it is ``dataset[i][0]``, the image read by Pillow and
    preprocessed by the dataset's transform. Batches of payloads
    (:func:`encoded_items` as the ``collate_fn``) become network input through
    :func:`device_eval_batch`.

    Parameters
    ----------
    dataset : ImageDataset
        The images, with the evaluation transform of the Pillow path.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        x = self.dataset.X[i]
        target = 0 if self.dataset.y is None else self.dataset.y[i]
        if isinstance(x, str):  # a plain path (an augmented copy is not a str)
            encoded = _encoded_jpeg(x, self.dataset._position(i))
            if encoded is not None:
                return encoded, target
        return self.dataset[i][0], target


def encoded_items(items):
    """The payloads of a list of :class:`JpegBytesDataset` items (a ``collate_fn``).

    Parameters
    ----------
    items : list of tuple
        ``(payload, target)`` items.

    Returns
    -------
    payloads : list
        Their payloads, in order.
    """
    return [item[0] for item in items]


def _exif_orient(img, orientation):
    """Apply an EXIF orientation to a (C, H, W) tensor, as :func:`PIL.ImageOps.exif_transpose`."""
    if orientation == 2:  # mirrored
        return img.flip(2)
    if orientation == 3:  # upside down
        return img.flip(1, 2)
    if orientation == 4:
        return img.flip(1)
    if orientation == 5:  # Pillow's TRANSPOSE
        return img.transpose(1, 2)
    if orientation == 6:  # stored rotated: turn 90 degrees clockwise
        return torch.rot90(img, -1, (1, 2))
    if orientation == 7:  # Pillow's TRANSVERSE
        return img.transpose(1, 2).flip(1, 2)
    if orientation == 8:
        return torch.rot90(img, 1, (1, 2))
    return img


def _eval_resize_crop(img, data_config):
    """timm's evaluation resize and crop of one uint8 (3, H, W) tensor, on its device.

    The sizes are those of :func:`timm.data.transforms_factory.transforms_imagenet_eval`:
    a first resize to ``floor(input / crop_pct)`` -- the shorter side
    (torchvision's ``Resize(int)``) for ``crop_mode="center"`` with a square
    input, both sides for ``"squash"``, timm's ``ResizeKeepRatio`` (shorter
    side; longer side for ``"border"``) otherwise -- then a centre crop,
    padded with the mean colour in ``"border"`` mode.
    """
    import math

    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    _, th, tw = data_config["input_size"]
    crop_pct = data_config.get("crop_pct") or 0.875  # timm's DEFAULT_CROP_PCT
    mode = data_config.get("crop_mode") or "center"
    sh, sw = math.floor(th / crop_pct), math.floor(tw / crop_pct)
    interpolation = InterpolationMode(data_config["interpolation"])
    h, w = img.shape[-2:]
    if mode == "squash":
        size = [sh, sw]
    elif mode == "center" and sh == sw:
        size = [sh]  # the shorter side, as torchvision's Resize(int) computes it
    else:  # timm's ResizeKeepRatio: longest=1 for "border", 0 for "center"
        rh, rw = h / sh, w / sw
        ratio = max(rh, rw) if mode == "border" else min(rh, rw)
        size = [round(h / ratio), round(w / ratio)]
    img = F.resize(img, size, interpolation=interpolation, antialias=True)
    if mode == "border":  # timm's CenterCropOrPad, filled with the mean colour
        h, w = img.shape[-2:]
        if th > h or tw > w:
            fill = [round(255 * v) for v in data_config["mean"]]
            dw, dh = max(tw - w, 0), max(th - h, 0)
            img = F.pad(img, [dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2], fill=fill)
    return F.center_crop(img, [th, tw])


def _decode_jpegs(datas, device):
    """Decoded uint8 (3, H, W) tensors of ``datas``; None where one fails to decode."""
    from torchvision.io import ImageReadMode, decode_jpeg

    def decode(x):
        return decode_jpeg(x, device=device, mode=ImageReadMode.RGB)

    try:
        return list(decode(list(datas)))
    except (RuntimeError, ValueError):  # one bad file fails the batch: one at a time
        out = []
        for data in datas:
            try:
                out.append(decode(data))
            except (RuntimeError, ValueError):
                out.append(None)
        return out


def device_eval_batch(items, data_config, device):
    """Decode a batch's JPEG files on ``device`` and preprocess it as timm's eval transform.

    The JPEG payloads (:class:`EncodedJpeg`) are decoded together by
    :func:`torchvision.io.decode_jpeg` (nvJPEG on CUDA; libjpeg-turbo on the
    CPU, and on MPS, whose tensors receive the result), turned by their EXIF
    orientation, resized (antialiased, Pillow's kernels), centre-cropped (or
    padded) in uint8 and normalised, all on ``device``, to match
    :func:`timm_eval_transform` of ``data_config`` on the Pillow image. Other
    payloads are the Pillow path's tensors already and are only moved to
    ``device``. A JPEG that the decoder refuses is read by Pillow instead
    (:class:`ImageDataset`), which decodes it or raises
    :class:`~skanimal.utils.ImageReadError` naming the file and its position.

    Parameters
    ----------
    items : list of EncodedJpeg or torch.Tensor
        The payloads of a batch (:class:`JpegBytesDataset`, :func:`encoded_items`).
    data_config : dict
        The resolved timm data configuration (input size, interpolation in
        :data:`DEVICE_INTERPOLATIONS`, mean, std, crop_pct, crop_mode).
    device : str or torch.device
        Where to decode and preprocess: the network's device.

    Returns
    -------
    batch : torch.Tensor of shape (n_items, 3, height, width)
        The float32 network input, on ``device``.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import torch
    >>> from PIL import Image
    >>> from skanimal.utils._torch import EncodedJpeg, device_eval_batch
    >>> buf = io.BytesIO()
    >>> Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(buf, format="JPEG")
    >>> jpeg = EncodedJpeg(torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8),
    ...                    1, "grey.jpg", 0)
    >>> cfg = {"input_size": (3, 32, 32), "interpolation": "bicubic", "crop_pct": 0.9,
    ...        "crop_mode": "center", "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}
    >>> tuple(device_eval_batch([jpeg], cfg, "cpu").shape)
    (1, 3, 32, 32)
    """
    from torchvision.transforms.v2 import functional as F

    device = torch.device(device)
    _, th, tw = data_config["input_size"]
    with torch.inference_mode():
        out = torch.empty((len(items), 3, th, tw), dtype=torch.float32, device=device)
        jpegs = [k for k, item in enumerate(items) if isinstance(item, EncodedJpeg)]
        decoded = _decode_jpegs([items[k].data for k in jpegs],
                                device if device.type == "cuda" else torch.device("cpu"))
        crops, rows = [], []
        for k, img in zip(jpegs, decoded):
            if img is None:  # Pillow reads it (and names the file if it cannot)
                out[k] = _pil_eval(items[k], data_config).to(device)
                continue
            img = _exif_orient(img.to(device), items[k].orientation).contiguous()
            crops.append(_eval_resize_crop(img, data_config))
            rows.append(k)
        if crops:
            x = torch.stack(crops).float().div_(255.0)  # as ToTensor: uint8 / 255
            out[rows] = F.normalize(x, list(data_config["mean"]), list(data_config["std"]))
        for k, item in enumerate(items):
            if not isinstance(item, EncodedJpeg):
                out[k] = item.to(device, non_blocking=True)
    return out


def _pil_eval(item, data_config):
    """The Pillow path's tensor of one :class:`EncodedJpeg` (its file read again)."""
    X = np.empty(1, dtype=object)
    X[0] = item.source
    dataset = ImageDataset.from_checked(X, transform=timm_eval_transform(data_config),
                                        positions=[item.index])
    return dataset[0][0]
