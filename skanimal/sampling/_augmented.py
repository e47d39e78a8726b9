"""Augmented copies of image files, read lazily.

An :class:`AugmentedImage` names an image file and a few deterministic
operations (a face box, crop, rotation, horizontal flip, brightness). It is a small
immutable value that can stand wherever a path stands in a 1-D X: every
skanimal reader (:func:`skanimal.utils.check_images`,
:func:`skanimal.utils.open_image`, :func:`skanimal.utils.load_image`, the
embedding cache's :func:`skanimal.features.image_keys`, and so
:class:`~skanimal.features.DeepFeatures`, :class:`~skanimal.features.LBPFeatures`
and the networks of :mod:`skanimal.nets`) opens the source file and applies
the operations when the pixels are needed, so an oversampled training set of
file paths costs no disk space and no memory.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import math
import numbers
import os

import numpy as np
from PIL import Image, ImageEnhance

from ..utils._images import _array_to_pil

__all__ = ["AugmentedImage"]


def _real(value, name, *, low=None, low_open=False, high=None, high_open=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"AugmentedImage: {name} must be a real number, got {value!r}.")
    value = float(value) + 0.0  # -0.0 -> 0.0, so that equal values have equal reprs
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        rule = " and ".join(r for r in (lo, hi) if r) or "finite"
        raise ValueError(f"AugmentedImage: {name} must be finite and {rule}, got {value!r}.")
    return value


def _round_half_up(value):
    return int(math.floor(value + 0.5))


def _box_region(box, box_scale, square, size, *, where="the image"):
    """The whole-pixel region ``(left, top, right, bottom)`` a box crops from an image.

    The box ``(x, y, width, height)`` is enlarged ``box_scale`` times about
    its centre, grown to a square of its longer side when ``square``, its
    sides rounded to whole pixels (half up), placed about the centre (its left
    and top edges rounded half up) and clipped to the image of ``size``
    ``(width, height)``.
    """
    x, y, bw, bh = box
    cx, cy = x + bw / 2.0, y + bh / 2.0
    bw, bh = bw * box_scale, bh * box_scale
    if square:
        bw = bh = max(bw, bh)
    sw, sh = max(1, _round_half_up(bw)), max(1, _round_half_up(bh))
    left, top = _round_half_up(cx - sw / 2.0), _round_half_up(cy - sh / 2.0)
    width, height = size
    region = (max(0, left), max(0, top), min(width, left + sw), min(height, top + sh))
    if region[2] <= region[0] or region[3] <= region[1]:
        raise ValueError(
            f"AugmentedImage: the face box (x={x:g}, y={y:g}, width={box[2]:g}, "
            f"height={box[3]:g}) lies outside {where} of {width}x{height} pixels.")
    return region


def _augment(img, *, box=None, box_scale=1.0, square=False, crop=(0.0, 0.0, 0.0, 0.0),
             angle=0.0, flip=False, brightness=1.0):
    """Apply the operations, in their documented order, to a PIL image."""
    if box is not None:
        img = img.crop(_box_region(box, box_scale, square, img.size))
    w, h = img.size
    if any(crop):
        left, top, right, bottom = crop
        box = (left * w, top * h, w - right * w, h - bottom * h)
        img = img.resize((w, h), Image.Resampling.BILINEAR, box=box)
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False,
                         fillcolor=0)
    if flip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if brightness != 1.0:
        img = ImageEnhance.Brightness(img).enhance(brightness)
    return img


def _augment_array(image, **ops):
    """Apply the operations to one image array; the result has its shape and dtype.

    Float images are augmented at 8-bit precision (as every skanimal reader
    converts them to uint8 anyway) and scaled back to [0, 1]; boolean images
    are thresholded at mid-grey.
    """
    a = np.asarray(image)
    out = np.asarray(_augment(_array_to_pil(a), **ops))
    out = out.reshape(out.shape[:2] + a.shape[2:])  # a box changes height and width
    if a.dtype == bool:
        return out >= 128
    if a.dtype.kind == "f":
        return (out / 255.0).astype(a.dtype)
    return out


class AugmentedImage:
    """An augmented copy of an image file, decoded lazily.

    A value that stands for "the image ``source`` after these operations". It
    can be an element of a 1-D X of paths: every skanimal reader opens
    ``source`` as :func:`skanimal.utils.open_image` does (mode ``L`` or
    ``RGB``, EXIF orientation applied) and then applies, always in this order:

    1. **face box** (when ``box`` is given): the region ``(x, y, width,
       height)`` of the decoded source, in pixels, enlarged ``box_scale``
       times about its centre, grown to a square of its longer side when
       ``square``, rounded to whole pixels and clipped to the image, is cut
       out (``PIL.Image.crop``); the image is then the size of that region
       and the later operations work on it;
    2. **crop**: the fractions ``(left, top, right, bottom)`` of the width and
       height are cut from each side and the rest is resized back to the
       original size (``PIL.Image.resize`` with the float box, bilinear);
    3. **rotation** by ``angle`` degrees counter-clockwise about the centre,
       same size, bilinear, uncovered corners filled with black
       (``PIL.Image.rotate(angle, BILINEAR, expand=False, fillcolor=0)``);
    4. **horizontal flip** when ``flip`` is true;
    5. **brightness**: ``PIL.ImageEnhance.Brightness(image).enhance(brightness)``
       (every channel multiplied by ``brightness``, clipped to 0-255).

    Operations at their neutral value are skipped, so ``AugmentedImage(path)``
    decodes exactly as ``path``; every operation but the box keeps the image's
    size. Instances are immutable, hashable, comparable and picklable; nothing
    is read until the pixels are needed.

    Parameters
    ----------
    source : str, os.PathLike or AugmentedImage
        The image file (or another augmented image, whose operations then come
        first).
    box : tuple of 4 float, default=None
        A face box ``(x, y, width, height)`` in pixels of the decoded source
        (after its EXIF orientation; ``x``, ``y`` the top-left corner, each
        >= 0; ``width``, ``height`` > 0). None keeps the whole image.
    box_scale : float, default=1.0
        Enlarges the box about its centre, >= 1 (1.25 adds 25 %: 12.5 % of
        its width and height on each side). Only with a ``box``.
    square : bool, default=False
        Whether to grow the shorter side of the (enlarged) box to its longer
        side, about its centre, before clipping. Only with a ``box``.
    flip : bool, default=False
        Whether to mirror the image left-right.
    angle : float, default=0.0
        Rotation in degrees, counter-clockwise.
    crop : tuple of 4 float, default=(0, 0, 0, 0)
        Fractions of the width (left, right) and height (top, bottom) cut from
        each side, each in [0, 0.5).
    brightness : float, default=1.0
        Brightness factor, > 0 (1 leaves the image unchanged).

    Attributes
    ----------
    source : str or AugmentedImage
        The source, a path as ``str``.
    box : tuple of 4 float or None
        The face box ``(x, y, width, height)``.
    box_scale : float
        The enlargement of the box.
    square : bool
        Whether the box is grown to a square.
    flip : bool
        Whether the image is mirrored.
    angle : float
        The rotation in degrees.
    crop : tuple of 4 float
        The cut fractions (left, top, right, bottom).
    brightness : float
        The brightness factor.

    See Also
    --------
    AugmentingOverSampler : Oversample minority classes with augmented copies.
    skanimal.utils.load_image : Read one element of X, e.g. an augmented image.

    Notes
    -----
    The box region is computed at read time, when the image size is known:
    its width and height are ``width * box_scale`` and ``height * box_scale``
    (both the larger one with ``square``) rounded half up, its left and top
    edges ``x + width / 2`` minus half that width (and likewise for ``y``)
    rounded half up, and it is then clipped to the image, so near the border
    the crop is smaller (and a square one may not be square). A box wholly
    outside the image is an :class:`~skanimal.utils.ImageReadError` naming the
    file. The embedding cache key of a boxed image covers the box, its scale
    and ``square``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skanimal.sampling import AugmentedImage
    >>> from skanimal.utils import load_image
    >>> path = os.path.join(tempfile.mkdtemp(), "face.png")
    >>> img = np.zeros((4, 6), dtype=np.uint8)
    >>> img[:, 0] = 200
    >>> Image.fromarray(img).save(path)
    >>> copy = AugmentedImage(path, flip=True, brightness=0.5)
    >>> load_image(copy, mode="L")[0]
    array([  0,   0,   0,   0,   0, 100], dtype=uint8)
    >>> copy == AugmentedImage(path, flip=True, brightness=0.5)
    True
    >>> face = AugmentedImage(path, box=(0, 1, 2, 2), box_scale=1.5)
    >>> load_image(face, mode="L")
    array([[200,   0,   0],
           [200,   0,   0],
           [200,   0,   0]], dtype=uint8)
    """

    __slots__ = ("_source", "_box", "_box_scale", "_square", "_flip", "_angle", "_crop",
                 "_brightness")

    def __init__(self, source, *, box=None, box_scale=1.0, square=False, flip=False,
                 angle=0.0, crop=(0, 0, 0, 0), brightness=1.0):
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if isinstance(source, bytes):
            source = os.fsdecode(source)
        if not isinstance(source, (str, AugmentedImage)):
            raise TypeError(
                f"AugmentedImage: source must be an image path or an AugmentedImage, "
                f"got {type(source).__name__} ({source!r}).")
        if isinstance(source, str) and not source:
            raise ValueError("AugmentedImage: source is an empty path.")
        if not isinstance(flip, (bool, np.bool_)):
            raise TypeError(f"AugmentedImage: flip must be a bool, got {flip!r}.")
        try:
            crop = tuple(crop)
        except TypeError:
            raise TypeError(
                f"AugmentedImage: crop must be 4 fractions (left, top, right, bottom), "
                f"got {crop!r}.") from None
        if len(crop) != 4:
            raise ValueError(
                f"AugmentedImage: crop must be 4 fractions (left, top, right, bottom), "
                f"got {crop!r}.")
        sides = ("left", "top", "right", "bottom")
        crop = tuple(_real(c, f"crop {side}", low=0.0, high=0.5, high_open=True)
                     for c, side in zip(crop, sides))
        box, box_scale, square = _check_box(box, box_scale, square)
        setattr_ = object.__setattr__
        setattr_(self, "_source", source)
        setattr_(self, "_box", box)
        setattr_(self, "_box_scale", box_scale)
        setattr_(self, "_square", square)
        setattr_(self, "_flip", bool(flip))
        setattr_(self, "_angle", _real(angle, "angle"))
        setattr_(self, "_crop", crop)
        setattr_(self, "_brightness", _real(brightness, "brightness", low=0.0, low_open=True))

    @property
    def source(self):
        """The source image: a path (``str``) or another :class:`AugmentedImage`."""
        return self._source

    @property
    def box(self):
        """The face box ``(x, y, width, height)`` in source pixels, or None."""
        return self._box

    @property
    def box_scale(self):
        """The enlargement of the box about its centre (float, >= 1)."""
        return self._box_scale

    @property
    def square(self):
        """Whether the box is grown to a square (bool)."""
        return self._square

    @property
    def flip(self):
        """Whether the image is mirrored left to right (bool)."""
        return self._flip

    @property
    def angle(self):
        """Rotation in degrees, counter-clockwise (float)."""
        return self._angle

    @property
    def crop(self):
        """Fractions cut from each side: (left, top, right, bottom)."""
        return self._crop

    @property
    def brightness(self):
        """Brightness factor (float; 1.0 leaves the image unchanged)."""
        return self._brightness

    def __setattr__(self, name, value):
        raise AttributeError(f"AugmentedImage is immutable; cannot set {name!r}.")

    def __delattr__(self, name):
        raise AttributeError(f"AugmentedImage is immutable; cannot delete {name!r}.")

    def _fields(self):
        fields = (self._source, self._flip, self._angle, self._crop, self._brightness)
        if self._box is None:  # as before boxes existed: same hash and pickle
            return fields
        return fields + (self._box, self._box_scale, self._square)

    def __eq__(self, other):
        if not isinstance(other, AugmentedImage):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self):
        return hash((AugmentedImage, *self._fields()))

    def __reduce__(self):
        return (_rebuild, self._fields())

    def __repr__(self):
        args = [repr(self._source)]
        if self._box is not None:
            args.append(f"box={self._box!r}")
            if self._box_scale != 1.0:
                args.append(f"box_scale={self._box_scale!r}")
            if self._square:
                args.append("square=True")
        if self._flip:
            args.append("flip=True")
        if self._angle:
            args.append(f"angle={self._angle!r}")
        if any(self._crop):
            args.append(f"crop={self._crop!r}")
        if self._brightness != 1.0:
            args.append(f"brightness={self._brightness!r}")
        return f"AugmentedImage({', '.join(args)})"

    @property
    def operations(self):
        """The operations applied after decoding the source, in order.

        Returns
        -------
        operations : tuple of tuple
            ``("box", (x, y, width, height), box_scale, square)``,
            ``("crop", (left, top, right, bottom))``, ``("rotate", angle)``,
            ``("flip",)``, ``("brightness", factor)`` for each operation that
            is not at its neutral value; empty for an unchanged copy.
        """
        ops = []
        if self._box is not None:
            ops.append(("box", self._box, self._box_scale, self._square))
        if any(self._crop):
            ops.append(("crop", self._crop))
        if self._angle:
            ops.append(("rotate", self._angle))
        if self._flip:
            ops.append(("flip",))
        if self._brightness != 1.0:
            ops.append(("brightness", self._brightness))
        return tuple(ops)

    @property
    def path(self):
        """The image file behind this copy (the innermost source), as ``str``."""
        source = self._source
        return source if isinstance(source, str) else source.path

    def apply(self, image):
        """Apply this copy's operations to an image.

        Parameters
        ----------
        image : PIL.Image.Image or ndarray of shape (height, width[, channels])
            The decoded source image (a PIL image, or an image array of uint8
            0-255, float 0-1 or bool).

        Returns
        -------
        augmented : PIL.Image.Image or ndarray
            The augmented image, of the same type (and, for an array, dtype
            and number of channels) as ``image``, and of its size unless a
            ``box`` crops it. Float arrays are processed at 8-bit precision.

        Raises
        ------
        ValueError
            If the box lies wholly outside ``image``.
        """
        ops = dict(box=self._box, box_scale=self._box_scale, square=self._square,
                   crop=self._crop, angle=self._angle, flip=self._flip,
                   brightness=self._brightness)
        if isinstance(image, Image.Image):
            return _augment(image, **ops)
        return _augment_array(image, **ops)


def _check_box(box, box_scale, square):
    """The validated (box, box_scale, square) of an AugmentedImage."""
    if not isinstance(square, (bool, np.bool_)):
        raise TypeError(f"AugmentedImage: square must be a bool, got {square!r}.")
    box_scale = _real(box_scale, "box_scale", low=1.0)
    if box is None:
        if box_scale != 1.0 or square:
            raise ValueError("AugmentedImage: box_scale and square need a box "
                             "(x, y, width, height).")
        return None, 1.0, False
    form = "a face box must be 4 pixel values (x, y, width, height)"
    try:
        box = tuple(box)
    except TypeError:
        raise TypeError(f"AugmentedImage: {form}, got {box!r}.") from None
    if len(box) != 4:
        raise ValueError(f"AugmentedImage: {form}, got {box!r}.")
    x, y, w, h = (_real(v, f"box {name}", low=0.0, low_open=name in ("width", "height"))
                  for v, name in zip(box, ("x", "y", "width", "height")))
    return (x, y, w, h), box_scale, bool(square)


def _rebuild(source, flip, angle, crop, brightness, box=None, box_scale=1.0, square=False):
    return AugmentedImage(source, box=box, box_scale=box_scale, square=square, flip=flip,
                          angle=angle, crop=crop, brightness=brightness)
