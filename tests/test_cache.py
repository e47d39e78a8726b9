"""The embedding cache: content keys, the SQLite store, and its use from many processes.

Everything here runs on real files, a real SQLite database and real processes
(started with ``subprocess``, so they share nothing with the test process but
the cache directory).
"""

import ast
import json
import os
import pathlib
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanimal.features import (
    EmbeddingCache,
    _cache,
    default_cache_dir,
    image_keys,
    namespace_id,
)
from skanimal.features._cache import DEFAULT_CACHE_ENV, CacheError
from skanimal.utils import ImageReadError

needs_posix = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL and fork()")


def _integrity(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


# Child processes import the cache module alone: ``skanimal.features`` also
# imports torch and timm, which would make each child start 5x slower. The
# module, and the pickled class path ``skanimal.features._cache``, are the same.
_CHILD_PREAMBLE = f"""
import sys, types
features = types.ModuleType("skanimal.features")
features.__path__ = [{os.path.dirname(_cache.__file__)!r}]
sys.modules["skanimal.features"] = features
from skanimal.features._cache import EmbeddingCache, image_keys, namespace_id
"""


def _python(code, *args):
    """Start ``python -c code args...`` with the interpreter running the tests."""
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD_PREAMBLE + textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{err}"
    return out


def _exact_values(idx, dim):
    """Values that float32 holds exactly and that any process recomputes bitwise."""
    idx = np.asarray(idx, dtype=np.int64)
    return (idx[:, None] * dim + np.arange(dim)).astype(np.float32)


# ----------------------------------------------------------------------------
# the store in one process


def test_round_trip_is_bitwise_and_misses_are_none(tmp_path):
    rng = np.random.default_rng(0)
    # every float32 bit pattern class: NaNs with payloads, infinities, -0, subnormals
    bits = rng.integers(0, 2**32, size=(50, 24), dtype=np.uint64).astype(np.uint32)
    bits[0, :4] = [0x7FC00001, 0xFF800000, 0x80000000, 0x00000001]
    values = bits.view(np.float32)
    keys = [f"key{i}" for i in range(50)]
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", keys[:40], values[:40])

    request = ["key39", "nope", "key0", "key45", "key0"]
    got = cache.get_many("ns", request)
    assert got[1] is None and got[3] is None
    for k, g in zip(request, got):
        if g is not None:
            i = int(k[3:])
            assert g.dtype == np.float32 and g.shape == (24,)
            np.testing.assert_array_equal(g.view(np.uint32), bits[i])
    got[0][:] = 0  # returned vectors are writable copies ...
    again = cache.get_many("ns", ["key39"])[0]  # ... that do not alias the store
    np.testing.assert_array_equal(again.view(np.uint32), bits[39])

    # a fresh process-level connection reads the same bits back
    cache.close()
    fresh = EmbeddingCache(tmp_path).get_many("ns", keys)
    assert fresh[40:] == [None] * 10
    np.testing.assert_array_equal(np.stack(fresh[:40]).view(np.uint32), bits[:40])


def test_values_are_stored_as_float32(tmp_path):
    cache = EmbeddingCache(tmp_path)
    values = np.random.default_rng(1).standard_normal((3, 5))  # float64
    cache.put_many("ns", ["a", "b", "c"], values)
    np.testing.assert_array_equal(np.stack(cache.get_many("ns", ["a", "b", "c"])),
                                  values.astype(np.float32))


def test_existing_entries_are_kept(tmp_path):
    """Equal namespace and key mean equal content: the first value stays."""
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", ["a", "b"], np.array([[1.0, 1.0], [2.0, 2.0]]))
    cache.put_many("ns", ["b", "c", "c"], np.array([[9.0, 9.0], [3.0, 3.0], [7.0, 7.0]]))
    got = cache.get_many("ns", ["a", "b", "c"])
    assert [g.tolist() for g in got] == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    assert cache.info()["n_entries"].tolist() == [3]


def test_namespaces_isolate_and_store_their_config(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cfg_a = {"backbone": "resnet18", "pooling": "avg", "size": (224, 224)}
    cfg_b = {"backbone": "test_vit", "pooling": "cls"}
    ns_a, ns_b = namespace_id(cfg_a), namespace_id(cfg_b)
    before = pd.Timestamp.now(tz="UTC")
    cache.put_many(ns_a, ["k1", "k2", "k3"], np.ones((3, 8)), config=cfg_a)
    cache.put_many(ns_b, ["k1"], np.full((1, 16), 2.0), config=cfg_b)

    assert cache.get_many(ns_a, ["k1"])[0].tolist() == [1.0] * 8
    assert cache.get_many(ns_b, ["k1", "k2"])[0].tolist() == [2.0] * 16
    assert cache.get_many(ns_b, ["k2"]) == [None]
    assert cache.get_many("other", ["k1"]) == [None]

    info = cache.info()
    assert info.columns.tolist() == ["namespace", "config", "n_entries", "n_bytes",
                                     "dim", "created", "last_used"]
    info = info.set_index("namespace")
    assert info.loc[ns_a, "n_entries"] == 3 and info.loc[ns_b, "n_entries"] == 1
    assert info.loc[ns_a, "dim"] == 8 and info.loc[ns_b, "dim"] == 16
    assert info.loc[ns_a, "n_bytes"] == 3 * 8 * 4 and info.loc[ns_b, "n_bytes"] == 16 * 4
    assert json.loads(info.loc[ns_a, "config"]) == {**cfg_a, "size": [224, 224]}
    assert json.loads(info.loc[ns_b, "config"]) == cfg_b
    assert (info["created"] >= before).all()
    assert (info["created"] <= info["last_used"]).all()
    assert info.attrs["path"] == str(cache.db_path)
    assert info.attrs["file_bytes"] >= 24 * 4

    # a later write refreshes last_used but not created, and adds to the count
    cache.put_many(ns_a, ["k4"], np.zeros((1, 8)))
    later = cache.info().set_index("namespace")
    assert later.loc[ns_a, "created"] == info.loc[ns_a, "created"]
    assert later.loc[ns_a, "last_used"] > info.loc[ns_a, "last_used"]
    assert later.loc[ns_a, "n_entries"] == 4
    # a read from another instance marks the namespace used too
    EmbeddingCache(tmp_path).get_many(ns_b, ["k1"])
    assert cache.info().set_index("namespace").loc[ns_b, "last_used"] > \
        info.loc[ns_b, "last_used"]


def test_config_and_dim_are_checked_per_namespace(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", ["a"], np.zeros((1, 4)))  # no config yet
    cache.put_many("ns", ["b"], np.zeros((1, 4)), config={"m": 1})  # recorded now
    assert json.loads(cache.info().loc[0, "config"]) == {"m": 1}
    with pytest.raises(ValueError, match="'ns'.*different config"):
        cache.put_many("ns", ["c"], np.zeros((1, 4)), config={"m": 2})
    with pytest.raises(ValueError, match="'ns'.*dim 4.*dim 5"):
        cache.put_many("ns", ["c"], np.zeros((1, 5)))
    assert cache.get_many("ns", ["c"]) == [None]  # failed calls wrote nothing


@pytest.mark.parametrize(
    "keys, values, error, match",
    [
        (["a", "b"], np.zeros((3, 2)), ValueError, "3 rows but 2 keys"),
        (["a"], np.zeros(4), ValueError, "2-D"),
        (["a"], np.zeros((1, 0)), ValueError, "dim >= 1"),
        (["a"], np.array([["x", "y"]]), TypeError, "numeric"),
        ([1], np.zeros((1, 2)), TypeError, r"keys\[0\] is int"),
        ("ab", np.zeros((2, 2)), TypeError, "single str"),
    ],
)
def test_put_many_validates_its_input(tmp_path, keys, values, error, match):
    cache = EmbeddingCache(tmp_path / "c")
    with pytest.raises(error, match=match):
        cache.put_many("ns", keys, values)
    assert not (tmp_path / "c").exists()  # nothing created by a failed call


def test_bad_namespace_and_config_are_rejected(tmp_path):
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(TypeError, match="namespace"):
        cache.get_many("", ["a"])
    with pytest.raises(TypeError, match="JSON"):
        cache.put_many("ns", ["a"], np.zeros((1, 2)), config={"f": object()})
    with pytest.raises(ValueError, match="JSON"):
        cache.put_many("ns", ["a"], np.zeros((1, 2)), config={"f": float("nan")})
    with pytest.raises(TypeError, match="dict"):
        namespace_id(["not", "a", "dict"])


def test_clear_one_namespace_or_all(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("a", [f"k{i}" for i in range(4000)], np.ones((4000, 256)))
    cache.put_many("b", ["k0", "k1", "k2"], np.ones((3, 256)))
    cache.put_many("c", ["k0"], np.ones((1, 2)))
    size_full = cache.info().attrs["file_bytes"]  # database + write-ahead log
    assert size_full > 4000 * 256 * 4

    assert cache.clear("b") == 3
    assert cache.clear("b") == 0 and cache.clear("never-there") == 0
    assert cache.get_many("b", ["k0"]) == [None]
    assert cache.get_many("a", ["k0"])[0] is not None
    assert sorted(cache.info()["namespace"]) == ["a", "c"]

    assert cache.clear(vacuum=True) == 4001
    assert cache.info().empty
    assert cache.info().attrs["file_bytes"] < size_full / 4  # space given back
    assert cache.get_many("a", ["k0", "k3999"]) == [None, None]
    assert _integrity(cache.db_path) == [("ok",)]
    # the cleared cache is still usable, with a new dim for an old name
    cache.put_many("a", ["k0"], np.ones((1, 3)))
    assert cache.get_many("a", ["k0"])[0].tolist() == [1.0, 1.0, 1.0]


def test_reading_a_missing_cache_creates_nothing(tmp_path):
    root = tmp_path / "not" / "yet"
    cache = EmbeddingCache(root)
    assert cache.path == root
    assert cache.get_many("ns", ["a", "b"]) == [None, None]
    assert cache.info().empty
    assert list(cache.info().columns) == ["namespace", "config", "n_entries", "n_bytes",
                                          "dim", "created", "last_used"]
    assert cache.clear() == 0 and cache.clear("ns") == 0
    assert not (tmp_path / "not").exists()
    # an existing, empty directory stays empty too
    empty = EmbeddingCache(tmp_path)
    assert empty.get_many("ns", ["a"]) == [None]
    assert list(tmp_path.iterdir()) == []
    # the first write creates the directories and the database
    cache.put_many("ns", ["a"], np.zeros((1, 2)))
    assert cache.db_path.is_file() and cache.db_path.parent == root


def test_cache_path_must_be_a_directory(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="file.txt"):
        EmbeddingCache(f)
    assert f.read_text() == "x"


def test_default_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DEFAULT_CACHE_ENV, str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert EmbeddingCache().path == tmp_path / "here"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(DEFAULT_CACHE_ENV, "~/elsewhere")
    assert default_cache_dir() == tmp_path / "home" / "elsewhere"
    monkeypatch.delenv(DEFAULT_CACHE_ENV)
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "skanimal"
    monkeypatch.setenv(DEFAULT_CACHE_ENV, "")  # empty means unset
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "skanimal"
    assert not (tmp_path / "home").exists()  # never created by asking


def test_threads_share_one_cache(tmp_path):
    cache = EmbeddingCache(tmp_path)
    errors = []

    def work(t):
        try:
            for b in range(20):
                idx = np.arange(t * 100 + b * 10, t * 100 + b * 10 + 20)  # overlaps
                keys = [f"k{i}" for i in idx]
                cache.put_many("ns", keys, _exact_values(idx, 6))
                got = cache.get_many("ns", keys)
                np.testing.assert_array_equal(np.stack(got), _exact_values(idx, 6))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    idx = np.arange(3 * 100 + 19 * 10 + 20)  # the union of what the threads wrote
    got = cache.get_many("ns", [f"k{i}" for i in idx])
    np.testing.assert_array_equal(np.stack(got), _exact_values(idx, 6))
    assert cache.info()["n_entries"].tolist() == [len(idx)]


# ----------------------------------------------------------------------------
# keys


def _write_png(path, seed):
    img = np.random.default_rng(seed).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    Image.fromarray(img).save(path)
    return img


def test_file_keys_follow_content_not_name(tmp_path):
    a = tmp_path / "a.png"
    _write_png(a, 0)
    _write_png(tmp_path / "other.png", 1)
    key_a, key_other = image_keys([a, tmp_path / "other.png"])
    assert key_a != key_other and len(key_a) == 32
    int(key_a, 16)  # hexadecimal

    moved = tmp_path / "sub" / "renamed.png"
    moved.parent.mkdir()
    os.replace(a, moved)  # rename + move
    assert image_keys([str(moved)]) == [key_a]
    copy = tmp_path / "copy.png"
    copy.write_bytes(moved.read_bytes())
    assert image_keys(pd.Series([str(copy), str(moved)])) == [key_a, key_a]

    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    copy.write_bytes(bytes(data))
    assert image_keys([copy]) != [key_a]


def test_array_keys_follow_content(rng_images):
    imgs = rng_images[:3]
    keys = image_keys(imgs)
    assert len(set(keys)) == 3
    assert image_keys(imgs.copy()) == keys  # another array, same pixels
    flipped = np.ascontiguousarray(imgs[:, :, ::-1])
    assert image_keys(imgs[:, :, ::-1]) == image_keys(flipped)  # views hash their pixels
    edited = imgs.copy()
    edited[1, 5, 5, 0] ^= 1
    assert image_keys(edited) == [keys[0], image_keys(edited)[1], keys[2]]
    assert image_keys(edited)[1] != keys[1]
    # dtype and shape are part of the key
    assert image_keys(imgs / 255.0) != keys
    assert image_keys(imgs[..., :1])[0] != image_keys(imgs[..., 0])[0]


def test_a_file_and_its_array_have_different_keys(png_folder):
    paths, images = png_folder
    assert image_keys(paths[:2]) != image_keys(images[:2])


def test_key_errors_name_the_file(tmp_path):
    good = tmp_path / "good.png"
    _write_png(good, 0)
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError, match=r"missing\.png.*X\[1\]"):
        image_keys([good, missing])
    with pytest.raises(ImageReadError, match=r"X\[0\].*not a regular file"):
        image_keys([tmp_path])


def test_key_memo_uses_stat_and_sees_edits(tmp_path, monkeypatch):
    p = tmp_path / "img.png"
    _write_png(p, 0)
    size = p.stat().st_size
    # a file changed less than two seconds ago is hashed on every call ...
    first = image_keys([p])[0]
    assert not [k for k in _cache._KEY_MEMO if k[0] == str(p)]
    # ... older files are memoised by their stat (here every file counts as old)
    monkeypatch.setattr(_cache, "_RACY_NS", -1)
    assert image_keys([p]) == [first]
    memo = [k for k in _cache._KEY_MEMO if k[0] == str(p)]
    assert len(memo) == 1 and _cache._KEY_MEMO[memo[0]] == first
    # a memoised digest is served without reading the file again
    monkeypatch.setitem(_cache._KEY_MEMO, memo[0], "f" * 32)
    assert image_keys([p]) == ["f" * 32]

    # same size, new content, newer mtime: a new key, the one of that content
    st = p.stat()
    p.write_bytes(bytes(b ^ 0xFF for b in p.read_bytes()))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert p.stat().st_size == size
    edited = image_keys([p])[0]
    reference = tmp_path / "reference.bin"
    reference.write_bytes(p.read_bytes())
    assert edited not in (first, "f" * 32)
    assert edited == image_keys([reference])[0]
    # a different size invalidates too, even with the mtime put back
    st = p.stat()
    p.write_bytes(p.read_bytes() + b"\0")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert image_keys([p])[0] not in (first, edited)


def test_namespace_id_is_canonical():
    cfg = {"backbone": "resnet18", "layer": None, "size": [224, 224], "mean": 0.5}
    ns = namespace_id(cfg)
    assert len(ns) == 32 and int(ns, 16) >= 0
    assert namespace_id(dict(reversed(list(cfg.items())))) == ns
    assert namespace_id({**cfg, "size": (224, 224)}) == ns
    assert namespace_id({**cfg, "size": np.array([224, 224])}) == ns
    assert namespace_id({**cfg, "mean": np.float32(0.5)}) == ns
    assert namespace_id({**cfg, "mean": 0.5000001}) != ns
    assert namespace_id({**cfg, "layer": -2}) != ns


# ----------------------------------------------------------------------------
# many processes


WRITER = """
import json, os, sys, time
import numpy as np

root, start, stop, step, dim = sys.argv[1], *map(int, sys.argv[2:6])
ready, go = sys.argv[6:8]
cache = EmbeddingCache(root)
open(ready, "w").close()
deadline = time.time() + 60
while not os.path.exists(go):
    assert time.time() < deadline, "never started"
    time.sleep(0.001)
t0 = time.time()
for b in range(start, stop, step):
    idx = np.arange(min(b, b + step), max(b, b + step))
    vals = (idx[:, None] * dim + np.arange(dim)).astype(np.float32)
    cache.put_many("shared", [f"k{i}" for i in idx], vals, config={"dim": dim})
print(json.dumps([t0, time.time()]))
"""


def test_two_processes_write_the_same_cache_at_once(tmp_path):
    root = tmp_path / "cache"  # created by whichever process writes first
    dim, go = 32, tmp_path / "go"
    # A writes keys 0..2999 upwards, B 1500..4499 downwards: they meet twice
    specs = [(0, 3000, 5), (4500, 1500, -5)]  # 600 transactions each: a wide window
    procs = [_python(WRITER, root, *spec, dim, tmp_path / f"ready{i}", go)
             for i, spec in enumerate(specs)]
    deadline = time.time() + 90
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        assert time.time() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    go.touch()
    spans = [json.loads(_finish(p)) for p in procs]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), "writers did not overlap"

    cache = EmbeddingCache(root)
    idx = np.arange(4500)
    got = cache.get_many("shared", [f"k{i}" for i in idx])
    assert all(g is not None for g in got)
    np.testing.assert_array_equal(np.stack(got), _exact_values(idx, dim))
    info = cache.info()
    assert info["n_entries"].tolist() == [4500] and info["dim"].tolist() == [dim]
    assert json.loads(info.loc[0, "config"]) == {"dim": dim}
    assert _integrity(cache.db_path) == [("ok",)]


JOB = """
import sys, time
import numpy as np

root, n_batches, rows, dim = sys.argv[1], *map(int, sys.argv[2:5])
cache = EmbeddingCache(root)
computed = 0
for b in range(n_batches):
    keys = [f"b{b:04d}-{j:03d}" for j in range(rows)]
    missing = [j for j, hit in enumerate(cache.get_many("job", keys)) if hit is None]
    if missing:
        time.sleep(0.005)  # the "forward pass": a run lasts long enough to be killed
        idx = b * rows + np.asarray(missing)
        vals = (idx[:, None] * dim + np.arange(dim)).astype(np.float32)
        cache.put_many("job", [keys[j] for j in missing], vals)
        computed += len(missing)
print(computed)
"""


def _batches_present(cache, n_batches, rows):
    keys = [f"b{b:04d}-{j:03d}" for b in range(n_batches) for j in range(rows)]
    got = cache.get_many("job", keys)
    present = np.array([g is not None for g in got]).reshape(n_batches, rows)
    return present, got


@needs_posix
def test_a_killed_writer_leaves_a_valid_cache_and_the_rerun_completes_it(tmp_path):
    n_batches, rows, dim = 300, 200, 32
    reader = EmbeddingCache(tmp_path)
    n_before = 0
    for target in (3, 15):  # kill it twice, at different points
        proc = _python(JOB, tmp_path, n_batches, rows, dim)
        try:
            deadline = time.time() + 90
            while True:
                info = reader.info()
                done = int(info["n_entries"].sum()) if len(info) else 0
                if done >= n_before + target * rows:
                    break
                assert proc.poll() is None, proc.communicate()
                assert time.time() < deadline
                time.sleep(0.002)
            time.sleep(np.random.default_rng(target).uniform(0, 0.02))
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL

        assert _integrity(reader.db_path) == [("ok",)]
        present, got = _batches_present(reader, n_batches, rows)
        per_batch = present.sum(axis=1)
        # every put_many is atomic: each batch is all there or not at all ...
        assert set(per_batch.tolist()) <= {0, rows}
        # ... the completed batches are the first ones, and it died mid-way
        n_done = int(per_batch.astype(bool).sum())
        assert per_batch[:n_done].all() and not per_batch[n_done:].any()
        assert n_before // rows < n_done < n_batches
        idx = np.flatnonzero(present.reshape(-1))
        np.testing.assert_array_equal(np.stack([got[i] for i in idx]),
                                      _exact_values(idx, dim))
        n_before = n_done * rows

    # the rerun computes only what is missing, and completes the cache
    computed = int(_finish(_python(JOB, tmp_path, n_batches, rows, dim)))
    assert computed == n_batches * rows - n_before
    present, got = _batches_present(reader, n_batches, rows)
    assert present.all()
    np.testing.assert_array_equal(np.stack(got),
                                  _exact_values(np.arange(n_batches * rows), dim))
    assert _integrity(reader.db_path) == [("ok",)]


BIG = """
import sys
import numpy as np

root, namespace, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cache = EmbeddingCache(root)
cache.put_many("small", ["a"], np.zeros((1, 4)))
print("ready", flush=True)
cache.put_many(namespace, [f"big{i}" for i in range(n)], np.ones((n, 64)))
"""


@needs_posix
def test_a_writer_killed_inside_a_transaction_leaves_none_of_it(tmp_path):
    """Kill a writer while its one large put_many is spilling into the log."""
    n, wal = 150_000, tmp_path / "embeddings.sqlite-wal"
    reader = EmbeddingCache(tmp_path)
    outcomes = []
    for attempt in range(3):  # the kill may come late if this process is starved
        namespace = f"big{attempt}"
        proc = _python(BIG, tmp_path, namespace, n)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.communicate()
            start = wal.stat().st_size
            while proc.poll() is None and wal.stat().st_size < start + 8 * 2**20:
                time.sleep(0.001)
            assert proc.poll() is None, proc.communicate()  # still writing
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate()
        assert _integrity(reader.db_path) == [("ok",)]
        counts = dict(zip(reader.info()["namespace"], reader.info()["n_entries"]))
        assert counts.get(namespace, n) == n  # all of the transaction, or none
        assert counts["small"] == 1
        outcomes.append(namespace not in counts)
        if outcomes[-1]:
            break
    assert any(outcomes), "never killed inside the transaction"
    assert reader.get_many(namespace, ["big0", f"big{n - 1}"]) == [None, None]
    reader.put_many(namespace, ["big0"], np.ones((1, 64)))  # and writing goes on
    assert reader.get_many(namespace, ["big0"])[0].tolist() == [1.0] * 64


PICKLED = """
import pickle, sys
import numpy as np

with open(sys.argv[1], "rb") as fh:
    cache, image = pickle.load(fh)
ns = namespace_id({"model": "m", "size": [1, 2]})
seen = cache.get_many(ns, ["parent"])[0].tolist()
cache.put_many(ns, ["child"], np.array([[7.0, 8.0]]))
print(repr((ns, image_keys([image])[0], seen, str(cache.path))))
"""


def test_a_pickled_cache_works_in_another_process(tmp_path):
    cache = EmbeddingCache(tmp_path / "c")
    ns = namespace_id({"size": (1, 2), "model": "m"})
    cache.put_many(ns, ["parent"], np.array([[1.0, 2.0]]))  # opens a connection
    image = tmp_path / "img.png"
    _write_png(image, 3)
    blob = pickle.dumps((cache, str(image)))
    assert len(blob) < 500  # the path and timeout only: no connection inside
    (tmp_path / "job.pkl").write_bytes(blob)

    out = _finish(_python(PICKLED, tmp_path / "job.pkl"))
    child_ns, child_key, seen, child_path = ast.literal_eval(out)
    assert child_ns == ns  # namespace ids and keys are the same in every process
    assert child_key == image_keys([image])[0]
    assert seen == [1.0, 2.0] and child_path == str(cache.path)
    assert cache.get_many(ns, ["child"])[0].tolist() == [7.0, 8.0]
    clone = pickle.loads(blob)[0]
    assert clone.get_many(ns, ["parent", "child"])[1].tolist() == [7.0, 8.0]


@needs_posix
def test_a_forked_child_opens_its_own_connection(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", ["parent"], np.ones((1, 3)))  # parent connection is open
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        code = 1
        try:
            ok = cache.get_many("ns", ["parent"])[0].tolist() == [1.0] * 3
            cache.put_many("ns", ["child"], np.full((1, 3), 2.0))
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get_many("ns", ["child"])[0].tolist() == [2.0] * 3
    cache.put_many("ns", ["after"], np.zeros((1, 3)))  # the parent's is still fine
    assert cache.info()["n_entries"].tolist() == [3]
    assert _integrity(cache.db_path) == [("ok",)]


# ----------------------------------------------------------------------------
# files that are not a usable cache


def test_a_corrupt_file_gives_a_clear_error_and_is_kept(tmp_path):
    cache = EmbeddingCache(tmp_path)
    garbage = b"this is not an sqlite database\n" * 200
    cache.db_path.write_bytes(garbage)
    for call in (lambda: cache.get_many("ns", ["a"]),
                 lambda: cache.put_many("ns", ["a"], np.zeros((1, 2))),
                 cache.info, cache.clear):
        with pytest.raises(CacheError, match="embeddings.sqlite.*corrupt") as err:
            call()
        assert err.value.path == str(cache.db_path)
        assert str(tmp_path) in str(err.value)
    assert cache.db_path.read_bytes() == garbage
    assert isinstance(err.value, OSError)


def test_damaged_pages_give_a_clear_error(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", [f"k{i}" for i in range(500)], np.ones((500, 64)))
    cache.close()
    data = bytearray(cache.db_path.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # keep the 100-byte header only
    cache.db_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="embeddings.sqlite"):
        EmbeddingCache(tmp_path).get_many("ns", ["k0"])
    assert cache.db_path.read_bytes() == bytes(data)


def test_a_foreign_or_newer_database_is_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    db = foreign / "embeddings.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(CacheError, match="not a skanimal embedding cache.*patients"):
        EmbeddingCache(foreign).put_many("ns", ["a"], np.zeros((1, 2)))
    assert db.read_bytes() == before

    newer = EmbeddingCache(tmp_path / "newer")
    newer.put_many("ns", ["a"], np.zeros((1, 2)))
    newer.close()
    conn = sqlite3.connect(newer.db_path)
    conn.execute(f"PRAGMA user_version={_cache._SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CacheError, match="newer skanimal"):
        EmbeddingCache(tmp_path / "newer").get_many("ns", ["a"])


# ----------------------------------------------------------------------------
# The lookup shared by the cached transformers (DeepFeatures, LBPFeatures)
# ----------------------------------------------------------------------------


def test_fill_from_cache_reads_hits_and_groups_missing_duplicates(rng_images, tmp_path):
    X = np.concatenate([rng_images[:4], rng_images[1:3]])  # images 1 and 2 twice
    keys = image_keys(X)
    cache = EmbeddingCache(tmp_path)
    stored = np.arange(8, dtype=np.float32).reshape(2, 4)
    cache.put_many("ns", [keys[0], keys[2]], stored)
    out = np.full((6, 4), -1.0)
    todo = _cache._fill_from_cache(cache, "ns", X, out)
    # image 0 and both copies of image 2 are read back
    np.testing.assert_array_equal(out[[0, 2, 5]], stored[[0, 1, 1]])
    assert (out[[1, 3, 4]] == -1).all()  # misses untouched
    # each distinct missing image once, with all its rows, in order of appearance
    assert todo == [(1, [1, 4], keys[1]), (3, [3], keys[3])]
    _cache._store_computed(cache, "ns", todo, np.ones((2, 4)), config=None)
    assert _cache._fill_from_cache(cache, "ns", X, out) == []
    np.testing.assert_array_equal(out[[1, 3, 4]], np.ones((3, 4)))
    # without a cache, every position is its own entry and nothing is keyed
    assert _cache._fill_from_cache(None, "ns", X[:2], out[:2]) == [(0, [0], None),
                                                                   (1, [1], None)]
    _cache._store_computed(None, "ns", todo, np.ones((2, 4)), config=None)  # no-op
    # a vector of the wrong length is an error that says what to clear
    with pytest.raises(RuntimeError, match=r"shape \(4,\) for X\[0\].*expected \(3,\)"):
        _cache._fill_from_cache(cache, "ns", X, np.empty((6, 3)))
    cache.close()


def test_resolve_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(DEFAULT_CACHE_ENV, str(tmp_path / "env"))
    assert _cache._resolve_cache(False) is None and _cache._resolve_cache(None) is None
    assert _cache._resolve_cache(True).path == tmp_path / "env"
    assert _cache._resolve_cache(tmp_path / "dir").path == tmp_path / "dir"
    assert _cache._resolve_cache(str(tmp_path / "dir")).path == tmp_path / "dir"
    instance = EmbeddingCache(tmp_path / "x")
    assert _cache._resolve_cache(instance) is instance
    assert not (tmp_path / "env").exists() and not (tmp_path / "dir").exists()


# ----------------------------------------------------------------------------
# A cache that cannot be used: read-only, corrupt, locked, or holding NaN
# ----------------------------------------------------------------------------
#
# The transformers must serve what a usable cache holds, and otherwise warn
# once per transform, naming the file, compute without the cache and return
# exactly what an uncached transformer returns. The file is never modified.

LBP = dict(grid=2)
DEEP = dict(backbone="test_resnet", weights=None, image_size=32, verbose=0)


def _features(feature, **params):
    from skanimal.features import DeepFeatures, LBPFeatures

    if feature == "lbp":
        return LBPFeatures(**LBP, **params)
    return DeepFeatures(**DEEP, **params)


def _cache_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, _cache.CacheWarning)]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def shared_folder():
    """A folder every user can enter (``tmp_path`` is private to root)."""
    import shutil
    import tempfile

    base = tempfile.mkdtemp(prefix="skanimal-shared-")
    os.chmod(base, 0o755)
    yield pathlib.Path(base)
    for dirpath, _dirnames, filenames in os.walk(base):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    shutil.rmtree(base)


# Run by a process that cannot write to the cache folder: it reads a fully
# populated cache, then transforms images of which half are not cached.
READ_ONLY_CHECK = """
import errno, os, pickle, warnings
import numpy as np
from skanimal.features._cache import CacheWarning, EmbeddingCache
from skanimal.features._lbp import LBPFeatures

root, data = ARGS
X = np.load(data)
result = {}
try:
    open(os.path.join(root, "probe"), "w").close()
    result["probe"] = "writable"
except OSError as exc:
    result["probe"] = errno.errorcode[exc.errno]
result["raw"] = EmbeddingCache(root).get_many("raw", ["a", "b"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    lbp = LBPFeatures(grid=2, cache=root).fit(X)
    result["served"] = lbp.transform(X[:6])
    result["n_served"] = lbp._last_extraction["n_computed"]
    result["warned_served"] = [str(w.message) for w in caught]
    del caught[:]
    result["mixed"] = lbp.transform(X)
    result["n_mixed"] = lbp._last_extraction["n_computed"]
    result["warned_mixed"] = [(w.category.__name__, str(w.message)) for w in caught]
    lbp.cache_.close()
"""


HOLDER = """
import sys
import numpy as np

cache = EmbeddingCache(sys.argv[1])
cache.put_many("raw", ["a"], np.array([[1.0, 2.0]]))  # stays in the log
print("ready", flush=True)
sys.stdin.read()
cache.close()
"""


def _run_as_nobody(code, *args):
    """Run ``code`` in a forked child without root's powers (root ignores file modes)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)  # nobody
            namespace = {"ARGS": tuple(map(str, args))}
            try:
                exec(code, namespace)
                payload, status = pickle.dumps(namespace["result"]), 0
            except BaseException:
                import traceback

                payload = pickle.dumps(traceback.format_exc())
            with os.fdopen(write, "wb") as fh:
                fh.write(payload)
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        payload = fh.read()
    _, status = os.waitpid(pid, 0)
    result = pickle.loads(payload)
    assert os.waitstatus_to_exitcode(status) == 0, result
    return result


def _can_mount_read_only(folder):
    if os.name != "posix" or os.geteuid() != 0:
        return False
    try:
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind -o ro "$0" "$0"', str(folder)],
            capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _run_on_read_only_mount(folder, code, *args):
    """Run ``code`` in a process that sees ``folder`` as a read-only bind mount.

    The mount lives in a private mount namespace: nothing outside sees it, and
    it disappears with the process.
    """
    script = _CHILD_PREAMBLE + "ARGS = sys.argv[1:]\n" + textwrap.dedent(code) + (
        "\nimport pickle\nprint(pickle.dumps(result).hex())\n")
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder),
         sys.executable, "-c", script, *map(str, args)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return pickle.loads(bytes.fromhex(proc.stdout.strip().splitlines()[-1]))


@needs_posix
@pytest.mark.parametrize("how, state", [("permissions", "closed"),
                                        ("permissions", "in use"),
                                        ("read-only mount", "closed")])
def test_a_read_only_cache_serves_what_it_holds(shared_folder, rng_images, how, state):
    from skanimal.features import LBPFeatures

    root = shared_folder / "cache"
    data = shared_folder / "X.npy"
    np.save(data, rng_images)
    os.chmod(data, 0o644)
    expected = LBPFeatures(**LBP).fit(rng_images).transform(rng_images)
    writer = EmbeddingCache(root)
    lbp = LBPFeatures(**LBP, cache=writer).fit(rng_images)
    lbp.transform(rng_images[:6])  # the first six images are cached
    writer.close()  # only the database file is left
    holder = None
    if state == "closed":
        writer.put_many("raw", ["a"], np.array([[1.0, 2.0]]))
        writer.close()
        assert [p.name for p in root.iterdir()] == ["embeddings.sqlite"]
    else:  # another process writes and keeps it open: its log and index stay
        # (in another process, as the forked reader must not inherit the
        # connection: SQLite would hand it the writer's mapping of the index)
        holder = subprocess.Popen(
            [sys.executable, "-c", _CHILD_PREAMBLE + textwrap.dedent(HOLDER), root],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert holder.stdout.readline().strip() == "ready", holder.communicate()
        assert {p.name for p in root.iterdir()} == {
            "embeddings.sqlite", "embeddings.sqlite-wal", "embeddings.sqlite-shm"}
    try:
        if how == "permissions":
            for p in root.iterdir():
                os.chmod(p, 0o444)
            os.chmod(root, 0o555)
            before = _snapshot(root)
            result = _run_as_nobody(READ_ONLY_CHECK, root, data)
            assert result["probe"] in ("EACCES", "EPERM")  # really not writable
        else:
            if not _can_mount_read_only(shared_folder):
                pytest.skip("needs root and mount namespaces (unshare)")
            before = _snapshot(root)
            result = _run_on_read_only_mount(root, READ_ONLY_CHECK, root, data)
            assert result["probe"] == "EROFS"
        assert _snapshot(root) == before  # nothing created, nothing changed
    finally:
        if holder is not None:
            holder.communicate(timeout=60)  # closing its stdin releases the cache

    assert result["raw"][0].tolist() == [1.0, 2.0] and result["raw"][1] is None
    # a fully cached request is served from the cache, silently
    np.testing.assert_array_equal(result["served"], expected[:6])
    assert result["n_served"] == 0 and result["warned_served"] == []
    # the others are computed; that they cannot be stored is said once
    np.testing.assert_array_equal(result["mixed"], expected)
    assert result["n_mixed"] == 6
    assert len(result["warned_mixed"]) == 1, result["warned_mixed"]
    category, message = result["warned_mixed"][0]
    assert category == "CacheWarning"
    assert str(root / "embeddings.sqlite") in message and "read-only" in message


@pytest.mark.parametrize("damage", ["garbage", "damaged pages"])
@pytest.mark.parametrize("feature", ["lbp", "deep"])
def test_a_corrupt_cache_is_bypassed_with_one_warning_and_kept(
        tmp_path, rng_images, feature, damage):
    X = rng_images[:8]
    expected = _features(feature, cache=False).fit(X).transform(X)
    db = tmp_path / "embeddings.sqlite"
    if damage == "garbage":
        db.write_bytes(b"\x89 not an SQLite database \x00\xff" * 300)
    else:  # a real cache whose pages, but for the 100-byte header, are overwritten
        seed = _features(feature, cache=tmp_path).fit(X)
        seed.transform(X[:4])
        seed.cache_.close()
        data = bytearray(db.read_bytes())
        data[100:] = b"\xa5" * (len(data) - 100)
        db.write_bytes(bytes(data))
    before = _snapshot(tmp_path)

    est = _features(feature, cache=tmp_path).fit(X)
    for _ in range(2):  # each transform says it once
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = est.transform(X)
        np.testing.assert_array_equal(out, expected)
        assert est._last_extraction["n_computed"] == len(X)
        messages = _cache_warnings(caught)
        assert len(messages) == 1, messages
        assert str(db) in messages[0] and "corrupt" in messages[0]
        assert "does not delete" in messages[0]
    est.cache_.close()
    assert _snapshot(tmp_path) == before  # not repaired, not deleted, not written


@pytest.mark.parametrize("feature", ["lbp", "deep"])
def test_a_cache_locked_for_writing_loses_no_computed_batch(tmp_path, rng_images, feature):
    expected = _features(feature, cache=False, batch_size=4).fit(rng_images).transform(
        rng_images) if feature == "deep" else _features(feature).fit(rng_images).transform(
        rng_images)
    cache = EmbeddingCache(tmp_path, timeout=0.05)
    cache.put_many("other", ["a"], np.zeros((1, 2)))  # a valid, empty cache
    cache.close()
    params = {"batch_size": 4} if feature == "deep" else {"n_jobs": 2}
    est = _features(feature, cache=cache, **params).fit(rng_images)  # several batches

    locker = sqlite3.connect(cache.db_path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process is writing, for a long time
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = est.transform(rng_images)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    np.testing.assert_array_equal(out, expected)  # every batch is in the result
    assert est._last_extraction["n_computed"] == 12
    messages = _cache_warnings(caught)
    assert len(messages) == 1, messages  # once, not once per batch
    assert str(cache.db_path) in messages[0] and "locked" in messages[0]
    assert cache.get_many(est.cache_namespace_, image_keys(rng_images)) == [None] * 12

    # once the lock is gone the cache is used again
    with warnings.catch_warnings():
        warnings.simplefilter("error", _cache.CacheWarning)
        np.testing.assert_array_equal(est.transform(rng_images), expected)
        assert est._last_extraction["n_computed"] == 12
        np.testing.assert_array_equal(est.transform(rng_images), expected)
        assert est._last_extraction["n_computed"] == 0
    cache.close()


def test_a_cache_locked_for_reading_is_bypassed_with_one_warning(tmp_path, rng_images):
    expected = _features("lbp").fit(rng_images).transform(rng_images)
    cache = EmbeddingCache(tmp_path, timeout=0.05)
    est = _features("lbp", cache=cache, n_jobs=2).fit(rng_images)
    est.transform(rng_images[:6])
    cache.close()
    locker = sqlite3.connect(cache.db_path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("INSERT INTO meta (key, value) VALUES ('lock', 'held')")
    locker.execute("COMMIT")  # exclusive locking mode keeps the lock
    try:
        probe = sqlite3.connect(cache.db_path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("SELECT count(*) FROM embeddings").fetchall()
        probe.close()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = est.transform(rng_images)
    finally:
        locker.close()
    np.testing.assert_array_equal(out, expected)
    assert est._last_extraction["n_computed"] == 12
    messages = _cache_warnings(caught)
    assert len(messages) == 1, messages
    assert str(cache.db_path) in messages[0] and "locked" in messages[0]
    # the six cached images are served again once the lock is released
    est.transform(rng_images)
    assert est._last_extraction["n_computed"] == 6
    cache.close()


def _overwrite_entries(db_path, namespace, keys, values):
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        (ns_id,) = conn.execute("SELECT id FROM namespaces WHERE name = ?",
                                (namespace,)).fetchone()
        for key, value in zip(keys, values):
            blob = np.asarray(value, dtype="<f4").tobytes()
            n = conn.execute("UPDATE embeddings SET value = ? WHERE ns = ? AND key = ?",
                             (blob, ns_id, key)).rowcount
            assert n == 1
    finally:
        conn.close()


@pytest.mark.parametrize("feature", ["lbp", "deep"])
def test_non_finite_entries_are_misses_and_are_replaced(tmp_path, rng_images, feature):
    X = rng_images[:6]
    params = {"batch_size": 1} if feature == "deep" else {}  # batch-independent numbers
    expected = _features(feature, cache=False, **params).fit(X).transform(X)
    est = _features(feature, cache=tmp_path, **params).fit(X)
    np.testing.assert_array_equal(est.transform(X), expected)
    est.cache_.close()
    keys = image_keys(X)
    bad = [1, 3, 5]
    stored = est.cache_.get_many(est.cache_namespace_, [keys[i] for i in bad])
    for vec, poison in zip(stored, [np.nan, np.inf, -np.inf]):
        vec[len(vec) // 2] = poison
    _overwrite_entries(est.cache_.db_path, est.cache_namespace_,
                       [keys[i] for i in bad], stored)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = est.transform(X)
    np.testing.assert_array_equal(out, expected)
    assert est._last_extraction["n_computed"] == 3  # the three bad entries
    # and the recomputed vectors replaced them
    fixed = est.cache_.get_many(est.cache_namespace_, [keys[i] for i in bad])
    assert all(np.isfinite(v).all() for v in fixed)
    est.transform(X)
    assert est._last_extraction["n_computed"] == 0
    est.cache_.close()


def test_fill_and_store_treat_non_finite_vectors_as_misses(tmp_path, rng_images):
    X = rng_images[:4]
    keys = image_keys(X)
    cache = EmbeddingCache(tmp_path)
    cache.put_many("ns", keys[:3], np.array([[1, 2], [np.nan, 0], [np.inf, 1]]))
    out = np.zeros((4, 2))
    todo = _cache._fill_from_cache(cache, "ns", X, out)
    assert todo == [(1, [1], keys[1]), (2, [2], keys[2]), (3, [3], keys[3])]
    assert out[0].tolist() == [1.0, 2.0]
    # a computed vector that is not finite is returned but never stored
    _cache._store_computed(cache, "ns", todo, np.array([[3, 3], [-np.inf, 4], [5, 5]]),
                           config=None)
    got = cache.get_many("ns", keys)
    assert got[1].tolist() == [3.0, 3.0] and got[3].tolist() == [5.0, 5.0]
    assert np.isinf(got[2][0])  # the old, still non-finite entry is left as it was
    assert _cache._fill_from_cache(cache, "ns", X, out) == [(2, [2], keys[2])]
    cache.close()


def _offline_pretrained_test_resnet(X, root):
    """A cache filled by hand for test_resnet's (absent) pretrained weights.

    Needs the ``offline_without_test_resnet_weights`` fixture.
    """
    from skanimal.features import DeepFeatures, resolve_backbone, weights_id

    probe = DeepFeatures("test_resnet", weights=None, image_size=48, cache=False).fit(X)
    config = {**probe.embedding_config_,
              "weights_id": weights_id(resolve_backbone("test_resnet"), "pretrained")}
    values = np.arange(len(X) * 96, dtype=np.float32).reshape(len(X), 96)
    cache = EmbeddingCache(root)
    cache.put_many(namespace_id(config), image_keys(X), values, config=config)
    cache.close()
    return namespace_id(config), values


SHARED_DEEP_CHECK = """
import numpy as np
from skanimal.features import DeepFeatures

root, data = ARGS
X = np.load(data)
deep = DeepFeatures("test_resnet", image_size=48, cache=root, verbose=0).fit(X)
result = {"out": deep.transform(X), "built": deep._model is not None}
"""


@needs_posix
def test_a_shared_read_only_cache_serves_deep_features_without_weights(
        shared_folder, rng_images, offline_without_test_resnet_weights):
    """A lab's cache, read-only for its users, who have no weights: fit and transform work."""
    root = shared_folder / "cache"
    data = shared_folder / "X.npy"
    np.save(data, rng_images)
    os.chmod(data, 0o644)
    _, values = _offline_pretrained_test_resnet(rng_images, root)
    os.chmod(root / "embeddings.sqlite", 0o444)
    os.chmod(root, 0o555)
    before = _snapshot(root)
    result = _run_as_nobody(SHARED_DEEP_CHECK, root, data)
    np.testing.assert_array_equal(result["out"], values)
    assert not result["built"]
    assert _snapshot(root) == before


def test_fit_without_weights_needs_usable_cache_entries(tmp_path, rng_images,
                                                       offline_without_test_resnet_weights):
    """Entries that are NaN, or a corrupt cache, do not count as cached."""
    from skanimal.features import DeepFeatures
    from skanimal.features._backbones import WeightsUnavailableError

    namespace, values = _offline_pretrained_test_resnet(rng_images, tmp_path)
    key = image_keys(rng_images[2:3])
    _overwrite_entries(tmp_path / "embeddings.sqlite", namespace, key,
                       [np.full(96, np.nan)])
    with pytest.raises(WeightsUnavailableError):  # in fit, not later in transform
        DeepFeatures("test_resnet", image_size=48, cache=tmp_path, verbose=0).fit(rng_images)
    (tmp_path / "embeddings.sqlite").write_bytes(b"garbage" * 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(WeightsUnavailableError):  # the real reason, not CacheError
            DeepFeatures("test_resnet", image_size=48, cache=tmp_path, verbose=0).fit(
                rng_images)
    messages = _cache_warnings(caught)
    assert len(messages) == 1 and str(tmp_path / "embeddings.sqlite") in messages[0]


def test_a_missing_image_is_a_skanimal_error_naming_it(tmp_path):
    from skanimal.exceptions import SkanimalError
    from skanimal.utils import ImageNotFoundError

    (tmp_path / "a.png").write_bytes(b"not read: only stat-ed")
    with pytest.raises(ImageNotFoundError, match=r"gone\.png' \(X\[1\]\)") as info:
        image_keys(np.array([str(tmp_path / "a.png"), str(tmp_path / "gone.png")]))
    assert isinstance(info.value, (SkanimalError, FileNotFoundError))
