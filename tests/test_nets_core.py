"""Tests of skanimal.nets' core: ImageDataset, transforms, GroupValidSplit, ImageNetMixin."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.utils.class_weight import compute_class_weight

from skanimal.nets import (
    FineTunedClassifier,
    GroupValidSplit,
    ImageDataset,
    make_transforms,
    resolve_device,
)
from skanimal.utils import ImageReadError

pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning")

TINY = FineTunedClassifier._get_test_params()


# ------------------------------------------------------------------ ImageDataset


def test_dataset_paths_and_arrays_give_the_same_tensors(png_folder):
    paths, images = png_folder
    y = np.arange(len(paths))
    ds_p, ds_a = ImageDataset(paths, y), ImageDataset(images, y)
    assert len(ds_p) == len(images)
    for i in (0, 5, 11):
        xp, yp = ds_p[i]
        xa, ya = ds_a[i]
        assert xp.shape == (3, 40, 48) and xp.dtype == torch.float32
        torch.testing.assert_close(xp, xa, rtol=0, atol=0)
        assert yp == ya == i
        np.testing.assert_allclose(xp.permute(1, 2, 0).numpy() * 255, images[i], atol=1e-3)


def test_dataset_greyscale_becomes_rgb_and_transform_applies(rng_images):
    grey = rng_images[:3, :, :, 0]
    ds = ImageDataset(grey, transform=lambda img: torch.tensor(img.size))
    x, target = ds[1]
    assert x.tolist() == [48, 40] and target == 0
    img = ds.load(1)
    assert img.mode == "RGB"
    a = np.asarray(img)
    np.testing.assert_array_equal(a[..., 0], grey[1])
    np.testing.assert_array_equal(a[..., 2], grey[1])


def test_dataset_errors_name_the_file(tmp_path, png_folder):
    paths, _ = png_folder
    missing = str(tmp_path / "gone.png")
    ds = ImageDataset(np.array([paths[0], missing], dtype=object))
    with pytest.raises(FileNotFoundError, match=r"gone\.png.*X\[1\]"):
        ds[1]
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ImageReadError, match="bad.png"):
        ImageDataset([str(bad)])[0]
    with pytest.raises(ValueError, match="different lengths"):
        ImageDataset(paths, y=[0, 1])
    with pytest.raises(TypeError, match="single path"):
        ImageDataset(paths[0])


def test_dataset_with_transform_shares_x():
    ds = ImageDataset(np.zeros((2, 4, 4), dtype=np.uint8))
    other = ds.with_transform(lambda img: torch.zeros(1))
    assert other.X is ds.X and ds.transform is None
    assert other[0][0].shape == (1,)


# ------------------------------------------------------------------ transforms


def test_make_transforms_shapes_normalisation_and_randomness():
    config = {"mean": (0.5, 0.25, 0.75), "std": (0.5, 0.5, 0.25), "interpolation": "bicubic"}
    train_tf, eval_tf = make_transforms(config, train_resize=40, crop=32)
    rgb = (np.array(config["mean"]) * 255).round().astype(np.uint8)
    flat = Image.fromarray(np.tile(rgb, (50, 60, 1)))
    out = eval_tf(flat)
    assert out.shape == (3, 32, 32)
    np.testing.assert_allclose(out.numpy(), 0.0, atol=0.01)  # (mean - mean) / std
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (50, 60, 3), dtype=np.uint8))
    torch.testing.assert_close(eval_tf(img), eval_tf(img))  # deterministic
    torch.manual_seed(0)
    crops = [train_tf(img) for _ in range(4)]
    assert all(c.shape == (3, 32, 32) for c in crops)
    assert not all(torch.equal(crops[0], c) for c in crops[1:])  # random crops / flips


def test_make_transforms_defaults_and_errors():
    train_tf, eval_tf = make_transforms()
    assert eval_tf(Image.new("RGB", (300, 280))).shape == (3, 224, 224)
    assert train_tf(Image.new("RGB", (300, 280))).shape == (3, 224, 224)
    with pytest.raises(ValueError, match="train_resize"):
        make_transforms(train_resize=30, crop=32)
    with pytest.raises(TypeError, match="crop"):
        make_transforms(crop="big")


# ------------------------------------------------------------------ GroupValidSplit


@pytest.mark.parametrize("cv", [0.2, 0.34, 3])
@pytest.mark.parametrize("stratified", [True, False])
def test_group_valid_split_never_mixes_subjects(cv, stratified):
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(9), 5)
    y = rng.integers(0, 2, len(groups))
    ds = ImageDataset(np.zeros((len(y), 4, 4), dtype=np.uint8), y)
    for seed in range(5):
        tr, va = GroupValidSplit(cv, stratified=stratified, random_state=seed)(ds, y, groups)
        tr, va = np.asarray(tr.indices), np.asarray(va.indices)
        assert len(tr) + len(va) == len(y) and len(va) > 0
        assert not set(groups[tr]) & set(groups[va])
        assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(len(y)))


def test_group_valid_split_reproducible_and_seed_dependent():
    groups = np.repeat(np.arange(10), 3)
    y = np.tile([0, 1, 1], 10)
    ds = ImageDataset(np.zeros((30, 4, 4), dtype=np.uint8), y)
    split = GroupValidSplit(0.2, random_state=3)
    a, b = split(ds, y, groups)[1].indices, split(ds, y, groups)[1].indices
    assert a == b
    others = {tuple(GroupValidSplit(0.2, random_state=s)(ds, y, groups)[1].indices)
              for s in range(6)}
    assert len(others) > 1


def test_group_valid_split_without_groups_warns_and_errors():
    y = np.tile([0, 1], 10)
    ds = ImageDataset(np.zeros((20, 4, 4), dtype=np.uint8), y)
    with pytest.warns(UserWarning, match="image-wise"):
        tr, va = GroupValidSplit(0.25, random_state=0)(ds, y)
    assert len(tr) == 15 and len(va) == 5
    with pytest.raises(ValueError, match="at least 2 subjects"):
        GroupValidSplit(0.2)(ds, y, np.zeros(20))
    with pytest.raises(ValueError, match="one entry per image"):
        GroupValidSplit(0.2)(ds, y, np.zeros(3))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        GroupValidSplit(1.5)(ds, y, np.arange(20))
    with pytest.raises(TypeError, match="cv"):
        GroupValidSplit("a")(ds, y, np.arange(20))


# ------------------------------------------------------------------ ImageNetMixin


class _RecordingSplit(GroupValidSplit):
    calls = []  # class attribute: survives clone()'s deepcopy

    def __call__(self, dataset, y=None, groups=None):
        train, valid = super().__call__(dataset, y, groups)
        type(self).calls.append((groups, list(train.indices), list(valid.indices)))
        return train, valid


def test_fit_routes_groups_to_the_split_only(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, groups = image_labels_groups
    _RecordingSplit.calls.clear()
    # the module's forward takes no groups: reaching it would raise a TypeError
    net = FineTunedClassifier(**{**TINY, "max_epochs": 2},
                              train_split=_RecordingSplit(0.25), random_state=0)
    net.fit(paths, y, groups=groups)
    assert len(_RecordingSplit.calls) == 1
    got, tr, va = _RecordingSplit.calls[0]
    np.testing.assert_array_equal(got, groups)
    assert va and not set(groups[tr]) & set(groups[va])
    assert net.history[-1, "valid_loss"] > 0 and 0 <= net.history[-1, "valid_acc"] <= 1
    assert not hasattr(net, "_fit_groups_")


class _RecordingTargets(FineTunedClassifier):
    seen = []  # the encoded targets skorch trains on

    def get_split_datasets(self, X, y=None, **fit_params):
        type(self).seen.append(np.asarray(y).copy())
        return super().get_split_datasets(X, y, **fit_params)


def test_classes_in_the_users_order_encode_by_position(png_folder):
    # np.searchsorted on the unsorted classes made this fit fail
    paths, _ = png_folder
    y = np.array(["pain", "no pain", "pain"] * 4)
    _RecordingTargets.seen.clear()
    net = _RecordingTargets(**TINY, classes=["pain", "no pain"], class_weight={"pain": 3.0},
                            train_split=None, random_state=0).fit(paths, y)
    assert net.classes_.tolist() == ["pain", "no pain"]
    np.testing.assert_array_equal(_RecordingTargets.seen[-1], (y == "no pain").astype(int))
    np.testing.assert_allclose(net.criterion_.weight.numpy(), [3.0, 1.0])
    proba = net.predict_proba(paths)
    np.testing.assert_array_equal(net.predict(paths), net.classes_[proba.argmax(axis=1)])
    bad = np.array(["pain", "maybe", "no pain"] * 4)
    with pytest.raises(ValueError) as err:
        FineTunedClassifier(**TINY, classes=["pain", "no pain"], train_split=None).fit(paths, bad)
    msg = str(err.value)
    assert "['maybe']" in msg and "['pain', 'no pain']" in msg and "np.str_" not in msg
    with pytest.raises(ValueError, match="names a class twice"):
        FineTunedClassifier(**TINY, classes=["pain", "pain"], train_split=None).fit(paths, y)


def test_a_split_that_takes_no_groups_is_called_without_them(png_folder, image_labels_groups):
    # both branches passed groups= before: a two-argument split raised TypeError
    paths, _ = png_folder
    y, groups = image_labels_groups
    calls = []

    def first_eight(dataset, y):
        calls.append(len(dataset))
        return (torch.utils.data.Subset(dataset, range(8)),
                torch.utils.data.Subset(dataset, range(8, len(dataset))))

    net = FineTunedClassifier(**TINY, train_split=first_eight, random_state=0)
    with pytest.warns(UserWarning, match="takes no groups"):
        net.fit(paths, y, groups=groups)
    assert calls == [len(paths)] and net.history[-1, "valid_loss"] > 0


def test_sample_weight_is_refused_at_fit(png_folder):
    paths, _ = png_folder
    net = FineTunedClassifier(**TINY, train_split=None)
    with pytest.raises(TypeError, match="FineTunedClassifier.fit does not take sample_weight"):
        net.fit(paths, np.tile([0, 1], 6), sample_weight=np.ones(12))
    with pytest.raises(TypeError, match="does not take sample_weight"):
        net.partial_fit(paths, np.tile([0, 1], 6), sample_weight=np.ones(12))
    assert not net.initialized_


def test_one_device_rule_for_nets_and_features(png_folder):
    from skanimal.features import DeepFeatures

    paths, _ = png_folder
    # an impossible device: the same clear error from both, in fit (the nets'
    # rule returned "gpu0" before)
    with pytest.raises(ValueError, match="'gpu0' is not a torch device"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="'gpu0' is not a torch device"):
        FineTunedClassifier(**{**TINY, "device": "gpu0"}).fit(paths, np.tile([0, 1], 6))
    with pytest.raises(ValueError, match="'gpu0' is not a torch device"):
        DeepFeatures("test_resnet", weights=None, device="gpu0").fit(paths)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            FineTunedClassifier(**{**TINY, "device": "cuda"}).fit(paths, np.tile([0, 1], 6))
    from skanimal.utils._torch import resolve_device as core_rule

    assert resolve_device("cpu") == "cpu" and core_rule("cpu") == torch.device("cpu")
    assert resolve_device("auto") == str(core_rule("auto"))


def test_one_precision_rule_for_nets_and_features(monkeypatch):
    # the CUDA capability cannot be had on a CPU machine: only the capability query
    # is replaced, the rule itself runs
    from skanimal.features import _deep
    from skanimal.nets import _base
    from skanimal.utils._torch import resolve_precision

    assert _deep.resolve_precision is _base.resolve_precision is resolve_precision
    cuda, mps, cpu = torch.device("cuda"), torch.device("mps"), torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert resolve_precision("auto", cuda) == "fp32"  # never fp16: no loss scaling
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert resolve_precision("auto", cuda) == "bf16"
    assert resolve_precision("auto", mps) == resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"


def test_class_weight_balanced_on_the_training_part(png_folder):
    paths, _ = png_folder
    y = np.array([0] * 9 + [1] * 3)
    net = FineTunedClassifier(**TINY, class_weight="balanced", train_split=None,
                              random_state=0).fit(paths, y)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    np.testing.assert_allclose(net.criterion_.weight.numpy(), expected, rtol=1e-6)
    assert expected[1] > expected[0]
    # only the training subjects count when the split holds some out
    groups = np.repeat(np.arange(4), 3)
    _RecordingSplit.calls.clear()
    net = FineTunedClassifier(**TINY, class_weight="balanced",
                              train_split=_RecordingSplit(0.25, stratified=False),
                              random_state=1).fit(paths, y, groups=groups)
    tr = _RecordingSplit.calls[-1][1]
    present = np.unique(y[tr])
    w = np.ones(2)
    w[present] = compute_class_weight("balanced", classes=present, y=y[tr])
    np.testing.assert_allclose(net.class_weight_, w)
    net = FineTunedClassifier(**TINY, class_weight={1: 5.0}, train_split=None).fit(paths, y)
    np.testing.assert_allclose(net.criterion_.weight.numpy(), [1.0, 5.0])


def test_weighted_sampler_balances_training_batches(png_folder):
    paths, _ = png_folder
    y = np.array([0] * 10 + [1] * 2)
    net = FineTunedClassifier(**TINY, sampler="weighted", train_split=None,
                              random_state=0).fit(paths, y)
    ds = net.get_dataset(paths, np.array(y))
    torch.manual_seed(0)
    drawn = []
    for _ in range(40):
        for _, yb in net.get_iterator(ds, training=True):
            drawn.extend(yb.tolist())
    share = np.mean(np.array(drawn) == 1)
    assert 0.4 < share < 0.6  # 1/6 without the sampler


def test_train_transform_only_for_training_batches(png_folder):
    paths, _ = png_folder
    y = np.tile([0, 1], 6)
    net = FineTunedClassifier(**{**TINY, "train_resize": 44}, train_split=None,
                              random_state=0).fit(paths, y)
    ds = net.get_dataset(paths, y)
    ev = [torch.cat([xb for xb, _ in net.get_iterator(ds, training=False)]) for _ in range(2)]
    torch.testing.assert_close(ev[0], ev[1])
    assert ev[0].shape == (12, 3, 32, 32)
    tr = [torch.cat([xb for xb, _ in net.get_iterator(
        torch.utils.data.Subset(ds, range(12)), training=False)])]
    torch.testing.assert_close(tr[0], ev[0])  # a Subset gets the eval transform too
    torch.manual_seed(0)
    train_batches = [torch.cat([xb for xb, _ in net.get_iterator(ds, training=True)])
                     for _ in range(2)]
    assert train_batches[0].shape == (12, 3, 32, 32)
    assert not torch.equal(train_batches[0].sum(0), train_batches[1].sum(0))


def test_random_state_reproducible_and_global_rng_untouched(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, groups = image_labels_groups
    params = {**TINY, "max_epochs": 2}
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = FineTunedClassifier(**params, random_state=7).fit(paths, y, groups=groups)
    assert torch.equal(torch.get_rng_state(), before)
    b = FineTunedClassifier(**params, random_state=7).fit(paths, y, groups=groups)
    c = FineTunedClassifier(**params, random_state=8).fit(paths, y, groups=groups)
    pa, pb, pc = (m.predict_proba(paths) for m in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.allclose(pa, pc)


def test_device_auto_is_resolved_but_kept_as_parameter(png_folder):
    paths, _ = png_folder
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else
                                      resolve_device("auto"))
    assert resolve_device(None) is None
    net = FineTunedClassifier(**{**TINY, "device": "auto"}, train_split=None)
    net.fit(paths, np.tile([0, 1], 6))
    assert net.device == "auto" and net.get_params()["device"] == "auto"
    assert next(net.module_.parameters()).device.type == resolve_device("auto")


def test_mixin_validation_errors(png_folder):
    paths, _ = png_folder
    y = np.tile([0, 1], 6)
    with pytest.raises(ValueError, match="image_size"):
        FineTunedClassifier(**{**TINY, "image_size": 0}).fit(paths, y)
    with pytest.raises(ValueError, match="sampler"):
        FineTunedClassifier(**TINY, sampler="uniform").fit(paths, y)
    with pytest.raises(ValueError, match="smaller than image_size"):
        FineTunedClassifier(**{**TINY, "train_resize": 16}).fit(paths, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        FineTunedClassifier(**TINY, train_split=None).fit(paths, np.zeros(12))
    with pytest.raises(ValueError, match="different lengths"):
        FineTunedClassifier(**TINY).fit(paths, y[:5])
    with pytest.raises(ValueError, match="one entry per image"):
        FineTunedClassifier(**TINY).fit(paths, y, groups=[0, 1])
    with pytest.raises(FileNotFoundError, match="nope.png"):
        FineTunedClassifier(**TINY, train_split=None).fit(
            np.array(list(paths[:-1]) + ["nope.png"], dtype=object), y)


def test_precision_auto_is_float32_on_cpu_and_bf16_autocasts(png_folder):
    paths, images = png_folder
    y = np.array([0, 1] * (len(paths) // 2))
    base = {**TINY, "max_epochs": 1, "train_split": None, "random_state": 0}
    probas = {}
    for precision in ("auto", "fp32", "bf16"):
        net = FineTunedClassifier(**base, precision=precision).fit(paths, y)
        probas[precision] = net.predict_proba(paths)
        assert probas[precision].dtype == np.float32  # outputs are float32 either way
    # on a CPU, "auto" means plain float32
    np.testing.assert_array_equal(probas["auto"], probas["fp32"])
    # bfloat16 autocast really changes the arithmetic (8-bit mantissa), but little
    assert not np.array_equal(probas["bf16"], probas["fp32"])
    np.testing.assert_allclose(probas["bf16"], probas["fp32"], atol=0.1)
    with pytest.raises(ValueError, match="precision"):
        FineTunedClassifier(**base, precision="fp8").fit(paths, y)
