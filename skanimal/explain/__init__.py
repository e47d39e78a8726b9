"""Explanations: attention heat maps over face images."""

from ._attention import overlay_attention, plot_attention_grid

__all__ = ["overlay_attention", "plot_attention_grid"]
