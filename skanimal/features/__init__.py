"""Image transformers that turn face images into feature vectors."""

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
from ._cache import (
    CacheError,
    CacheWarning,
    EmbeddingCache,
    default_cache_dir,
    image_keys,
    namespace_id,
)
from ._deep import FEATURE_CODE_VERSION, DeepFeatures
from ._lbp import LBP_SETTINGS, LBPFeatures, lbp_n_bins, make_lbp_svm

__all__ = [
    "BACKBONES",
    "FEATURE_CODE_VERSION",
    "LBP_SETTINGS",
    "BackboneSpec",
    "CacheError",
    "CacheWarning",
    "DeepFeatures",
    "EmbeddingCache",
    "LBPFeatures",
    "WeightsUnavailableError",
    "build_meta_model",
    "check_weights_available",
    "default_cache_dir",
    "image_keys",
    "lbp_n_bins",
    "load_backbone",
    "make_lbp_svm",
    "namespace_id",
    "resolve_backbone",
    "weights_id",
]
