"""The benchmark suite: every method, evaluated subject-wise on the same data."""

from ._suite import (
    PROBE_BACKBONES,
    RESULT_FILES,
    BenchmarkMethod,
    ResultsFolderError,
    check_benchmark_data,
    check_results_folder,
    default_methods,
    linear_probe_methods,
    network_methods,
    run_benchmark,
    search_methods,
    write_results,
)

__all__ = [
    "PROBE_BACKBONES",
    "RESULT_FILES",
    "BenchmarkMethod",
    "ResultsFolderError",
    "check_benchmark_data",
    "check_results_folder",
    "default_methods",
    "linear_probe_methods",
    "network_methods",
    "run_benchmark",
    "search_methods",
    "write_results",
]
