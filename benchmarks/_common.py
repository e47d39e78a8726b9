"""House helpers of the benchmark scripts: results files, printed tables, run metadata.

Every script imports them from here (``sys.path`` holds this folder when a
script runs), so that each does its job once.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_atomic(path, text):
    """Write ``text`` to ``path`` atomically (folders created)."""
    from skanimal.utils._io import write_text_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)


def print_rows(title, rows):
    """Print rows (dicts with the same keys) as a right-aligned table."""
    header = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print(f"\n== {title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).rjust(w) for h, w in zip(header, widths)))
    sys.stdout.flush()


def run_meta(args, **extra):
    """The machine, library versions and arguments of a run, with the load average.

    ``extra`` adds keys, e.g. other libraries' versions or the target.
    """
    import torch

    return {
        "load_average_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        **extra,
        "args": vars(args),
        "weights": "random (weights=None): timing does not depend on the weights",
    }


def finish(results, output, t0):
    """Record the run's total time and final load average, write the JSON, say where."""
    results["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    results["meta"]["load_average_end"] = os.getloadavg()
    out = Path(output)
    write_atomic(out, json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten to {out} ({results['meta']['total_s']} s)")
    return results
