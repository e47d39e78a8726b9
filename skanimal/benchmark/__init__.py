"""The benchmark suite: every method, evaluated subject-wise on the same data."""

# the protocols register in the order of the CLI's PROTOCOL_NAMES
# isort: off
from . import _proto_painseeker  # noqa: F401  (registers the protocol)
from . import _proto_dog  # noqa: F401  (registers the protocol)
from . import _proto_amgs  # noqa: F401  (registers the protocol)
from . import _proto_unbc  # noqa: F401  (registers the protocol)
# isort: on
from ._papers import PAPER_RESULTS, compare_with_paper, paper_results
from ._protocol import (
    PROTOCOLS,
    Protocol,
    ProtocolRun,
    dataset_fingerprint,
    register_protocol,
    run_protocol,
)
from ._report import confusion_figure, figure_png, render_report, subject_bars_figure
from ._suite import (
    PROBE_BACKBONES,
    RESULT_FILES,
    SUBSTITUTE_TRUNK,
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
from ._train import train_model

__all__ = [
    "PAPER_RESULTS",
    "PROBE_BACKBONES",
    "PROTOCOLS",
    "RESULT_FILES",
    "SUBSTITUTE_TRUNK",
    "BenchmarkMethod",
    "Protocol",
    "ProtocolRun",
    "compare_with_paper",
    "confusion_figure",
    "dataset_fingerprint",
    "figure_png",
    "paper_results",
    "register_protocol",
    "render_report",
    "run_protocol",
    "subject_bars_figure",
    "ResultsFolderError",
    "check_benchmark_data",
    "check_results_folder",
    "default_methods",
    "linear_probe_methods",
    "network_methods",
    "run_benchmark",
    "search_methods",
    "train_model",
    "write_results",
]
