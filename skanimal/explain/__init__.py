"""Explanations: EigenCAM and attention heat maps over face images."""

from ._attention import overlay, overlay_attention, plot_attention_grid, plot_explanations
from ._eigencam import eigencam

__all__ = [
    "eigencam",
    "overlay",
    "overlay_attention",
    "plot_attention_grid",
    "plot_explanations",
]
