"""Neural networks trained end to end on face images (skorch + timm)."""

from ._base import ImageNetMixin, resolve_device
from ._data import GroupValidSplit, ImageDataset, make_transforms

__all__ = [
    "GroupValidSplit",
    "ImageDataset",
    "ImageNetMixin",
    "make_transforms",
    "resolve_device",
]

from ._finetune import (
    FINETUNE_PRESETS,
    FineTunedClassifier,
    FineTunedRegressor,
    StagedUnfreezer,
    backbone_stages,
)

__all__ += [
    "FINETUNE_PRESETS",
    "FineTunedClassifier",
    "FineTunedRegressor",
    "StagedUnfreezer",
    "backbone_stages",
]

from ._painseeker import PainSeekerClassifier, PainSeekerModule, prsc_loss

__all__ += ["PainSeekerClassifier", "PainSeekerModule", "prsc_loss"]
