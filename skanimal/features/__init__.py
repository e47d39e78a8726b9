"""Image transformers that turn face images into feature vectors."""

from ._lbp import LBP_SETTINGS, LBPFeatures, lbp_n_bins, make_lbp_svm

__all__ = ["LBP_SETTINGS", "LBPFeatures", "lbp_n_bins", "make_lbp_svm"]

from ._cache import CacheError, EmbeddingCache, default_cache_dir, image_keys, namespace_id

__all__ += ["CacheError", "EmbeddingCache", "default_cache_dir", "image_keys", "namespace_id"]

from ._backbones import (
    BACKBONES,
    BackboneSpec,
    WeightsUnavailableError,
    build_meta_model,
    check_weights_available,
    load_backbone,
    resolve_backbone,
    weights_id,
)

__all__ += [
    "BACKBONES",
    "BackboneSpec",
    "WeightsUnavailableError",
    "build_meta_model",
    "check_weights_available",
    "load_backbone",
    "resolve_backbone",
    "weights_id",
]

from ._deep import FEATURE_CODE_VERSION, DeepFeatures

__all__ += ["FEATURE_CODE_VERSION", "DeepFeatures"]
