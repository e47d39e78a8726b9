"""A pipeline whose samplers resample ``groups`` and the other per-sample fit parameters.

:class:`Pipeline` is :class:`imblearn.pipeline.Pipeline` (samplers applied
during ``fit`` only) with the fit parameters of the steps after a sampler --
``groups`` for a network's subject-wise validation split or a grouped
cross-validation, ``sample_weight`` -- resampled with X and y.
"""

from ._pipeline import Pipeline, make_pipeline

__all__ = ["Pipeline", "make_pipeline"]
