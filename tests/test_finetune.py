"""Tests of FineTunedClassifier / FineTunedRegressor (tiny timm test_resnet, 32 px)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from skorch.callbacks import Callback

from skanimal.nets import (
    FINETUNE_PRESETS,
    FineTunedClassifier,
    FineTunedRegressor,
    GroupValidSplit,
    StagedUnfreezer,
    backbone_stages,
)
from skanimal.utils.estimator_checks import (
    expected_failed_checks,
    parametrize_with_checks,
)

pytestmark = pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning",
                                        "ignore:GroupValidSplit got no groups:UserWarning")

TINY = FineTunedClassifier._get_test_params()


class _RecordTrainable(Callback):
    """Records, at the first batch of each epoch, which parameters require grad."""

    def initialize(self):
        self.per_epoch = []
        self._epoch_seen = -1
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        epoch = len(net.history) - 1
        if training and epoch != self._epoch_seen:
            self._epoch_seen = epoch
            self.per_epoch.append({n for n, p in net.module_.named_parameters()
                                   if p.requires_grad})


def test_staged_schedule_freezes_and_unfreezes_per_epoch(png_folder):
    paths, _ = png_folder
    y = np.tile([0, 1], 6)
    rec = _RecordTrainable()
    net = FineTunedClassifier(**{**TINY, "max_epochs": 4}, unfreeze="staged",
                              unfreeze_schedule=[0, 1, 3], train_split=None, random_state=0,
                              callbacks=[("rec", rec)])
    net.initialize_for(2)
    stages = backbone_stages(net.module_)
    assert stages[0] == ["head.weight", "head.bias"]
    assert stages[1][0].startswith("backbone.layer4")  # from the top down
    assert len(stages) >= 4
    before = {n: p.detach().clone() for n, p in net.module_.named_parameters()}
    net.fit(paths, y)
    expected = [set(stages[0]), set(stages[0]) | set(stages[1]),
                set(stages[0]) | set(stages[1]), set(stages[0]) | set(stages[1]) | set(stages[2])]
    assert rec.per_epoch == expected
    assert net.callbacks_[-1][1].trainable_ == [1, 2, 2, 3]
    after = dict(net.module_.named_parameters())
    # stages never unfrozen keep their weights exactly; trained ones moved
    for name in stages[3]:
        torch.testing.assert_close(after[name].detach(), before[name], rtol=0, atol=0)
    assert not torch.equal(after["head.weight"].detach(), before["head.weight"])
    assert not torch.equal(after[stages[1][0]].detach(), before[stages[1][0]])
    # partial_fit continues the schedule (epoch 4 -> still 3 stages with this schedule)
    net.partial_fit(paths, y)
    assert net.callbacks_[-1][1].trainable_[-1] == 3


def test_staged_unfreezer_epoch_counts():
    assert [StagedUnfreezer(2).n_trainable(e, 4) for e in range(8)] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert StagedUnfreezer([0, 5]).n_trainable(100, 6) == 2
    with pytest.raises(ValueError, match="non-decreasing"):
        StagedUnfreezer([3, 1]).n_trainable(0, 4)


def test_unfreeze_head_trains_only_the_head(png_folder):
    paths, _ = png_folder
    net = FineTunedClassifier(**{**TINY, "max_epochs": 2}, unfreeze="head",
                              train_split=None, random_state=0)
    net.initialize_for(2)
    before = {n: p.detach().clone() for n, p in net.module_.named_parameters()}
    net.fit(paths, np.tile([0, 1], 6))
    for name, p in net.module_.named_parameters():
        if name.startswith("backbone."):
            assert not p.requires_grad
            torch.testing.assert_close(p.detach(), before[name], rtol=0, atol=0)
    assert not torch.equal(net.module_.head.weight.detach(), before["head.weight"])


def test_all_unfreezes_everything(png_folder):
    paths, _ = png_folder
    net = FineTunedClassifier(**TINY, train_split=None).fit(paths, np.tile([0, 1], 6))
    assert all(p.requires_grad for p in net.module_.parameters())


def test_clone_and_pickle_fitted_net(png_folder):
    paths, images = png_folder
    y = np.array(["no", "yes"] * 6)
    net = FineTunedClassifier(**TINY, train_split=None, random_state=0).fit(paths, y)
    proba = net.predict_proba(images)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict_proba(images), proba)
    np.testing.assert_array_equal(restored.predict(paths), net.predict(paths))
    assert list(restored.classes_) == ["no", "yes"]
    fresh = clone(net)
    assert not hasattr(fresh, "module_") or fresh.module_ is None
    assert fresh.get_params()["backbone"] == "test_resnet"
    refit = fresh.fit(paths, y)
    np.testing.assert_allclose(refit.predict_proba(images), proba, rtol=1e-5, atol=1e-6)


def test_partial_fit_continues_training(png_folder):
    paths, _ = png_folder
    y = np.array([2, 5] * 6)
    net = FineTunedClassifier(**TINY, train_split=None, random_state=0)
    net.partial_fit(paths, y)
    p1 = net.predict_proba(paths)
    head = net.module_.head.weight.detach().clone()
    net.partial_fit(paths, y)
    assert len(net.history) == 2
    assert not torch.equal(net.module_.head.weight.detach(), head)  # not re-initialised
    assert not np.allclose(net.predict_proba(paths), p1)
    assert list(net.classes_) == [2, 5]
    with pytest.raises(ValueError, match="not among the classes"):
        net.partial_fit(paths, np.array([2, 7] * 6))
    net.fit(paths, y)  # fit starts over
    assert len(net.history) == 1


class _SplitLog(GroupValidSplit):
    calls = []

    def __call__(self, dataset, y=None, groups=None):
        tr, va = super().__call__(dataset, y, groups)
        type(self).calls.append((None if groups is None else np.asarray(groups),
                                 tr.indices, va.indices))
        return tr, va


def test_cross_validate_routes_groups_to_the_internal_split(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, groups = image_labels_groups
    _SplitLog.calls.clear()
    with config_context(enable_metadata_routing=True):
        net = FineTunedClassifier(**TINY, train_split=_SplitLog(0.34), random_state=0)
        net.set_fit_request(groups=True)
        res = cross_validate(net, paths, y, params={"groups": groups},
                             cv=GroupKFold(n_splits=2), error_score="raise")
    assert np.all((res["test_score"] >= 0) & (res["test_score"] <= 1))
    assert len(_SplitLog.calls) == 2
    for inner_groups, tr, va in _SplitLog.calls:
        assert inner_groups is not None and len(inner_groups) == 6  # the training fold only
        assert not set(inner_groups[tr]) & set(inner_groups[va])


def test_grid_search_with_group_kfold(png_folder, image_labels_groups):
    paths, _ = png_folder
    y, groups = image_labels_groups
    search = GridSearchCV(
        FineTunedClassifier(**TINY, train_split=None, random_state=0),
        {"lr": [1e-4, 1e-2]}, cv=GroupKFold(n_splits=2), error_score="raise",
    )
    search.fit(paths, y, groups=groups)
    assert search.best_params_["lr"] in (1e-4, 1e-2)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.predict(paths).shape == (12,)


def test_regressor_predicts_continuous_values(png_folder, image_labels_groups):
    paths, images = png_folder
    _, groups = image_labels_groups
    y = np.linspace(0.0, 10.0, 12)
    reg = FineTunedRegressor(**{**TINY, "max_epochs": 3}, lr=1e-2, random_state=0)
    reg.fit(images, y, groups=groups)
    pred = reg.predict(images)
    assert pred.shape == (12,) and pred.dtype.kind == "f"
    assert np.all(np.isfinite(pred)) and np.ptp(pred) > 0
    assert not np.allclose(pred, np.round(pred))
    assert isinstance(reg.score(images, y), float)
    y2 = np.stack([y, -y], axis=1)
    reg2 = FineTunedRegressor(**TINY, train_split=None).fit(images, y2)
    assert reg2.predict(images).shape == (12, 2)
    with pytest.raises(TypeError, match="not a classifier"):
        FineTunedRegressor(class_weight="balanced")


def test_presets_reproduce_the_papers_settings(png_folder):
    assert set(FINETUNE_PRESETS) == {"painseeker_resnet18", "hosseini2021"}
    h = FineTunedClassifier.from_preset("hosseini2021")
    p = h.get_params()
    assert p["optimizer"] is torch.optim.SGD and p["lr"] == 4e-6
    assert p["optimizer__momentum"] == 0.8 and p["optimizer__weight_decay"] == 1e-4
    assert p["max_epochs"] == 180 and p["unfreeze"] == "staged"
    sched = dict(p["callbacks"])["lr_scheduler"]
    assert sched.kwargs == {"milestones": [60, 120], "gamma": 0.2}
    b = FineTunedClassifier.from_preset("painseeker_resnet18").get_params()
    assert b["optimizer"] is torch.optim.Adam and b["lr"] == 1e-4
    assert b["optimizer__weight_decay"] == 0.01 and b["batch_size"] == 64
    assert (b["image_size"], b["train_resize"], b["hflip"]) == (224, 256, True)
    with pytest.raises(ValueError, match="Unknown preset"):
        FineTunedClassifier.from_preset("nope")
    # the schedule really divides the lr by 5 at the milestones (scaled down here)
    paths, _ = png_folder
    from skorch.callbacks import LRScheduler

    net = FineTunedClassifier.from_preset(
        "hosseini2021", **{**TINY, "max_epochs": 3}, train_split=None,
        callbacks=[("lr_scheduler", LRScheduler(policy="MultiStepLR", milestones=[1, 2],
                                                gamma=0.2))])
    net.fit(paths, np.tile([0, 1], 6))
    group = net.optimizer_.param_groups[0]
    assert group["momentum"] == 0.8 and group["weight_decay"] == 1e-4
    np.testing.assert_allclose(group["lr"], 4e-6 / 25)


# The regressor shares every code path but the target handling, which
# test_regressor_predicts_continuous_values covers: only the classifier runs the
# (slow) full suite, to keep this file within its time budget.
@parametrize_with_checks([FineTunedClassifier()],
                         expected_failed_checks=expected_failed_checks)
def test_estimator_checks(estimator, check):
    check(estimator)
