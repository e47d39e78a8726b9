"""Datasets: the built-in generated grimace faces and loaders for data on disk.

Every loader returns a :class:`~sklearn.utils.Bunch` with ``images`` (paths,
or an image array for generated data), ``target``, ``groups`` (the subject of
each image, for subject-wise cross-validation), ``target_names``, ``frame``
(a :class:`pandas.DataFrame` with one row per image) and ``DESCR``.
"""

from ._base import DatasetError, DatasetExistsError, MissingFilesError
from ._deeplabcut import load_deeplabcut
from ._grimace import GRIMACE_ACTION_UNITS, make_grimace_faces
from ._loaders import (
    check_dataset_folder,
    load_image_folder,
    load_manifest,
    load_new_images,
    save_dataset,
)
from ._unbc import is_unbc_mcmaster, load_unbc_mcmaster, pspi_to_level

__all__ = [
    "GRIMACE_ACTION_UNITS",
    "DatasetError",
    "DatasetExistsError",
    "MissingFilesError",
    "check_dataset_folder",
    "is_unbc_mcmaster",
    "load_deeplabcut",
    "load_image_folder",
    "load_manifest",
    "load_new_images",
    "load_unbc_mcmaster",
    "make_grimace_faces",
    "pspi_to_level",
    "save_dataset",
]
