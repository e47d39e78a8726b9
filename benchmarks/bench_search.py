"""Benchmark SubjectSearchCV: a 100-trial linear-probe search against one extraction.

Usage::

    python benchmarks/bench_search.py [--n-images 300] [--n-trials 100] [--cv 5]
        [--backbone resnet18] [--image-size 128] [--batch-size 16]

Issue 5 asks that, thanks to the embedding cache, a 100-trial search over a
linear probe costs about one extraction pass. On ``--n-images`` PNG files of
the built-in data (:func:`skanimal.datasets.make_grimace_faces`, 6 subjects)
this measures, in one run:

1. **cold** -- one extraction, ``DeepFeatures(backbone, weights=None,
   cache=False).fit_transform(paths)`` (model building included);
2. **search** -- ``SubjectSearchCV(make_pipeline(DeepFeatures(backbone,
   cache=<empty folder>), StandardScaler(), LogisticRegression()), {C,
   class_weight},
   n_trials=--n-trials, cv=GroupKFold(--cv))`` from an empty cache: the first
   trial embeds every image once, the others read the cache;
3. **where the time goes** -- the search's own per-trial parts (Optuna's
   sampler and bookkeeping, the folds' ``fit`` and ``score`` from
   ``cv_results_``, the refit) and micro-timings of what one fold does: the
   content keys of the files, a cache read, ``DeepFeatures.fit``, a
   ``LogisticRegression`` fit on the embeddings;
4. **precomputed** -- the same search on the embeddings computed once (the
   floor a search cannot beat: sampler + ``LogisticRegression`` fits).

Backbones use random weights (``weights=None``): timing does not depend on the
weights. Results go to ``benchmarks/results/bench_search.json``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish, run_meta  # noqa: E402  (house helpers)
from _common import print_rows as _print_rows  # noqa: E402


def _quiet():
    import optuna

    warnings.filterwarnings("ignore", message="Backbone .* random weights")
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_pngs(folder, n, image_size):
    """``n`` PNG files of the built-in cartoon rat faces; (paths, y, groups)."""
    from PIL import Image

    from skanimal.datasets import make_grimace_faces

    faces = make_grimace_faces(6, n_samples=n, image_size=image_size, random_state=0)
    paths = []
    for i, img in enumerate(faces.images):
        p = Path(folder) / f"face_{i:04d}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    return np.asarray(paths, dtype=object), faces.target, faces.groups


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _median_time(fn, repeats=7):
    times = []
    for _ in range(repeats):
        t, _ = _timed(fn)
        times.append(t)
    return statistics.median(times)


def _space():
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    return {
        "logisticregression__C": FloatDistribution(1e-4, 1e2, log=True),
        "logisticregression__class_weight": CategoricalDistribution([None, "balanced"]),
    }


def bench(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skanimal.features import DeepFeatures, EmbeddingCache, image_keys
    from skanimal.model_selection import SubjectSearchCV

    out = {}
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-search-") as folder:
        paths, y, groups = make_pngs(folder, args.n_images, args.image_size)
        deep_kw = dict(weights=None, verbose=0, batch_size=args.batch_size)

        # 1. one cold extraction
        t_cold, emb = _timed(lambda: DeepFeatures(args.backbone, cache=False, **deep_kw)
                             .fit_transform(paths))

        # 2. the search from an empty cache
        cache_dir = Path(folder) / "cache"
        trial_ends = []
        # the linear_probe preset's pipeline: standardised features converge fast
        pipe = make_pipeline(DeepFeatures(args.backbone, cache=cache_dir, **deep_kw),
                             StandardScaler(), LogisticRegression(max_iter=1000))
        search = SubjectSearchCV(pipe, _space(), n_trials=args.n_trials,
                                 cv=GroupKFold(args.cv), random_state=0,
                                 callbacks=[lambda s, t: trial_ends.append(
                                     time.perf_counter())])
        start = time.perf_counter()
        search.fit(paths, y, groups=groups)
        t_search = time.perf_counter() - start
        cv = search.cv_results_
        n_folds = search.n_splits_
        fold_fit = np.asarray(cv["mean_fit_time"]) * n_folds
        fold_score = np.asarray(cv["mean_score_time"]) * n_folds
        per_trial = np.diff([start] + trial_ends)
        inside = fold_fit + fold_score
        first = {"trial_s": per_trial[0], "folds_s": inside[0]}
        rest = slice(1, None)
        out["search"] = {
            "n_images": len(paths),
            "n_subjects": int(len(np.unique(groups))),
            "n_trials": int(search.n_trials_),
            "n_splits": n_folds,
            "cold_extraction_s": round(t_cold, 2),
            "search_s": round(t_search, 2),
            "ratio_search_to_cold": round(t_search / t_cold, 3),
            "first_trial_s": round(first["trial_s"], 2),
            "other_trials_s": round(float(per_trial[rest].sum()), 2),
            "other_trials_mean_ms": round(1e3 * float(per_trial[rest].mean()), 1),
            "other_trials_folds_fit_ms": round(1e3 * float(fold_fit[rest].mean()), 1),
            "other_trials_folds_score_ms": round(1e3 * float(fold_score[rest].mean()), 1),
            "other_trials_optuna_ms": round(
                1e3 * float((per_trial[rest] - inside[rest]).mean()), 1),
            "refit_s": round(search.refit_time_, 3),
            "best_score": round(search.best_score_, 3),
        }

        # 3. what one fold does, in isolation (warm cache)
        train = np.flatnonzero(groups != groups[0])
        fitted = DeepFeatures(args.backbone, cache=cache_dir, **deep_kw).fit(paths[train])
        cache = EmbeddingCache(cache_dir)
        keys = image_keys(paths[train])
        feats = fitted.transform(paths[train])
        out["fold_parts_ms"] = {
            "n_train_images": int(len(train)),
            "image_keys": round(1e3 * _median_time(lambda: image_keys(paths[train])), 2),
            "cache_get_many": round(1e3 * _median_time(
                lambda: cache.get_many(fitted.cache_namespace_, keys)), 2),
            "deepfeatures_fit": round(1e3 * _median_time(
                lambda: DeepFeatures(args.backbone, cache=cache_dir, **deep_kw)
                .fit(paths[train])), 2),
            "deepfeatures_transform_warm": round(1e3 * _median_time(
                lambda: fitted.transform(paths[train])), 2),
            "scaler_and_logistic_regression_fit": round(1e3 * _median_time(
                lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                .fit(feats, y[train])), 2),
        }

        # 4. the floor: the same search on embeddings computed once
        floor = SubjectSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), _space(),
            n_trials=args.n_trials, cv=GroupKFold(args.cv), random_state=0)
        t_floor, _ = _timed(lambda: floor.fit(emb, y, groups=groups))
        out["precomputed"] = {
            "search_on_embeddings_s": round(t_floor, 2),
            "ratio_to_cold": round(t_floor / t_cold, 3),
            "same_best_score": bool(np.isclose(floor.best_score_, search.best_score_,
                                               atol=1e-6)),
        }
    for title, row in out.items():
        _print_rows(title, [row])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=300)
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--cv", type=int, default=5, help="inner GroupKFold splits")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=128,
                        help="size of the generated face images")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--output", default=str(RESULTS / "bench_search.json"))
    args = parser.parse_args(argv)
    _quiet()

    import optuna
    import sklearn

    results = {"meta": run_meta(args, optuna=optuna.__version__,
                                sklearn=sklearn.__version__)}
    t0 = time.perf_counter()
    results.update(bench(args))
    return finish(results, args.output, t0)


if __name__ == "__main__":
    main()
