"""Tests of skanimal.model_selection: subject-wise Optuna search and presets."""

import os
import pickle
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
import sklearn
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanimal.datasets import make_grimace_faces
from skanimal.evaluation import subject_report
from skanimal.features import DeepFeatures
from skanimal.model_selection import (
    SEARCH_SPACES,
    SubjectSearchCV,
    make_preset_estimator,
    search_space,
)
from skanimal.utils.estimator_checks import expected_failed_checks

C_SPACE = {"C": FloatDistribution(1e-3, 1e3, log=True)}


def _table(n_subjects=6, per_subject=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_subjects * per_subject, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=len(X)) > 0).astype(int)
    groups = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    return X, y, groups


# the splits yielded by every RecordingGroupKFold, as (train subjects, test subjects);
# module level because clone() deep-copies splitters
INNER_SPLITS = []


class RecordingGroupKFold(GroupKFold):
    """The real GroupKFold, recording the subjects on each side of what it yields."""

    def split(self, X, y=None, groups=None):
        groups = np.asarray(groups)
        for train, test in super().split(X, y, groups):
            INNER_SPLITS.append((set(groups[train]), set(groups[test])))
            yield train, test


class CountingLogisticRegression(LogisticRegression):
    """LogisticRegression that counts its fits (in a class attribute)."""

    n_fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).n_fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


# --------------------------------------------------------------------------- #
# nested subject-wise search on the built-in data
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def faces():
    data = make_grimace_faces(4, n_samples=48, image_size=32, random_state=0)
    return data.images, data.target, data.groups


def test_nested_search_on_grimace_faces_inner_splits_never_mix_subjects(faces):
    X, y, groups = faces
    INNER_SPLITS.clear()
    search = SubjectSearchCV.from_preset(
        "lbp_svm", n_trials=3, cv=RecordingGroupKFold(n_splits=2), random_state=0,
        scoring="accuracy",
    ).set_params(estimator__lbpfeatures__image_size=None)
    assert is_classifier(search)
    outer = LeaveOneGroupOut()
    res = cross_validate(search, X, y, groups=groups, cv=outer,
                         params={"groups": groups}, return_estimator=True,
                         error_score="raise")
    outer_tests = [set(groups[test]) for _, test in outer.split(X, y, groups)]
    # one search per outer fold, each recording its 2 inner splits once (all
    # trials share them)
    assert len(INNER_SPLITS) == 2 * len(outer_tests)
    for k, held_out in enumerate(outer_tests):
        for train_s, test_s in INNER_SPLITS[2 * k:2 * k + 2]:
            assert train_s.isdisjoint(test_s)
            assert held_out.isdisjoint(train_s | test_s)  # the outer test subject never
            assert len(train_s | test_s) == 3  # the three other subjects, all used
    assert np.all((res["test_score"] >= 0) & (res["test_score"] <= 1))
    for fitted in res["estimator"]:
        assert fitted.n_trials_ == 3 and fitted.n_new_trials_ == 3
        assert set(fitted.best_params_) == set(search_space("lbp_svm"))
        assert fitted.best_estimator_.named_steps["lbpfeatures"].radius in (1, 3)
    # subject_report passes params={"groups": ...} to fit, indexed per fold
    INNER_SPLITS.clear()
    report = subject_report(search.set_params(n_trials=2), X, y, groups,
                            params={"groups": groups})
    assert list(report.index[:4]) == sorted(set(groups))
    assert len(INNER_SPLITS) == 2 * 4
    assert 0 <= report.loc["pooled", "accuracy"] <= 1


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
def test_leaky_splitter_is_refused_before_any_trial():
    X, y, groups = _table()
    CountingLogisticRegression.n_fits = 0
    search = SubjectSearchCV(CountingLogisticRegression(), C_SPACE, n_trials=2, cv=KFold(4))
    leak = r"not subject-wise: inner split 0 has subject\(s\) \[.s1.\]"
    with pytest.raises(ValueError, match=leak):
        search.fit(X, y, groups=groups)
    assert CountingLogisticRegression.n_fits == 0
    # an explicit leaky iterable is refused too
    leaky = [(np.arange(0, 40), np.arange(35, 60))]
    with pytest.raises(ValueError, match="subject\\(s\\) \\['s3'\\]"):
        search.set_params(cv=leaky).fit(X, y, groups=groups)
    assert CountingLogisticRegression.n_fits == 0


def test_default_cv_is_group_kfold_and_results_are_consistent():
    X, y, groups = _table(n_subjects=4)
    search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=4,
                             random_state=0).fit(X, y, groups=groups)
    assert search.n_splits_ == 4  # min(5, n_subjects)
    cv = pd.DataFrame(search.cv_results_)
    assert len(cv) == 4 and (cv["state"] == "COMPLETE").all()
    splits = cv[[f"split{k}_test_score" for k in range(4)]].to_numpy()
    np.testing.assert_allclose(cv["mean_test_score"], splits.mean(axis=1))
    best = cv.loc[search.best_index_]
    assert best["rank_test_score"] == 1
    assert best["mean_test_score"] == pytest.approx(search.best_score_)
    assert best["params"] == search.best_params_
    # the refitted estimator has the best parameters and is fitted on all data
    assert search.best_estimator_.C == search.best_params_["C"]
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    assert search.score(X, y) == pytest.approx(search.best_estimator_.score(X, y))
    assert search.classes_.tolist() == [0, 1]
    # same seed, same draws
    again = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=4,
                            random_state=0).fit(X, y, groups=groups)
    np.testing.assert_allclose(again.cv_results_["param_C"].astype(float),
                               search.cv_results_["param_C"].astype(float))
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #


def test_errors_are_clear():
    X, y, groups = _table()
    search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=1)
    with pytest.raises(ValueError, match="needs groups"):
        clone(search).set_params(cv=GroupKFold(3)).fit(X, y)
    with pytest.raises(ValueError, match="single subject"):
        search.fit(X, y, groups=np.zeros(len(X)))
    with pytest.raises(ValueError, match="groups has 3 entries"):
        search.fit(X, y, groups=groups[:3])
    with pytest.raises(ValueError, match="'alpha', which is not a parameter"):
        SubjectSearchCV(LogisticRegression(), {"alpha": FloatDistribution(0, 1)}).fit(
            X, y, groups=groups)
    with pytest.raises(TypeError, match=r"param_distributions\['C'\] must be an optuna"):
        SubjectSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}).fit(X, y, groups=groups)
    with pytest.raises(InvalidParameterError, match="param_distributions"):
        SubjectSearchCV(LogisticRegression(), "no_such_preset").fit(X, y, groups=groups)
    # a preset whose names do not fit the estimator
    with pytest.raises(ValueError, match="'lbpfeatures__radius', which is not"):
        SubjectSearchCV(LogisticRegression(), "lbp_svm").fit(X, y, groups=groups)
    with pytest.raises(InvalidParameterError, match="n_trials"):
        SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=0).fit(X, y, groups=groups)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SubjectSearchCV(LogisticRegression(), C_SPACE, storage="/no/such/dir/s.db").fit(
            X, y, groups=groups)


def test_error_score_raise_and_nan():
    X, y, groups = _table()
    bad = {"C": FloatDistribution(-2.0, -1.0)}  # LogisticRegression refuses C < 0
    with pytest.raises(InvalidParameterError, match="inner fold 0"):
        SubjectSearchCV(LogisticRegression(), bad, n_trials=1,
                        error_score="raise").fit(X, y, groups=groups)
    with pytest.warns(FitFailedWarning, match="inner fits failed"), \
            pytest.raises(ValueError, match="No trial .* completed"):
        SubjectSearchCV(LogisticRegression(), bad, n_trials=2).fit(X, y, groups=groups)
    # a numeric error_score completes the trials with that score
    search = SubjectSearchCV(LogisticRegression(), bad, n_trials=2, error_score=0.0,
                             refit=False)
    with pytest.warns(FitFailedWarning):
        search.fit(X, y, groups=groups)
    assert search.best_score_ == 0.0 and search.n_trials_ == 2
    with pytest.raises(AttributeError, match="refit=False"):
        search.predict(X)


def test_delegation_follows_the_estimator():
    X, y, groups = _table()
    svc = SubjectSearchCV(LinearSVC(), C_SPACE, n_trials=2, random_state=0)
    assert not hasattr(svc, "predict_proba") and hasattr(svc, "decision_function")
    svc.fit(X, y, groups=groups)
    assert svc.decision_function(X).shape == (len(X),)
    lr = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2, random_state=0)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        lr.predict(X)
    lr.fit(X, y, groups=groups)
    np.testing.assert_allclose(lr.predict_proba(X).sum(axis=1), 1.0)


# --------------------------------------------------------------------------- #
# metadata routing
# --------------------------------------------------------------------------- #


class WeightRecordingLR(LogisticRegression):
    """LogisticRegression that records the sample weights it was fitted with."""

    seen = []

    def fit(self, X, y, sample_weight=None):
        type(self).seen.append(None if sample_weight is None else np.asarray(sample_weight))
        return super().fit(X, y, sample_weight=sample_weight)


def test_routing_enabled_nested_and_global_config_untouched():
    X, y, groups = _table()
    weights = np.linspace(1.0, 2.0, len(X))
    before = sklearn.get_config()["enable_metadata_routing"]
    with sklearn.config_context(enable_metadata_routing=True):
        WeightRecordingLR.seen = []
        est = WeightRecordingLR().set_fit_request(sample_weight=True)
        search = SubjectSearchCV(est, C_SPACE, n_trials=2, cv=2, random_state=0)
        search.set_fit_request(groups=True)
        res = cross_validate(search, X, y, cv=LeaveOneGroupOut(),
                             params={"groups": groups, "sample_weight": weights},
                             error_score="raise")
        assert np.all(np.isfinite(res["test_score"]))
        # 6 outer folds x (2 trials x 2 inner folds + 1 refit), all weighted
        assert len(WeightRecordingLR.seen) == 6 * 5
        assert all(w is not None and w.min() >= 1.0 for w in WeightRecordingLR.seen)
    assert sklearn.get_config()["enable_metadata_routing"] == before


# --------------------------------------------------------------------------- #
# storage: resume, refuse a mismatched study, a killed process
# --------------------------------------------------------------------------- #


def test_sqlite_resume_runs_only_missing_trials(tmp_path):
    X, y, groups = _table()
    db = tmp_path / "search.db"

    def stop_after_three(study, trial):
        if len(study.get_trials(states=(TrialState.COMPLETE,))) >= 3:
            study.stop()

    first = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=7, storage=db,
                            random_state=0, callbacks=[stop_after_three])
    first.fit(X, y, groups=groups)
    assert first.n_trials_ == 3 and first.n_new_trials_ == 3
    old = {t.number: (t.params, t.value) for t in first.study_.trials}

    resumed = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=7, storage=str(db),
                              random_state=0).fit(X, y, groups=groups)
    assert resumed.study_name_ == first.study_name_
    assert resumed.n_new_trials_ == 4 and resumed.n_trials_ == 7
    trials = resumed.study_.trials
    assert len(trials) == 7
    for t in trials[:3]:  # the old trials are kept as they were
        assert (t.params, t.value) == old[t.number]
    # the resumed sampler continues with new draws rather than repeating the first
    new_cs = {t.params["C"] for t in trials[3:]}
    assert new_cs.isdisjoint({p["C"] for p, _ in old.values()})
    assert len(resumed.cv_results_["mean_test_score"]) == 7
    assert resumed.best_score_ == max(t.value for t in trials)
    # all wanted trials are there: nothing more runs
    again = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=7,
                            storage=f"sqlite:///{db}").fit(X, y, groups=groups)
    assert again.n_new_trials_ == 0 and again.best_params_ == resumed.best_params_


def test_mismatched_study_is_refused(tmp_path):
    X, y, groups = _table()
    db = tmp_path / "s.db"
    SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=1, storage=db,
                    study_name="mine").fit(X, y, groups=groups)
    other_space = {"C": FloatDistribution(1e-2, 1e2, log=True)}
    with pytest.raises(ValueError, match="created for a different search space"):
        SubjectSearchCV(LogisticRegression(), other_space, n_trials=2, storage=db,
                        study_name="mine").fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="different estimator"):
        SubjectSearchCV(LogisticRegression(max_iter=500), C_SPACE, n_trials=2, storage=db,
                        study_name="mine").fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="different data or inner splits"):
        SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2, storage=db,
                        study_name="mine").fit(X[:-10], y[:-10], groups=groups[:-10])
    # a study made by plain Optuna is not adopted
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="plain",
                                direction="maximize")
    study.optimize(lambda t: t.suggest_float("C", 0, 1), n_trials=1)
    with pytest.raises(ValueError, match="not created by SubjectSearchCV"):
        SubjectSearchCV(LogisticRegression(), C_SPACE, storage=db,
                        study_name="plain").fit(X, y, groups=groups)
    # the default name depends on the data: outer folds never share a study
    a = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=1, storage=db)
    b = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=1, storage=db)
    a.fit(X, y, groups=groups)
    b.fit(X[10:], y[10:], groups=groups[10:])
    assert a.study_name_ != b.study_name_ and a.study_name_.startswith(
        "skanimal-LogisticRegression-")


_HELPER = '''
import os, signal, time
import numpy as np
from sklearn.linear_model import LogisticRegression

N_FITS = 0


class KillableLR(LogisticRegression):
    """Kills its own process at the fit number given by $KILL_AT_FIT."""

    def fit(self, X, y, sample_weight=None):
        global N_FITS
        N_FITS += 1
        if str(N_FITS) == os.environ.get("KILL_AT_FIT"):
            time.sleep(0.5)  # let the trial's first heartbeat be written
            os.kill(os.getpid(), signal.SIGKILL)
        return super().fit(X, y, sample_weight=sample_weight)


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y, np.repeat(np.arange(6), 10)
'''

_CHILD = '''
import sys
from optuna.distributions import FloatDistribution
from skanimal.model_selection import SubjectSearchCV
from search_helper import KillableLR, data

X, y, groups = data()
SubjectSearchCV(KillableLR(), {"C": FloatDistribution(1e-3, 1e3, log=True)}, n_trials=6,
                cv=2, storage=sys.argv[1], random_state=0).fit(X, y, groups=groups)
'''


def test_killed_search_resumes_and_reruns_the_killed_trial(tmp_path, monkeypatch):
    (tmp_path / "search_helper.py").write_text(_HELPER)
    monkeypatch.syspath_prepend(str(tmp_path))
    from search_helper import KillableLR, data

    db = tmp_path / "killed.db"
    env = {**os.environ, "KILL_AT_FIT": "7",  # trial 3, first inner fold (2 fits a trial)
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(db)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    url = f"sqlite:///{db}"
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(url)]
    before = optuna.load_study(study_name=name, storage=url).trials
    assert [t.state for t in before] == [TrialState.COMPLETE] * 3 + [TrialState.RUNNING]

    time.sleep(2.2)  # the killed trial's heartbeat (1-s resolution) gets older than 1 s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(
            url, heartbeat_interval=1, grace_period=1,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(1))
    X, y, groups = data()
    search = SubjectSearchCV(KillableLR(), {"C": FloatDistribution(1e-3, 1e3, log=True)},
                             n_trials=6, cv=2, storage=storage, random_state=0)
    search.fit(X, y, groups=groups)
    trials = search.study_.trials
    assert search.study_name_ == name  # the same study, found from its fingerprint
    assert trials[3].state == TrialState.FAIL  # the killed trial
    for old, now in zip(before[:3], trials[:3]):
        assert (old.params, old.value, old.state) == (now.params, now.value, now.state)
    assert search.n_new_trials_ == 3 and search.n_trials_ == 6
    assert len(trials) == 7
    # the killed trial ran again with its parameters
    assert trials[4].params == before[3].params
    assert trials[4].state == TrialState.COMPLETE


# --------------------------------------------------------------------------- #
# pruning network trials
# --------------------------------------------------------------------------- #


def test_skorch_trials_are_pruned_per_epoch(rng_images):
    from skanimal.nets import FineTunedClassifier

    X = np.concatenate([rng_images, rng_images[:, ::-1]])[:, :32, :32]
    y = np.tile([0, 1], 12)
    groups = np.repeat(np.arange(6), 4)
    net = FineTunedClassifier("test_resnet", weights=None, image_size=32, train_resize=36,
                              batch_size=4, lr=1e-3, verbose=0, random_state=0)
    search = SubjectSearchCV(
        net, {"max_epochs": IntDistribution(1, 3, step=2)}, n_trials=2, cv=2,
        sampler=optuna.samplers.GridSampler({"max_epochs": [1, 3]}, seed=0),
        # the negated valid_loss is always < 0: prune from step 2 on
        pruner=optuna.pruners.ThresholdPruner(lower=0.0, n_warmup_steps=2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. an image-wise valid split
        warnings.filterwarnings("ignore", message="Backbone .* random weights")
        search.fit(X, y, groups=groups)
    by_epochs = {t.params["max_epochs"]: t for t in search.study_.trials}
    short, long = by_epochs[1], by_epochs[3]
    # one epoch per inner fold: steps 0 and 1 (the second fold follows the first)
    assert short.state == TrialState.COMPLETE
    assert sorted(short.intermediate_values) == [0, 1]
    # three epochs in the first fold: pruned once step 2 is reached
    assert long.state == TrialState.PRUNED
    assert sorted(long.intermediate_values) == [0, 1, 2]
    values = list(short.intermediate_values.values()) + list(
        long.intermediate_values.values())
    assert all(v < 0 for v in values)  # -valid_loss
    assert search.n_trials_ == 2 and search.best_params_ == {"max_epochs": 1}
    assert search.cv_results_["state"].tolist() == ["COMPLETE", "PRUNED"] or \
        search.cv_results_["state"].tolist() == ["PRUNED", "COMPLETE"]
    assert len(search.best_estimator_.history_) == 1

    no_valid = SubjectSearchCV(net.set_params(train_split=None), {"lr": [1e-3]},
                               pruner=optuna.pruners.MedianPruner())
    with pytest.raises(ValueError, match="train_split is None"):
        no_valid.set_params(param_distributions={
            "lr": CategoricalDistribution([1e-3])}).fit(X, y, groups=groups)


def test_fold_level_pruning_of_other_estimators():
    X, y, groups = _table()
    # scores are <= 1 < 2: every trial is pruned once step 1 (fold 1) is reported
    search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=3, random_state=0,
                             pruner=optuna.pruners.ThresholdPruner(lower=2.0,
                                                                   n_warmup_steps=1))
    with pytest.raises(ValueError, match="No trial .* completed .*'PRUNED': 3"):
        search.fit(X, y, groups=groups)
    for t in search.study_.trials:
        assert t.state == TrialState.PRUNED and sorted(t.intermediate_values) == [0, 1]
        assert len(t.user_attrs["skanimal_cv"]["test_scores"]) == 2
    # with a pruner that never fires, the reported values are the running means
    search.set_params(pruner=optuna.pruners.ThresholdPruner(lower=-1.0))
    search.fit(X, y, groups=groups)
    for t in search.study_.trials:
        scores = t.user_attrs["skanimal_cv"]["test_scores"]
        np.testing.assert_allclose([t.intermediate_values[k] for k in range(5)],
                                   np.cumsum(scores) / np.arange(1, 6))


# --------------------------------------------------------------------------- #
# the embedding cache makes a linear-probe search cost one extraction
# --------------------------------------------------------------------------- #

EMBEDDED = []


class CountingDeepFeatures(DeepFeatures):
    """DeepFeatures that records how many images its network embeds."""

    def _compute(self, X, todo, out, n_hits):
        EMBEDDED.append(len(todo))
        return super()._compute(X, todo, out, n_hits)


def test_linear_probe_search_embeds_each_image_once(png_folder, image_labels_groups,
                                                     tmp_path):
    paths, _ = png_folder
    y, groups = image_labels_groups
    EMBEDDED.clear()
    pipe = make_pipeline(
        CountingDeepFeatures("test_resnet", weights=None, cache=tmp_path, verbose=0),
        LogisticRegression(max_iter=500),
    )
    space = search_space("linear_probe", deepfeatures__backbone=None,
                         deepfeatures__pooling=None)
    search = SubjectSearchCV(pipe, space, n_trials=4, cv=2, random_state=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Backbone .* random weights")
        search.fit(paths, y, groups=groups)
    assert search.n_trials_ == 4
    assert sum(EMBEDDED) == len(paths)  # 4 trials x 2 folds x 2 transforms + refit


# --------------------------------------------------------------------------- #
# presets
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(SEARCH_SPACES))
def test_presets_name_real_parameters(name):
    estimator = make_preset_estimator(name)
    space = search_space(name)
    assert set(space) <= set(estimator.get_params(deep=True))
    search = SubjectSearchCV.from_preset(name)
    assert search.param_distributions == name
    assert type(search.estimator) is type(estimator)


def test_preset_values_follow_the_papers():
    lbp = search_space("lbp_svm")
    assert lbp["lbpfeatures__radius"].choices == (1, 3)
    assert lbp["lbpfeatures__grid"].choices == (4, 8, 16)
    assert lbp["linearsvc__C"].log
    ps = search_space("painseeker")
    assert ps["lambda_prsc"].choices == (0.05, 0.1, 0.5, 1.0, 1.5)
    assert ps["margin"].choices == (0.05, 0.1, 0.15, 0.2, 0.5)
    assert ps["k_high"].choices == (3, 5, 10, 15, 20)
    # pooling choices valid for every backbone
    assert search_space("linear_probe")["deepfeatures__pooling"].choices == ("auto", "avg")
    vits = search_space("linear_probe", deepfeatures__backbone=["dino_vits8", "dino_vits16"])
    assert vits["deepfeatures__pooling"].choices == ("cls", "avg", "cls+avg")
    custom = search_space("lbp_svm", linearsvc__C=[0.1, 1.0], lbpfeatures__grid=None,
                          lbpfeatures__method=CategoricalDistribution(["uniform"]))
    assert custom["linearsvc__C"].choices == (0.1, 1.0)
    assert "lbpfeatures__grid" not in custom and "lbpfeatures__method" in custom
    with pytest.raises(ValueError, match="Unknown search space 'svm'"):
        search_space("svm")
    with pytest.raises(TypeError, match="Override linearsvc__C=3"):
        search_space("lbp_svm", linearsvc__C=3)


# --------------------------------------------------------------------------- #
# scikit-learn API conventions
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("check", [
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_mixin_order",
])
def test_sklearn_api_checks(check):
    from sklearn.utils import estimator_checks

    search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2)
    getattr(estimator_checks, check)("SubjectSearchCV", search)


def test_routing_enabled_without_fit_params():
    X, y, groups = _table()
    with sklearn.config_context(enable_metadata_routing=True):
        search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2, cv=3,
                                 random_state=0).fit(X, y, groups=groups)
    assert search.n_splits_ == 3 and np.isfinite(search.best_score_)


def test_without_groups_an_int_cv_is_image_wise_with_a_warning():
    X, y, _ = _table()
    search = SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2, cv=3, random_state=0)
    with pytest.warns(UserWarning, match="no groups: the inner splits are image-wise"):
        search.fit(X, y)
    assert search.n_splits_ == 3 and np.isfinite(search.best_score_)
    # the image-wise splits are StratifiedKFold's for a classifier
    from sklearn.model_selection import StratifiedKFold

    expected = [test for _, test in StratifiedKFold(3).split(X, y)]
    assert search.cv_results_["split0_test_score"].shape == (2,)
    scores = [LogisticRegression(C=search.best_params_["C"]).fit(
        np.delete(X, test, 0), np.delete(y, test)).score(X[test], y[test]) for test in expected]
    assert search.best_score_ == pytest.approx(np.mean(scores))


@parametrize_with_checks(
    [SubjectSearchCV(LogisticRegression(), C_SPACE, n_trials=2, cv=3, random_state=0)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "SubjectSearchCV got no groups", UserWarning)
        check(estimator)


def test_stateless_first_step_is_computed_once_for_all_trials(tmp_path):
    # a frozen DeepFeatures learns nothing: the search embeds every image once
    # (then the refit once more), not once per trial and fold, and scores as a
    # search of the rest of the pipeline on the precomputed features
    import torch

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    y = np.tile([0, 1], 6)
    groups = np.repeat(np.arange(4), 3)
    deep = DeepFeatures("test_resnet", weights=None, image_size=32, cache=False, verbose=0,
                        device="cpu")
    space = {"logisticregression__C": FloatDistribution(1e-2, 1e2, log=True)}
    seen = []

    def count_stem_images(module, args, output):
        stem = isinstance(module, torch.nn.Conv2d) and module.in_channels == 3
        if stem and args[0].device.type != "meta":  # not fit's shape probe (meta device)
            seen.append(int(args[0].shape[0]))

    handle = torch.nn.modules.module.register_module_forward_hook(count_stem_images)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # random weights
            search = SubjectSearchCV(make_pipeline(deep, LogisticRegression()), space,
                                     n_trials=3, cv=2, random_state=0).fit(X, y, groups=groups)
            features = clone(deep).fit(X).transform(X)
    finally:
        handle.remove()
    assert sum(seen) == 3 * len(X)  # the search, its refit, the reference above
    rest = SubjectSearchCV(make_pipeline(LogisticRegression()), space, n_trials=3, cv=2,
                           random_state=0).fit(features, y, groups=groups)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  rest.cv_results_["mean_test_score"])
    assert search.best_params_ == rest.best_params_
    np.testing.assert_array_equal(search.predict(X), rest.predict(features))
