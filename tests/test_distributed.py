"""skanimal on a Dask cluster through joblib's Dask backend.

One two-process ``LocalCluster`` for the module (starting it and importing
torch in its workers costs seconds); every test runs under
``joblib.parallel_config(backend="dask")`` and compares with the same work
done locally. What ran on the cluster is read from its task stream (one
record per task, with the worker that ran it) and from the workers'
processes themselves (``client.run``).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import logging
import pickle
import re
from collections import Counter

import joblib
import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from skanimal.benchmark import BenchmarkMethod, run_benchmark
from skanimal.datasets import make_grimace_faces
from skanimal.evaluation import subject_report
from skanimal.features import DeepFeatures, EmbeddingCache, LBPFeatures, image_keys
from skanimal.utils._folds import stateless_head

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'skanimal[distributed]')")

# one cluster for the module: its tests stay in one xdist worker
pytestmark = [pytest.mark.xdist_group("dask_cluster"),
              pytest.mark.filterwarnings("ignore:Backbone .test_vit. is built with random")]

N_WORKERS = 2
# a cheap frozen network: random weights, 32 px, 4 images per batch; a ViT, whose
# embeddings are bit-equal across torch thread counts here (a CNN's differ by ~1e-8)
DEEP = {"backbone": "test_vit", "weights": None, "image_size": 32, "batch_size": 4,
        "verbose": 0}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """36 small PNG faces of 6 rats (paths, labels, subjects)."""
    data = make_grimace_faces(n_samples=36, image_size=40, random_state=0)
    folder = tmp_path_factory.mktemp("faces")
    paths = []
    for i, image in enumerate(data.images):
        path = folder / f"face{i:02d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return np.asarray(paths, dtype=object), data.target, data.groups


def _on_cluster(client):
    """A context under which joblib (and so skanimal) sends its tasks to `client`."""
    return joblib.parallel_config(backend="dask")


def _calls(task_stream, function):
    """{worker: calls of `function`} in a task stream (joblib batches calls into tasks)."""
    calls = Counter()
    for task in task_stream.data:
        found = re.search(rf"batch_of_{function}_(\d+)_calls", task["key"])
        if found:
            calls[task["worker"]] += int(found.group(1))
    return calls


def _worker_builds(client):
    """Networks built in each worker process, per configuration."""
    def builds():
        from skanimal.features import _deep

        return dict(_deep._WORKER_BUILDS)

    return client.run(builds)


def test_deep_features_on_cluster_equal_local(client, faces, tmp_path):
    paths = faces[0]
    local = DeepFeatures(**DEEP, cache=False, n_jobs=1).fit_transform(paths)
    cache = EmbeddingCache(tmp_path / "cache")
    with _on_cluster(client), distributed.get_task_stream(client) as cold:
        deep = DeepFeatures(**DEEP, cache=cache, n_jobs=2).fit(paths)
        embedded = deep.transform(paths)
    np.testing.assert_array_equal(embedded, local)
    # every worker embedded some shards, one network built per worker process
    shards = _calls(cold, "_embed_shard")
    assert set(shards) == set(client.scheduler_info()["workers"])
    assert sum(shards.values()) == deep._last_extraction["n_shards"] > N_WORKERS
    assert sorted(deep._last_extraction["worker_builds"].values()) == [1] * N_WORKERS
    assert deep._last_extraction["n_computed"] == len(paths)
    # the client wrote the cache: all of X is there, equal to the local embeddings
    stored = cache.get_many(deep.cache_namespace_, image_keys(paths))
    np.testing.assert_array_equal(np.stack(stored), local)

    # a second cold extraction reuses each worker's network
    with _on_cluster(client):
        again = DeepFeatures(**DEEP, cache=False, n_jobs=2).fit_transform(paths)
    np.testing.assert_array_equal(again, local)
    for per_config in _worker_builds(client).values():
        assert set(per_config.values()) == {1}

    # warm: every image cached, nothing is sent to the cluster
    with _on_cluster(client), distributed.get_task_stream(client) as warm:
        deep = DeepFeatures(**DEEP, cache=cache, n_jobs=2).fit(paths)
        np.testing.assert_array_equal(deep.transform(paths), local)
    assert warm.data == []
    assert deep._last_extraction["n_computed"] == 0


def test_subject_report_on_cluster_equal_local(client, faces):
    paths, y, groups = faces
    pipe = make_pipeline(DeepFeatures(**DEEP, cache=False, n_jobs=1),
                         LogisticRegression(C=10.0, max_iter=500))
    local, local_predictions = subject_report(pipe, paths, y, groups, return_predictions=True)

    pipe.set_params(deepfeatures__n_jobs=2)
    with _on_cluster(client), distributed.get_task_stream(client) as once:
        DeepFeatures(**DEEP, cache=False, n_jobs=2).fit_transform(paths)
    with _on_cluster(client), distributed.get_task_stream(client) as stream:
        report, predictions = subject_report(pipe, paths, y, groups, return_predictions=True)
    assert report.equals(local)
    assert predictions.equals(local_predictions)
    # the images were embedded once, as by one transform of X, not once per fold
    embedded = _calls(stream, "_embed_shard")
    assert sum(embedded.values()) == sum(_calls(once, "_embed_shard").values())
    assert set(embedded) == set(client.scheduler_info()["workers"])
    # the six folds (one per rat) were fitted on the cluster
    assert sum(_calls(stream, "_fit_and_save").values()) == len(np.unique(groups)) == 6


def test_run_benchmark_on_cluster_equal_local(client, faces):
    paths, y, groups = faces
    methods = [BenchmarkMethod("LBP", LinearSVC(), features=LBPFeatures(grid=2, n_jobs=2))]
    local = run_benchmark(methods, paths, y, groups, cv=3, verbose=0)
    with _on_cluster(client), distributed.get_task_stream(client) as stream:
        on_cluster = run_benchmark(methods, paths, y, groups, cv=3, n_jobs=2, verbose=0)
    assert on_cluster["LBP"].equals(local["LBP"])
    assert sum(_calls(stream, "_fit_and_save").values()) == 3
    assert sum(_calls(stream, "_counts").values()) > 0  # LBP codes computed by the workers


def test_fitted_transformer_pickles_without_its_cache_connection(faces, tmp_path):
    paths = faces[0][:4]
    deep = DeepFeatures(**DEEP, cache=EmbeddingCache(tmp_path / "cache")).fit(paths)
    expected = deep.transform(paths)
    assert deep.cache_._conn is not None  # the cache is open in this process
    shipped = pickle.loads(pickle.dumps(deep))
    assert shipped.cache_._conn is None and shipped._model is None
    assert shipped.cache_.path == deep.cache_.path
    np.testing.assert_array_equal(shipped.transform(paths), expected)  # from the cache


def test_stateless_head_splits_only_stateless_leading_steps():
    deep, lbp = DeepFeatures(**DEEP), LBPFeatures(grid=2)
    pipe = make_pipeline(deep, LogisticRegression())
    head, rest = stateless_head(pipe)
    assert head is deep and rest.steps == pipe.steps[1:]
    assert stateless_head(make_pipeline(lbp, LinearSVC()))[0] is lbp
    # the step has fit parameters, a subclass may learn, a lone step or no pipeline
    assert stateless_head(pipe, {"deepfeatures__x": 1}) == (None, pipe)
    assert stateless_head(pipe, {"logisticregression__sample_weight": 1})[0] is deep

    class Learning(LBPFeatures):
        pass

    other = make_pipeline(Learning(), LinearSVC())
    assert stateless_head(other) == (None, other)
    assert stateless_head(make_pipeline(lbp))[0] is None
    assert stateless_head(LinearSVC())[0] is None
