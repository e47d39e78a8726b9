"""Utilities: image input, validation and estimator checks."""

from ._images import (
    ImageReadError,
    check_images,
    image_input_kind,
    load_image,
    open_image,
)

__all__ = [
    "ImageReadError",
    "check_images",
    "image_input_kind",
    "load_image",
    "open_image",
]
