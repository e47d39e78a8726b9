"""PainSeeker: the PRSC loss (eq. 5), the attention module (eq. 1-3), the estimator (eq. 6)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from skanimal.nets import PainSeekerClassifier, PainSeekerModule, prsc_loss
from skanimal.utils.estimator_checks import (
    expected_failed_checks,
    parametrize_with_checks,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models: one thread is as fast, and immune to oversubscribed cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --------------------------------------------------------------------------- prsc_loss, by hand


@pytest.mark.parametrize(
    "beta, margin, k_high, expected",
    [
        # top 2 = .4, .3; rest mean (.2 + .1) / 2 = .15; hinges 0 and .05 -> /2
        ([0.4, 0.3, 0.2, 0.1], 0.2, 2, 0.025),
        # the same scores in another order: sorting makes it identical
        ([0.1, 0.3, 0.4, 0.2], 0.2, 2, 0.025),
        # all tied: top .25, rest mean .25 -> every hinge is the margin
        ([0.25, 0.25, 0.25, 0.25], 0.2, 1, 0.2),
        # tie across the boundary, k=1: top .3, rest (.3 + .2 + .2) / 3
        ([0.3, 0.2, 0.3, 0.2], 0.2, 1, 0.2 - (0.3 - 0.7 / 3)),
        # tie inside the top, k=2: both .3 against a rest of .2
        ([0.3, 0.2, 0.3, 0.2], 0.2, 2, 0.1),
        # tie across the boundary, k=3: .3, .3, .2 against .2 -> (.1 + .1 + .2) / 3
        ([0.3, 0.2, 0.3, 0.2], 0.2, 3, 0.4 / 3),
        # K_h = K - 1: rest is the single lowest (.1); hinges 0, .1, .1 -> /3
        ([0.5, 0.2, 0.2, 0.1], 0.2, 3, 0.2 / 3),
        # K_h = K - 1 with a large gap: every hinge inactive
        ([0.3, 0.3, 0.4, 0.0], 0.2, 3, 0.0),
        # margin 0: non-negative differences -> 0
        ([0.4, 0.3, 0.2, 0.1], 0.0, 2, 0.0),
        # the paper's setting on a uniform 7 x 7 map: every hinge = delta
        ([1 / 49] * 49, 0.2, 5, 0.2),
    ],
)
def test_prsc_loss_hand_computed(beta, margin, k_high, expected):
    out = prsc_loss(torch.tensor([beta], dtype=torch.float64), margin=margin, k_high=k_high)
    assert out.ndim == 0
    assert out.item() == pytest.approx(expected, abs=1e-12)


def test_prsc_loss_paper_setting_peaked_map():
    # 49 regions: 5 at 0.15, 44 sharing 0.25 -> rest mean 0.25/44; hinge 0.2 - (0.15 - 0.25/44)
    beta = torch.full((1, 49), 0.25 / 44, dtype=torch.float64)
    beta[0, [3, 10, 17, 30, 48]] = 0.15
    expected = 0.2 - (0.15 - 0.25 / 44)
    assert prsc_loss(beta).item() == pytest.approx(expected, abs=1e-12)  # defaults 0.2, 5
    # top 5 at 0.19, rest 0.05/44 each: still below the margin (the sum is 1)
    beta[0, [3, 10, 17, 30, 48]] = 0.19
    beta[0, beta[0] < 0.1] = 0.05 / 44
    assert prsc_loss(beta).item() == pytest.approx(0.2 - (0.19 - 0.05 / 44), abs=1e-12)
    # only when the 5 regions take all the mass (0.2 each) is the hinge inactive
    beta[0, beta[0] < 0.1] = 0.0
    beta[0, [3, 10, 17, 30, 48]] = 0.2
    assert prsc_loss(beta).item() == 0.0


def test_prsc_loss_mean_over_images_and_none():
    beta = torch.tensor([[0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    per = prsc_loss(beta, margin=0.2, k_high=2, reduction="none")
    # image 2, k=2: top .25 .25, rest .25 -> hinge .2 each -> .2
    np.testing.assert_allclose(per.numpy(), [0.025, 0.2], atol=1e-12)
    assert prsc_loss(beta, margin=0.2, k_high=2).item() == pytest.approx(0.1125, abs=1e-12)
    # a (n, M, M) map is flattened to (n, K)
    assert prsc_loss(beta.reshape(2, 2, 2), 0.2, 2).item() == pytest.approx(0.1125, abs=1e-12)


def test_prsc_loss_gradient_by_hand():
    # L = 1/2 * max(0, .2 - (.3 - (.2 + .1) / 2)); only the second hinge is active
    beta = torch.tensor([[0.4, 0.3, 0.2, 0.1]], dtype=torch.float64, requires_grad=True)
    prsc_loss(beta, margin=0.2, k_high=2).backward()
    np.testing.assert_allclose(beta.grad.numpy(), [[0.0, -0.5, 0.25, 0.25]], atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k_high=4), "k_high"),  # K = 4: k_high must be < K
        (dict(k_high=0), "k_high"),
        (dict(k_high=2.0), "k_high"),
        (dict(k_high=True), "k_high"),
        (dict(margin=-0.1), "margin"),
        (dict(margin=float("nan")), "margin"),
        (dict(reduction="sum"), "reduction"),
    ],
)
def test_prsc_loss_validation(kwargs, match):
    beta = torch.full((2, 4), 0.25)
    with pytest.raises(ValueError, match=match):
        prsc_loss(beta, **{"margin": 0.2, "k_high": 2, **kwargs})


def test_prsc_loss_rejects_bad_beta():
    with pytest.raises(ValueError, match="shape"):
        prsc_loss(torch.ones(4) / 4, k_high=2)
    with pytest.raises(ValueError, match="no image"):
        prsc_loss(torch.ones(0, 4), k_high=2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        prsc_loss(np.ones((1, 4)) / 4, k_high=2)


# --------------------------------------------------------------------------- module


def _toy_module(n_classes=3, seed=0):
    torch.manual_seed(seed)
    trunk = nn.Sequential(nn.Conv2d(3, 6, kernel_size=4, stride=4), nn.ReLU())  # 16 px -> 4 x 4
    return PainSeekerModule(trunk, n_features=6, n_classes=n_classes)


def test_module_equations_1_to_3():
    module = _toy_module().double()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    logits, beta = module(x)
    assert logits.shape == (4, 3) and beta.shape == (4, 16)
    # eq. 1: regions are the K = 16 positions of the map, row-major
    fmap = module.trunk(x)
    regions = fmap.permute(0, 2, 3, 1).reshape(4, 16, 6)
    # eq. 2: sigmoid of g, normalised over the regions
    s = 1 / (1 + torch.exp(-(regions @ module.g.weight.T + module.g.bias).squeeze(-1)))
    np.testing.assert_allclose(beta.detach().numpy(), (s / s.sum(1, keepdim=True)).detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(beta.sum(1).detach().numpy(), 1.0, rtol=1e-12)
    # eq. 3: h on the beta-weighted sum of the regions
    fused = (beta.unsqueeze(-1) * regions).sum(1)
    np.testing.assert_allclose(logits.detach().numpy(), module.h(fused).detach().numpy(),
                               rtol=1e-12)
    # the map view: (B, M, M), the same numbers
    maps = module.attention_map(x)
    assert maps.shape == (4, 4, 4)
    np.testing.assert_allclose(maps.reshape(4, 16).detach().numpy(), beta.detach().numpy())


def test_module_rejects_non_spatial_trunk():
    module = PainSeekerModule(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5)), 5, 2)
    with pytest.raises(ValueError, match="spatial feature map"):
        module(torch.randn(2, 3, 8, 8))
    module = PainSeekerModule(nn.Conv2d(3, 4, 2, 2), n_features=5, n_classes=2)
    with pytest.raises(ValueError, match="n_features=5"):
        module(torch.randn(2, 3, 8, 8))


def test_lambda_changes_g_gradient_as_eq6():
    """grad_g(CE + lambda * PRSC) - grad_g(CE) == lambda * grad_g(PRSC), exactly as eq. 6."""
    module = _toy_module(n_classes=2).double()
    x = torch.randn(6, 3, 16, 16, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    lam = 0.37

    def grads(weight_ce, weight_prsc):
        module.zero_grad()
        logits, beta = module(x)
        loss = weight_ce * nn.functional.cross_entropy(logits, y) + weight_prsc * prsc_loss(
            beta, margin=0.2, k_high=3)
        loss.backward()
        return (module.g.weight.grad.clone(), module.g.bias.grad.clone(),
                module.h.weight.grad.clone())

    gw_l, gb_l, hw_l = grads(1.0, lam)
    gw_0, gb_0, hw_0 = grads(1.0, 0.0)
    gw_p, gb_p, hw_p = grads(0.0, 1.0)
    assert gw_p.abs().sum() > 0  # the PRSC term is active on g
    np.testing.assert_allclose((gw_l - gw_0).numpy(), (lam * gw_p).numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose((gb_l - gb_0).numpy(), (lam * gb_p).numpy(), rtol=1e-9, atol=1e-15)
    assert not torch.allclose(gw_l, gw_0)
    # PRSC does not reach h (beta does not depend on h)
    np.testing.assert_allclose(hw_p.numpy(), 0.0)
    np.testing.assert_allclose(hw_l.numpy(), hw_0.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- explain


def test_overlay_attention_puts_heat_where_the_map_peaks(png_folder):
    from skanimal.explain import overlay_attention

    paths, images = png_folder
    beta = np.full((4, 4), 0.01)
    beta[0, 3] = 1.0  # top-right region
    beta /= beta.sum()
    out = overlay_attention(paths[0], beta, alpha=1.0, cmap="gray", resample="nearest")
    assert out.shape == images[0].shape and out.dtype == np.uint8
    h, w = out.shape[:2]
    # grey colour map at alpha 1: white on the peak region, black elsewhere
    assert out[: h // 4, -(w // 4):].min() == 255
    assert out[h // 2:, : w // 2].max() == 0
    # alpha 0 gives the image back; paths and arrays agree
    np.testing.assert_array_equal(overlay_attention(paths[0], beta, alpha=0.0), images[0])
    np.testing.assert_array_equal(overlay_attention(images[0], beta, alpha=0.4),
                                  overlay_attention(paths[0], beta, alpha=0.4))
    with pytest.raises(ValueError, match="alpha"):
        overlay_attention(images[0], beta, alpha=1.5)
    with pytest.raises(ValueError, match="beta_map"):
        overlay_attention(images[0], beta.ravel())


def test_plot_attention_grid_layout(png_folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skanimal.explain import plot_attention_grid

    paths, _ = png_folder
    maps = np.random.default_rng(0).random((5, 3, 3))
    fig = plot_attention_grid(paths[:5], maps, titles=list("abcde"), n_cols=3)
    assert len(fig.axes) == 10  # image + overlay per sample
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == list("abcde")
    plt.close(fig)
    fig = plot_attention_grid(paths[:5], maps, show_images=False, n_cols=2)
    assert len(fig.axes) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="length"):
        plot_attention_grid(paths[:4], maps)


# --------------------------------------------------------------------------- estimator


def _net(**params):
    base = dict(backbone="test_resnet", weights=None, image_size=64, train_resize=64,
                hflip=False, k_high=2, max_epochs=1, batch_size=12, train_split=None,
                verbose=0, device="cpu", random_state=0)
    return PainSeekerClassifier(**{**base, **params})


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random test weights
        yield


def _fixed_batch(net, paths):
    ds = net.get_dataset(paths)
    return torch.stack([net.eval_transform_(ds.load(i)) for i in range(len(paths))])


@pytest.mark.usefixtures("quiet")
def test_one_epoch_lowers_total_loss_on_fixed_batch(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, _ = image_labels_groups
    net = _net(max_epochs=0, lr=1e-3, lambda_prsc=0.5).fit(paths, y)  # initialised, untrained
    xb = _fixed_batch(net, paths)
    yb = torch.as_tensor(np.searchsorted(net.classes_, y))

    def total_loss():
        net.module_.train()  # batch statistics, as in the training step
        with torch.no_grad():
            return net.get_loss(net.module_(xb), yb).item()

    before = total_loss()
    g_before = net.module_.g.weight.detach().clone()
    net.set_params(max_epochs=1).partial_fit(paths, y)
    after = total_loss()
    # one batch = all 12 images, and train == eval transform here: the epoch's
    # recorded loss is eq. 6 on this very batch, before the update
    assert net.history_[-1]["train_loss"] == pytest.approx(before, rel=1e-4)
    assert after < before
    assert not torch.equal(net.module_.g.weight, g_before)


@pytest.mark.usefixtures("quiet")
def test_estimator_loss_is_eq6_and_lambda_scales_g_gradient(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, _ = image_labels_groups
    net = _net(max_epochs=0, lambda_prsc=0.3, margin=0.2, k_high=2).fit(paths, y)
    xb = _fixed_batch(net, paths)
    yb = torch.as_tensor(np.searchsorted(net.classes_, y))
    module = net.module_.train()

    def loss_and_grad(lam):
        net.set_params(lambda_prsc=lam)
        module.zero_grad()
        out = module(xb)
        loss = net.get_loss(out, yb)
        loss.backward()
        return loss.item(), module.g.weight.grad.clone(), out

    loss_l, grad_l, (logits, beta) = loss_and_grad(0.3)
    loss_0, grad_0, _ = loss_and_grad(0.0)
    ce = nn.functional.cross_entropy(logits, yb).item()
    prsc = prsc_loss(beta, margin=0.2, k_high=2)
    assert loss_0 == pytest.approx(ce, rel=1e-6)
    assert loss_l == pytest.approx(ce + 0.3 * prsc.item(), rel=1e-6)
    module.zero_grad()
    prsc_loss(module(xb)[1], margin=0.2, k_high=2).backward()
    grad_p = module.g.weight.grad.clone()
    assert grad_p.abs().sum() > 0
    np.testing.assert_allclose((grad_l - grad_0).numpy(), (0.3 * grad_p).numpy(),
                               rtol=1e-4, atol=1e-7)


@pytest.mark.usefixtures("quiet")
def test_attention_maps(png_folder, image_labels_groups):
    paths, images = png_folder
    y, groups = image_labels_groups
    net = _net(image_size=96, train_resize=104, hflip=True, k_high=5, batch_size=6)
    net.fit(paths, y, groups=groups)
    assert net.map_size_ == (3, 3)
    maps = net.attention_maps(paths)
    assert maps.shape == (12, 3, 3)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert (maps > 0).all()
    np.testing.assert_allclose(net.attention_maps(images[:5]), maps[:5], atol=1e-6)
    # the same numbers as the module's beta, and a real softmax of the logits
    proba = net.predict_proba(paths)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert set(net.predict(paths)) <= set(net.classes_)
    assert net.optimizer_.param_groups[0]["weight_decay"] == 0.01
    # pickling a fitted net keeps its maps
    import pickle

    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(again.attention_maps(paths[:3]), maps[:3], atol=1e-6)


@pytest.mark.usefixtures("quiet")
def test_clear_errors(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, _ = image_labels_groups
    with pytest.raises(ValueError, match=r"k_high=4 must be smaller .* K = 2 x 2 = 4"):
        _net(k_high=4).fit(paths, y)
    with pytest.raises(ValueError, match="convolutional backbone"):
        _net(backbone="test_vit").fit(paths, y)
    with pytest.raises(ValueError, match="lambda_prsc"):
        _net(lambda_prsc=-1.0).fit(paths, y)
    with pytest.raises(ValueError, match="weight_decay="):
        _net(optimizer__weight_decay=0.1).fit(paths, y)
    unfitted = _net()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        unfitted.attention_maps(paths)
    # paper defaults
    params = PainSeekerClassifier().get_params()
    assert (params["lambda_prsc"], params["margin"], params["k_high"], params["lr"],
            params["weight_decay"], params["batch_size"], params["optimizer"],
            params["backbone"], params["weights"]) == (
        0.1, 0.2, 5, 1e-4, 0.01, 64, torch.optim.Adam, "resnet18", "pretrained")
    assert clone(_net(lambda_prsc=0.0)).lambda_prsc == 0.0


@pytest.mark.usefixtures("quiet")
def test_sample_weight_request_is_refused_at_fit(png_folder, image_labels_groups):
    # the loss does not weight samples: a routed sample_weight must not reach the
    # module's forward (a TypeError about forward() before), but be refused clearly
    import sklearn
    from sklearn.model_selection import GroupKFold, cross_validate

    paths, _ = png_folder
    y, groups = image_labels_groups
    with sklearn.config_context(enable_metadata_routing=True):
        net = _net().set_fit_request(sample_weight=True, groups=False)
        net.set_score_request(sample_weight=False)
        with pytest.raises(TypeError, match=r"PainSeekerClassifier\.fit does not take "
                                            r"sample_weight.*class_weight='balanced'"):
            cross_validate(net, paths, y, cv=GroupKFold(2), error_score="raise",
                           params={"sample_weight": np.ones(len(y)), "groups": groups})
    net = _net()
    with pytest.raises(TypeError, match="does not take sample_weight"):
        net.fit(paths, y, sample_weight=np.ones(len(y)))
    assert not net.initialized_  # refused before anything is built


# the skorch API checks that fail by design: expected_failed_checks says which and why
@parametrize_with_checks([PainSeekerClassifier()],
                         expected_failed_checks=expected_failed_checks)
def test_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
