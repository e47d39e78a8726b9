"""Neural networks trained end to end on face images (skorch + timm)."""

from ._base import ImageNetMixin, resolve_device
from ._data import GroupValidSplit, ImageDataset, make_transforms
from ._finetune import (
    FINETUNE_PRESETS,
    FineTunedClassifier,
    FineTunedRegressor,
    StagedUnfreezer,
    backbone_stages,
)
from ._painseeker import PainSeekerClassifier, PainSeekerModule, prsc_loss

__all__ = [
    "FINETUNE_PRESETS",
    "FineTunedClassifier",
    "FineTunedRegressor",
    "GroupValidSplit",
    "ImageDataset",
    "ImageNetMixin",
    "PainSeekerClassifier",
    "PainSeekerModule",
    "StagedUnfreezer",
    "backbone_stages",
    "make_transforms",
    "prsc_loss",
    "resolve_device",
]
