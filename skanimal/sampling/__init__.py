"""Class-imbalance samplers that work on image paths, image arrays and embeddings."""

__all__ = []
