"""Target transformers."""

__all__ = []
