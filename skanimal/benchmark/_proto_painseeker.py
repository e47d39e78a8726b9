"""``skanimal benchmark painseeker``: Table 3 of the PainSeeker paper (Liu et al., 2025)."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pandas as pd

from ._papers import compare_with_paper, paper_results
from ._protocol import Protocol, register_protocol

__all__ = ["SENSITIVITY_GRIDS"]

_PAPER_RATS = [f"Rat#{i}" for i in range(1, 7)]


def _make_data(n_samples, random_state):
    from ..datasets import make_grimace_faces

    kwargs = {} if n_samples is None else {"n_samples": n_samples}
    return make_grimace_faces(random_state=random_state, **kwargs)


def _pooled(reports, methods):
    """Measured pooled F1 / accuracy %, indexed by the paper's row where there is one."""
    rows = {}
    for m in methods:
        r = reports[m.name]
        rows[m.name] = {"F1": float(r.loc["pooled", "f1"]),
                        "accuracy %": 100 * float(r.loc["pooled", "accuracy"])}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def _paper_pooled(methods):
    paper = paper_results("painseeker").xs("pooled", level="subject")
    rows = {m.name: paper.loc[m.paper_row] for m in methods if m.paper_row in paper.index}
    return pd.DataFrame.from_dict(rows, orient="index")


def _per_subject(reports, methods, subjects):
    """(method, subject) rows: measured F1 / accuracy % and, for six subjects, the paper's."""
    paper = paper_results("painseeker")
    rat_of = dict(zip(subjects, _PAPER_RATS)) if len(subjects) == 6 else {}
    rows = {}
    for m in methods:
        r = reports[m.name]
        for s in [*subjects, "pooled"]:
            row = {"F1": float(r.loc[s, "f1"]), "accuracy %": 100 * float(r.loc[s, "accuracy"])}
            key = (m.paper_row, rat_of.get(s, "pooled" if s == "pooled" else None))
            if key in paper.index:
                row["F1 (paper)"] = paper.loc[key, "F1"]
                row["accuracy % (paper)"] = paper.loc[key, "accuracy %"]
            rows[(m.name, str(s))] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.names = ["method", "subject"]
    cols = [c for c in ("F1", "F1 (paper)", "accuracy %", "accuracy % (paper)") if c in out]
    return out[cols]


def _methods(ctx):
    from ._suite import default_methods, network_methods

    s = ctx.settings
    methods = list(default_methods())
    nets, skipped = [], {}
    if s["trunk"] is not None:
        nets, skipped = network_methods(
            s["trunk"], weights=s["weights"].get(s["trunk"], "pretrained"), max_epochs=s["epochs"],
            image_size=s["image_size"], batch_size=s["batch_size"], device=s["device"],
            random_state=s["random_state"], train_fraction=s["train_fraction"],
            budget_label=ctx.preset != "paper")
    return methods, nets, skipped


#: The PainSeeker paper's sensitivity grids (Figure 5), one parameter varied at a time
SENSITIVITY_GRIDS = {
    "lambda_prsc": (0.05, 0.1, 0.5, 1.0, 1.5),
    "margin": (0.05, 0.1, 0.15, 0.2, 0.5),
    "k_high": (3, 5, 10, 15, 20),
}
_SYMBOL = {"lambda_prsc": "lambda", "margin": "delta", "k_high": "K_h"}


def _net_of(estimator):
    """The network of a method (the last step of a budget pipeline)."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _attention_figure(ctx, method, folds):
    """PainSeeker's beta maps (its Figure 4) for held-out images of the first fold."""
    from sklearn.base import clone

    from ..explain import plot_explanations
    from ..utils._folds import _index

    train, test = folds[0]
    X, y = ctx.data.images, ctx.data.target
    model = clone(method.estimator).fit(_index(X, train), y[train])
    net = _net_of(model)
    X_test = _index(X, test)
    y_pred = net.predict(X_test)
    maps = net.attention_maps(X_test)
    subject = [str(s) for s in np.unique(ctx.data.groups[test])]
    fig = plot_explanations(X_test, maps, y_true=y[test], y_pred=y_pred,
                            class_names=list(ctx.data.target_names), n_per_class=2,
                            random_state=ctx.settings["random_state"])
    ctx.figure("painseeker_attention", fig,
               f"PainSeeker's attention beta (eq. 2) over held-out images of {subject} (a "
               "network trained on the other subjects, as in fold 0), one row per true class: "
               "right predictions, then wrong ones.")


def _sensitivity(ctx, base, regions):
    """The lambda / delta / K_h grids, one parameter varied at a time (Figure 5)."""
    import matplotlib.pyplot as plt

    from ._suite import BenchmarkMethod

    net = _net_of(base.estimator)
    methods, where, skipped = [], {}, []
    for param, values in SENSITIVITY_GRIDS.items():
        for v in values:
            if param == "k_high" and v >= regions:
                skipped.append(v)
                continue
            est = base.estimator
            prefix = f"{est.steps[-1][0]}__" if hasattr(est, "steps") else ""
            from sklearn.base import clone

            est = clone(est).set_params(**{prefix + param: v})
            name = f"PainSeeker {_SYMBOL[param]}={v:g}"
            methods.append(BenchmarkMethod(name, est))
            where[name] = (param, v)
    if skipped:
        ctx.note(f"K_h = {', '.join(map(str, skipped))} skipped: the trunk gives only {regions} "
                 f"regions at {net.image_size} px (K_h must be smaller); use a larger image "
                 "size (the paper's 224 px gives 49).")
    reports, _ = ctx.evaluate(methods, stage="sensitivity")
    rows = {n: {"parameter": _SYMBOL[p], "value": v,
                "F1": float(reports[n].loc["pooled", "f1"]),
                "accuracy %": 100 * float(reports[n].loc["pooled", "accuracy"])}
            for n, (p, v) in where.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")
    ctx.table("sensitivity", table, "Sensitivity of PainSeeker to lambda, delta (margin) and "
              "K_h, one varied at a time, the others at 0.1 / 0.2 / 5: pooled F1 and accuracy.")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, symbol in zip(axes, _SYMBOL.values()):
        part = table[table["parameter"] == symbol]
        ax.plot(part["value"], part["F1"], "o-", label="F1")
        ax.set_xlabel(symbol)
        ax.set_ylim(0, 1)
        ax2 = ax.twinx()
        ax2.plot(part["value"], part["accuracy %"], "s--", color="C1", label="accuracy %")
        ax2.set_ylim(0, 100)
        ax.set_title(f"varying {symbol}")
    axes[0].set_ylabel("pooled F1 (o-)")
    fig.tight_layout()
    ctx.figure("sensitivity", fig, "Pooled F1 (circles) and accuracy % (squares, right axis) "
               "as one parameter varies (the PainSeeker paper's Figure 5).")


def _run(ctx):
    from ..evaluation import paper_table
    from ._report import confusion_figure, subject_bars_figure

    lbp, nets, skipped = _methods(ctx)
    methods = lbp + nets
    for name, why in skipped.items():
        ctx.note(f"Row {name!r} skipped: {why}")
    if any("substitute trunk" in m.name for m in nets):
        ctx.note(f"The weights of {ctx.settings['trunk']} are not available here, so the three "
                 "networks run on a substitute trunk with ImageNet weights; their row labels "
                 "say so, and their numbers are not the paper's method.")
    reports, predictions = ctx.evaluate(methods)
    subjects = [s for s in next(iter(reports.values())).index
                if s not in ("pooled", "mean", "std")]

    ctx.heading("Pooled leave-one-subject-out results beside the paper's (Table 3, LORO column)")
    measured = _pooled(reports, methods)
    ctx.table("painseeker_vs_paper", compare_with_paper(measured, _paper_pooled(methods)),
              "Pooled over all folds: F1 (0-1) and accuracy (%), measured and as reported by "
              "Liu et al. (2025), Table 3.")
    ctx.heading("Per held-out subject (the paper's Table 3 layout)")
    ctx.table("table3", paper_table(reports),
              "Cells: F1 (0-1) / accuracy (%), per held-out subject and pooled over all folds.",
              float_format="{:.4f}")
    note = ("" if len(subjects) == 6 else
            " The data does not have six subjects, so no subject is matched to a paper's rat.")
    ctx.table("table3_per_subject", _per_subject(reports, methods, subjects),
              "Per held-out subject, measured and the paper's (the i-th subject in sorted order "
              "beside the paper's Rat#i)." + note, show=False)

    ctx.heading("Figures")
    paper = paper_results("painseeker")
    bars = {m.name: [paper.loc[(m.paper_row, r), "F1"] for r in _PAPER_RATS]
            + [paper.loc[(m.paper_row, "pooled"), "F1"]]
            for m in methods if len(subjects) == 6 and (m.paper_row, "pooled") in paper.index}
    shown = [m.name for m in methods if m.name.startswith(("LBP R3P8 4x4", "ResNet-18",
                                                             "PainSeeker"))]
    ctx.figure("per_subject_f1",
               subject_bars_figure({k: reports[k] for k in shown}, "f1",
                                   paper={k: v for k, v in bars.items() if k in shown},
                                   title="F1 per held-out subject (hatched: the paper's)"),
               "F1 per held-out subject and pooled; hatched outlines are the paper's values "
               "for the same row.")
    seeker = [m for m in nets if m.paper_row == "PainSeeker" or
              (m.name.startswith("PainSeeker (") and "w/o" not in m.name)]
    folds = _folds_of(ctx)
    if seeker:
        _attention_figure(ctx, seeker[0], folds)
    best = max(methods, key=lambda m: measured.loc[m.name, "F1"])
    pred = predictions[best.name]
    names = list(ctx.data.target_names)
    ctx.figure("confusion_matrix",
               confusion_figure(pred["y_true"], pred["y_pred"].astype(pred["y_true"].dtype),
                                labels=np.arange(len(names)), display_labels=names,
                                title=best.name[:60]),
               f"Confusion matrix of the out-of-fold predictions of the best row ({best.name}).")
    if ctx.settings["sensitivity"]:
        if not seeker:
            ctx.note("The sensitivity grids need the PainSeeker network; it was skipped.")
        else:
            ctx.heading("Sensitivity to lambda, delta and K_h (the paper's Figure 5)")
            net = _net_of(seeker[0].estimator)
            _sensitivity(ctx, seeker[0], _regions(net))


def _folds_of(ctx):
    from ._suite import check_benchmark_data

    return check_benchmark_data(ctx.data.images, ctx.data.target, ctx.data.groups)


def _regions(net):
    """K, the number of regions the PainSeeker network's trunk gives at its image size."""
    from ..features import resolve_backbone

    return int(np.prod(net._map_size(resolve_backbone(net.backbone))))  # on meta tensors


register_protocol(Protocol(
    name="painseeker",
    title="PainSeeker paper (Liu et al., 2025), Table 3: leave-one-subject-out, binary pain",
    paper="liu2025",
    run=_run,
    defaults={
        "fast": dict(trunk="resnet18", weights={}, epochs=1, image_size=96,
                     batch_size=32, train_fraction=0.25, device="auto", sensitivity=False),
        "paper": dict(trunk="resnet18", weights={}, epochs=30, image_size=224,
                      batch_size=64, train_fraction=None, device="auto", sensitivity=False),
    },
    make_data=_make_data,
    description="Six LBP + linear-SVM settings, the ResNet-18 baseline, PainSeeker without "
                "PRSC and PainSeeker, leave-one-subject-out with pooled F1 and accuracy.",
))
