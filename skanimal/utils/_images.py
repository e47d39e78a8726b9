"""Reading images: the one place where skanimal turns X into pixels.

Every image estimator accepts X as either

* a 1-D array-like of image file paths (``str`` or :class:`os.PathLike`; a
  :class:`pandas.Series` works) -- an element may also be a
  :class:`skanimal.sampling.AugmentedImage`, an augmented copy of a file read
  lazily -- or
* an ndarray of images of shape ``(n, H, W)`` (greyscale) or ``(n, H, W, C)``
  with ``C`` in {1, 3, 4} (channels last), of dtype ``uint8`` (0-255) or float
  (0.0-1.0); a list of same-shaped image arrays is stacked into one.

Image files are read with Pillow, restricted to the raster formats in
``IMAGE_FORMATS`` (PNG, JPEG, BMP, TIFF, GIF, WebP and the Netpbm
PBM/PGM/PPM family): a file in any other format Pillow knows (EPS or PDF,
which Pillow would hand to Ghostscript, PSD, ICO...) is refused with its real
format named, whatever its file name extension.

:func:`check_images` validates X once, and :func:`load_image` turns one element
into a PIL image or a uint8 array through the same conversions whatever its
origin, so that an estimator gives identical results on a folder of lossless
files and on the array they were written from.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import functools
import os
import sys

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..exceptions import SkanimalError

__all__ = [
    "IMAGE_FORMATS",
    "ImageNotFoundError",
    "ImageReadError",
    "check_images",
    "image_input_kind",
    "load_image",
    "open_image",
]

#: The file formats that :func:`open_image` reads, as Pillow names them: the
#: raster formats of camera, microscope and video-frame exports. ``"JPEG"``
#: includes multi-picture (MPO) JPEG files; ``"PPM"`` is the Netpbm family
#: (PBM, PGM, PPM); ``"WEBP"`` is used where Pillow was built with WebP.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM")

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


def _resample_filter(resample):
    """The Pillow filter of a resampling name, or a ValueError naming the choices."""
    try:
        return _RESAMPLE[resample]
    except (KeyError, TypeError):
        raise ValueError(
            f"resample must be one of {sorted(_RESAMPLE)}, got {resample!r}."
        ) from None


class ImageReadError(SkanimalError, OSError):
    """An image file could not be read or decoded.

    Raised by every skanimal function that reads images; the message names the
    file and its position in X. It is an :class:`OSError`, so ``except
    OSError`` also catches it.

    Parameters
    ----------
    message : str
        The error message.
    path : str, default=None
        The file that failed.
    index : int, default=None
        Its position in X, when known.

    Attributes
    ----------
    path : str or None
        The file that failed.
    index : int or None
        Its position in X, when known.

    Examples
    --------
    >>> from skanimal.utils import ImageReadError, load_image
    >>> try:
    ...     load_image(__file__)  # a Python file is not an image
    ... except ImageReadError as err:
    ...     print(err.index, err.path.endswith(".py"))
    None True
    """

    def __init__(self, message, path=None, index=None):
        super().__init__(message)
        self.path = path
        self.index = index


class ImageNotFoundError(ImageReadError, FileNotFoundError):
    """An image file does not exist.

    An :class:`ImageReadError` (so a skanimal user error) and a
    :class:`FileNotFoundError`; the message names the file and its position
    in X.

    Parameters
    ----------
    message : str
        The error message.
    path : str, default=None
        The file that does not exist.
    index : int, default=None
        Its position in X, when known.

    Attributes
    ----------
    path : str or None
        The file that does not exist.
    index : int or None
        Its position in X, when known.

    Examples
    --------
    >>> from skanimal.utils import ImageNotFoundError, load_image
    >>> try:
    ...     load_image("no-such-face.png")
    ... except FileNotFoundError as err:
    ...     print(type(err).__name__, err.path)
    ImageNotFoundError no-such-face.png
    """


def _augmented_image_type():
    """The AugmentedImage class if :mod:`skanimal.sampling` is loaded, else None.

    No AugmentedImage can exist before its module is imported (unpickling one
    imports it), so the readers recognise it without importing the samplers.
    """
    module = sys.modules.get("skanimal.sampling._augmented")
    return getattr(module, "AugmentedImage", None)


def _is_augmented(x):
    cls = _augmented_image_type()
    return cls is not None and isinstance(x, cls)


def _image_path(x):
    """The file behind one element of a 1-D X (the source file of an augmented copy)."""
    return x.path if _is_augmented(x) else x


def _where(path, index):
    at = f" (X[{index}])" if index is not None else ""
    return f"{str(path)!r}{at}"


def image_input_kind(X):
    """Tell whether validated image input holds file paths or image arrays.

    Parameters
    ----------
    X : ndarray
        The output of :func:`check_images`.

    Returns
    -------
    kind : {"paths", "arrays"}
        ``"paths"`` for a 1-D object array of paths, ``"arrays"`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.utils import check_images, image_input_kind
    >>> image_input_kind(check_images(["a.png"]))
    'paths'
    >>> image_input_kind(check_images(np.zeros((1, 4, 4), dtype=np.uint8)))
    'arrays'
    """
    return "paths" if X.dtype == object else "arrays"


def check_images(X, *, input_name="X"):
    """Validate image input and return it as an ndarray.

    Parameters
    ----------
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image file paths (or :class:`skanimal.sampling.AugmentedImage` copies
        of files), or images. Image arrays are ``uint8`` (0-255) or float
        (0.0-1.0); channels are 1, 3 (RGB) or 4 (RGBA).
    input_name : str, default="X"
        The name used in error messages.

    Returns
    -------
    X_checked : ndarray
        For paths, a 1-D object array of ``str`` (and AugmentedImage); for images, the array itself
        (not copied).

    Raises
    ------
    TypeError
        If X is neither paths nor an image array, or is a pandas DataFrame of
        several columns (the message says which column to pass).
    ValueError
        If X is empty, has the wrong number of dimensions or channels, a shape
        whose axes are ambiguous (see Notes), holds non-finite values or float
        values outside [0, 1], or is a list of image arrays of different
        shapes.

    Notes
    -----
    A 3-D array is a stack of greyscale images ``(n, height, width)`` and a
    4-D array a stack of colour images ``(n, height, width, channels)``,
    channels last. An axis of length 1, 3 or 4 that is shorter than the image
    axis before it is taken for a channel axis in the wrong place, and
    refused rather than guessed:

    * ``(height, width, channels)``, e.g. ``(64, 64, 3)``: one colour image
      without a batch axis, which would otherwise be read as 64 greyscale
      images of 64x3 pixels. Pass ``X[np.newaxis]`` for one image, or
      ``X[..., np.newaxis]`` for greyscale images that really are 1, 3 or 4
      pixels wide.
    * ``(n, channels, height, width)``, e.g. ``(8, 3, 64, 64)`` or
      ``(8, 3, 64, 4)``: channels-first images, as torch stores them. Pass
      ``X.transpose(0, 2, 3, 1)``.

    A pandas Series of paths, or a DataFrame of one column, is taken by its
    values.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.utils import check_images
    >>> check_images(["a.png", "b.png"])
    array(['a.png', 'b.png'], dtype=object)
    >>> check_images(np.zeros((2, 8, 8), dtype=np.uint8)).shape
    (2, 8, 8)
    >>> check_images(np.zeros((64, 64, 3), dtype=np.uint8))
    Traceback (most recent call last):
        ...
    ValueError: X has shape (64, 64, 3), which is ambiguous: ...
    >>> check_images(np.zeros((64, 64, 3), dtype=np.uint8)[np.newaxis]).shape
    (1, 64, 64, 3)
    """
    X = _from_pandas(X, input_name)
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{input_name} must be a sequence of image paths or an array of images, "
            f"got a single path {X!r}; wrap it in a list."
        )
    if not isinstance(X, np.ndarray):
        try:
            items = list(X)
        except TypeError:
            raise TypeError(
                f"{input_name} must be a 1-D array-like of image paths or an ndarray "
                f"of images, got {type(X).__name__}."
            ) from None
        if any(isinstance(p, (str, bytes, os.PathLike)) or _is_augmented(p) for p in items):
            paths = np.empty(len(items), dtype=object)
            paths[:] = items
            return _check_paths(paths, input_name)
        X = _stack_images(items, input_name)
    if X.size == 0 or X.shape[0] == 0:
        raise ValueError(f"{input_name} is empty: expected at least one image.")
    if X.ndim == 1:
        if X.dtype.kind in "OUS":
            return _check_paths(X, input_name)
        raise TypeError(
            f"{input_name} is a 1-D array of {X.dtype}; expected image paths (str) or an "
            "ndarray of images of shape (n, H, W) or (n, H, W, C)."
        )
    if X.dtype == object or X.dtype.kind in "US":
        raise TypeError(f"{input_name} of strings must be 1-D, got shape {X.shape}.")
    if X.ndim not in (3, 4):
        raise ValueError(
            f"{input_name} must be 1-D (paths), (n, H, W) or (n, H, W, C) images; got an "
            f"array of shape {X.shape}. For a single image use {input_name}[np.newaxis]."
        )
    _check_axes(X, input_name)
    if X.dtype == np.uint8:
        return X
    if X.dtype.kind == "f":
        # min and max propagate NaN and keep infinities: one pass less than
        # checking np.isfinite on every pixel first
        lo, hi = float(X.min()), float(X.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{input_name} contains NaN or infinite pixel values.")
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float images in {input_name} must lie in [0, 1]; got values in "
                f"[{lo:g}, {hi:g}]. Divide 0-255 data by 255 or pass uint8."
            )
        return X
    if X.dtype == bool:
        return X
    raise TypeError(
        f"{input_name} has dtype {X.dtype}; image arrays must be uint8 (0-255) or float "
        "(0.0-1.0). Convert, e.g. with skimage.util.img_as_ubyte."
    )


_CHANNELS = (1, 3, 4)


def _from_pandas(X, input_name):
    """A pandas Series, or a one-column DataFrame, as its values; other X as it is."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a DataFrame
        columns = list(X.columns)
        if len(columns) == 1:
            return X.iloc[:, 0].to_numpy()
        pick = "path" if "path" in columns else (columns[0] if columns else "path")
        shown = ", ".join(repr(c) for c in columns[:6]) + (", ..." if len(columns) > 6 else "")
        raise TypeError(
            f"{input_name} is a pandas DataFrame with {len(columns)} columns ({shown}); "
            "image input is one column of image paths: pass "
            f"{input_name}[{pick!r}]."
        )
    if hasattr(X, "to_numpy") and getattr(X, "ndim", None) == 1:  # a Series
        return X.to_numpy()
    return X


def _stack_images(items, input_name):
    """A list of image arrays as one ndarray, or a ValueError naming two shapes that differ."""
    try:
        return np.asarray(items)
    except ValueError:  # numpy's "inhomogeneous shape"
        shapes = [np.shape(x) for x in items]
        odd = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), None)
        if odd is None:
            raise
        raise ValueError(
            f"{input_name} is a list of {len(items)} images of different shapes: "
            f"{input_name}[0] has shape {shapes[0]} but {input_name}[{odd}] has "
            f"{shapes[odd]}. An array of images needs one shape: resize them to a common "
            "size first (e.g. skanimal.utils.load_image(image, size=(height, width))), or "
            "pass the image files' paths instead."
        ) from None


def _check_axes(X, input_name):
    """Refuse 3-D and 4-D shapes whose channel axis is not last (see check_images)."""
    shape = X.shape
    if X.ndim == 3 and shape[2] in _CHANNELS and shape[1] > shape[2]:
        n, h, w = shape
        raise ValueError(
            f"{input_name} has shape {shape}, which is ambiguous: a 3-D array is read as "
            f"(n_images, height, width) greyscale images, here {n} images of {h}x{w} "
            f"pixels, but its last axis of {w} looks like the channels of one "
            "(height, width, channels) image. For one image, pass a batch axis: "
            f"{input_name}[np.newaxis] (shape {(1,) + shape}); for {n} greyscale images "
            f"{w} pixel(s) wide, pass {input_name}[..., np.newaxis] (shape "
            f"{shape + (1,)})."
        )
    if X.ndim != 4:
        return
    n, a, b, c = shape
    channels_first = a in _CHANNELS and a < b
    if c in _CHANNELS and not channels_first:
        return
    if c not in _CHANNELS and not channels_first:
        raise ValueError(
            f"{input_name} has {c} channels (shape {shape}); skanimal expects "
            "(n_images, height, width, channels) arrays with 1, 3 or 4 channels last."
        )
    read = f", which would be read as {n} images of {a}x{b} pixels with {c} channels"
    raise ValueError(
        f"{input_name} has shape {shape}, which looks like channels-first images "
        f"(n_images, channels, height, width) with {a} channels"
        f"{read if c in _CHANNELS else ''}. skanimal expects (n_images, height, width, "
        f"channels), channels last: pass {input_name}.transpose(0, 2, 3, 1) (shape "
        f"{(n, b, c, a)})."
    )


def _check_paths(X, input_name):
    X = np.array(X, dtype=object, copy=True)  # never write into the caller's array
    for i, p in enumerate(X):
        if isinstance(p, os.PathLike):
            X[i] = p = os.fspath(p)
        if isinstance(p, bytes):
            X[i] = p = os.fsdecode(p)
        if not isinstance(p, str):
            if _is_augmented(p):
                continue
            raise TypeError(
                f"{input_name}[{i}] is {type(p).__name__} ({p!r}); every element of a "
                "1-D X must be an image path (or a skanimal.sampling.AugmentedImage)."
            )
        if not p:
            raise ValueError(f"{input_name}[{i}] is an empty path.")
    return X


def _array_to_pil(img, index=None):
    """Convert one validated image array to a PIL image (L, RGB or RGBA)."""
    a = np.asarray(img)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        a = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype != np.uint8:  # only reachable when called directly
        raise TypeError(f"image X[{index}] has dtype {a.dtype}; expected uint8 or float.")
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(a))  # mode L
    return Image.fromarray(np.ascontiguousarray(a))  # mode RGB or RGBA


def _high_bit_depth_to_l(img):
    """Scale a 16/32-bit integer or float greyscale image to 8-bit ``L``."""
    a = np.asarray(img)
    if img.mode == "F":
        a = a.astype(np.float64)
        hi = 1.0 if np.nanmax(a) <= 1.0 else 255.0
        a = np.clip(np.nan_to_num(a) / hi, 0.0, 1.0) * 255.0
    else:  # I;16, I;16B, I;16L, I (16-bit PNGs decode as I)
        a = a.astype(np.float64)
        maxval = 65535.0 if a.max() > 255 or img.mode.startswith("I;16") else 255.0
        a = np.clip(a, 0, 65535) * (255.0 / maxval)
    return Image.fromarray(np.rint(a).astype(np.uint8))  # mode L


def _normalise_mode(img, background):
    """Bring a decoded PIL image to ``L`` or ``RGB``.

    Alpha is composited onto a uniform ``background`` grey level; palette
    images keep their transparency; CMYK and other colour spaces go through
    Pillow's own conversions.
    """
    if img.mode in ("L", "RGB"):
        return img
    if img.mode == "1":
        return img.convert("L")
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return _high_bit_depth_to_l(img)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("LA", "La"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa"):
        if img.mode == "RGBa":
            img = img.convert("RGBA")
        base = Image.new("RGBA", img.size, (background,) * 3 + (255,))
        return Image.alpha_composite(base, img).convert("RGB")
    return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX ...


def _apply_draft(img, draft):
    """Let libjpeg decode a JPEG at a reduced scale, straight to a mode.

    ``draft`` is ``(mode, (width, height))`` in the EXIF-oriented frame:
    the smallest DCT scale (1/1, 1/2, 1/4 or 1/8) whose decoded size is at
    least ``(width, height)`` on both sides is chosen (Pillow's
    :meth:`PIL.Image.Image.draft`). Other formats are left as they are.
    """
    mode, (width, height) = draft
    if img.format not in ("JPEG", "MPO"):
        return
    if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # stored sideways
        width, height = height, width
    # Pillow decodes CMYK/YCCK JPEGs only in their own modes
    if img.mode not in ("L", "RGB"):
        return
    img.draft(mode if img.mode == "RGB" else None, (int(width), int(height)))


def open_image(x, *, index=None, background=255, draft=None):
    """Open one element of X as a PIL image in mode ``L`` or ``RGB``.

    Parameters
    ----------
    x : str, os.PathLike, AugmentedImage or ndarray of shape (height, width[, channels])
        An image file path, an augmented copy of one
        (:class:`skanimal.sampling.AugmentedImage`: the source is opened here,
        then its operations are applied), or one image array.
    index : int, default=None
        The position of ``x`` in X, quoted in error messages.
    background : int, default=255
        Grey level (0-255) onto which transparent pixels are composited.
    draft : tuple of (str, tuple of (int, int)), default=None
        ``(mode, (width, height))``: let a JPEG file be decoded by libjpeg at
        the smallest of the scales 1/1, 1/2, 1/4 and 1/8 at which it is still
        at least ``width`` x ``height`` pixels (after EXIF orientation), and
        straight to ``mode`` (``"L"`` takes the luma channel without
        decoding colour; ``"RGB"``). Faster -- decoding a 1280x960 photograph
        for a 224-pixel model costs about a quarter as much -- but the pixels
        differ from a full decode followed by a resize by a few grey levels
        (DCT-domain scaling, and libjpeg's own colour conversion), so
        estimators offer it as an option (``draft=True``). Ignored for other
        formats, arrays and augmented copies (whose face boxes are in pixels
        of the full image).

    Returns
    -------
    image : PIL.Image.Image
        A fully decoded image in mode ``L`` (greyscale sources) or ``RGB``, with
        the EXIF orientation applied. The file is opened read-only and closed.

    Raises
    ------
    ImageNotFoundError
        If the file does not exist (an :class:`ImageReadError` and a
        :class:`FileNotFoundError`); the message names it and its position.
    ImageReadError
        If the file exists but cannot be read or decoded: not an image, in a
        format other than PNG, JPEG, BMP, TIFF, GIF, WebP or PBM/PGM/PPM (the
        message names its real format), truncated, larger than Pillow's decompression-bomb limit
        ``PIL.Image.MAX_IMAGE_PIXELS``, a directory... -- or, for an augmented copy,
        its face box lies wholly outside the image.

    Notes
    -----
    Files are opened with ``PIL.Image.open(fp, formats=IMAGE_FORMATS)``
    (``skanimal.utils._images.IMAGE_FORMATS``): only the raster formats
    skanimal supports are tried, whatever the file
    name extension, so a file in another format Pillow knows (for instance an
    EPS file named ``.png``, which Pillow would render with Ghostscript) is
    refused without being handed to its plugin.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.utils import open_image
    >>> open_image(np.zeros((4, 6, 3), dtype=np.uint8)).size
    (6, 4)
    """
    if isinstance(x, np.ndarray) and x.dtype != object:
        return _normalise_mode(_array_to_pil(x, index), background)
    if _is_augmented(x):
        source = open_image(x.source, index=index, background=background)
        try:
            return x.apply(source)
        except ValueError as exc:  # a face box outside the image
            raise ImageReadError(f"cannot read image {_where(x.path, index)} as {x!r}: "
                                 f"{exc}", x.path, index) from None
    path = os.fspath(x)
    if not os.path.exists(path):
        raise ImageNotFoundError(f"image file {_where(path, index)} does not exist.",
                                 path, index)
    try:
        with open(path, "rb") as fh:
            img = Image.open(fh, formats=_readable_formats())
            _check_pixel_count(img, path, index)
            if draft is not None:
                _apply_draft(img, draft)
            img.load()
            # in place: without an orientation, the default copies the
            # decoded image (1.5 ms for a 1280x960 photograph)
            ImageOps.exif_transpose(img, in_place=True)
            img = _normalise_mode(img, background)
            img.load()
    except UnidentifiedImageError:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {_what_it_is(path)}",
            path, index) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        if isinstance(exc, ImageReadError):
            raise
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {exc}", path, index) from exc
    return img


def _oriented_size(path, index=None):
    """``(width, height)`` of an image file as :func:`open_image` decodes it, from its header.

    The EXIF orientation is taken into account (orientations 5-8 swap the
    sides); the pixels are not decoded.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageNotFoundError(f"image file {_where(path, index)} does not exist.",
                                 path, index)
    try:
        with open(path, "rb") as fh:
            img = Image.open(fh, formats=_readable_formats())
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)
    except UnidentifiedImageError:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {_what_it_is(path)}",
            path, index) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {exc}", path, index) from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@functools.cache
def _readable_formats():
    """``IMAGE_FORMATS`` less those this Pillow was built without."""
    Image.init()
    return tuple(f for f in IMAGE_FORMATS if f in Image.OPEN)


def _check_pixel_count(img, path, index):
    """Refuse an image larger than Pillow's decompression-bomb limit, before decoding it.

    Pillow itself only warns between ``MAX_IMAGE_PIXELS`` and twice that;
    the limit is compared here rather than by turning the warning into an
    error, because a warning filter is process-wide state that threads
    reading images at once would race on.
    """
    limit = Image.MAX_IMAGE_PIXELS
    pixels = img.width * img.height
    if limit is not None and pixels > limit:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: it has {img.width}x"
            f"{img.height} = {pixels} pixels, more than PIL.Image.MAX_IMAGE_PIXELS "
            f"({limit}), Pillow's guard against decompression bombs. If the file is "
            "trusted, raise that limit; better, downscale the image.",
            path, index)


def _what_it_is(path):
    """Why an existing file is not read: its real format when Pillow knows it."""
    with open(path, "rb") as fh:
        prefix = fh.read(16)
    Image.init()
    readable = ", ".join(_readable_formats())
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept is None:  # a plugin that cannot tell from the first bytes
            continue
        try:
            # the plugins' accept functions only compare bytes: no decoder
            # (nor Ghostscript for EPS) runs here
            result = accept(prefix)
        except Exception:  # a plugin's check failing means "not this format"
            continue
        if not result or isinstance(result, str):  # a str is Pillow's warning text
            continue
        name = getattr(factory, "format_description", None) or fmt
        if fmt in _readable_formats():
            return f"it starts like a {fmt} file but cannot be decoded (damaged or truncated?)."
        return (
            f"its format is {fmt} ({name}), not one of the raster formats skanimal "
            f"reads ({readable}), whatever its file name says. Convert it, e.g. to PNG."
        )
    return f"not a recognised image format (skanimal reads {readable})."


def load_image(x, *, mode="RGB", size=None, resample="bilinear", index=None,
               background=255, draft=False):
    """Load one element of X as a uint8 array.

    Parameters
    ----------
    x : str, os.PathLike, AugmentedImage or ndarray of shape (height, width[, channels])
        An image file path, an augmented copy of one
        (:class:`skanimal.sampling.AugmentedImage`), or one image array.
    mode : {"RGB", "L"}, default="RGB"
        ``"RGB"`` gives shape (H, W, 3), ``"L"`` a greyscale (H, W) array
        (ITU-R 601-2 luma, as Pillow computes it).
    size : int or tuple of (int, int), default=None
        Resize to ``(height, width)`` (an int means square) with Pillow.
    resample : {"nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"}, \
            default="bilinear"
        The resampling filter used when ``size`` is given.
    index : int, default=None
        The position of ``x`` in X, quoted in error messages.
    background : int, default=255
        Grey level onto which transparent pixels are composited.
    draft : bool, default=False
        With ``size``, decode a JPEG file at the smallest DCT scale that is
        still at least ``size`` and straight to ``mode`` (see the ``draft``
        parameter of :func:`open_image`): faster, pixels within a few grey
        levels of the full decode.

    Returns
    -------
    image : ndarray of uint8

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.utils import load_image
    >>> load_image(np.zeros((4, 6), dtype=np.uint8), mode="RGB", size=8).shape
    (8, 8, 3)
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}.")
    h = w = None
    if size is not None:
        h, w = (size, size) if np.isscalar(size) else size
    want = (mode, (int(w), int(h))) if draft and size is not None else None
    img = open_image(x, index=index, background=background, draft=want)
    if img.mode != mode:
        img = img.convert(mode)
    if size is not None:
        if (w, h) != img.size:
            img = img.resize((int(w), int(h)), _resample_filter(resample))
    return np.asarray(img)
