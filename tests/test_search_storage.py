"""SubjectSearchCV on shared storages: processes on one study (SQLite, a real
PostgreSQL server) and parallel loops through joblib (a local Dask cluster)."""

import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import joblib
import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
from sklearn.linear_model import LogisticRegression

from skanimal.model_selection import SubjectSearchCV

N_TRIALS = 12
SPACE = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}

# a cheap estimator whose fits take a little wall time (not CPU), so that
# processes started together overlap; it appends its process id to a file
_HELPER = '''
import os, time
import numpy as np
from sklearn.linear_model import RidgeClassifier


class SlowRidge(RidgeClassifier):
    def __init__(self, alpha=1.0, pid_file=None):
        super().__init__(alpha=alpha)
        self.pid_file = pid_file

    def fit(self, X, y, sample_weight=None):
        time.sleep(0.02)
        if self.pid_file is not None:
            with open(self.pid_file, "a") as f:
                f.write(f"{os.getpid()}\\n")
        return super().fit(X, y, sample_weight=sample_weight)


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 2))
    y = (X[:, 0] + 0.5 * rng.normal(size=48) > 0).astype(int)
    return X, y, np.repeat(np.arange(6), 8)
'''

# one worker process: waits until every worker is ready (imports done), then fits
_WORKER = '''
import json, os, sys, time
from optuna.distributions import FloatDistribution
from skanimal.model_selection import SubjectSearchCV
from storage_helper import SlowRidge, data

SPACE = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}

storage, name, n_trials, ready, n_workers = sys.argv[1:]
open(os.path.join(ready, str(os.getpid())), "w").close()
deadline = time.monotonic() + 60
while len(os.listdir(ready)) < int(n_workers) and time.monotonic() < deadline:
    time.sleep(0.01)
X, y, groups = data()
search = SubjectSearchCV(SlowRidge(), SPACE,
                         n_trials=int(n_trials), cv=2, storage=storage, study_name=name,
                         refit=False).fit(X, y, groups=groups)
print(json.dumps({"pid": os.getpid(), "n_new": search.n_new_trials_,
                  "n_trials": search.n_trials_, "best_params": search.best_params_,
                  "best_score": search.best_score_,
                  "numbers": [int(n) for n in search.cv_results_["number"]]}))
'''


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    folder = tmp_path_factory.mktemp("storage_helper")
    (folder / "storage_helper.py").write_text(_HELPER)
    sys.path.insert(0, str(folder))
    try:
        import storage_helper

        yield storage_helper, folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("storage_helper", None)


# --------------------------------------------------------------------------- #
# a throwaway PostgreSQL server
# --------------------------------------------------------------------------- #


def _missing_postgres(reason):
    if os.environ.get("SKANIMAL_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"SKANIMAL_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server on a Unix socket in a temporary folder; its URL."""
    bindir = _postgres_bin()
    if bindir is None:
        _missing_postgres("PostgreSQL's initdb/pg_ctl were not found (Debian: apt-get "
                          "install postgresql)")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        _missing_postgres("the psycopg2 driver is not installed (pip install "
                          "psycopg2-binary)")
    as_user = []
    folder = tempfile.mkdtemp(prefix="skanimal-pg-")
    if os.geteuid() == 0:  # the server refuses to run as root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            _missing_postgres("running as root and there is no 'postgres' user")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")

    def run(*cmd):
        proc = subprocess.run([*as_user, os.path.join(bindir, cmd[0]), *cmd[1:]],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{cmd[0]} failed:\n{proc.stdout}\n{proc.stderr}"

    run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    # no TCP port: the socket lives in the folder; no fsync for a throwaway server
    options = f"-k {folder} -c listen_addresses='' -F -c full_page_writes=off"
    run("pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start")
    try:
        run("createdb", "-h", folder, "-U", "postgres", "skanimal")
        yield f"postgresql+psycopg2://postgres@/skanimal?host={folder}"
    finally:
        run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- #
# two processes on one study
# --------------------------------------------------------------------------- #


def _check_shared_study(outputs, url, name, n_trials):
    study = optuna.load_study(study_name=name, storage=url)
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # no duplicate, no gap
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n_trials
    # a trial two processes began at the same instant is given up, nothing else
    others = [t for t in trials if t.state != TrialState.COMPLETE]
    assert all(t.state == TrialState.FAIL and t.user_attrs["skanimal_surplus"]
               and not t.params for t in others)
    # every complete trial is one process's, and both processes ran some
    assert sum(out["n_new"] for out in outputs) == n_trials
    assert all(out["n_new"] > 0 for out in outputs)
    best = study.best_trial
    for out in outputs:  # each search waited for the other's running trials
        assert out["n_trials"] == n_trials
        assert out["best_params"] == best.params and out["best_score"] == best.value
        assert out["numbers"] == sorted(t.number for t in complete)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_fill_one_study(backend, helper, tmp_path, request):
    _, folder = helper
    if backend == "sqlite":
        storage = str(tmp_path / "shared.db")  # a path: skanimal adds the lock timeout
        url = f"sqlite:///{storage}"
    else:
        storage = url = request.getfixturevalue("postgres_url")
    ready = tmp_path / "ready"
    ready.mkdir()
    name = f"two-processes-{backend}"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, storage, name, str(N_TRIALS),
                               str(ready), "2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "database is locked" not in err
        assert "_SurplusTrial" not in err  # given-up trials raise no alarm
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert outputs[0]["pid"] != outputs[1]["pid"]
    _check_shared_study(outputs, url, name, N_TRIALS)

    # a later search on the full study runs nothing and finds the same best
    storage_helper, _ = helper
    X, y, groups = storage_helper.data()
    again = SubjectSearchCV(storage_helper.SlowRidge(), SPACE, n_trials=N_TRIALS, cv=2,
                            storage=storage, study_name=name, refit=False)
    again.fit(X, y, groups=groups)
    assert again.n_new_trials_ == 0 and again.best_params_ == outputs[0]["best_params"]


def test_a_trial_begun_beyond_n_trials_is_given_up_and_others_are_awaited(tmp_path):
    """Another process begins two trials while this fit's first one runs."""
    X, y, groups = np.random.default_rng(0).normal(size=(12, 2)), np.tile([0, 1], 6), \
        np.repeat(np.arange(3), 4)
    url = f"sqlite:///{tmp_path / 's.db'}"
    space = {"C": FloatDistribution(0.1, 1)}
    other_trials = []

    def other_process(study, frozen_trial):
        if other_trials:
            return
        other = optuna.load_study(study_name=study.study_name, storage=url)
        other_trials.extend(other.ask() for _ in range(2))
        for trial in other_trials:
            trial.suggest_float("C", 0.1, 1)

        def finish():  # later, with a score no real trial reaches
            for trial, value in zip(other_trials, (2.0, 0.5)):
                other.tell(trial, value)

        threading.Timer(0.5, finish).start()

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    trial_logger = logging.getLogger("optuna.study._optimize")
    trial_logger.addHandler(handler)
    try:
        search = SubjectSearchCV(LogisticRegression(), space, n_trials=3, cv=2, storage=url,
                                 study_name="raced", callbacks=[other_process])
        search.fit(X, y, groups=groups)
    finally:
        trial_logger.removeHandler(handler)
    states = [t.state for t in search.study_.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAIL]
    surplus = search.study_.trials[3]
    assert surplus.user_attrs["skanimal_surplus"] and not surplus.params
    assert search.n_new_trials_ == 1 and search.n_trials_ == 3
    assert list(search.cv_results_["number"]) == [0, 1, 2]  # not the surplus trial
    # the fit waited for the other process's trials: the best is one of them
    assert search.best_score_ == 2.0
    assert search.best_params_ == other_trials[0].params
    assert not [r for r in records if "Trial 3" in r.getMessage()]  # no alarm logged


def test_sqlite_path_waits_for_locks(tmp_path):
    search = SubjectSearchCV(LogisticRegression(), {"C": FloatDistribution(0.1, 1)},
                             n_trials=1, storage=tmp_path / "s.db")
    X, y, groups = np.random.default_rng(0).normal(size=(12, 2)), np.tile([0, 1], 6), \
        np.repeat(np.arange(3), 4)
    search.fit(X, y, groups=groups)
    engine = search.study_._storage._backend.engine
    with engine.connect() as connection:  # sqlite3 waits this long for another writer
        assert connection.connection.driver_connection.execute(
            "PRAGMA busy_timeout").fetchone()[0] == 120_000


# --------------------------------------------------------------------------- #
# parallel loops through joblib
# --------------------------------------------------------------------------- #


def test_process_backend_needs_a_shared_storage(helper):
    storage_helper, _ = helper
    X, y, groups = storage_helper.data()
    search = SubjectSearchCV(LogisticRegression(), {"C": FloatDistribution(0.1, 1)},
                             n_trials=2, cv=2, n_jobs=2)
    with joblib.parallel_config(backend="loky"):
        with pytest.raises(ValueError, match=r"storage=None\).*SQLite path"):
            search.fit(X, y, groups=groups)


def test_dask_cluster_runs_the_missing_trials_on_its_workers(helper, tmp_path):
    distributed = pytest.importorskip("distributed")
    storage_helper, _ = helper
    X, y, groups = storage_helper.data()
    pid_file = tmp_path / "pids.txt"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        workers = set(client.run(os.getpid).values())
        # imports done beforehand: both workers start their loop at once
        client.run(_import_search)
        with joblib.parallel_config(backend="dask"):
            search = SubjectSearchCV(storage_helper.SlowRidge(pid_file=str(pid_file)), SPACE,
                                     n_trials=N_TRIALS, cv=2, n_jobs=2, random_state=0)
            search.fit(X, y, groups=groups)
        # the study lived on the scheduler for this fit only
        assert client.run_on_scheduler(_n_dask_studies) == 0
    # the same semantics as a local run: exactly n_trials complete, best among them
    complete = search.study_.get_trials(states=(TrialState.COMPLETE,))
    assert search.n_trials_ == search.n_new_trials_ == len(complete) == N_TRIALS
    assert search.best_score_ == max(t.value for t in complete)
    assert len(search.cv_results_["number"]) == N_TRIALS
    assert isinstance(search.study_._storage, optuna.storages.InMemoryStorage)
    fits = [int(p) for p in pid_file.read_text().split()]
    refit_pid = fits.pop()  # the refit, here
    assert refit_pid == os.getpid()
    assert set(fits) == workers  # both workers ran trials, nothing else did
    assert len(fits) == 2 * N_TRIALS
    # the draws are not repeated across the workers' samplers
    assert len({t.params["alpha"] for t in complete}) == N_TRIALS


def _n_dask_studies(dask_scheduler):
    extension = dask_scheduler.extensions["optuna"]
    return sum(len(s.get_all_studies()) for s in extension.storages.values())


def _import_search():
    import storage_helper  # noqa: F401

    import skanimal.model_selection  # noqa: F401
