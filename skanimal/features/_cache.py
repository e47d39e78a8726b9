"""A persistent embedding cache keyed by image content, on SQLite.

Deep features are expensive on a CPU (a DINO ViT-S/8 embeds about three
images a second), and a subject-wise cross-validation or a hyper-parameter
search asks for the same embeddings again and again. :class:`EmbeddingCache`
stores one float32 vector per image and per *namespace* -- a fingerprint of
everything that changes the numbers (backbone, weights, pooling,
preprocessing...; see :func:`namespace_id`) -- so that every image is embedded
once per configuration, ever.

Entries are keyed by the image's **content** (:func:`image_keys`): renaming or
moving a file still hits, editing it misses. The store is a single SQLite
database in write-ahead-log mode: every :meth:`EmbeddingCache.put_many` is one
transaction, several processes and threads may read and write at the same time,
and a process killed mid-way leaves a valid cache that holds exactly the
batches it had committed.

A cache is an accelerator, never a source of failure for the transformers
that use it: a cache this process cannot write (a read-only folder or file
system, a lab's shared cache) is opened read-only and serves what it holds;
a corrupt, locked or read-only cache makes a transform warn once
(:class:`CacheWarning`, naming the file) and compute what it cannot read or
store; a stored vector holding NaN or infinity counts as missing. skanimal
never repairs, rewrites or deletes a cache file it found damaged.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import json
import os
import pathlib
import sqlite3
import stat
import threading
import time
import warnings
from collections.abc import Mapping, Set

import numpy as np
import pandas as pd

from .. import __version__
from ..exceptions import SkanimalError
from ..utils._images import (
    ImageNotFoundError,
    ImageReadError,
    _is_augmented,
    _where,
    check_images,
    image_input_kind,
)

__all__ = [
    "DEFAULT_CACHE_ENV",
    "CacheError",
    "CacheWarning",
    "EmbeddingCache",
    "default_cache_dir",
    "image_keys",
    "namespace_id",
]

#: Environment variable that overrides the default cache directory.
DEFAULT_CACHE_ENV = "SKANIMAL_CACHE_DIR"

_DB_NAME = "embeddings.sqlite"
_APPLICATION_ID = 0x736B616E  # "skan": marks an SQLite file as a skanimal cache
_SCHEMA_VERSION = 1
_IN_CHUNK = 900  # keys per SELECT ... IN (...), under SQLite's old 999-variable limit
_TOUCH_EVERY_S = 60.0  # how often a reader refreshes a namespace's last_used
_WAL_SIZE_LIMIT = 16 * 2**20  # bytes the WAL file keeps after a checkpoint
# 64 KiB pages pack vectors of every common dim (384 to 2048 floats) with at most
# ~16 % overhead; 4 KiB pages take 2x the raw size for dim 512 (one row per page).
_PAGE_SIZE = 65536
_WAL_AUTOCHECKPOINT = 256  # pages (16 MiB)

# Files changed this recently (ns) may be changed again within the file
# system's timestamp granularity without their stat changing ("racy" files,
# as in git): their content digest is not memoised.
_RACY_NS = 2_000_000_000
_KEY_MEMO_MAX = 1_000_000
# (abspath, st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) -> content digest
_KEY_MEMO = {}

# Connections inherited through fork() are never used nor closed by the child
# (SQLite forbids both); they are parked here so that garbage collection does
# not close them.
_ABANDONED_CONNECTIONS = []

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS namespaces (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        config TEXT,
        dim INTEGER NOT NULL,
        created REAL NOT NULL,
        last_used REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS embeddings (
        ns INTEGER NOT NULL,
        key TEXT NOT NULL,
        dim INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (ns, key)
    )""",
)

_INFO_COLUMNS = ["namespace", "config", "n_entries", "n_bytes", "dim", "created",
                 "last_used"]


class CacheError(SkanimalError, OSError):
    """An embedding cache database cannot be used.

    Raised when the cache file is not a skanimal cache, is corrupt, was
    written by a newer skanimal, or stays locked by another process for longer
    than the cache's timeout. The message names the file; skanimal never
    deletes it. It is an :class:`OSError`, so ``except OSError`` catches it.

    Parameters
    ----------
    message : str
        The error message.
    path : str, default=None
        The database file at fault.

    Attributes
    ----------
    path : str or None
        The database file at fault.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skanimal.features import EmbeddingCache
    >>> from skanimal.features._cache import CacheError
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cache = EmbeddingCache(tmp)
    ...     _ = cache.db_path.write_bytes(b"not a database" * 100)
    ...     try:
    ...         cache.get_many("ns", ["k"])
    ...     except CacheError as err:
    ...         print(err.path == str(cache.db_path))
    True
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


class CacheWarning(UserWarning):
    """An embedding cache could not be used; the transform went on without it.

    Issued once per transform by the cached transformers
    (:class:`~skanimal.features.DeepFeatures`,
    :class:`~skanimal.features.LBPFeatures`) when their cache is corrupt,
    stays locked by another process, or cannot be written. The message names
    the file and says what was wrong; the features are computed and returned
    as without a cache, and the file is left as it is.

    See Also
    --------
    CacheError : The error behind the warning.

    Examples
    --------
    >>> import tempfile, warnings
    >>> import numpy as np
    >>> from skanimal.features import CacheWarning, EmbeddingCache, LBPFeatures
    >>> X = np.zeros((2, 16, 16), dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = EmbeddingCache(tmp).db_path.write_bytes(b"not a database" * 100)
    ...     with warnings.catch_warnings(record=True) as caught:
    ...         warnings.simplefilter("always")
    ...         features = LBPFeatures(grid=2, cache=tmp).fit_transform(X)
    >>> features.shape, [w.category.__name__ for w in caught]
    ((2, 236), ['CacheWarning'])
    """


def default_cache_dir():
    """Return the default directory of the embedding cache.

    Returns
    -------
    path : pathlib.Path
        The value of the environment variable ``SKANIMAL_CACHE_DIR`` when it is
        set and not empty (``~`` is expanded), otherwise ``~/.cache/skanimal``.
        The directory is not created.

    Examples
    --------
    >>> from skanimal.features import default_cache_dir
    >>> default_cache_dir().name != ""
    True
    """
    env = os.environ.get(DEFAULT_CACHE_ENV, "").strip()
    if env:
        return pathlib.Path(os.path.expanduser(env))
    return pathlib.Path.home() / ".cache" / "skanimal"


# ----------------------------------------------------------------------------
# keys


def _digest():
    # sha256 is as fast as sha1 on CPUs with SHA extensions and has no known
    # collisions; 128 bits of it are plenty for a cache key.
    return hashlib.sha256()


def _hex(h):
    return h.hexdigest()[:32]


def _array_key(img):
    a = np.ascontiguousarray(img)
    h = _digest()
    h.update(f"skanimal-ndarray:{a.dtype.str}:{a.shape}\0".encode())
    h.update(a.reshape(-1).view(np.uint8))
    return _hex(h)


def _file_key(path, index):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageNotFoundError(
            f"image file {_where(path, index)} does not exist.", path, index) from None
    except OSError as exc:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {exc}", path, index) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: not a regular file.",
            path, index)
    memo_key = (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size,
                st.st_mtime_ns, st.st_ctime_ns)
    digest = _KEY_MEMO.get(memo_key)
    if digest is not None:
        return digest
    started = time.time_ns()
    h = _digest()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
            after = os.fstat(fh.fileno())
    except OSError as exc:
        raise ImageReadError(
            f"cannot read image file {_where(path, index)}: {exc}", path, index) from exc
    digest = _hex(h)
    unchanged = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == memo_key[3:]
    settled = started - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS
    if unchanged and settled:
        if len(_KEY_MEMO) >= _KEY_MEMO_MAX:
            _KEY_MEMO.clear()
        _KEY_MEMO[memo_key] = digest
    return digest


def image_keys(X):
    """Return one content key per image of X.

    Parameters
    ----------
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image file paths, or images (validated by
        :func:`skanimal.utils.check_images`).

    Returns
    -------
    keys : list of str
        One 32-character hexadecimal key per element of X. For a file it is a
        digest of the file's bytes: a renamed, moved or copied file keeps its
        key, an edited one gets a new key. For an array it is a digest of the
        image's dtype, shape and pixels. A file and the array it was written
        from have different keys. For an augmented copy
        (:class:`skanimal.sampling.AugmentedImage`) it is a digest of its
        source's key and its operations, so copies differ from each other and
        from their source (unless they change nothing) and are found again in
        later runs.

    Raises
    ------
    FileNotFoundError
        If a file does not exist; the message names it and its position in X.
    skanimal.utils.ImageReadError
        If a path is not a readable regular file.

    Notes
    -----
    File digests are memoised in the process by the file's absolute path,
    device, inode, size and modification and change times, so a second call
    on the same unchanged files only costs one ``os.stat`` per file. Files
    modified in the last two seconds are hashed again on every call, so that
    an edit within the file system's timestamp resolution is never missed.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.features import image_keys
    >>> images = np.zeros((3, 8, 8), dtype=np.uint8)
    >>> images[2, 0, 0] = 1
    >>> k = image_keys(images)
    >>> k[0] == k[1], k[0] == k[2], len(k[0])
    (True, False, 32)
    """
    X = check_images(X)
    if image_input_kind(X) == "paths":
        return [_element_key(p, i) for i, p in enumerate(X)]
    return [_array_key(X[i]) for i in range(X.shape[0])]


def _element_key(x, index):
    """The key of a path, or of an augmented copy: its source's key + its operations."""
    if not _is_augmented(x):
        return _file_key(x, index)
    key = _element_key(x.source, index)
    if not x.operations:  # decodes exactly as its source
        return key
    h = _digest()
    h.update(f"skanimal-augmented:{key}:{x.operations!r}".encode())
    return _hex(h)


def _fill_from_cache(cache, namespace, X, out):
    """Copy the cached rows of X into ``out``; return the images left to compute.

    The part of a cached transform shared by every skanimal transformer: key
    the images (:func:`image_keys`), read their vectors in one
    :meth:`EmbeddingCache.get_many`, write the hits into ``out`` and group the
    misses by key, so that an image that occurs several times in X is computed
    once. The caller computes ``todo``, writes the results to ``out[rows]`` and
    stores them with :func:`_store_computed`.

    A call starts an *extraction* (of the calling thread): a cache that
    cannot be read makes it warn once (:class:`CacheWarning`) and return every
    image as to compute, and :func:`_store_computed` then stores nothing until
    the next extraction. A stored vector holding NaN or infinity is a miss;
    the value computed for it replaces it.

    Parameters
    ----------
    cache : EmbeddingCache or None
        The cache; ``None`` means that every image is to be computed.
    namespace : str
        The namespace of the transformer's configuration.
    X : ndarray
        Validated images (the output of :func:`~skanimal.utils.check_images`).
    out : ndarray of shape (n_samples, dim)
        Receives the cached vectors (cast to its dtype).

    Returns
    -------
    todo : list of (int, list of int, str or None)
        One ``(index, rows, key)`` per distinct image to compute: its first
        position in X, all its positions, and its key (``None`` without a
        cache, where every position is its own entry).
    """
    n = X.shape[0]
    if cache is None:
        return [(i, [i], None) for i in range(n)]
    keys = image_keys(X)
    extraction = cache._extraction
    extraction.bypass = False
    extraction.replace = set()
    cached = _lookup(cache, namespace, keys, "reading")
    dim = out.shape[1]
    todo, first = [], {}
    for i, (key, value) in enumerate(zip(keys, cached)):
        if value is not None:
            if value.shape != (dim,):
                raise RuntimeError(
                    f"cache {cache.path} holds a vector of shape {value.shape} for "
                    f"X[{i}] in namespace {namespace}, expected ({dim},); clear that "
                    "namespace.")
            if np.isfinite(value).all():
                out[i] = value
                continue
            extraction.replace.add(key)  # not a result: computed again
        if key in first:  # the same image again in X
            first[key][1].append(i)
        else:
            first[key] = (i, [i], key)
            todo.append(first[key])
    return todo


def _lookup(cache, namespace, keys, doing):
    """``cache.get_many``, or only misses (after one warning) when it fails."""
    try:
        return cache.get_many(namespace, keys)
    except CacheError as exc:
        _bypass(cache, exc, doing)
        return [None] * len(keys)


def _bypass(cache, exc, doing):
    """Warn that ``cache`` failed, and use it no more in this extraction."""
    cache._extraction.bypass = True
    then = ("the features of this transform are computed without it"
            if doing == "reading" else
            "the features computed by this transform are returned but not stored")
    warnings.warn(f"{exc} Going on without the cache: {then}.", CacheWarning,
                  stacklevel=5)  # the caller of transform


def _all_cached(cache, namespace, X):
    """Whether every image of X has a usable (finite) vector in ``cache``.

    Used where a transformer must know in advance that it will not need to
    compute anything; an unusable cache holds nothing (after one warning).
    """
    if cache is None:
        return False
    values = _lookup(cache, namespace, image_keys(X), "reading")
    return all(v is not None and np.isfinite(v).all() for v in values)


def _resolve_cache(cache):
    """The :class:`EmbeddingCache` of a transformer's ``cache`` parameter, or None.

    ``False`` or ``None``: no cache; ``True``: the default directory
    (:func:`default_cache_dir`); an :class:`EmbeddingCache`: itself; otherwise
    a directory. Nothing is created on disk.
    """
    if cache is False or cache is None:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    if cache is True:
        return EmbeddingCache()
    return EmbeddingCache(cache)


def _store_computed(cache, namespace, todo, values, *, config):
    """Store the vectors computed for the entries ``todo`` of :func:`_fill_from_cache`.

    Does nothing without a cache. ``values[j]`` belongs to ``todo[j]``; one
    transaction per call, so that a transformer that stores every batch keeps
    its progress when it is interrupted. Vectors holding NaN or infinity are
    not stored. A cache that cannot be written makes the extraction warn once
    (:class:`CacheWarning`) and store nothing more; the caller keeps its
    values, so nothing computed is lost.
    """
    if cache is None or not len(todo) or getattr(cache._extraction, "bypass", False):
        return
    values = np.asarray(values)
    finite = np.isfinite(values).all(axis=1)
    keys = [t[2] for t, ok in zip(todo, finite) if ok]
    if not keys:
        return
    replace = getattr(cache._extraction, "replace", set()).intersection(keys)
    try:
        cache._put(namespace, keys, values[finite], config=config, replace=replace)
    except CacheError as exc:
        _bypass(cache, exc, "writing")


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, Set):
        return sorted(obj)
    raise TypeError(
        f"config values must be JSON-serialisable; got {obj!r} of type "
        f"{type(obj).__name__}.")


def _canonical_json(config, name="config"):
    if not isinstance(config, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(config).__name__}.")
    try:
        return json.dumps(dict(config), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True, allow_nan=False, default=_json_default)
    except ValueError as exc:  # NaN or infinity
        raise ValueError(f"{name} cannot be stored as JSON: {exc}.") from None
    except TypeError as exc:
        raise TypeError(f"{name} cannot be stored as JSON: {exc}") from None


def namespace_id(config):
    """Return a stable identifier of a feature configuration.

    Parameters
    ----------
    config : dict
        Everything that changes the embeddings (backbone, weights fingerprint,
        pooling, preprocessing, precision, code version...). Values must be
        JSON-serialisable; NumPy scalars and arrays, paths and sets are
        converted. Tuples and lists are equal, key order does not matter.

    Returns
    -------
    namespace : str
        A 32-character hexadecimal digest of the canonical JSON of ``config``:
        the same in every process, on every machine and in every version of
        Python.

    Examples
    --------
    >>> from skanimal.features import namespace_id
    >>> a = namespace_id({"backbone": "resnet18", "pooling": "avg"})
    >>> b = namespace_id({"pooling": "avg", "backbone": "resnet18"})
    >>> a == b, a == namespace_id({"backbone": "resnet50", "pooling": "avg"})
    (True, False)
    """
    return _hex(hashlib.sha256(_canonical_json(config).encode("ascii")))


# ----------------------------------------------------------------------------
# the store


def _chunks(seq, size):
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def _check_namespace(namespace):
    if not isinstance(namespace, str) or not namespace:
        raise TypeError(f"namespace must be a non-empty str, got {namespace!r}.")
    return namespace


def _check_keys(keys):
    if isinstance(keys, (str, bytes)):
        raise TypeError("keys must be a sequence of str, got a single str.")
    keys = list(keys)
    for i, k in enumerate(keys):
        if type(k) is not str:
            if not isinstance(k, str):
                raise TypeError(
                    f"keys[{i}] is {type(k).__name__} ({k!r}); keys must be str.")
            keys[i] = str(k)
    return keys


def _rollback(conn):
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


class EmbeddingCache:
    """A persistent store of image embeddings shared by processes and threads.

    One SQLite database (``embeddings.sqlite`` inside ``path``) holds one
    float32 vector per image key (see :func:`image_keys`) within each
    namespace (see :func:`namespace_id`). Nothing is created until the first
    write: reading a cache that does not exist returns only misses.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        The cache directory. ``None`` means :func:`default_cache_dir`
        (``$SKANIMAL_CACHE_DIR`` or ``~/.cache/skanimal``).
    timeout : float, default=30.0
        Seconds a reader or writer waits for another process's write
        transaction to finish before giving up with a :class:`CacheError`.

    Attributes
    ----------
    path : pathlib.Path
        The absolute cache directory.
    db_path : pathlib.Path
        The database file inside it.

    Notes
    -----
    The database runs in write-ahead-log mode with ``synchronous=NORMAL``:
    readers never block writers, each :meth:`put_many` is one atomic
    transaction (a killed process loses at most the batch it was writing), and
    writers from other processes wait for each other. Keep the cache on a
    local disk: SQLite's write-ahead log needs shared memory, which network
    file systems do not provide reliably.

    A cache that this process cannot write (a read-only folder or file
    system, or files of another user, such as a lab's shared cache) is opened
    read-only: :meth:`get_many` and :meth:`info` serve what it holds, while
    :meth:`put_many` and :meth:`clear` raise a :class:`CacheError`. Where the
    write-ahead-log index cannot be read or created, the database file is read
    as immutable. A file found corrupt is never written to by this instance.

    Each instance opens one connection per process, lazily; a pickled cache
    (for example in a joblib worker) or a forked process opens its own. The
    connection is shared by the threads of a process under a lock.

    Entries are never overwritten: equal namespace and key mean equal content
    and configuration, hence equal values, so the first value written is
    kept.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skanimal.features import EmbeddingCache, image_keys, namespace_id
    >>> images = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    >>> keys = image_keys(images)
    >>> config = {"backbone": "resnet18", "pooling": "avg"}
    >>> ns = namespace_id(config)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cache = EmbeddingCache(tmp)
    ...     cache.put_many(ns, keys[:2], np.ones((2, 4), dtype=np.float32), config=config)
    ...     hits = cache.get_many(ns, keys)
    ...     table = cache.info()
    ...     cache.close()
    >>> [None if h is None else h.tolist() for h in hits]
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], None]
    >>> table[["n_entries", "n_bytes", "dim"]].values.tolist()
    [[2, 32, 4]]
    """

    def __init__(self, path=None, *, timeout=30.0):
        if path is None:
            path = default_cache_dir()
        self.path = pathlib.Path(os.path.expanduser(os.fspath(path))).absolute()
        self.timeout = float(timeout)
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(
                f"the embedding cache path {str(self.path)!r} is a file; pass a "
                "directory (the database is created inside it).")
        self._reset()

    def _reset(self):
        self._lock = threading.RLock()
        self._conn = None
        self._read_only = False  # whether self._conn is a read-only connection
        self._damage = None  # the message of a corruption found in this process
        self._pid = os.getpid()
        self._touched = {}
        # what the transform running in each thread knows (see _fill_from_cache)
        self._extraction = threading.local()

    @property
    def db_path(self):
        """The SQLite database file inside :attr:`path`."""
        return self.path / _DB_NAME

    def __repr__(self):
        return f"{type(self).__name__}(path={str(self.path)!r})"

    def __getstate__(self):
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state):
        self.path = state["path"]
        self.timeout = state["timeout"]
        self._reset()

    # -- connection -----------------------------------------------------------

    def _locked(self):
        if self._pid != os.getpid():  # forked: never touch the parent's connection
            if self._conn is not None:
                _ABANDONED_CONNECTIONS.append(self._conn)
            self._reset()
        return self._lock

    def _error(self, exc, doing):
        """Translate an sqlite3 error into a CacheError naming the file."""
        db = str(self.db_path)
        msg = str(exc)
        low = msg.lower()
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            text = (f"the embedding cache {db!r} is corrupt or not an SQLite database "
                    f"({msg}) while {doing}. skanimal does not delete it: move or "
                    "remove the file to start a new cache, or use another cache "
                    f"directory (the cache= parameter or ${DEFAULT_CACHE_ENV}).")
            self._damage = text  # never write into it from now on
        elif "locked" in low or "busy" in low:
            text = (f"the embedding cache {db!r} stayed locked by another process for "
                    f"more than {self.timeout:g} s while {doing} ({msg}).")
        elif "readonly" in low or "read-only" in low:
            return self._read_only_error(f"{doing} ({msg})")
        else:
            text = f"the embedding cache {db!r} failed while {doing}: {msg}."
        return CacheError(text, db)

    def _read_only_error(self, doing):
        db = str(self.db_path)
        return CacheError(
            f"the embedding cache {db!r} is read-only for this process while {doing}: "
            "it serves the embeddings it holds but cannot store new ones. Make the "
            "cache folder and its files writable, or use a writable cache directory "
            f"(the cache= parameter or ${DEFAULT_CACHE_ENV}).", db)

    def _writable(self):
        """Whether this process may write the database, its log and its index."""
        files = [pathlib.Path(f"{self.db_path}{suffix}") for suffix in ("", "-wal", "-shm")]
        existing = [f for f in files if f.exists()]
        if not all(os.access(f, os.W_OK) for f in existing):
            return False
        # SQLite creates the missing ones in the folder (and removes the log)
        return len(existing) == len(files) or os.access(self.path, os.W_OK | os.X_OK)

    def _open(self, create, write=False):
        """Return this process's connection; None when there is no cache yet.

        ``create`` creates the database if needed; ``write`` (implied by
        ``create``) asks for a connection that can write, and raises a
        :class:`CacheError` for a cache that is read-only for this process. A
        read-only cache is otherwise opened read-only, so that it serves what
        it holds.
        """
        write = write or create
        db = self.db_path
        if write and self._damage is not None:
            raise CacheError(self._damage, str(db))
        if self._conn is not None:
            if not (write and self._read_only):
                return self._conn
            if not self._writable():
                raise self._read_only_error("writing")
            conn, self._conn = self._conn, None  # it became writable: reopen
            conn.close()
        if not create and not db.exists():
            return None
        if create:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheError(
                    f"cannot create the embedding cache directory {str(self.path)!r}: "
                    f"{exc.strerror or exc}. Pass another cache path or set "
                    f"${DEFAULT_CACHE_ENV}.", str(db)) from exc
        read_only = not self._writable()
        if read_only and write:
            raise self._read_only_error("writing")
        if read_only:
            conn, ready = self._connect_read_only()
        else:
            conn = self._connect("rwc" if create else "rw")
            ready = self._prepare_or_close(conn, create)
        if not ready:
            conn.close()
            return None
        self._conn, self._read_only = conn, read_only
        return conn

    def _connect(self, mode):
        try:
            return sqlite3.connect(f"{self.db_path.as_uri()}?mode={mode}", uri=True,
                                   timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc, "opening it") from exc

    def _prepare_or_close(self, conn, create):
        try:
            return self._prepare(conn, create)
        except BaseException:
            conn.close()
            raise

    def _connect_read_only(self):
        """Open a cache this process cannot write; return (connection, ready).

        A reader of a write-ahead-log database needs its index (the ``-shm``
        file): read-only, SQLite uses an existing one, which keeps the reader
        consistent with writers that can write the folder. Where there is none
        and none can be created (a read-only folder or file system), the
        database file is read alone, as an immutable file; committed entries
        still in a left-over log are then not seen (they are misses).
        """
        conn = self._connect("ro")
        try:
            return conn, self._prepare_or_close(conn, False)
        except CacheError as exc:
            cause = str(exc.__cause__).lower()
            if "unable to open" not in cause and "readonly" not in cause:
                raise
        conn = self._connect("ro&immutable=1")
        return conn, self._prepare_or_close(conn, False)

    def _prepare(self, conn, create):
        """Check that ``conn`` is a skanimal cache, creating the schema if asked.

        Returns False when the database is empty and ``create`` is False.
        """
        db = str(self.db_path)
        try:
            # one statement, so one snapshot: a process creating the cache at
            # the same time commits the tables and the header together
            app_id, version, names = conn.execute(
                "SELECT (SELECT application_id FROM pragma_application_id()), "
                "(SELECT user_version FROM pragma_user_version()), "
                "(SELECT group_concat(name, char(31)) FROM sqlite_master "
                "WHERE type='table')").fetchone()
            tables = names.split("\x1f") if names else []
        except sqlite3.Error as exc:
            raise self._error(exc, "reading its header") from exc
        if app_id == _APPLICATION_ID:
            if version > _SCHEMA_VERSION:
                raise CacheError(
                    f"the embedding cache {db!r} has schema version {version}, written "
                    f"by a newer skanimal; this version ({__version__}) reads version "
                    f"{_SCHEMA_VERSION}. Upgrade skanimal or use another cache "
                    "directory.", db)
        elif app_id != 0 or tables:
            raise CacheError(
                f"{db!r} is an SQLite database but not a skanimal embedding cache "
                f"(application_id={app_id}, tables: {', '.join(tables) or 'none'}). "
                "skanimal does not modify it: use another cache directory.", db)
        elif not create:
            return False
        else:
            self._initialise(conn)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT}")
        except sqlite3.Error as exc:
            raise self._error(exc, "configuring the connection") from exc
        return True

    def _initialise(self, conn):
        try:
            conn.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # before the first table
            self._enable_wal(conn)
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, "creating it") from exc
        try:
            # another process may have created it since we looked
            if conn.execute("PRAGMA application_id").fetchone()[0] != _APPLICATION_ID:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(_SCHEMA_VERSION)),
                     ("created_by", f"skanimal {__version__}"),
                     ("created", repr(time.time()))])
                conn.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self._error(exc, "creating it") from exc
        except BaseException:
            _rollback(conn)
            raise

    def _enable_wal(self, conn):
        """Switch a new database to write-ahead logging (a persistent setting).

        Changing the journal mode needs an exclusive lock and SQLite does not
        wait for it, so retry while another process creating the same cache
        holds it. Where WAL is unsupported the rollback journal stays in use.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                return conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 0.05)

    def close(self):
        """Close this process's connection (it is reopened when needed).

        Examples
        --------
        >>> import tempfile
        >>> from skanimal.features import EmbeddingCache
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     EmbeddingCache(tmp).close()
        """
        with self._locked():
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()

    # -- reading --------------------------------------------------------------

    def get_many(self, namespace, keys):
        """Look up the embeddings of ``keys`` in ``namespace``.

        Parameters
        ----------
        namespace : str
            The namespace (see :func:`namespace_id`).
        keys : sequence of str
            Image keys (see :func:`image_keys`); duplicates are allowed.

        Returns
        -------
        values : list of (ndarray of shape (dim,) or None)
            For each key, in order, its float32 vector, or ``None`` when it is
            not cached. A cache that does not exist yet gives only ``None``
            and is not created.

        Raises
        ------
        CacheError
            If the database is corrupt, not a skanimal cache, or locked for
            longer than ``timeout``.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from skanimal.features import EmbeddingCache
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     cache = EmbeddingCache(tmp)
        ...     cache.put_many("ns", ["a"], np.array([[0.5, 2.0]], dtype=np.float32))
        ...     print(cache.get_many("ns", ["a", "b"]))
        ...     cache.close()
        [array([0.5, 2. ], dtype=float32), None]
        """
        _check_namespace(namespace)
        keys = _check_keys(keys)
        out = [None] * len(keys)
        if not keys:
            return out
        unique = list(dict.fromkeys(keys))
        found = {}
        with self._locked():
            conn = self._open(create=False)
            if conn is None:
                return out
            try:
                conn.execute("BEGIN")  # one snapshot for all chunks
                try:
                    row = conn.execute("SELECT id, dim FROM namespaces WHERE name = ?",
                                       (namespace,)).fetchone()
                    if row is not None:
                        ns_id, dim = row
                        for chunk in _chunks(unique, _IN_CHUNK):
                            marks = ",".join("?" * len(chunk))
                            found.update(conn.execute(
                                f"SELECT key, value FROM embeddings WHERE ns = ? AND "
                                f"key IN ({marks})", (ns_id, *chunk)))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc, "reading embeddings") from exc
            if found:
                self._touch(conn, namespace)
        if not found:
            return out
        blobs = list(found.values())
        n_bytes = 4 * dim
        bad = next((k for k, b in found.items() if len(b) != n_bytes), None)
        if bad is not None:
            raise CacheError(
                f"the embedding cache {str(self.db_path)!r} is corrupt: the entry "
                f"{bad!r} of namespace {namespace!r} has {len(found[bad])} bytes, "
                f"expected {n_bytes} (dim={dim}).", str(self.db_path))
        # one writable buffer for all hits; each returned vector is a row of it
        rows = np.frombuffer(bytearray().join(blobs), dtype="<f4")
        rows = rows.astype(np.float32, copy=False).reshape(len(blobs), dim)
        by_key = dict(zip(found, rows))
        return [by_key.get(k) for k in keys]

    def _touch(self, conn, namespace):
        """Refresh a namespace's last_used after a read, best effort."""
        now = time.time()
        if self._read_only or now - self._touched.get(namespace, 0.0) < _TOUCH_EVERY_S:
            return
        self._touched[namespace] = now
        try:
            conn.execute("PRAGMA busy_timeout=50")  # never wait for this
            conn.execute("UPDATE namespaces SET last_used = ? WHERE name = ?",
                         (now, namespace))
        except sqlite3.OperationalError:  # busy, or a read-only cache
            pass
        finally:
            try:
                conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            except sqlite3.Error:
                pass

    # -- writing --------------------------------------------------------------

    def put_many(self, namespace, keys, values, *, config=None):
        """Store embeddings, all in one transaction.

        Parameters
        ----------
        namespace : str
            The namespace (see :func:`namespace_id`).
        keys : sequence of str
            One image key per row of ``values``.
        values : array-like of shape (n_keys, dim)
            The embeddings, stored as float32. Every vector of a namespace has
            the same ``dim``.
        config : dict, default=None
            The configuration the namespace fingerprints, stored (as JSON) with
            the namespace the first time it is given and shown by :meth:`info`.

        Raises
        ------
        ValueError
            If ``values`` is not 2-D or does not match ``keys``, if ``dim``
            differs from the namespace's, or if ``config`` differs from the one
            stored for the namespace.
        CacheError
            If the database cannot be written.

        Notes
        -----
        Keys already stored in the namespace keep their value. Either every
        row of a call is stored or, if the process dies or an error occurs,
        none is.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from skanimal.features import EmbeddingCache
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     cache = EmbeddingCache(tmp)
        ...     cache.put_many("ns", ["a", "b"], np.eye(2), config={"model": "m"})
        ...     print(cache.info()[["namespace", "config", "n_entries"]].to_string())
        ...     cache.close()
          namespace           config  n_entries
        0        ns  {"model":"m"}          2
        """
        self._put(namespace, keys, values, config=config)

    def _put(self, namespace, keys, values, *, config=None, replace=()):
        """:meth:`put_many`, overwriting the entries of the keys in ``replace``."""
        _check_namespace(namespace)
        keys = _check_keys(keys)
        values = np.asarray(values)
        if values.ndim != 2:
            raise ValueError(
                f"values must be a 2-D array of shape (n_keys, dim), got shape "
                f"{values.shape}.")
        if values.shape[0] != len(keys):
            raise ValueError(
                f"values has {values.shape[0]} rows but {len(keys)} keys were given.")
        if values.dtype.kind not in "fiub":
            raise TypeError(f"values must be numeric, got dtype {values.dtype}.")
        if values.shape[1] == 0:
            raise ValueError("values has 0 columns; embeddings need dim >= 1.")
        config_json = None if config is None else _canonical_json(config)
        if not keys:
            return
        dim = int(values.shape[1])
        values = np.ascontiguousarray(values, dtype="<f4")
        flat = values.reshape(-1).view(np.uint8)
        step = 4 * dim
        with self._locked():
            conn = self._open(create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    ns_id = self._namespace_for_write(conn, namespace, dim, config_json)
                    for conflict, new in (("IGNORE", False), ("REPLACE", True)):
                        conn.executemany(
                            f"INSERT OR {conflict} INTO embeddings (ns, key, dim, value) "
                            "VALUES (?, ?, ?, ?)",
                            ((ns_id, k, dim, flat[i * step:(i + 1) * step].tobytes())
                             for i, k in enumerate(keys) if (k in replace) is new))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc, "writing embeddings") from exc
            self._touched[namespace] = time.time()

    def _namespace_for_write(self, conn, namespace, dim, config_json):
        now = time.time()
        row = conn.execute("SELECT id, dim, config FROM namespaces WHERE name = ?",
                           (namespace,)).fetchone()
        if row is None:
            cur = conn.execute(
                "INSERT INTO namespaces (name, config, dim, created, last_used) "
                "VALUES (?, ?, ?, ?, ?)", (namespace, config_json, dim, now, now))
            return cur.lastrowid
        ns_id, stored_dim, stored_config = row
        if stored_dim != dim:
            raise ValueError(
                f"namespace {namespace!r} of the embedding cache holds vectors of "
                f"dim {stored_dim}; got values of dim {dim}.")
        if config_json is not None and stored_config not in (None, config_json):
            raise ValueError(
                f"namespace {namespace!r} of the embedding cache was stored with "
                f"config {stored_config}; got a different config {config_json}. "
                "Use namespace_id(config) as the namespace.")
        conn.execute(
            "UPDATE namespaces SET last_used = ?, config = coalesce(config, ?) "
            "WHERE id = ?", (now, config_json, ns_id))
        return ns_id

    # -- housekeeping -----------------------------------------------------------

    def info(self):
        """Describe the namespaces of the cache.

        Returns
        -------
        table : pandas.DataFrame
            One row per namespace, oldest first, with columns ``namespace``,
            ``config`` (the JSON string given to :meth:`put_many`, or None),
            ``n_entries``, ``n_bytes`` (bytes of stored vectors), ``dim``,
            ``created`` and ``last_used`` (UTC timestamps). Its ``attrs`` hold
            ``path`` (the database file) and ``file_bytes`` (its size on disk,
            write-ahead log included). Empty when the cache does not exist.

        Examples
        --------
        >>> import tempfile
        >>> from skanimal.features import EmbeddingCache
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     EmbeddingCache(tmp).info().columns.tolist()
        ['namespace', 'config', 'n_entries', 'n_bytes', 'dim', 'created', 'last_used']
        """
        rows = []
        with self._locked():
            conn = self._open(create=False)
            if conn is not None:
                try:
                    # every stored vector has 4 * dim bytes (checked on write
                    # and on read), so counting the key index is enough
                    rows = conn.execute(
                        "SELECT n.name, n.config, "
                        "(SELECT count(*) FROM embeddings AS e WHERE e.ns = n.id) AS c, "
                        "0, n.dim, n.created, n.last_used FROM namespaces AS n "
                        "ORDER BY n.created, n.id").fetchall()
                except sqlite3.Error as exc:
                    raise self._error(exc, "reading its contents") from exc
        table = pd.DataFrame(rows, columns=_INFO_COLUMNS)
        table["n_bytes"] = table["n_entries"] * 4 * table["dim"]
        for col in ("n_entries", "n_bytes", "dim"):
            table[col] = table[col].astype(np.int64)
        for col in ("created", "last_used"):
            table[col] = pd.to_datetime(table[col].astype(np.float64), unit="s", utc=True)
        file_bytes = 0
        for suffix in ("", "-wal"):
            try:
                file_bytes += os.stat(f"{self.db_path}{suffix}").st_size
            except OSError:
                pass
        table.attrs = {"path": str(self.db_path), "file_bytes": file_bytes}
        return table

    def clear(self, namespace=None, *, vacuum=False):
        """Remove the entries of one namespace, or of all.

        Parameters
        ----------
        namespace : str, default=None
            The namespace to empty and forget; ``None`` clears every namespace.
        vacuum : bool, default=False
            Also rebuild the database file so that it gives the freed space
            back to the file system (this takes a while on large caches and
            waits for other processes' transactions).

        Returns
        -------
        n_removed : int
            The number of entries removed (0 when there is no cache).

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from skanimal.features import EmbeddingCache
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     cache = EmbeddingCache(tmp)
        ...     cache.put_many("a", ["k1", "k2"], np.zeros((2, 3)))
        ...     cache.put_many("b", ["k1"], np.zeros((1, 3)))
        ...     print(cache.clear("a"), cache.clear(), cache.clear())
        ...     cache.close()
        2 1 0
        """
        if namespace is not None:
            _check_namespace(namespace)
        with self._locked():
            conn = self._open(create=False)
            if conn is None:
                return 0
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if namespace is None:
                        n = conn.execute("DELETE FROM embeddings").rowcount
                        conn.execute("DELETE FROM namespaces")
                    else:
                        n = conn.execute(
                            "DELETE FROM embeddings WHERE ns IN "
                            "(SELECT id FROM namespaces WHERE name = ?)",
                            (namespace,)).rowcount
                        conn.execute("DELETE FROM namespaces WHERE name = ?",
                                     (namespace,))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
                if vacuum:
                    conn.execute("VACUUM")
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise self._error(exc, "clearing it") from exc
            self._touched.pop(namespace, None)
        return n
