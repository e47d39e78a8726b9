"""Run records as JSON: plain values, and the versions of the libraries that ran."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import math
import os
import platform

import numpy as np

__all__ = ["jsonable", "library_versions"]

#: the distributions whose versions a model file or a protocol run records
VERSIONED = ("skanimal", "numpy", "scipy", "scikit-learn", "imbalanced-learn", "pandas",
             "torch", "torchvision", "timm", "skorch", "skops", "safetensors")


def jsonable(value):
    """A value as plain JSON: dicts with string keys, tuples and arrays as lists,
    numpy scalars as Python numbers, NaN as None, paths as strings and any other
    object (an estimator in a setting) by its repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def library_versions():
    """The Python version and those of :data:`VERSIONED` (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    from .. import __version__

    out["skanimal"] = out["skanimal"] or __version__
    return out
