"""The numbers each source paper reports, to print beside the measured ones."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import pandas as pd

__all__ = ["PAPER_RESULTS", "compare_with_paper", "paper_results"]

_RATS = [f"Rat#{i}" for i in range(1, 7)]


def _table3():
    # Liu et al. (2025), Table 3: F1 / accuracy (%) per held-out rat, then pooled (LORO)
    rows = {
        "LBP R1P8 4x4": "0.7862/71.95 0.7292/64.29 0.5399/62.12 0.6291/65.65 0.6923/64.84 "
                        "0.6087/62.89 0.6854/65.64",
        "LBP R1P8 8x8": "0.7835/71.49 0.7396/67.14 0.4906/59.09 0.6184/65.65 0.6300/59.34 "
                        "0.5493/57.73 0.6853/64.24",
        "LBP R1P8 16x16": "0.7703/69.23 0.7068/65.24 0.4648/61.62 0.5326/62.61 0.5930/55.49 "
                          "0.7000/69.07 0.6462/63.62",
        "LBP R3P8 4x4": "0.8014/74.66 0.7341/66.19 0.5223/62.12 0.5842/63.48 0.7184/68.13 "
                        "0.7736/75.26 0.6984/67.66",
        "LBP R3P8 8x8": "0.7286/66.97 0.7315/67.14 0.4247/57.58 0.6193/67.39 0.7264/68.13 "
                        "0.6800/67.01 0.6689/65.64",
        "LBP R3P8 16x16": "0.7416/68.78 0.7160/65.24 0.4460/61.11 0.5510/61.74 0.5333/50.00 "
                          "0.6346/60.82 0.6235/61.69",
        "ResNet-18": "0.8802/80.54 0.7004/66.19 0.4274/66.16 0.6240/59.13 0.7905/65.93 "
                     "0.8029/72.16 0.7393/68.01",
        "PainSeeker w/o PRSC": "0.8516/75.57 0.7045/62.86 0.5263/77.27 0.5689/57.83 "
                               "0.7386/65.38 0.7931/75.26 0.7234/68.28",
        "PainSeeker": "0.8944/84.62 0.7490/70.00 0.5586/75.25 0.6847/69.57 0.8000/71.43 "
                      "0.8000/73.20 0.7731/74.17",
    }
    out = {}
    for name, text in rows.items():
        cells = [c.split("/") for c in text.split()]
        for subject, (f1, acc) in zip([*_RATS, "pooled"], cells):
            out[(name, subject)] = {"F1": float(f1), "accuracy %": float(acc)}
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.names = ["method", "subject"]
    return table


#: The papers' reported numbers, one table per protocol (index: row label;
#: columns: metric names as the protocols' comparison tables use them).
PAPER_RESULTS = {
    # Liu et al. (2025), Table 3 (per rat and pooled over the six folds)
    "painseeker": _table3(),
    # Boneh-Shitrit et al., Table 1: train / validation (held-out dogs) accuracy
    "dog-backbones": pd.DataFrame(
        {"train accuracy": [0.800, 0.869, 0.870, 0.878],
         "held-out accuracy": [0.809, 0.780, 0.813, 0.853]},
        index=pd.Index(["resnet50", "vit_small_patch16", "dino_resnet50", "dino_vits8"],
                       name="method")),
    # Tuttle et al. (2018): all images, and images with confidence >= 0.75
    "amgs": pd.DataFrame(
        {"accuracy %": [83.0, 93.2], "sensitivity %": [79.0, 90.5],
         "specificity %": [87.2, 96.1], "coverage %": [100.0, 67.0]},
        index=pd.Index(["all images", "confidence >= 0.75"], name="images")),
    # Hosseini et al., Table II: per PSPI level, in %
    "unbc-levels": pd.DataFrame(
        {"recall %": [88.34, 75.72, 77.57, 87.69, 78.41, 73.13, 81.30],
         "F1 %": [78.75, 78.01, 70.26, 82.49, 77.04, 81.27, 89.69],
         "precision %": [71.03, 80.46, 64.21, 77.88, 75.71, 91.45, 100.0]},
        index=pd.Index(list(range(7)), name="level")),
}

#: Summary numbers the papers give in their text (Tuttle et al. 2018: r with the
#: human MGS; Hosseini et al.: accuracy, PCC, AUC).
PAPER_SUMMARIES = {
    "amgs": {"Pearson r with human score": 0.75},
    "unbc-levels": {"accuracy %": 85.71, "PCC": 0.83, "AUC": 0.88},
}


def paper_results(protocol):
    """The table of numbers a paper reports for a protocol (a copy).

    Parameters
    ----------
    protocol : {"painseeker", "dog-backbones", "amgs", "unbc-levels"}
        The protocol.

    Returns
    -------
    table : pandas.DataFrame
        The paper's numbers, with the row labels and metric names of the
        protocol's comparison table.

    Examples
    --------
    >>> from skanimal.benchmark import paper_results
    >>> paper_results("painseeker").loc[("PainSeeker", "pooled"), "F1"]
    np.float64(0.7731)
    """
    if protocol not in PAPER_RESULTS:
        raise ValueError(f"protocol must be one of {sorted(PAPER_RESULTS)}, got {protocol!r}.")
    return PAPER_RESULTS[protocol].copy()


def compare_with_paper(measured, paper, *, paper_label="paper"):
    """Put the paper's numbers beside the measured ones, per row and metric.

    Parameters
    ----------
    measured : pandas.DataFrame
        The measured numbers: one row per method (or level, ...), one column
        per metric.
    paper : pandas.DataFrame
        The paper's numbers, with the same kind of index and metric columns.
        Rows or metrics it does not report are empty (NaN).
    paper_label : str, default="paper"
        The suffix of the paper's columns.

    Returns
    -------
    table : pandas.DataFrame
        The rows of `measured`; for each metric of `measured` its column, then
        ``"<metric> (paper)"`` beside it when the paper reports that metric.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.benchmark import compare_with_paper
    >>> ours = pd.DataFrame({"F1": [0.70, 0.65]}, index=["PainSeeker", "Mine"])
    >>> paper = pd.DataFrame({"F1": [0.7731]}, index=["PainSeeker"])
    >>> compare_with_paper(ours, paper)
                  F1  F1 (paper)
    PainSeeker  0.70      0.7731
    Mine        0.65         NaN
    """
    paper = paper.reindex(measured.index)
    columns = {}
    for metric in measured.columns:
        columns[metric] = measured[metric]
        if metric in paper.columns:
            columns[f"{metric} ({paper_label})"] = paper[metric].astype(float)
    out = pd.DataFrame(columns, index=measured.index)
    out.index.name = measured.index.name
    return out

