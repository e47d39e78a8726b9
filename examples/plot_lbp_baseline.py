"""
=====================================================
The LBP + linear-SVM baseline, evaluated subject-wise
=====================================================

The PainSeeker paper's baseline describes each face by local-binary-pattern
histograms on a grid of cells and classifies them with a linear SVM. This
example runs it on skanimal's built-in dataset of generated rat faces, first
the honest way (leave one rat out), then the way many notebooks do it (images
shuffled into folds regardless of the animal), and shows how much the second
overstates the accuracy.
"""

# %%
# The built-in dataset
# --------------------
# :func:`~skanimal.datasets.make_grimace_faces` draws cartoon rat faces whose
# four Rat Grimace Scale action units (orbital tightening, ears, nose/cheek,
# whiskers) determine the label, with per-animal appearance and per-image
# head pose, lighting and noise. Its defaults mimic RatsPain: six rats with
# the per-rat class balance of the paper's high-confidence subset.
import matplotlib.pyplot as plt
import numpy as np

from skanimal.datasets import make_grimace_faces

data = make_grimace_faces(random_state=0)
print(data.frame.groupby("subject")["label"].value_counts().unstack())

fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
for col, subject in enumerate(np.unique(data.groups)):
    for row, label in enumerate((0, 1)):
        idx = np.flatnonzero((data.groups == subject) & (data.target == label))[0]
        ax = axes[row, col]
        ax.imshow(data.images[idx])
        ax.set_title(f"{subject}\n{data.target_names[label]}", fontsize=8)
        ax.axis("off")
fig.tight_layout()

# %%
# Leave one rat out
# -----------------
# :func:`~skanimal.features.make_lbp_svm` builds the paper's pipeline for one
# of its six named settings. :func:`~skanimal.evaluation.subject_report`
# trains a clone on five rats, tests on the sixth, for each rat in turn, and
# pools the confusion counts over the six folds as the paper does.
from skanimal.evaluation import subject_report
from skanimal.features import make_lbp_svm

model = make_lbp_svm("R1P8-4x4")
report = subject_report(model, data.images, data.target, data.groups)
report[["n_images", "tp", "tn", "fp", "fn", "f1", "accuracy"]].round(3)

# %%
# Shuffled image-wise folds leak the animals
# ------------------------------------------
# With images shuffled into five folds, every test rat is also in the training
# data. The LBP histograms carry each rat's fur and face shape, so the SVM
# partly learns *which* rat it sees and how often that rat was in pain.
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_score

from skanimal.features import LBPFeatures

# LBPFeatures learns nothing in fit, so its output can be computed once here
features = LBPFeatures().fit_transform(data.images)
svm = model[-1]
image_wise = cross_val_score(svm, features, data.target,
                             cv=StratifiedKFold(5, shuffle=True, random_state=0))
subject_wise = cross_val_score(svm, features, data.target, groups=data.groups,
                               cv=LeaveOneGroupOut())
print(f"image-wise 5-fold accuracy:     {image_wise.mean():.3f}")
print(f"leave-one-rat-out accuracy:     {subject_wise.mean():.3f} (mean over rats)")
print(f"pooled leave-one-rat-out:       {report.loc['pooled', 'accuracy']:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(["images shuffled\n(leaky)", "leave one rat out\n(honest)"],
       [image_wise.mean(), report.loc["pooled", "accuracy"]], color=["tab:red", "tab:blue"])
ax.axhline(np.bincount(data.target).max() / len(data.target), color="k", ls="--",
           label="majority class")
ax.set_ylabel("accuracy")
ax.set_ylim(0.4, 1.0)
ax.legend()
fig.tight_layout()
plt.show()
