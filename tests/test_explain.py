"""EigenCAM maps and the figure helpers of skanimal.explain (real models, random weights)."""

import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.exceptions import NotFittedError

from skanimal.exceptions import DataError
from skanimal.explain import eigencam, overlay, plot_explanations
from skanimal.features import DeepFeatures


def _features(backbone, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights
        return DeepFeatures(backbone, weights=None, cache=False, verbose=0, **params).fit(X)


def _structured(n, h, w, seed=0):
    """Images with gradients, stripes and noise: different activations per image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for k in range(n):
        base = (np.sin(xx / (2 + k)) + np.cos(yy / (3 + 2 * k))) * 60 + 128
        rgb = np.stack([base, base[::-1], base[:, ::-1]], axis=-1) + rng.normal(0, 10, (h, w, 3))
        out.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return np.stack(out)


# Bright squares (top, left, size) on a flat, slightly noisy background, 120 x 120.
BOXES = [(10, 60, 30), (70, 20, 30), (50, 50, 40), (5, 5, 25), (80, 70, 30)]


@pytest.fixture(scope="module")
def bright_objects():
    images = []
    for k, (top, left, size) in enumerate(BOXES):
        img = np.full((120, 120, 3), 90.0)
        img[top:top + size, left:left + size] = 250.0
        img += np.random.default_rng(k).normal(0, 5, img.shape)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(images)


@pytest.fixture(scope="module")
def non_square():
    return _structured(3, 50, 70)


@pytest.fixture(scope="module")
def resnet18(non_square):
    return _features("resnet18", non_square)


@pytest.fixture(scope="module")
def vit_tiny(non_square):
    return _features("vit_tiny_patch16_224", non_square)


def _check_maps(maps, n, size):
    assert maps.shape == (n, *size) and maps.dtype == np.float32
    assert maps.min() >= 0.0
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0)  # each scaled to [0, 1]
    for a in range(n):  # different images, different maps
        for b in range(a + 1, n):
            assert np.abs(maps[a] - maps[b]).max() > 0.05


# --------------------------------------------------------------------------- CNN, alignment


def test_cnn_maps_have_the_input_size_and_zero_outside_the_centre_crop(resnet18, non_square):
    maps = eigencam(resnet18, non_square)
    _check_maps(maps, 3, (50, 70))
    np.testing.assert_array_equal(eigencam(resnet18, non_square), maps)  # deterministic
    assert eigencam(resnet18, non_square, resize=False).shape == (3, 7, 7)
    # timm's resnet18 evaluation: shorter side to floor(224 / 0.875) = 256, so
    # 50 x 70 -> 256 x 358, then a centre crop of 224: rows from 16, columns from
    # round(134 / 2) = 67. Column x is seen iff 0 <= (x + 0.5) * 5.12 - 67 < 224,
    # that is 13 <= x <= 56; rows 3 <= y <= 46.
    assert resnet18.data_config_["crop_pct"] == 0.875
    assert not maps[:, :, :13].any() and not maps[:, :, 57:].any()
    assert not maps[:, :3].any() and not maps[:, 47:].any()
    assert (maps[:, 3:47, 13:57] > 0).mean() > 0.3


def test_geometry_follows_the_preprocessing():
    from skanimal.explain._eigencam import _geometry
    from skanimal.nets import make_transforms
    from skanimal.utils._torch import timm_eval_transform

    base = {"input_size": (3, 64, 64), "interpolation": "bilinear", "mean": (0.5,) * 3,
            "std": (0.5,) * 3}
    transforms = [
        timm_eval_transform({**base, "crop_pct": 0.875, "crop_mode": "center"}),
        timm_eval_transform({**base, "crop_pct": 1.0, "crop_mode": "border"}),
        timm_eval_transform({**base, "crop_pct": 0.9, "crop_mode": "squash"}),
        timm_eval_transform({**base, "input_size": (3, 48, 64), "crop_pct": 0.95,
                             "crop_mode": "center"}),
        make_transforms(crop=32)[1],
    ]
    n_checked = 0
    for transform in transforms:
        for y, x in [(20, 30), (40, 12), (25, 55), (4, 66)]:
            # a 5 x 5 white marker centred on (y, x), on the grey of the padding
            img = np.full((50, 70, 3), 128, dtype=np.uint8)
            img[y - 2:y + 3, x - 2:x + 3] = 255
            out = transform(Image.fromarray(img))[0].numpy()
            geometry = _geometry(transform, 50, 70)
            assert geometry.size == out.shape
            (sy, sx), (oy, ox) = geometry.scale, geometry.offset
            uy, ux = sy * (y + 0.5) + oy, sx * (x + 0.5) + ox
            edges = (sy * (y - 2) + oy, sy * (y + 3) + oy, sx * (x - 2) + ox, sx * (x + 3) + ox)
            if not (0 <= edges[0] and edges[1] <= out.shape[0] and 0 <= edges[2]
                    and edges[3] <= out.shape[1]):
                continue  # the marker is (partly) cut off by the crop
            n_checked += 1
            weights = np.clip(out - np.median(out), 0, None)
            cy = (weights.sum(axis=1) * (np.arange(out.shape[0]) + 0.5)).sum() / weights.sum()
            cx = (weights.sum(axis=0) * (np.arange(out.shape[1]) + 0.5)).sum() / weights.sum()
            assert abs(cy - uy) < 0.6 and abs(cx - ux) < 0.6, (transform, y, x)
    assert n_checked >= 12


def test_paths_give_the_maps_of_arrays(resnet18, non_square, tmp_path):
    paths = []
    for i, img in enumerate(non_square):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img).save(paths[-1])
    np.testing.assert_array_equal(eigencam(resnet18, np.asarray(paths, dtype=object)),
                                  eigencam(resnet18, non_square))
    # one array for all: images of another size are refused, naming X[i]
    Image.fromarray(non_square[0][:40]).save(tmp_path / "small.png")
    mixed = np.asarray(paths[:2] + [str(tmp_path / "small.png")], dtype=object)
    with pytest.raises(DataError, match=r"X\[2\] is 40x70"):
        eigencam(resnet18, mixed)


def test_batches_and_pipelines_give_the_same_maps(resnet18, non_square):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    maps = eigencam(resnet18, non_square)
    np.testing.assert_allclose(eigencam(resnet18, non_square, batch_size=1), maps, atol=1e-4)
    pipe = make_pipeline(resnet18, LogisticRegression())
    pipe.fit(non_square, [0, 1, 0])
    np.testing.assert_array_equal(eigencam(pipe, non_square), maps)


# --------------------------------------------------------------------------- ViT


def test_vit_tokens_are_laid_out_on_the_patch_grid(vit_tiny, non_square):
    grid = eigencam(vit_tiny, non_square, resize=False)
    assert grid.shape == (3, 14, 14)  # 224 / 16; the class token dropped
    maps = eigencam(vit_tiny, non_square)
    _check_maps(maps, 3, (50, 70))
    np.testing.assert_array_equal(eigencam(vit_tiny, non_square), maps)


def test_vit_small_patch8_has_a_28_by_28_grid():
    X = _structured(2, 64, 64, seed=1)
    features = _features("vit_small_patch8_224", X)
    grid = eigencam(features, X, resize=False, batch_size=2)
    assert grid.shape == (2, 28, 28)
    assert grid.min() >= 0 and np.allclose(grid.max(axis=(1, 2)), 1.0)
    assert np.abs(grid[0] - grid[1]).max() > 0.05


def test_register_tokens_are_dropped():
    from skanimal.explain._eigencam import _reshape_transform, _vit_token_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import timm

        model = timm.create_model("test_vit", pretrained=False, num_classes=0, reg_tokens=4,
                                  img_size=32)
    assert model.num_prefix_tokens == 5 and _vit_token_grid(model, (32, 32)) == (2, 2)
    tokens = np.arange(9 * 3, dtype=np.float32).reshape(1, 9, 3)
    import torch

    out = _reshape_transform(model, (32, 32))(torch.from_numpy(tokens))
    assert tuple(out.shape) == (1, 3, 2, 2)
    # patch token j (after the 5 prefix tokens) sits at row j // 2, column j % 2
    np.testing.assert_array_equal(out[0, :, 1, 0].numpy(), tokens[0, 5 + 2])


# --------------------------------------------------------------------------- the sign


@pytest.mark.parametrize("backbone", ["resnet18", "vit_tiny_patch16_224", "test_vit"])
def test_the_map_is_on_the_bright_object(backbone, bright_objects, resnet18, vit_tiny):
    # without the sign rule, the maps of vit_tiny_patch16_224 and test_vit
    # put nearly all their mass on the background of these images
    features = {"resnet18": resnet18, "vit_tiny_patch16_224": vit_tiny}.get(backbone)
    if features is None:
        features = _features(backbone, bright_objects)
    maps = eigencam(features, bright_objects)
    for m, (top, left, size) in zip(maps, BOXES):
        box = np.zeros(m.shape, dtype=bool)
        box[max(top - 4, 0):top + size + 4, max(left - 4, 0):left + size + 4] = True
        share = m[box].sum() / m.sum()
        assert share > max(0.4, 3 * box.mean()), (backbone, top, left, share)


def test_the_sign_rule_makes_the_largest_magnitude_positive():
    from skanimal.explain._eigencam import _fix_sign

    p = np.array([[[0.1, -0.9], [0.3, 0.5]],  # peak -0.9: flipped
                  [[0.2, 0.8], [-0.5, 0.0]],  # peak 0.8: kept
                  [[0.0, 0.0], [0.0, 0.0]]])  # tie: kept
    out = _fix_sign(p)
    np.testing.assert_allclose(out[0], -p[0])
    np.testing.assert_allclose(out[1:], p[1:])
    assert p[0, 0, 1] == -0.9  # the input is not changed


# --------------------------------------------------------------------------- the networks


def _fit_quietly(net, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return net.fit(X, y)


def test_fine_tuned_networks_and_painseeker():
    from skanimal.nets import FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier

    X = _structured(6, 40, 48, seed=2)
    y = np.array([0, 1] * 3)
    common = dict(weights=None, max_epochs=1, batch_size=3, train_split=None, verbose=0,
                  random_state=0, device="cpu")
    clf = _fit_quietly(FineTunedClassifier("test_resnet", image_size=128, train_resize=136,
                                           **common), X, y)
    proba = clf.predict_proba(X)
    maps = eigencam(clf, X)
    _check_maps(maps, 6, (40, 48))
    assert (maps > 0).mean() > 0.3  # a plain resize: every pixel is seen
    np.testing.assert_array_equal(eigencam(clf, X), maps)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)  # the net is untouched
    assert eigencam(clf, X, resize=False).shape == (6, 4, 4)  # test_resnet: stride 32

    reg = _fit_quietly(FineTunedRegressor("test_resnet", image_size=128, train_resize=136,
                                          **common), X, y.astype(float))
    _check_maps(eigencam(reg, X), 6, (40, 48))

    seeker = _fit_quietly(PainSeekerClassifier("test_resnet", image_size=128, train_resize=136,
                                               k_high=2, **common), X, y)
    assert eigencam(seeker, X, resize=False).shape == (6, *seeker.map_size_)
    _check_maps(eigencam(seeker, X), 6, (40, 48))

    vit = _fit_quietly(FineTunedClassifier("test_vit", image_size=64, train_resize=72,
                                           model_kwargs={"img_size": 64}, **common), X, y)
    assert eigencam(vit, X, resize=False).shape == (6, 4, 4)
    _check_maps(eigencam(vit, X), 6, (40, 48))


def test_unfitted_and_unsupported_estimators_are_refused(non_square):
    from sklearn.linear_model import LogisticRegression

    from skanimal.features import LBPFeatures
    from skanimal.nets import FineTunedClassifier, PainSeekerClassifier

    for est in (DeepFeatures("test_resnet", weights=None), FineTunedClassifier("test_resnet"),
                PainSeekerClassifier("test_resnet")):
        with pytest.raises(NotFittedError):
            eigencam(est, non_square)
    for est in (LBPFeatures(), LogisticRegression()):
        with pytest.raises(TypeError, match="DeepFeatures"):
            eigencam(est, non_square)


# --------------------------------------------------------------------------- figures


def test_overlay_puts_the_heat_where_the_map_is():
    image = np.full((30, 40, 3), 128, dtype=np.uint8)
    heat = np.zeros((30, 40))
    heat[5:15, 20:35] = 1.0
    out = overlay(image, heat, alpha=1.0, cmap="gray", resample="nearest")
    assert out.shape == (30, 40, 3)
    assert out[5:15, 20:35].min() == 255 and out[20:, :15].max() == 0
    np.testing.assert_array_equal(overlay(image, heat, alpha=0.0), image)
    with pytest.raises(ValueError, match="heat_map"):
        overlay(image, heat.ravel())


def test_plot_explanations_picks_right_and_wrong_images_per_class():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 9
    images = np.stack([np.full((16, 16, 3), 10 * i, dtype=np.uint8) for i in range(n)])
    maps = np.random.default_rng(0).random((n, 4, 4))
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 0, 0, 1])
    fig = plot_explanations(images, maps, y_true=y_true, y_pred=y_pred,
                            class_names=["no pain", "pain"], n_per_class=2, alpha=0.0)
    titles = [ax.get_title() for ax in fig.axes]
    # class 0: 2 of 3 right + its 1 wrong; class 1: its 2 right + 2 of 3 wrong
    assert titles == ["true: no pain\npred: no pain"] * 2 + ["true: no pain\npred: pain"] + \
        ["true: pain\npred: pain"] * 2 + ["true: pain\npred: no pain"] * 2
    rows = [round(ax.get_position().y0, 3) for ax in fig.axes]
    assert len(set(rows[:3])) == 1 and len(set(rows[3:])) == 1 and rows[0] > rows[3]
    colours = [ax.title.get_color() for ax in fig.axes]
    assert colours[:2] == ["tab:green"] * 2 and colours[2] == "tab:red"
    # the drawn images are those of the titles (image i is uniform grey 10 * i; alpha=0)
    shown = [int(ax.images[0].get_array()[0, 0, 0]) // 10 for ax in fig.axes]
    assert set(shown[:2]) <= {0, 1, 2} and shown[2] == 3 and shown[3:5] == [4, 8]
    assert set(shown[5:]) <= {5, 6, 7}
    plt.close(fig)
    again = plot_explanations(images, maps, y_true=y_true, y_pred=y_pred, n_per_class=2,
                              alpha=0.0)
    assert [int(ax.images[0].get_array()[0, 0, 0]) // 10 for ax in again.axes] == shown
    assert again.axes[0].get_title() == "true: 0\npred: 0"
    plt.close(again)
    with pytest.raises(ValueError, match="length"):
        plot_explanations(images[:3], maps[:3], y_true=y_true, y_pred=y_pred)
