"""Class-imbalance samplers that work on image paths, image arrays and embeddings.

imbalanced-learn's own samplers need a 2-D table: use them after a feature
step (``make_pipeline(DeepFeatures(...), SMOTE(), LogisticRegression())``).
The samplers here pick and copy *rows*, so they also work before a feature
step or a network, on 1-D arrays of image paths and on image arrays; their
oversampled copies of files are :class:`AugmentedImage` values, read lazily
by every skanimal reader. Each records ``sample_indices_`` (the source row of
every output row), so :class:`skanimal.pipeline.Pipeline` passes the steps
after it ``groups`` (and other per-sample fit parameters) resampled with X
and y: a copy keeps the subject of its source.
"""

from ._augmented import AugmentedImage
from ._samplers import AUGMENTATIONS, AugmentingOverSampler, RandomFractionUnderSampler
from ._schemes import PAPER_SAMPLERS, SamplerChain, make_paper_sampler

__all__ = [
    "AUGMENTATIONS",
    "PAPER_SAMPLERS",
    "AugmentedImage",
    "AugmentingOverSampler",
    "RandomFractionUnderSampler",
    "SamplerChain",
    "make_paper_sampler",
]
