"""skanimal: scikit-learn-compatible recognition of pain and emotional states from faces.

Subpackages
-----------
datasets
    The built-in generated dataset and loaders for manifests, image folders and
    UNBC-McMaster.
features
    Image transformers (local binary patterns, ...).
evaluation
    Subject-wise evaluation reports.
utils
    Image input, validation and the image-estimator check suite.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
