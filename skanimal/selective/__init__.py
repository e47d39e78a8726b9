"""Selective prediction: abstaining classifiers, their metrics and human agreement."""

__all__ = []
