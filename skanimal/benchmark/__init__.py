"""The benchmark suite: every method, evaluated subject-wise on the same data."""

from ._suite import (
    PROBE_BACKBONES,
    BenchmarkMethod,
    default_methods,
    linear_probe_methods,
    network_methods,
    run_benchmark,
    search_methods,
)

__all__ = [
    "PROBE_BACKBONES",
    "BenchmarkMethod",
    "default_methods",
    "linear_probe_methods",
    "network_methods",
    "run_benchmark",
    "search_methods",
]
