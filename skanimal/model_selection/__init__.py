"""Subject-wise hyper-parameter search with Optuna."""

__all__ = []
