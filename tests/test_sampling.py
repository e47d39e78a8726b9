"""Tests of skanimal.sampling: lazily augmented images and index samplers."""

import pickle
import shutil
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.utils.estimator_checks import (
    estimator_checks_generator as imblearn_checks_generator,
)
from PIL import Image, ImageEnhance
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks
from sklearn.utils.estimator_checks import set_random_state

from skanimal.features import DeepFeatures, EmbeddingCache, LBPFeatures, image_keys
from skanimal.nets import FineTunedClassifier
from skanimal.sampling import (
    AUGMENTATIONS,
    PAPER_SAMPLERS,
    AugmentedImage,
    AugmentingOverSampler,
    RandomFractionUnderSampler,
    SamplerChain,
    make_paper_sampler,
)
from skanimal.utils import check_images, load_image, open_image
from skanimal.utils.estimator_checks import expected_failed_checks

pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning")


# ---------------------------------------------------------------------------
# AugmentedImage


def _manual(path, *, crop=None, angle=None, flip=False, brightness=None):
    """The documented operations, written out with Pillow."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if crop is not None:
        left, top, right, bottom = crop
        img = img.resize((w, h), Image.Resampling.BILINEAR,
                         box=(left * w, top * h, w - right * w, h - bottom * h))
    if angle is not None:
        img = img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)
    if flip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if brightness is not None:
        img = ImageEnhance.Brightness(img).enhance(brightness)
    return np.asarray(img)


@pytest.mark.parametrize("ops", [
    dict(flip=True),
    dict(angle=12.5),
    dict(crop=(0.1, 0.05, 0.0, 0.08)),
    dict(brightness=1.3),
    dict(crop=(0.05, 0.05, 0.05, 0.05), angle=-7.0, flip=True, brightness=0.7),
])
def test_augmented_image_decodes_as_the_manual_pillow_ops(png_folder, ops):
    paths, images = png_folder
    copy = AugmentedImage(paths[3], **ops)
    got = load_image(copy)
    assert np.array_equal(got, _manual(paths[3], **ops))
    assert got.shape == images[3].shape
    assert not np.array_equal(got, images[3])
    # greyscale reads convert the augmented RGB image, size works as for paths
    assert np.array_equal(load_image(copy, mode="L", size=20),
                          np.asarray(Image.fromarray(got).convert("L").resize(
                              (20, 20), Image.Resampling.BILINEAR)))
    # an array goes through the same operations (and keeps shape and dtype)
    assert np.array_equal(copy.apply(images[3]), got)
    as_float = copy.apply(images[3] / 255.0)
    assert as_float.dtype == np.float64
    assert np.array_equal(np.rint(as_float * 255).astype(np.uint8), got)


def test_augmented_image_is_an_immutable_picklable_value(png_folder, tmp_path):
    paths, images = png_folder
    a = AugmentedImage(paths[0], flip=True, angle=-0.0, crop=[0.1, 0, 0, 0])
    b = AugmentedImage(paths[0], flip=True, crop=(0.1, 0.0, 0.0, 0.0))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != AugmentedImage(paths[0], flip=False, crop=(0.1, 0, 0, 0))
    with pytest.raises(AttributeError, match="immutable"):
        a.flip = False
    restored = pickle.loads(pickle.dumps(a))
    assert restored == a and np.array_equal(load_image(restored), load_image(a))
    assert repr(a) == f"AugmentedImage({paths[0]!r}, flip=True, crop=(0.1, 0.0, 0.0, 0.0))"
    assert a.operations == (("crop", (0.1, 0.0, 0.0, 0.0)), ("flip",))
    # no operation: exactly the source; nested copies apply the inner ops first
    assert np.array_equal(load_image(AugmentedImage(paths[0])), images[0])
    nested = AugmentedImage(AugmentedImage(paths[0], flip=True), brightness=0.5)
    assert nested.path == paths[0]
    assert np.array_equal(load_image(nested), _manual(paths[0], flip=True, brightness=0.5))
    for bad, err, match in [
        (dict(crop=(0.5, 0, 0, 0)), ValueError, "crop left"),
        (dict(crop=(0.1, 0.1)), ValueError, "4 fractions"),
        (dict(brightness=0.0), ValueError, "brightness"),
        (dict(angle=float("nan")), ValueError, "angle"),
        (dict(flip=1), TypeError, "flip"),
    ]:
        with pytest.raises(err, match=match):
            AugmentedImage(paths[0], **bad)
    with pytest.raises(TypeError, match="source"):
        AugmentedImage(3)
    missing = AugmentedImage(str(tmp_path / "gone.png"), flip=True)
    with pytest.raises(FileNotFoundError, match=r"gone\.png.*X\[1\]"):
        open_image(missing, index=1)


def test_check_images_accepts_augmented_copies_among_paths(png_folder):
    paths, _ = png_folder
    copy = AugmentedImage(paths[1], angle=5.0)
    X = check_images([paths[0], copy])
    assert X.dtype == object and X[1] is copy
    assert check_images([copy, copy]).shape == (2,)
    assert check_images(pd.Series([copy, paths[0]]))[0] is copy
    with pytest.raises(TypeError, match=r"X\[1\] is int"):
        check_images([paths[0], 3])


def test_cache_keys_differ_between_copies_and_are_stable(png_folder, tmp_path):
    paths, _ = png_folder
    copies = [AugmentedImage(paths[2], flip=True), AugmentedImage(paths[2], angle=10.0),
              AugmentedImage(paths[2], angle=10.0, flip=True), AugmentedImage(paths[2])]
    keys = image_keys([paths[2], *copies])
    assert len(set(keys[:4])) == 4  # source and three different copies
    assert keys[4] == keys[0]  # a copy that changes nothing is its source
    assert image_keys(copies) == keys[1:]  # stable across calls
    assert image_keys([pickle.loads(pickle.dumps(c)) for c in copies]) == keys[1:]
    # content-keyed: the same copy of a renamed file is found again
    moved = shutil.copy(paths[2], tmp_path / "renamed.png")
    assert image_keys([AugmentedImage(moved, flip=True)]) == [keys[1]]


# ---------------------------------------------------------------------------
# samplers on paths, image arrays and embeddings


@pytest.fixture(scope="module")
def imbalanced(png_folder):
    paths, images = png_folder
    y = np.array([0] * 9 + [1] * 3)
    return paths, images, y


def test_fraction_undersampler_on_every_kind_of_x(imbalanced):
    paths, images, y = imbalanced
    table = images.reshape(len(images), -1)[:, :5].astype(np.float32)
    before = paths.copy(), images.copy()
    kept = []
    for X in (paths, images, table, pd.Series(paths, name="file")):
        sampler = RandomFractionUnderSampler({0: 1 / 3}, random_state=3)
        X_res, y_res = sampler.fit_resample(X, y)
        assert Counter(y_res.tolist()) == {0: 3, 1: 3}
        assert sampler.sampling_strategy_ == {0: 3}
        idx = sampler.sample_indices_
        assert np.all(np.diff(idx) > 0) and set(range(9, 12)) <= set(idx)
        assert np.array_equal(np.asarray(X_res), np.asarray(X)[idx])
        kept.append(idx)
    assert all(np.array_equal(k, kept[0]) for k in kept)  # draws ignore the kind of X
    assert isinstance(X_res, pd.Series) and X_res.name == "file"
    assert np.array_equal(before[0], paths) and np.array_equal(before[1], images)
    # a float fraction applies to the majority class
    _, y_res = RandomFractionUnderSampler(0.5, random_state=0).fit_resample(paths, y)
    assert Counter(y_res.tolist()) == {0: 5, 1: 3}
    with pytest.raises(ValueError, match="class 7"):
        RandomFractionUnderSampler({7: 0.5}).fit_resample(paths, y)
    with pytest.raises(InvalidParameterError, match="fractions"):
        RandomFractionUnderSampler(1.5).fit_resample(paths, y)
    with pytest.raises(ValueError, match="2 classes"):
        RandomFractionUnderSampler().fit_resample(paths, np.zeros(12))


def test_oversampler_copies_paths_lazily_and_arrays_identically(imbalanced):
    paths, images, y = imbalanced
    before = images.copy()
    over = dict(random_state=0, max_angle=20.0)
    P, yp = AugmentingOverSampler(**over).fit_resample(paths, y)
    A, ya = AugmentingOverSampler(**over).fit_resample(images, y)
    assert Counter(yp.tolist()) == Counter(ya.tolist()) == {0: 9, 1: 9}
    assert np.array_equal(yp, ya)
    assert list(P[:12]) == list(paths) and np.array_equal(A[:12], images)
    assert all(isinstance(p, AugmentedImage) for p in P[12:])
    assert A.dtype == np.uint8 and A.shape == (18,) + images.shape[1:]
    assert np.array_equal(images, before)
    # the lazily decoded copies equal the materialised ones, pixel for pixel
    for j in range(12, 18):
        assert P[j].path == paths[P[j].path == paths][0]
        assert np.array_equal(load_image(P[j]), A[j])
        assert not np.array_equal(A[j], images[P[j].path == paths][0])
    # each minority image is copied twice (cycled, not drawn with replacement)
    sampler = AugmentingOverSampler(**over).fit(paths, y)
    assert sampler.sampling_strategy_ == {1: 6}
    sampler.fit_resample(paths, y)
    assert Counter(sampler.sample_indices_[12:].tolist()) == {9: 2, 10: 2, 11: 2}
    # float images keep their dtype
    F, _ = AugmentingOverSampler(**over).fit_resample(images / 255.0, y)
    assert F.dtype == np.float64 and np.array_equal(np.rint(F[12:] * 255), A[12:])


def test_oversampler_draws_the_requested_operations(imbalanced):
    paths, _, y = imbalanced
    sampler = AugmentingOverSampler(augmentations=("rotate", "crop"), n_ops=2,
                                    max_angle=5.0, max_crop=0.05, random_state=1)
    X_res, _ = sampler.fit_resample(paths, y)
    ops = pd.DataFrame(sampler.augmentations_)
    assert len(ops) == 6 and ops["sample_index"].tolist() == sampler.sample_indices_[12:].tolist()
    assert (ops["angle"].abs() <= 5.0).all() and (ops["angle"] != 0).all()
    crop = ops[["crop_left", "crop_top", "crop_right", "crop_bottom"]].to_numpy()
    assert np.all((crop.max(axis=1) > 0) & (crop.max(axis=1) <= 0.05))
    assert [x.crop for x in X_res[12:]] == [tuple(c) for c in crop.tolist()]
    assert not ops["flip"].any() and (ops["brightness"] == 1.0).all()
    assert all(len(x.operations) == 2 for x in X_res[12:])
    flips, _ = AugmentingOverSampler(augmentations=["flip"], random_state=1).fit_resample(
        paths, y)
    assert {x.operations for x in flips[12:]} == {(("flip",),)}
    bright = AugmentingOverSampler(augmentations=("brightness",), brightness_std=0.2,
                                   random_state=0).fit(paths, y)
    bright.fit_resample(paths, y)
    assert np.all((bright.augmentations_["brightness"] >= 0.4)
                  & (bright.augmentations_["brightness"] <= 1.6))
    with pytest.raises(ValueError, match="augmentations"):
        AugmentingOverSampler(augmentations=("blur",)).fit_resample(paths, y)
    with pytest.raises(ValueError, match="n_ops=3"):
        AugmentingOverSampler(augmentations=("flip", "crop"), n_ops=3).fit_resample(paths, y)
    with pytest.raises(InvalidParameterError, match="max_crop"):
        AugmentingOverSampler(max_crop=0.7).fit_resample(paths, y)


def test_oversampler_duplicates_embedding_rows_with_a_warning(imbalanced):
    _, images, y = imbalanced
    emb = pd.DataFrame(images.reshape(12, -1)[:, :4].astype(np.float32),
                       columns=["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="plain duplicates"):
        sampler = AugmentingOverSampler(random_state=0)
        E, y_res = sampler.fit_resample(emb, y)
    assert list(E.columns) == ["a", "b", "c", "d"] and len(E) == 18
    assert np.array_equal(E.to_numpy(), emb.to_numpy()[sampler.sample_indices_])
    assert np.all(sampler.augmentations_["angle"] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E2, _ = AugmentingOverSampler(augmentations=(), random_state=0).fit_resample(
            emb.to_numpy(), y)
    assert np.array_equal(E2, E.to_numpy())


@pytest.mark.parametrize("kind", ["paths", "images", "frame", "chain"])
def test_fitted_samplers_round_trip_through_skops(imbalanced, kind):
    sio = pytest.importorskip("skops.io")
    paths, images, y = imbalanced
    if kind == "chain":
        sampler = make_paper_sampler("hosseini2021", random_state=0)
        X, y = np.concatenate([paths] * 3), np.array([0] * 20 + [1] * 6 + [2] * 10)
    else:
        sampler = AugmentingOverSampler(augmentations=() if kind == "frame" else AUGMENTATIONS,
                                        random_state=0)
        X = {"paths": paths, "images": images,
             "frame": pd.DataFrame(images.reshape(12, -1)[:, :3], columns=["a", "b", "c"])}[kind]
    X_res, _ = sampler.fit_resample(X, y)
    data = sio.dumps(sampler)  # a pandas DataFrame attribute could not be dumped
    untrusted = sio.get_untrusted_types(data=data)
    # nothing to trust but skanimal's own classes (no pandas, no pickled callables)
    assert untrusted and all(t.startswith("skanimal.sampling.") for t in untrusted)
    loaded = sio.loads(data, trusted=untrusted)
    fitted = loaded.steps_[-1][1] if kind == "chain" else loaded
    original = sampler.steps_[-1][1] if kind == "chain" else sampler
    assert fitted.augmentations_.keys() == original.augmentations_.keys()
    for key, column in original.augmentations_.items():
        assert np.array_equal(fitted.augmentations_[key], column)
        assert fitted.augmentations_[key].dtype == column.dtype
    assert np.array_equal(loaded.sample_indices_, sampler.sample_indices_)
    assert loaded.get_params(deep=False).keys() == sampler.get_params(deep=False).keys()
    if kind == "frame":
        assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    again, _ = loaded.fit_resample(X, y)  # the same sampler: the same copies
    assert np.array_equal(np.asarray(again), np.asarray(X_res))


def test_paper_schemes(png_folder):
    paths, _ = png_folder
    X = np.concatenate([paths] * 3)  # 36 images
    y = np.array([0] * 20 + [1] * 6 + [2] * 5 + [3] * 2 + [6] * 3)
    chain = make_paper_sampler("hosseini2021", random_state=0)
    X_res, y_res = chain.fit_resample(X, y)
    # 20 % of level 0, levels 2-6 up to level 1's six, level 1 untouched
    assert Counter(y_res.tolist()) == {0: 4, 1: 6, 2: 6, 3: 6, 6: 6}
    assert np.array_equal(y_res, y[chain.sample_indices_])
    copies = [x for x in X_res if isinstance(x, AugmentedImage)]
    assert len(copies) == 1 + 4 + 3
    assert {op[0] for c in copies for op in c.operations} <= {"flip", "rotate"}
    assert all(len(c.operations) == 1 for c in copies)
    assert [x if isinstance(x, str) else x.path for x in X_res] == list(
        X[chain.sample_indices_])
    again = make_paper_sampler("hosseini2021", random_state=0).fit_resample(X, y)[0]
    assert list(again) == list(X_res)
    amgs = make_paper_sampler("amgs", random_state=0)
    Xa, ya = amgs.fit_resample(paths, np.array([0] * 9 + [1] * 3))
    assert Counter(ya.tolist()) == {0: 9, 1: 9}
    assert {c.operations[0][0] for c in Xa[12:]} <= {"crop", "flip", "brightness"}
    with pytest.raises(InvalidParameterError, match="name"):
        make_paper_sampler("smote2002")


_CHECKED = [
    RandomFractionUnderSampler(random_state=0),
    AugmentingOverSampler(augmentations=(), random_state=0),
    SamplerChain([("under", RandomFractionUnderSampler(0.5, random_state=0)),
                  ("over", AugmentingOverSampler(augmentations=(), random_state=0))]),
]


@pytest.mark.parametrize(
    "estimator, check",
    [pair for est in _CHECKED for pair in imblearn_checks_generator(est)],
    ids=lambda obj: getattr(getattr(obj, "func", obj), "__name__", type(obj).__name__))
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@sklearn_checks(_CHECKED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _seeded_by_a_check_harness(sampler):
    """What check harnesses do: set the top-level ``random_state`` (and nothing deeper)."""
    set_random_state(sampler, random_state=0)
    return sampler


# the papers' schemes, unseeded, then seeded as imbalanced-learn seeds its own samplers
# for its suite; a chain used to have no random_state to seed (5 of 17 checks failed)
_PAPER_CHECKED = [_seeded_by_a_check_harness(make_paper_sampler(name))
                  for name in sorted(PAPER_SAMPLERS)]


@pytest.mark.parametrize(
    "estimator, check",
    [pair for est in _PAPER_CHECKED for pair in imblearn_checks_generator(est)],
    ids=lambda obj: getattr(getattr(obj, "func", obj), "__name__", type(obj).__name__))
def test_imblearn_estimator_checks_on_the_paper_schemes(estimator, check):
    assert estimator.random_state == 0
    check(estimator)


@sklearn_checks([make_paper_sampler(name) for name in sorted(PAPER_SAMPLERS)],
                expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks_on_the_paper_schemes(estimator, check):
    check(estimator)


def test_sampler_chain_random_state_seeds_every_step(imbalanced):
    paths, _, _ = imbalanced
    X = np.concatenate([paths] * 3)
    y = np.array([0] * 20 + [1] * 6 + [2] * 5 + [3] * 2 + [6] * 3)
    chain = make_paper_sampler("hosseini2021")
    assert chain.get_params()["random_state"] is None
    runs = {}
    for seed in (0, 0, 1):
        X_res, _ = chain.set_params(random_state=seed).fit_resample(X, y)
        runs.setdefault(seed, []).append((list(X_res), chain.sample_indices_.copy()))
    assert runs[0][0][0] == runs[0][1][0]  # one seed, one result
    assert not np.array_equal(runs[0][0][1], runs[1][0][1])  # another seed, another draw
    # the steps get the seeds make_paper_sampler gave them before (same results)
    expected = [int(s) for s in np.random.RandomState(1).randint(np.iinfo(np.int32).max,
                                                                  size=2)]
    assert [step.random_state for _, step in chain.steps_] == expected
    assert chain.steps[0][1].random_state is None  # the unfitted steps are untouched
    # None leaves each step's own seed in place
    own = SamplerChain([("under", RandomFractionUnderSampler({0: 0.5}, random_state=7))])
    own.fit_resample(X, y)
    assert own.steps_[0][1].random_state == 7
    with pytest.raises(InvalidParameterError, match="random_state"):
        SamplerChain(chain.steps, random_state="zero").fit_resample(X, y)


# ---------------------------------------------------------------------------
# in pipelines


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class of its training labels; records what it saw."""

    def fit(self, X, y):
        self.fit_X_, self.fit_y_ = X, np.asarray(y)
        values, counts = np.unique(self.fit_y_, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X):
        self.predict_X_ = X
        return np.full(len(X), self.majority_)


def _file_of(x):
    return x.path if isinstance(x, AugmentedImage) else x


@pytest.mark.parametrize("sampler", [
    AugmentingOverSampler(random_state=0),
    RandomFractionUnderSampler({0: 0.5}, random_state=0),
    make_paper_sampler("amgs", random_state=0),
])
def test_samplers_never_touch_the_test_folds(imbalanced, sampler):
    paths, _, y = imbalanced
    groups = np.repeat(np.arange(4), 3)
    y = np.array([0, 0, 1] * 2 + [0, 0, 0] + [0, 1, 1])
    cv = list(GroupKFold(n_splits=4).split(paths, y, groups))
    res = cross_validate(make_pipeline(sampler, RecordingClassifier()), paths, y,
                         groups=groups, cv=cv, return_estimator=True, scoring="accuracy")
    for (train, test), pipe in zip(cv, res["estimator"]):
        rec = pipe[-1]
        fitted_files = {_file_of(x) for x in rec.fit_X_}
        assert fitted_files <= set(paths[train]) and not fitted_files & set(paths[test])
        n0, n1 = np.bincount(y[train], minlength=2)
        if isinstance(sampler, AugmentingOverSampler):  # balanced with copies
            expected = {0: max(n0, n1), 1: max(n0, n1)}
        else:  # half of class 0 kept
            expected = {0: (n0 + 1) // 2, 1: n1}
        assert Counter(rec.fit_y_.tolist()) == expected
        # predict sees the test fold as it is: same files, same order, no copies
        assert list(rec.predict_X_) == list(paths[test])


def test_lbp_smote_pipeline_trains_on_balanced_embeddings(imbalanced):
    paths, _, y = imbalanced
    pipe = make_pipeline(LBPFeatures(radius=1, grid=2, image_size=32),
                         SMOTE(k_neighbors=2, random_state=0), LogisticRegression(max_iter=500))
    pipe.fit(paths, y)
    assert pipe.predict(paths).shape == (12,)
    rec_pipe = make_pipeline(LBPFeatures(radius=1, grid=2, image_size=32),
                             SMOTE(k_neighbors=2, random_state=0), RecordingClassifier())
    rec_pipe.fit(paths, y)
    rec = rec_pipe[-1]
    assert Counter(rec.fit_y_.tolist()) == {0: 9, 1: 9}
    assert rec.fit_X_.shape == (18, rec_pipe[0].n_features_out_)
    # the 12 original rows are the LBP features of the images
    assert np.allclose(rec.fit_X_[:12], rec_pipe[0].transform(paths))


def test_deep_features_read_and_cache_augmented_copies(imbalanced, tmp_path):
    paths, _, y = imbalanced
    deep = dict(backbone="test_resnet", weights=None, image_size=32, verbose=0,
                cache=tmp_path / "cache")
    pipe = make_pipeline(AugmentingOverSampler(random_state=0), DeepFeatures(**deep),
                         SMOTE(k_neighbors=2, random_state=0), LogisticRegression(max_iter=500))
    pipe.fit(paths, y)
    assert pipe.predict(paths).shape == (12,)
    cache = EmbeddingCache(tmp_path / "cache")
    assert cache.info()["n_entries"].tolist() == [18]  # 12 sources + 6 distinct copies
    X_res, _ = AugmentingOverSampler(random_state=0).fit_resample(paths, y)
    emb = DeepFeatures(**deep).fit(X_res).transform(X_res)  # all cache hits
    assert cache.info()["n_entries"].tolist() == [18]
    fresh = DeepFeatures(**{**deep, "cache": False}).fit(X_res).transform(X_res)
    assert np.allclose(emb, fresh, atol=1e-5)
    src = [list(paths).index(x.path) for x in X_res[12:]]
    assert not np.allclose(emb[12:], emb[src], atol=1e-4)  # copies embed differently


def test_network_reads_augmented_copies(imbalanced):
    paths, _, y = imbalanced
    groups = np.repeat(np.arange(4), 3)
    sampler = AugmentingOverSampler(augmentations=("flip", "rotate"), random_state=0)
    X_res, y_res = sampler.fit_resample(paths, y)
    net = FineTunedClassifier(**FineTunedClassifier._get_test_params(), random_state=0)
    net.fit(X_res, y_res, groups=groups[sampler.sample_indices_])
    assert len(net.history) == 1
    ds = net.get_dataset(X_res, y_res)
    for j in (12, 17):
        ops = dict(flip=X_res[j].flip, angle=X_res[j].angle or None)
        assert np.array_equal(np.asarray(ds.load(j)), _manual(X_res[j].path, **ops))
    proba = net.predict_proba(X_res)
    src = [list(paths).index(x.path) for x in X_res[12:]]
    assert not np.allclose(proba[12:], proba[src])


def test_fraction_undersampler_classes_all_keeps_the_fraction_of_every_class():
    y = np.array([0] * 40 + [1] * 20 + [2] * 10)
    X = np.arange(70).reshape(-1, 1)
    sampler = RandomFractionUnderSampler(0.25, classes="all", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [10, 5, 3]  # 2.5 rounds half up
    assert set(X_res.ravel()) <= set(X.ravel()) and len(set(X_res.ravel())) == 18
    majority = RandomFractionUnderSampler(0.25, random_state=0).fit_resample(X, y)[1]
    assert np.bincount(majority).tolist() == [10, 20, 10]
