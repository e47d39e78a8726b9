"""Tests of skanimal.save_model / load_model: round trips, refusals, fresh processes.

Real fits on tiny real PNG files (conftest's ``png_folder``), real timm
``test_resnet`` networks with random weights, real pickle payloads whose
``__reduce__`` would create a marker file.
"""

import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import joblib
import numpy as np
import pytest
import skops.io
import torch
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

import skanimal
from skanimal import (
    ModelExistsError,
    ModelFileError,
    ModelNotFoundError,
    load_model,
    read_model_metadata,
    save_model,
)
from skanimal.benchmark import dataset_fingerprint
from skanimal.features import DeepFeatures, LBPFeatures, load_backbone
from skanimal.nets import FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier
from skanimal.pipeline import make_pipeline as make_imb_pipeline
from skanimal.sampling import AugmentingOverSampler
from skanimal.selective import ConfidenceThresholdClassifier

pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning",
                                        "ignore:GroupValidSplit got no groups:UserWarning")

DEEP = dict(backbone="test_resnet", weights=None, image_size=48, cache=False, verbose=0,
            device="cpu")


class _Payload:
    """Unpickling this object creates ``marker`` (a real code-execution payload)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class MyScaler(StandardScaler):
    """A user's own class: not in skanimal's known set."""


@pytest.fixture(scope="module")
def data(png_folder, image_labels_groups):
    paths, images = png_folder
    y, groups = image_labels_groups
    return paths, images, y, groups


def _roundtrip(est, path):
    save_model(est, path)
    return load_model(path)


def _assert_same_outputs(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for method in ("predict_proba", "decision_function"):
        if hasattr(a, method):
            out_a, out_b = getattr(a, method)(X), getattr(b, method)(X)
            assert out_a.dtype == out_b.dtype
            assert np.array_equal(out_a, out_b)  # bit for bit


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("final", [LinearSVC(), LogisticRegression()], ids=["svc", "lr"])
def test_lbp_pipeline_roundtrip(data, tmp_path, final):
    paths, _, y, _ = data
    model = make_pipeline(LBPFeatures(), final).fit(paths, y)
    loaded = _roundtrip(model, tmp_path / "lbp.skanimal")
    assert type(loaded) is type(model) and loaded is not model
    _assert_same_outputs(model, loaded, paths)


def test_deep_features_pipeline_roundtrip(data, tmp_path):
    paths, images, y, _ = data
    model = make_pipeline(DeepFeatures(**DEEP), LogisticRegression()).fit(paths, y)
    loaded = _roundtrip(model, tmp_path / "deep.skanimal")
    _assert_same_outputs(model, loaded, paths)
    _assert_same_outputs(model, loaded, images)  # arrays too
    deep = loaded[0]
    assert deep._model is not None and deep.weights_id_ == "random:seed=0"
    meta = read_model_metadata(tmp_path / "deep.skanimal")
    (part,) = meta["torch_parts"]
    assert part["estimator"] == "DeepFeatures" and part["timm_name"] == "test_resnet"
    assert part["weights_id"] == "random:seed=0" and len(part["weights_sha256"]) == 64
    assert part["preprocessing"]["input_size"] == [3, 48, 48]
    assert part["preprocessing"]["mean"] == list(model[0].data_config_["mean"])
    # a loaded model pickles (joblib workers) and saves again with its weights
    again = pickle.loads(pickle.dumps(loaded))
    assert np.array_equal(again.predict_proba(paths), model.predict_proba(paths))
    resaved = _roundtrip(loaded, tmp_path / "again.skanimal")
    assert np.array_equal(resaved.predict_proba(paths), model.predict_proba(paths))


def test_deep_features_weights_travel_in_the_file(data, tmp_path, monkeypatch,
                                                  offline_without_test_resnet_weights):
    """A model with file weights loads offline after the weights file is gone."""
    paths, _, y, _ = data
    backbone, _, _ = load_backbone("test_resnet", None)
    with torch.no_grad():
        for p in backbone.parameters():
            p.add_(0.05)  # not the random initialisation
    ckpt = tmp_path / "my_weights.pth"
    torch.save(backbone.state_dict(), ckpt)
    model = make_pipeline(DeepFeatures(**{**DEEP, "weights": str(ckpt)}),
                          LogisticRegression()).fit(paths, y)
    expected = model.predict_proba(paths)
    save_model(model, tmp_path / "m.skanimal")
    os.remove(ckpt)
    loaded = load_model(tmp_path / "m.skanimal")
    assert np.array_equal(loaded.predict_proba(paths), expected)
    wid = read_model_metadata(tmp_path / "m.skanimal")["torch_parts"][0]["weights_id"]
    assert wid.startswith("file:") and wid == model[0].weights_id_


def test_deep_features_cache_is_resolved_where_loaded(data, tmp_path):
    paths, _, y, _ = data
    cache_dir = tmp_path / "cache"
    model = make_pipeline(DeepFeatures(**{**DEEP, "cache": str(cache_dir)}),
                          LogisticRegression()).fit(paths, y)
    expected = model.predict_proba(paths)
    loaded = _roundtrip(model, tmp_path / "m.skanimal")
    assert str(loaded[0].cache_.path) == str(cache_dir)
    assert np.array_equal(loaded.predict_proba(paths), expected)  # read from the cache


def test_abstaining_classifier_roundtrip(data, tmp_path):
    paths, _, y, _ = data
    inner = make_pipeline(LBPFeatures(), LogisticRegression(C=10.0)).fit(paths, y)
    threshold = float(np.median(inner.predict_proba(paths).max(axis=1)))
    model = ConfidenceThresholdClassifier(inner, threshold=threshold).fit(paths, y)
    loaded = _roundtrip(model, tmp_path / "abstain.skanimal")
    pred = loaded.predict(paths)
    assert 0 < np.sum(pred == model.abstain_value_) < len(paths)  # some abstain
    _assert_same_outputs(model, loaded, paths)
    assert loaded.threshold_ == model.threshold_


def test_abstaining_network_roundtrip(data, tmp_path):
    paths, _, y, _ = data
    net = FineTunedClassifier(**FineTunedClassifier._get_test_params(), train_split=None)
    model = ConfidenceThresholdClassifier(net, threshold=0.5).fit(paths, y)
    meta = save_model(model, tmp_path / "m.skanimal")
    loaded = load_model(tmp_path / "m.skanimal")
    _assert_same_outputs(model, loaded, paths)
    assert len(meta["torch_parts"]) == 1  # the fitted net; the unfitted parameter has none
    assert not hasattr(loaded.estimator, "module_")


def test_pipeline_with_samplers_roundtrip(data, tmp_path):
    paths, _, _, groups = data
    y = np.array([0] * 9 + [1] * 3)
    model = make_imb_pipeline(AugmentingOverSampler(random_state=0), LBPFeatures(),
                              SMOTE(k_neighbors=2, random_state=0),
                              LogisticRegression()).fit(paths, y)
    loaded = _roundtrip(model, tmp_path / "imb.skanimal")
    _assert_same_outputs(model, loaded, paths)


@pytest.mark.parametrize("kind", ["grid", "subject"])
def test_search_is_saved_as_its_best_estimator(data, tmp_path, kind):
    from optuna.distributions import FloatDistribution

    from skanimal.model_selection import SubjectSearchCV

    paths, _, y, groups = data
    pipe = make_pipeline(LBPFeatures(), LogisticRegression())
    if kind == "grid":
        search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 10.0]}, cv=GroupKFold(2))
    else:
        search = SubjectSearchCV(
            pipe, {"logisticregression__C": FloatDistribution(0.01, 10.0, log=True)},
            n_trials=2, cv=GroupKFold(2), random_state=0)
    search.fit(paths, y, groups=groups)
    meta = save_model(search, tmp_path / "s.skanimal")
    loaded = load_model(tmp_path / "s.skanimal")
    assert type(loaded).__name__ == "Pipeline"
    best_c = search.best_params_["logisticregression__C"]
    assert loaded.get_params()["logisticregression__C"] == best_c
    assert meta["estimator"]["search"]["best_params"] == {"logisticregression__C": best_c}
    assert meta["estimator"]["search"]["class"].endswith(type(search).__name__)
    _assert_same_outputs(search.best_estimator_, loaded, paths)


def test_finetuned_classifier_roundtrip_and_further_training(data, tmp_path):
    paths, _, y, _ = data
    params = {**FineTunedClassifier._get_test_params(), "train_split": None,
              "random_state": 0}
    net = FineTunedClassifier(**params).fit(paths, y)
    loaded = _roundtrip(net, tmp_path / "ft.skanimal")
    _assert_same_outputs(net, loaded, paths)
    assert len(loaded.history) == len(net.history) == 1
    assert loaded.weights_id_ == net.weights_id_
    # the optimizer's state travels: one more epoch gives the same network
    net.partial_fit(paths, y)
    loaded.partial_fit(paths, y)
    assert np.array_equal(net.predict_proba(paths), loaded.predict_proba(paths))


def test_painseeker_roundtrip(data, tmp_path):
    paths, _, y, _ = data
    net = PainSeekerClassifier(**PainSeekerClassifier._get_test_params(),
                               train_split=None, random_state=0).fit(paths, y)
    loaded = _roundtrip(net, tmp_path / "ps.skanimal")
    _assert_same_outputs(net, loaded, paths)
    assert np.array_equal(net.attention_maps(paths), loaded.attention_maps(paths))
    assert loaded.map_size_ == net.map_size_


def test_finetuned_preset_with_callbacks_and_regressor(data, tmp_path):
    paths, _, y, groups = data
    params = FineTunedClassifier._get_test_params()
    net = FineTunedClassifier.from_preset("hosseini2021", **params,
                                          class_weight="balanced").fit(paths, y, groups=groups)
    loaded = _roundtrip(net, tmp_path / "h.skanimal")
    _assert_same_outputs(net, loaded, paths)
    assert torch.equal(loaded.criterion_.weight, net.criterion_.weight)
    reg = FineTunedRegressor(**params, train_split=None).fit(paths, y * 2.0)
    loaded = _roundtrip(reg, tmp_path / "r.skanimal")
    assert np.array_equal(loaded.predict(paths), reg.predict(paths))


def test_loading_leaves_the_global_rng_alone(data, tmp_path):
    paths, _, y, _ = data
    net = FineTunedClassifier(**FineTunedClassifier._get_test_params(),
                              train_split=None).fit(paths, y)
    save_model(net, tmp_path / "ft.skanimal")
    state = torch.get_rng_state()
    load_model(tmp_path / "ft.skanimal")
    assert torch.equal(state, torch.get_rng_state())


def test_fresh_process_predicts_the_same(data, tmp_path):
    paths, _, y, _ = data
    models = {
        "lbp": make_pipeline(LBPFeatures(), LinearSVC()).fit(paths, y),
        "deep": make_pipeline(DeepFeatures(**DEEP), LogisticRegression()).fit(paths, y),
        "net": FineTunedClassifier(**FineTunedClassifier._get_test_params(),
                                   train_split=None).fit(paths, y),
    }
    np.save(tmp_path / "paths.npy", paths.astype(str))
    for name, model in models.items():
        save_model(model, tmp_path / f"{name}.skanimal")
    # the same torch thread count as this (xdist worker) process: float sums of another
    # thread split can differ in the last bit
    code = textwrap.dedent(f"""
        import warnings, numpy as np, torch
        torch.set_num_threads({torch.get_num_threads()})
        warnings.simplefilter("ignore")
        from skanimal import load_model
        X = np.load({str(tmp_path / "paths.npy")!r})
        for name in {sorted(models)!r}:
            model = load_model({str(tmp_path)!r} + "/" + name + ".skanimal")
            np.save({str(tmp_path)!r} + "/" + name + "_pred.npy", model.predict(X))
            out = (model.decision_function(X) if name == "lbp" else model.predict_proba(X))
            np.save({str(tmp_path)!r} + "/" + name + "_out.npy", out)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    for name, model in models.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}_pred.npy"),
                                      model.predict(paths))
        out = (model.decision_function(paths) if name == "lbp"
               else model.predict_proba(paths))
        assert np.array_equal(np.load(tmp_path / f"{name}_out.npy"), out)


# ---------------------------------------------------------------- metadata


def test_metadata_records_versions_classes_data_and_user(data, tmp_path):
    paths, _, y, groups = data
    model = make_pipeline(LBPFeatures(), LogisticRegression()).fit(paths, y)
    meta = save_model(model, tmp_path / "m.skanimal", metadata={"lab": "A", "n": 3},
                      X=paths, y=y, groups=groups)
    assert meta == read_model_metadata(tmp_path / "m.skanimal")
    assert meta["format"] == "skanimal-model" and meta["format_version"] == 1
    assert meta["versions"]["skanimal"] == skanimal.__version__
    assert meta["versions"]["scikit-learn"] and meta["versions"]["skops"]
    assert meta["estimator"]["classes"] == [0, 1]
    assert meta["estimator"]["task"] == "classifier"
    assert meta["torch_parts"] == []
    assert meta["training_data"]["n_images"] == 12
    assert meta["training_data"]["n_subjects"] == 4
    assert meta["training_data"]["fingerprint"] == dataset_fingerprint(paths, y, groups)
    assert meta["user"] == {"lab": "A", "n": 3}


def test_metadata_must_be_json(data, tmp_path):
    paths, _, y, _ = data
    model = make_pipeline(LBPFeatures(), LogisticRegression()).fit(paths, y)
    with pytest.raises(TypeError, match="JSON"):
        save_model(model, tmp_path / "m.skanimal", metadata={"bad": object()})
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- writing


def test_never_overwrites_silently(data, tmp_path):
    paths, _, y, _ = data
    path = tmp_path / "m.skanimal"
    path.write_bytes(b"precious")
    model = make_pipeline(LBPFeatures(), LogisticRegression()).fit(paths, y)
    with pytest.raises(ModelExistsError, match="m.skanimal.*overwrite=True"):
        save_model(model, path)
    assert path.read_bytes() == b"precious"
    save_model(model, path, overwrite=True)
    assert zipfile.is_zipfile(path)
    assert sorted(os.listdir(tmp_path)) == ["m.skanimal"]  # no temporary file left


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fitted"):
        save_model(LogisticRegression(), tmp_path / "m.skanimal")
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- refusals


def test_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.skanimal"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError, match="model.skanimal.*a pickle file") as info:
        load_model(path)
    assert info.value.path == str(path)
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="pickle"):
        read_model_metadata(path)
    assert not marker.exists()


@pytest.mark.parametrize("compress", [0, 3])
def test_joblib_file_is_refused_without_running_it(tmp_path, compress):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.joblib"
    joblib.dump(_Payload(marker), path, compress=compress)
    with pytest.raises(ModelFileError, match="model.joblib.*(pickle|compressed)"):
        load_model(path)
    assert not marker.exists()


def test_torch_save_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.skanimal"
    torch.save({"x": _Payload(marker)}, path)  # a zip holding archive/data.pkl
    with pytest.raises(ModelFileError, match="pickle payload.*data.pkl"):
        load_model(path)
    assert not marker.exists()


def test_zip_with_an_extra_pickle_member_is_refused(data, tmp_path):
    paths, _, y, _ = data
    marker = tmp_path / "PWNED"
    path = tmp_path / "m.skanimal"
    save_model(make_pipeline(LBPFeatures(), LogisticRegression()).fit(paths, y), path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("payload.bin", pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError, match="pickle payload \\(payload.bin\\)"):
        load_model(path)
    assert not marker.exists()


def _rewrite(path, members):
    """Write ``members`` as a model archive with matching SHA-256s in its metadata."""
    import hashlib

    meta = json.loads(members["metadata.json"])
    for name in ("estimator.skops", "weights.safetensors"):
        meta["files"][name]["sha256"] = hashlib.sha256(members[name]).hexdigest()
    members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_skorch_pickle_state_inside_the_skops_part_is_refused(data, tmp_path):
    """A crafted net state carrying skorch's pickled bytes never reaches the unpickler."""
    paths, _, y, _ = data
    marker = tmp_path / "PWNED"
    net = FineTunedClassifier(**FineTunedClassifier._get_test_params(),
                              train_split=None).fit(paths, y)
    save_model(net, tmp_path / "good.skanimal")
    members = _members(tmp_path / "good.skanimal")
    # skorch's own __getstate__ (no save under way) keeps the torch objects as
    # pickled bytes; drop what skops cannot hold and plant a payload instead
    for attr in ("callbacks_", "virtual_params_", "train_transform_", "eval_transform_"):
        delattr(net, attr)
    crafted = skops.io.dumps(net)
    with zipfile.ZipFile(io.BytesIO(crafted)) as zf:
        inner = {n: zf.read(n) for n in zf.namelist()}
    bins = [n for n in inner if n.endswith(".bin")]
    assert bins  # the pickled torch objects
    for n in bins:
        inner[n] = pickle.dumps(_Payload(marker))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, raw in inner.items():
            zf.writestr(n, raw)
    members["estimator.skops"] = buf.getvalue()
    _rewrite(tmp_path / "bad.skanimal", members)
    with pytest.raises(ModelFileError, match="bad.skanimal.*pickled torch objects"):
        load_model(tmp_path / "bad.skanimal")
    assert not marker.exists()


def test_unknown_types_are_refused_unless_trusted(data, tmp_path):
    paths, _, y, _ = data
    model = make_pipeline(LBPFeatures(), MyScaler(), LogisticRegression()).fit(paths, y)
    path = tmp_path / "m.skanimal"
    save_model(model, path)
    name = f"{__name__}.MyScaler"
    with pytest.raises(ModelFileError, match="MyScaler.*trusted") as info:
        load_model(path)
    assert info.value.untrusted == [name]
    for trusted in ([name], [MyScaler]):
        _assert_same_outputs(model, load_model(path, trusted=trusted), paths)
    with pytest.raises(TypeError, match="trusted"):
        load_model(path, trusted=True)


def test_a_function_outside_the_known_set_is_refused(data, tmp_path):
    """FunctionTransformer is scikit-learn's, but os.system is nobody's to trust."""
    from sklearn.pipeline import Pipeline

    _, _, y, _ = data
    X = np.arange(12.0)[:, None]
    # fitted step by step: fitting the pipeline would call os.system
    model = Pipeline([("f", FunctionTransformer(os.system).fit(X)),
                      ("lr", LogisticRegression().fit(X, y))])
    path = tmp_path / "m.skanimal"
    save_model(model, path)
    with pytest.raises(ModelFileError, match="system") as info:
        load_model(path)
    assert [t for t in info.value.untrusted if t.endswith(".system")]


def test_damaged_and_foreign_files(data, tmp_path):
    paths, _, y, _ = data
    path = tmp_path / "m.skanimal"
    save_model(make_pipeline(LBPFeatures(), LogisticRegression()).fit(paths, y), path)
    members = _members(path)
    # a flipped byte of the weights, the SHA-256 left as it was
    raw = members["weights.safetensors"]
    bad = dict(members, **{"weights.safetensors": raw[:-1] + bytes([raw[-1] ^ 1])})
    with zipfile.ZipFile(tmp_path / "bad.skanimal", "w") as zf:
        for n, raw in bad.items():
            zf.writestr(n, raw)
    with pytest.raises(ModelFileError, match="bad.skanimal.*damaged"):
        load_model(tmp_path / "bad.skanimal")
    # a newer format
    meta = json.loads(members["metadata.json"])
    meta["format_version"] = 99
    _rewrite(tmp_path / "new.skanimal", dict(members, **{"metadata.json":
                                                          json.dumps(meta).encode()}))
    with pytest.raises(ModelFileError, match="format version 99.*upgrade"):
        load_model(tmp_path / "new.skanimal")
    # a plain skops file is not a model file
    (tmp_path / "plain.skops").write_bytes(skops.io.dumps(LogisticRegression()))
    with pytest.raises(ModelFileError, match="plain.skops.*schema.json"):
        load_model(tmp_path / "plain.skops")
    (tmp_path / "text.skanimal").write_text("hello")
    with pytest.raises(ModelFileError, match="text.skanimal.*not a zip"):
        load_model(tmp_path / "text.skanimal")
    with pytest.raises(ModelNotFoundError, match="missing.skanimal"):
        load_model(tmp_path / "missing.skanimal")


def test_skops_load_alone_cannot_restore_torch_parts(data, tmp_path):
    paths, _, y, _ = data
    path = tmp_path / "m.skanimal"
    save_model(make_pipeline(DeepFeatures(**DEEP), LogisticRegression()).fit(paths, y), path)
    raw = _members(path)["estimator.skops"]
    with pytest.raises(ValueError, match="skanimal.load_model"):
        skops.io.loads(raw, trusted=skops.io.get_untrusted_types(data=raw))
