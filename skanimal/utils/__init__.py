"""Utilities: image input, validation, estimator checks and discovery.

The submodules :mod:`skanimal.utils.estimator_checks` (the image-estimator
check suite, and the checks skanimal's estimators fail by design) and
:mod:`skanimal.utils.discovery` (``all_estimators`` and friends, as in
:mod:`sklearn.utils.discovery`) are imported on their own, like scikit-learn's.
"""

from ._images import (
    IMAGE_FORMATS,
    ImageNotFoundError,
    ImageReadError,
    check_images,
    image_input_kind,
    load_image,
    open_image,
)

__all__ = [
    "IMAGE_FORMATS",
    "ImageNotFoundError",
    "ImageReadError",
    "check_images",
    "image_input_kind",
    "load_image",
    "open_image",
]
