"""``skanimal benchmark unbc-levels``: seven PSPI pain levels (Hosseini et al.), Table II.

A ResNet-18 whose classifier is replaced by a dense layer with one output per
pain level, fine-tuned stage by stage (the head, then each block from the top
down), trained on subject-wise folds whose training part is rebalanced by the
paper's scheme; per-level precision / recall / F1 beside the paper's Table II,
accuracy, Pearson correlation (PCC) between predicted and true level, macro
one-vs-rest AUC, and the confusion matrix.

Choices where the paper is silent (**ours**): the folds (5 subject-wise
``GroupKFold`` folds on a given dataset, 3 on the built-in one), the size the
levels 2-6 are upsampled to (that of level 1, see
:func:`~skanimal.sampling.make_paper_sampler`), the epochs per unfrozen stage
(5) and the batch size (64). All-zero sequences are removed from the whole
dataset before the folds are made, as the paper removes them from the
database; the 20 % of level 0 and the upsampling are applied to each fold's
training part only.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import textwrap
import warnings

import numpy as np
import pandas as pd

from ._papers import PAPER_SUMMARIES, compare_with_paper, paper_results
from ._protocol import Protocol, register_protocol

__all__ = []

_N_LEVELS = 7
_LEVEL_PSPI = ("0", "1-2", "3-4", "5-6", "7-9", "10-12", "13-15")
_LEVEL_NAMES = tuple(f"PSPI {r}" for r in _LEVEL_PSPI)
#: Images of the built-in dataset: the fast preset runs in 1-2 minutes on 2 CPU cores.
_BUILTIN_N_SAMPLES = 600
_BUILTIN_CV, _DATA_CV = 3, 5
_PROBA = "proba_{}"


def _with_levels(data, *, source="the data"):
    """The data with the level of each image's PSPI score (``frame["pspi"]``) as target."""
    from sklearn.utils import Bunch

    from ..datasets import pspi_to_level
    from ..exceptions import DataError

    frame = data.get("frame") if hasattr(data, "get") else getattr(data, "frame", None)
    if frame is None or "pspi" not in frame.columns:
        raise DataError(
            f"the unbc-levels protocol needs the PSPI score (0-15) of every image, and "
            f"{source} has no 'pspi' column in its frame: load the UNBC-McMaster archive "
            "with skanimal.datasets.load_unbc_mcmaster(root), or add a 'pspi' column to "
            "the manifest.")
    try:
        level = pspi_to_level(frame["pspi"].to_numpy())
    except (TypeError, ValueError) as exc:
        raise DataError(f"the 'pspi' column of {source}: {exc}") from None
    frame = frame.reset_index(drop=True).assign(pain_level=level)
    return Bunch(images=data["images"], target=level, groups=np.asarray(data["groups"]),
                 target_names=np.array(_LEVEL_NAMES, dtype=object), frame=frame,
                 DESCR=data.get("DESCR", ""))


def _make_data(n_samples, random_state):
    from ..datasets import make_grimace_faces

    faces = make_grimace_faces(
        n_samples=_BUILTIN_N_SAMPLES if n_samples is None else n_samples,
        random_state=random_state)
    return _with_levels(faces)


def _sequence_column(frame):
    for name in ("sequence", "video"):
        if name in frame.columns and frame[name].notna().all():
            return name
    return None


def _drop_zero_sequences(data):
    """Remove the sequences whose frames all have PSPI 0; (data, sequences removed)."""
    from sklearn.utils import Bunch

    from ..utils._folds import _index

    frame = data.frame
    column = _sequence_column(frame)
    if column is None:
        return data, None
    key = pd.Series(list(zip(frame["subject"] if "subject" in frame else data.groups,
                             frame[column])), index=frame.index)
    pain = pd.Series(data.target > 0, index=frame.index).groupby(key).transform("any")
    keep = np.flatnonzero(pain.to_numpy())
    n_removed = int(key.nunique() - key[pain].nunique())
    kept = Bunch(images=_index(data.images, keep), target=data.target[keep],
                 groups=data.groups[keep], target_names=data.target_names,
                 frame=frame.iloc[keep].reset_index(drop=True), DESCR=data.get("DESCR", ""))
    return kept, n_removed


def _level_counts(before, after):
    table = pd.DataFrame({
        "PSPI": list(_LEVEL_PSPI),
        "frames": np.bincount(before, minlength=_N_LEVELS),
        "after removing all-zero sequences": np.bincount(after, minlength=_N_LEVELS),
    }, index=pd.Index(range(_N_LEVELS), name="level"))
    return table


def _resolve_cv(cv, builtin):
    if cv == "auto":
        return _BUILTIN_CV if builtin else _DATA_CV
    return cv


def _network(ctx, classes):
    """(the BenchmarkMethod or None, {row: why skipped}, trunk used)."""
    from skorch.callbacks import LRScheduler

    from ..features import resolve_backbone
    from ..nets import FineTunedClassifier
    from ..pipeline import make_pipeline
    from ..sampling import RandomFractionUnderSampler, make_paper_sampler
    from ._suite import BenchmarkMethod, _budget_text, _with_substitute

    s = ctx.settings
    backbone = s["trunk"]
    weights = s["weights"].get(backbone, "pretrained")
    trunk, trunk_weights, why = _with_substitute(backbone, weights)
    substituted = trunk is not None and trunk != backbone
    fraction = s["train_fraction"]
    fraction = None if fraction is None or fraction >= 1 else fraction
    budget = _budget_text(s["epochs"], s["image_size"], fraction)
    labelled = ctx.preset != "paper"
    base = ("ResNet-18" if resolve_backbone(backbone).name == "resnet18" else backbone)
    name = f"{base}, staged fine-tuning"
    if substituted:
        name += f" [substitute trunk {trunk}" + (f"; {budget}]" if labelled else "]")
    elif labelled:
        name += f" [{budget}]"
    if trunk is None:
        return None, {name: why}, backbone
    milestones = s["lr_milestones"]
    callbacks = ([("lr_scheduler", LRScheduler(policy="MultiStepLR",
                                               milestones=list(milestones), gamma=0.2))]
                 if milestones else [])
    # the paper's optimiser, lr schedule and staged unfreezing; one output per level
    # present (7 on the archive); no random flip or crop besides the sampler's copies
    net = FineTunedClassifier.from_preset(
        "hosseini2021", backbone=trunk, weights=trunk_weights, max_epochs=s["epochs"],
        image_size=s["image_size"], lr=s["lr"], unfreeze_schedule=s["unfreeze_schedule"],
        callbacks=callbacks, batch_size=s["batch_size"], classes=list(classes),
        hflip=False, train_split=None, device=s["device"],
        random_state=s["random_state"], verbose=0)
    steps = [make_paper_sampler("hosseini2021", random_state=s["random_state"]), net]
    if fraction is not None:
        steps.insert(0, RandomFractionUnderSampler(fraction, classes="all",
                                                   random_state=s["random_state"]))
    on = f"{trunk} trunk" + (f" (substituted for {backbone})" if substituted else "")
    method = BenchmarkMethod(
        name, make_pipeline(*steps),
        description=f"staged fine-tuning on the {on}, Hosseini et al.'s resampling of "
                    f"the training folds ({budget})",
        paper_row="ResNet-18" if base == "ResNet-18" else None)
    return method, {}, trunk


def _oof_proba(ctx, method, cv, classes):
    """The out-of-fold probabilities of every level, read from the fold checkpoints."""
    from ..utils._folds import FoldCheckpoint
    from ..utils._validation import check_1d
    from ._protocol import _FOLDS
    from ._suite import check_benchmark_data, method_slug

    data = ctx.data
    y = check_1d(data.target, "y")
    folds = check_benchmark_data(data.images, y, data.groups, cv=cv)
    store = FoldCheckpoint(ctx.output / _FOLDS / "main" / method_slug(method.name))
    proba = np.full((len(y), len(classes)), np.nan)
    for k, (train, test) in enumerate(folds):
        result = store.load(k, store.key(method.estimator, y, train, test, "predict_proba"))
        if result is None or result["proba"] is None:
            raise RuntimeError(f"fold {k} of {method.name!r} left no probabilities in "
                               f"{store.directory!r}.")
        proba[test] = result["proba"]
    return proba


def _predictions(data, pred, proba, classes):
    """One row per image: its subject, sequence, PSPI, fold, true and predicted level, p."""
    frame = data.frame
    out = pd.DataFrame(index=pred.index)
    images = np.asarray(data.images, dtype=object) if np.ndim(data.images) == 1 else None
    if images is not None:
        out["image"] = images[pred.index]
    out["subject"] = pred["subject"].to_numpy()
    column = _sequence_column(frame)
    if column is not None:
        out["sequence"] = frame[column].to_numpy()[pred.index]
    out["pspi"] = frame["pspi"].to_numpy()[pred.index]
    out["fold"] = pred["fold"].to_numpy()
    out["y_true"] = pred["y_true"].to_numpy().astype(np.int64)
    out["y_pred"] = pred["y_pred"].to_numpy().astype(np.int64)
    for j, c in enumerate(classes):
        out[_PROBA.format(c)] = proba[pred.index, j]
    return out


def _per_level(y_true, y_pred):
    """Per-level precision / recall / F1 (%, scikit-learn's) and the number of images."""
    from sklearn.metrics import precision_recall_fscore_support

    levels = np.arange(_N_LEVELS)
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=levels,
                                                 zero_division=np.nan)
    return pd.DataFrame({"PSPI": list(_LEVEL_PSPI), "n_images": n, "precision %": 100 * p,
                         "recall %": 100 * r, "F1 %": 100 * f},
                        index=pd.Index(levels, name="level"))


def _summary(y_true, y_pred, proba, classes):
    """Accuracy %, PCC (predicted vs true level) and macro one-vs-rest AUC."""
    from scipy.stats import pearsonr
    from sklearn.metrics import accuracy_score, roc_auc_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    pcc = np.nan
    if np.ptp(y_true) > 0 and np.ptp(y_pred) > 0:  # else r is undefined
        pcc = float(pearsonr(y_pred, y_true).statistic)
    if len(classes) == 2:
        auc = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y_true, proba, multi_class="ovr", average="macro",
                            labels=list(classes))
    return {"accuracy %": 100 * accuracy_score(y_true, y_pred), "PCC": pcc,
            "AUC": float(auc)}


def _level_bars(per_level, paper):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    x = np.arange(_N_LEVELS)
    width = 0.27
    for i, metric in enumerate(("precision %", "recall %", "F1 %")):
        ax.bar(x + (i - 1) * width, per_level[metric].fillna(0), width, label=metric,
               color=f"C{i}")
        ax.bar(x + (i - 1) * width, paper[metric], width, fill=False, hatch="//",
               edgecolor="k", linewidth=0.6)
    ax.set_xticks(x, [f"{k}\n({r})" for k, r in zip(x, _LEVEL_PSPI)])
    ax.set_xlabel("pain level (PSPI)")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    handles, _ = ax.get_legend_handles_labels()
    paper_patch = Patch(fill=False, hatch="//", edgecolor="k", label="paper (Table II)")
    ax.legend(handles=[*handles, paper_patch], fontsize="small", ncol=4, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def _prepare_data(ctx):
    """Levels from PSPI, all-zero sequences removed; notes and the level table."""
    from ..exceptions import DataError

    data = _with_levels(ctx.data, source=ctx.source)
    before = data.target
    removed = None
    if ctx.settings["drop_zero_sequences"]:
        data, removed = _drop_zero_sequences(data)
        if removed is None:
            ctx.note("The data has no sequences (no 'sequence' or 'video' column in its "
                     "frame), so no all-zero sequence is removed.")
        else:
            ctx.text(f"{removed} sequence(s) whose frames all have PSPI 0 are removed "
                     f"({len(before) - len(data.target)} of {len(before)} frames), as in "
                     "the paper.")
    ctx.table("levels", _level_counts(before, data.target),
              "Frames per pain level (the paper's Table I levels).")
    classes = np.unique(data.target)
    if classes.size < 2:
        raise DataError(f"the unbc-levels protocol needs two pain levels or more; "
                        f"{ctx.source} has only level {int(classes[0])} left.")
    absent = sorted(set(range(_N_LEVELS)) - set(classes.tolist()))
    if absent:
        ctx.note(f"Level(s) {absent} have no image here: the network has one output per "
                 f"level present ({classes.size}, not 7), and their rows are empty.")
    ctx.data = data
    return classes


def _note_missing_levels(ctx, cv):
    """A note for each fold whose training part lacks a level (it cannot be learnt there)."""
    from ..exceptions import DataError
    from ._suite import check_benchmark_data

    data = ctx.data
    folds = check_benchmark_data(data.images, data.target, data.groups, cv=cv)
    present = np.unique(data.target)
    for k, (train, test) in enumerate(folds):
        missing = np.setdiff1d(present, data.target[train])
        held = sorted(map(str, np.unique(data.groups[test])))
        if 1 in missing:
            raise DataError(
                f"cv={cv!r}: the training part of fold {k} (held-out subject(s) {held}) has "
                "no image of level 1 (PSPI 1-2), the size the paper's scheme upsamples "
                "levels 2-6 to; use fewer folds, or data with level 1 in every subject.")
        if missing.size:
            ctx.note(f"Fold {k} (held-out subject(s) {held}): its training part has no "
                     f"image of level(s) {missing.tolist()}, which that fold's network "
                     "cannot learn.")


def _run(ctx):
    from ._report import confusion_figure

    s = ctx.settings
    classes = _prepare_data(ctx)
    paper = paper_results("unbc-levels")
    summary_paper = PAPER_SUMMARIES["unbc-levels"]
    method = None
    if s["trunk"] is None:
        ctx.note("No network (trunk None): only the paper's numbers are shown.")
    else:
        method, skipped, trunk = _network(ctx, classes)
        for name, why in skipped.items():
            ctx.note(f"Row {name!r} skipped: {why}")
        if method is not None and trunk != s["trunk"]:
            ctx.note(f"The weights of {s['trunk']} are not available here, so the network "
                     f"runs on the substitute trunk {trunk} with ImageNet weights; its row "
                     "label says so, and its numbers are not the paper's network.")
        elif method is not None:
            ctx.text("The paper's trunk was pretrained on FER+ (facial expressions); those "
                     "weights are not published, so it starts here from "
                     f"{s['weights'].get(s['trunk'], 'pretrained')!r} weights.")
    if method is None:
        ctx.heading("The paper's numbers (Hosseini et al., Table II)")
        ctx.table("per_level_vs_paper", paper, "Per pain level, in %, as reported.")
        return

    cv = _resolve_cv(s["cv"], ctx.builtin)
    folds = ("leave-one-subject-out" if cv is None or cv == "loso" else
             f"{cv} subject-wise folds (GroupKFold)" if isinstance(cv, int) else repr(cv))
    ctx.text(f"Evaluation: {folds}. Each training part keeps a random 20 % "
             "of level 0 and brings levels 2-6 up to the size of level 1 with flipped or "
             "rotated copies; test parts are not resampled.")
    _note_missing_levels(ctx, cv)
    # abstain_threshold=0 keeps every image; it makes each fold compute (and
    # checkpoint) its probabilities, from which the AUC is computed
    with warnings.catch_warnings():  # noted above, once
        warnings.filterwarnings("ignore", message=".*has no sample of class",
                                category=UserWarning)
        _, predictions = ctx.evaluate([method], cv=cv, abstain_threshold=0.0, stage="main")
    proba = _oof_proba(ctx, method, cv, classes)
    pred = _predictions(ctx.data, predictions[method.name], proba, classes)
    ctx.write("predictions.csv", pred.to_csv(),
               "out-of-fold predictions and probabilities, one row per image")
    ctx.text("Out-of-fold predictions, with each level's probability: predictions.csv.")

    ctx.heading("Per pain level beside the paper's (Table II)")
    per_level = _per_level(pred["y_true"], pred["y_pred"])
    ctx.table("per_level_vs_paper", compare_with_paper(per_level, paper),
              f"{method.name}: precision, recall and F1 per level (%, out-of-fold, pooled "
              "over the folds), and Hosseini et al.'s Table II. Empty: a level with no "
              "image, or never predicted.", float_format="{:.2f}")
    measured = pd.DataFrame([_summary(pred["y_true"], pred["y_pred"], proba[pred.index],
                                      classes)],
                            index=pd.Index([method.name], name="method"))
    ctx.table("summary_vs_paper",
              compare_with_paper(measured, pd.DataFrame([summary_paper],
                                                        index=measured.index)),
              "Accuracy (%), Pearson correlation between predicted and true level (PCC) "
              "and macro one-vs-rest AUC, out-of-fold, beside the paper's.")

    ctx.heading("Figures")
    fig = confusion_figure(pred["y_true"], pred["y_pred"], labels=np.arange(_N_LEVELS),
                           display_labels=[f"{k} ({r})" for k, r in enumerate(_LEVEL_PSPI)],
                           title=textwrap.fill(method.name, 50))
    fig.axes[0].tick_params(axis="x", labelrotation=45)
    ctx.figure("confusion_matrix", fig,
               f"Confusion matrix of the out-of-fold predictions ({method.name}); rows: "
               "true level, columns: predicted level.")
    ctx.figure("per_level", _level_bars(per_level, paper),
               "Precision, recall and F1 per level (bars; a missing bar: undefined); "
               "hatched outlines: the paper's Table II.")


_COMMON = dict(trunk="resnet18", weights={}, train_fraction=None, cv="auto", device="auto",
               drop_zero_sequences=True)

register_protocol(Protocol(
    name="unbc-levels",
    title="Hosseini et al., Table II: seven PSPI pain levels, staged fine-tuning of ResNet-18",
    paper="hosseini",
    run=_run,
    defaults={
        "fast": dict(_COMMON, epochs=5, image_size=96, batch_size=32, lr=0.03,
                     lr_milestones=None, unfreeze_schedule=1),
        "paper": dict(_COMMON, epochs=180, image_size=224, batch_size=64, lr=4e-6,
                      lr_milestones=(60, 120), unfreeze_schedule=5),
    },
    make_data=_make_data,
    description="ResNet-18 with a new dense layer per pain level, fine-tuned stage by stage "
                "on subject-wise folds rebalanced as in the paper (all-zero sequences "
                "removed, 20 % of level 0, levels 2-6 upsampled); per-level precision / "
                "recall / F1, accuracy, PCC, AUC and the confusion matrix beside the paper's.",
))
