"""Tests of skanimal.pipeline: per-sample fit parameters resampled with X and y."""

import warnings

import numpy as np
import pytest
import sklearn
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline as imblearn_make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanimal.nets import FineTunedClassifier, GroupValidSplit
from skanimal.pipeline import Pipeline, make_pipeline
from skanimal.sampling import (
    AugmentedImage,
    AugmentingOverSampler,
    RandomFractionUnderSampler,
    make_paper_sampler,
)
from skanimal.selective import ConfidenceThresholdClassifierCV
from skanimal.utils.estimator_checks import expected_failed_checks

pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning")


class Recorder(ClassifierMixin, BaseEstimator):
    """Predicts its first class; records the rows and fit parameters it was fitted on."""

    def fit(self, X, y, groups=None, sample_weight=None, tag=None):
        self.X_, self.y_ = X, np.asarray(y)
        self.groups_, self.sample_weight_, self.tag_ = groups, sample_weight, tag
        self.classes_ = np.unique(self.y_)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class RecordingScaler(TransformerMixin, BaseEstimator):
    """The identity; records the sample weights ``fit`` got."""

    def fit(self, X, y=None, sample_weight=None):
        self.sample_weight_ = sample_weight
        return self

    def transform(self, X):
        return X


def _table(n):
    """A table whose first column is the row number, so a row tells its source."""
    return np.column_stack([np.arange(n, dtype=float), np.arange(n) % 3 - 1.0])


N = 40
Y = np.array([0] * 20 + [1] * 6 + [2] * 10 + [3] * 4)  # PSPI-like levels
GROUPS = np.array([f"s{i % 7}" for i in range(N)])
WEIGHTS = np.linspace(0.5, 2.0, N)

_SAMPLERS = {
    "augmenting": AugmentingOverSampler(augmentations=(), random_state=0),
    "fraction": RandomFractionUnderSampler({0: 0.25}, random_state=0),
    "paper_chain": make_paper_sampler("hosseini2021", random_state=0),
    "imblearn_over": RandomOverSampler(random_state=0),
    "imblearn_under": RandomUnderSampler(random_state=0),
}


def _fit(pipe, routing, *, X=None, **params):
    X = _table(N) if X is None else X
    if not routing:
        return pipe.fit(X, Y, **{f"recorder__{k}": v for k, v in params.items()})
    with sklearn.config_context(enable_metadata_routing=True):
        pipe[-1].set_fit_request(**{k: True for k in params})
        return pipe.fit(X, Y, **params)


@pytest.mark.filterwarnings("ignore:AugmentingOverSampler got a 2-D feature table")
@pytest.mark.parametrize("routing", [False, True], ids=["legacy", "routing"])
@pytest.mark.parametrize("name", sorted(_SAMPLERS))
def test_later_steps_get_the_values_of_the_source_rows(name, routing):
    pipe = make_pipeline(_SAMPLERS[name], Recorder())
    _fit(pipe, routing, groups=GROUPS, sample_weight=WEIGHTS, tag="all")
    rec, sampler = pipe[-1], pipe[0]
    source = rec.X_[:, 0].astype(int)  # the row each resampled row was taken from
    assert len(rec.y_) != N or name == "augmenting"  # the rows did change
    assert np.array_equal(source, sampler.sample_indices_)
    assert np.array_equal(rec.groups_, GROUPS[source])
    assert np.array_equal(rec.sample_weight_, WEIGHTS[source])
    assert np.array_equal(rec.y_, Y[source])
    assert rec.tag_ == "all"  # not one value per sample: passed as it is


@pytest.mark.parametrize("routing", [False, True], ids=["legacy", "routing"])
def test_consecutive_samplers_compose_and_earlier_steps_are_untouched(routing):
    steps = [RecordingScaler(), RandomFractionUnderSampler({0: 0.5}, random_state=1),
             RecordingScaler(), AugmentingOverSampler(augmentations=(), random_state=2),
             Recorder()]
    pipe = make_pipeline(*steps)
    if routing:
        with sklearn.config_context(enable_metadata_routing=True):
            for step in (pipe[0], pipe[2]):
                step.set_fit_request(sample_weight=True)
            pipe[-1].set_fit_request(groups=True, sample_weight=True)
            pipe.fit(_table(N), Y, groups=GROUPS, sample_weight=WEIGHTS)
    else:
        pipe.fit(_table(N), Y, **{"recordingscaler-1__sample_weight": WEIGHTS,
                                  "recordingscaler-2__sample_weight": WEIGHTS},
                 recorder__groups=GROUPS, recorder__sample_weight=WEIGHTS)
    under, over, rec = pipe[1], pipe[3], pipe[-1]
    source = rec.X_[:, 0].astype(int)
    assert np.array_equal(source, under.sample_indices_[over.sample_indices_])
    assert np.array_equal(pipe[0].sample_weight_, WEIGHTS)  # before any sampler
    assert np.array_equal(pipe[2].sample_weight_, WEIGHTS[under.sample_indices_])
    assert np.array_equal(rec.groups_, GROUPS[source])
    assert np.array_equal(rec.sample_weight_, WEIGHTS[source])


def test_lists_series_and_cached_samplers(tmp_path):
    pd = pytest.importorskip("pandas")
    groups = pd.Series(GROUPS, index=np.arange(N) + 100, name="subject")
    pipe = make_pipeline(RandomOverSampler(random_state=0), Recorder(), memory=str(tmp_path))
    for _ in range(2):  # the second fit loads the fitted sampler from the cache
        pipe.fit(_table(N), Y, recorder__groups=groups, recorder__sample_weight=list(WEIGHTS))
        rec = pipe[-1]
        source = rec.X_[:, 0].astype(int)
        assert isinstance(rec.groups_, pd.Series) and rec.groups_.name == "subject"
        assert rec.groups_.tolist() == GROUPS[source].tolist()
        assert isinstance(rec.sample_weight_, list)
        assert rec.sample_weight_ == WEIGHTS[source].tolist()


def test_synthetic_samples_cannot_carry_groups():
    X = _table(N)
    pipe = make_pipeline(SMOTE(k_neighbors=2, random_state=0), Recorder())
    with pytest.raises(ValueError, match=r"step 'smote' \(SMOTE\) turned 40 samples into 80 "
                                         r"(?s:.*)'groups' for step 'recorder'"):
        pipe.fit(X, Y, recorder__groups=GROUPS)
    pipe.fit(X, Y, recorder__tag="ok")  # nothing per sample: SMOTE is fine
    assert len(pipe[-1].y_) == 80 and pipe[-1].tag_ == "ok"
    # rows kept in place (already balanced) need no indices
    balanced = np.repeat([0, 1], 20)
    pipe.fit(X, balanced, recorder__groups=GROUPS)
    assert np.array_equal(pipe[-1].groups_, GROUPS)


class _BadIndices(RandomOverSampler):
    def _fit_resample(self, X, y):
        X_res, y_res = super()._fit_resample(X, y)
        self.sample_indices_ = self.sample_indices_[:-1]
        return X_res, y_res


def test_inconsistent_sample_indices_are_an_error():
    pipe = Pipeline([("bad", _BadIndices(random_state=0)), ("recorder", Recorder())])
    with pytest.raises(ValueError, match=r"step 'bad' \(_BadIndices\) has a sample_indices_ "
                                         r"of shape \(79,\)"):
        pipe.fit(_table(N), Y, recorder__groups=GROUPS)


class _RecordingGroupKFold(GroupKFold):
    """GroupKFold that records the groups of each ``split`` call."""

    seen = []

    def split(self, X, y=None, groups=None):
        type(self).seen.append(np.asarray(groups))
        return super().split(X, y, groups)


@pytest.mark.parametrize("routing", [False, True], ids=["legacy", "routing"])
def test_confidence_threshold_cv_groups_after_an_oversampler(routing):
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(8), 5)
    y = np.tile([1, 0, 0, 0, 0], 8)  # both classes in every subject, 8 vs 32
    emb = rng.normal(size=(40, 4)) + y[:, None]
    _RecordingGroupKFold.seen = []
    ctc = ConfidenceThresholdClassifierCV(LogisticRegression(), cv=_RecordingGroupKFold(2),
                                          target="coverage", target_value=0.8)
    pipe = make_pipeline(AugmentingOverSampler(augmentations=(), random_state=0), ctc)
    outer = GroupKFold(2)
    if routing:
        with sklearn.config_context(enable_metadata_routing=True):
            ctc.set_fit_request(groups=True)
            res = cross_validate(pipe, emb, y, cv=outer, params={"groups": groups},
                                 return_estimator=True, error_score="raise")
    else:
        res = cross_validate(pipe, emb, y, groups=groups, cv=outer,
                             params={"confidencethresholdclassifiercv__groups": groups},
                             return_estimator=True, error_score="raise")
    assert len(_RecordingGroupKFold.seen) == 2
    for (train, _), fitted, seen in zip(outer.split(emb, y, groups), res["estimator"],
                                        _RecordingGroupKFold.seen):
        sampler = fitted[0]
        assert len(seen) > len(train)  # oversampled
        assert np.array_equal(seen, groups[train][sampler.sample_indices_])
        assert fitted[-1].n_splits_ == 2
    # imbalanced-learn's own pipeline passes the unresampled groups
    with pytest.raises(ValueError, match="groups must be 1-D with one subject id per sample"):
        imblearn_make_pipeline(AugmentingOverSampler(augmentations=(), random_state=0),
                               ConfidenceThresholdClassifierCV(LogisticRegression(),
                                                               cv=GroupKFold(2))).fit(
            emb, y, confidencethresholdclassifiercv__groups=groups)


class _RecordingGroupValidSplit(GroupValidSplit):
    """The subject-wise validation split; records what each call got and returned."""

    def __init__(self, cv=0.2, *, stratified=True, random_state=None, calls=None):
        super().__init__(cv, stratified=stratified, random_state=random_state)
        self.calls = [] if calls is None else calls

    def __call__(self, dataset, y=None, groups=None):
        train, valid = super().__call__(dataset, y, groups=groups)
        self.calls.append((dataset.X, np.asarray(groups), train.indices, valid.indices))
        return train, valid


@pytest.mark.parametrize("routing", [False, True], ids=["legacy", "routing"])
def test_network_after_an_oversampler_under_cross_validate(png_folder, routing):
    paths, _ = png_folder
    y = np.array([0, 0, 1] * 2 + [0, 0, 0] + [0, 1, 0])
    groups = np.repeat(np.array(["ann", "bob", "cat", "dan"]), 3)
    subject_of = dict(zip(paths, groups))
    split = _RecordingGroupValidSplit(0.5, random_state=0)
    net = FineTunedClassifier(**FineTunedClassifier._get_test_params(), train_split=split,
                              random_state=0)
    pipe = make_pipeline(AugmentingOverSampler(augmentations=("flip",), random_state=0), net)
    outer = GroupKFold(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "got no groups" warning
        warnings.filterwarnings("ignore", "Backbone .* random weights", UserWarning)
        if routing:
            with sklearn.config_context(enable_metadata_routing=True):
                net.set_fit_request(groups=True)
                res = cross_validate(pipe, paths, y, cv=outer, params={"groups": groups},
                                     return_estimator=True, error_score="raise")
        else:
            res = cross_validate(pipe, paths, y, groups=groups, cv=outer,
                                 params={"finetunedclassifier__groups": groups},
                                 return_estimator=True, error_score="raise")
    assert np.all(np.isfinite(res["test_score"]))
    for (train, _), fitted in zip(outer.split(paths, y, groups), res["estimator"]):
        net_fitted = fitted[-1]
        X_seen, groups_seen, tr, va = net_fitted.train_split.calls[-1]
        n0, n1 = np.bincount(y[train], minlength=2)
        assert len(X_seen) == 2 * max(n0, n1) > len(train)  # balanced with copies
        assert any(isinstance(x, AugmentedImage) for x in X_seen)
        # the net's validation split got the subject of every image and copy
        files = [x.path if isinstance(x, AugmentedImage) else x for x in X_seen]
        assert groups_seen.tolist() == [subject_of[f] for f in files]
        assert not set(groups_seen[tr]) & set(groups_seen[va])  # subjects kept apart
        assert len(net_fitted.history) == 1


@parametrize_with_checks(
    [make_pipeline(StandardScaler(), AugmentingOverSampler(augmentations=(), random_state=0),
                   LogisticRegression())],
    expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_public_docstrings():
    numpydoc_validate = pytest.importorskip("numpydoc.validate")
    for name in ("skanimal.pipeline.Pipeline", "skanimal.pipeline.make_pipeline"):
        errors = {code: msg for code, msg in numpydoc_validate.validate(name)["errors"]
                  if code in {"EX01", "PR01", "PR02", "GL08", "SS01"}}
        assert not errors, f"{name}: {errors}"
