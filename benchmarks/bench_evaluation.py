"""Benchmark the evaluation core: what the fold engine costs, and abstention's price.

Usage::

    python benchmarks/bench_evaluation.py [--n-images 120] [--epochs 2] [--repeats 3]

Issue 9 gave skanimal one fold engine behind ``subject_report``,
``ConfidenceThresholdClassifierCV`` and ``SubjectSearchCV``, and asked that a
network's inference run once per held-out image when the report abstains.
On ``--n-images`` PNG files of the built-in data (6 subjects, leave one out)
this measures, in one run, as ratios:

1. **engine overhead** -- ``subject_report(LogisticRegression())`` on 2-D
   features against scikit-learn's ``cross_val_predict`` over the same folds
   plus the pooled F1 (the floor: fits, predictions and one metric);
2. **abstention's price** -- ``subject_report(net, abstain_threshold=0.75)``
   against ``subject_report(net)`` for a skorch network (``FineTunedClassifier``
   on timm's ``test_resnet``, random weights), with the images passed through
   the network counted: one pass per held-out image for both (before the
   engine, abstention ran ``predict`` and then ``predict_proba``: two).

Results go to ``benchmarks/results/bench_evaluation.json``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_rows as _print_rows  # noqa: E402  (house helpers)
from _common import write_atomic  # noqa: E402
from bench_search import make_pngs  # noqa: E402


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _engine_overhead(n, repeats):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    from skanimal.evaluation import subject_report

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), n // 6)
    y = rng.integers(0, 2, groups.size)
    X = rng.normal(size=(groups.size, 64)) + y[:, None] * 0.3
    model = LogisticRegression(max_iter=500)

    def floor():
        pred = cross_val_predict(model, X, y, groups=groups, cv=LeaveOneGroupOut())
        return f1_score(y, pred)

    t_floor = _median_time(floor, repeats)
    t_report = _median_time(lambda: subject_report(model, X, y, groups), repeats)
    assert subject_report(model, X, y, groups).loc["pooled", "f1"] == floor()
    return {"case": "LogisticRegression, 2-D", "cross_val_predict + f1 (s)": round(t_floor, 3),
            "subject_report (s)": round(t_report, 3), "ratio": round(t_report / t_floor, 2)}


class _Counted:
    """Count the images a skorch net runs inference on (eval mode)."""

    n = 0


def _counting_net(epochs):
    from skanimal.nets import FineTunedClassifier

    class CountingNet(FineTunedClassifier):
        def infer(self, x, **fit_params):
            if not self.module_.training:
                _Counted.n += len(x)
            return super().infer(x, **fit_params)

    return CountingNet("test_resnet", weights=None, image_size=64, train_resize=72,
                       max_epochs=epochs, batch_size=16, train_split=None, verbose=0,
                       random_state=0)


def _abstention_price(paths, y, groups, epochs, repeats):
    from skanimal.evaluation import subject_report

    net = _counting_net(epochs)
    rows = []
    for label, kwargs in (("plain", {}), ("abstain_threshold=0.75", {"abstain_threshold": 0.75})):
        _Counted.n = 0
        subject_report(net, paths, y, groups, **kwargs)
        per_image = _Counted.n / len(paths)
        seconds = _median_time(lambda kw=kwargs: subject_report(net, paths, y, groups, **kw),
                               repeats)
        rows.append({"report": label, "inference passes per image": per_image,
                     "seconds": round(seconds, 2)})
    rows[1]["ratio to plain"] = round(rows[1]["seconds"] / rows[0]["seconds"], 2)
    rows[0]["ratio to plain"] = 1.0
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-images", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Backbone .* random weights")

    engine = _engine_overhead(args.n_images, args.repeats)
    _print_rows("fold engine against cross_val_predict", [engine])
    with tempfile.TemporaryDirectory() as folder:
        paths, y, groups = make_pngs(folder, args.n_images, 64)
        price = _abstention_price(paths, y, groups, args.epochs, args.repeats)
    _print_rows("abstention with a skorch network", price)
    write_atomic(RESULTS / "bench_evaluation.json", json.dumps({
        "machine": platform.platform(), "args": vars(args),
        "engine_overhead": engine, "abstention": price,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
