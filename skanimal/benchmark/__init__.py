"""The benchmark suite: every method, evaluated subject-wise on the same data."""

from ._suite import BenchmarkMethod, default_methods, run_benchmark

__all__ = ["BenchmarkMethod", "default_methods", "run_benchmark"]
