"""Attention heat maps over face images (PainSeeker's Figure 4).

PainSeeker's region weights ``beta`` form an ``M x M`` map (7 x 7 for
ResNet-18 at 224 pixels); the PainSeeker paper (Liu et al., 2025) reads it as
the explanation, upsampled over the image as a heat map.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
from PIL import Image

from ..utils import load_image
from ..utils._docs import cite_papers
from ..utils._images import _resample_filter

__all__ = ["overlay_attention", "plot_attention_grid"]



def _as_map(beta_map):
    if hasattr(beta_map, "detach"):  # a torch tensor
        beta_map = beta_map.detach().cpu().numpy()
    beta_map = np.asarray(beta_map, dtype=np.float64)
    if beta_map.ndim != 2 or 0 in beta_map.shape:
        raise ValueError(
            f"beta_map must be a 2-D map of shape (M, N), got shape {beta_map.shape}."
        )
    if not np.all(np.isfinite(beta_map)):
        raise ValueError("beta_map contains NaN or infinite values.")
    return beta_map


def _upsample_map(beta_map, size, *, resample="bilinear", vmin=None, vmax=None):
    """Scale a map to [0, 1] and upsample it to ``size = (height, width)``."""
    beta_map = _as_map(beta_map)
    lo = beta_map.min() if vmin is None else float(vmin)
    hi = beta_map.max() if vmax is None else float(vmax)
    scaled = np.zeros_like(beta_map) if hi <= lo else np.clip((beta_map - lo) / (hi - lo), 0, 1)
    filt = _resample_filter(resample)
    h, w = size
    up = Image.fromarray(scaled.astype(np.float32), mode="F").resize((int(w), int(h)), filt)
    return np.clip(np.asarray(up, dtype=np.float64), 0, 1)


def overlay_attention(image, beta_map, *, alpha=0.5, cmap="jet", resample="bilinear",
                      vmin=None, vmax=None):
    """Overlay an attention map on an image as a coloured heat map.

    The map is scaled to [0, 1] (by its own minimum and maximum unless
    ``vmin``/``vmax`` are given), upsampled to the image size, coloured with
    ``cmap`` and blended: ``(1 - alpha) * image + alpha * heat``.

    Parameters
    ----------
    image : str, os.PathLike or ndarray of shape (height, width[, channels])
        One image: a file path or an array (uint8 0-255 or float 0-1), read
        with :func:`skanimal.utils.load_image` in RGB.
    beta_map : array-like or torch.Tensor of shape (M, N)
        The attention map, such as one of
        :meth:`skanimal.nets.PainSeekerClassifier.attention_maps`.
    alpha : float, default=0.5
        Opacity of the heat map, in [0, 1].
    cmap : str or matplotlib.colors.Colormap, default="jet"
        The colour map.
    resample : {"bilinear", "bicubic", "nearest"}, default="bilinear"
        How the map is upsampled (``"nearest"`` shows the region grid).
    vmin, vmax : float, default=None
        The map values shown as the lowest and highest colour; default the
        map's own minimum and maximum (a constant map is shown as the lowest).

    Returns
    -------
    overlay : ndarray of uint8 of shape (height, width, 3)
        The blended RGB image, the size of ``image``.

    Raises
    ------
    ValueError
        If ``beta_map`` is not a finite 2-D map or ``alpha`` is not in [0, 1].

    See Also
    --------
    plot_attention_grid : A figure of many overlays.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.explain import overlay_attention
    >>> image = np.full((64, 64, 3), 128, dtype=np.uint8)
    >>> beta = np.zeros((7, 7)); beta[3, 3] = 1.0
    >>> out = overlay_attention(image, beta / beta.sum())
    >>> out.shape, out.dtype
    ((64, 64, 3), dtype('uint8'))
    """
    from matplotlib import colormaps

    if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
            or not 0 <= alpha <= 1):
        raise ValueError(f"alpha must be a real in [0, 1], got alpha={alpha!r}.")
    img = load_image(image, mode="RGB").astype(np.float64)
    heat = _upsample_map(beta_map, img.shape[:2], resample=resample, vmin=vmin, vmax=vmax)
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    coloured = colormap(heat)[..., :3] * 255.0
    out = (1.0 - alpha) * img + alpha * coloured
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@cite_papers("liu2025")
def plot_attention_grid(images, maps, *, titles=None, n_cols=6, show_images=True, alpha=0.5,
                        cmap="jet", resample="bilinear", panel_size=2.0):
    """Plot attention overlays in a grid, like PainSeeker's Figure 4.

    Each image takes one column; with ``show_images`` the image is drawn above
    its overlay, as in the paper.

    Parameters
    ----------
    images : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        The images (paths or arrays).
    maps : array-like of shape (n_samples, M, N)
        Their attention maps, e.g. from
        :meth:`skanimal.nets.PainSeekerClassifier.attention_maps`.
    titles : list of str, default=None
        One title per image (the label, the prediction...).
    n_cols : int, default=6
        Images per row of the grid.
    show_images : bool, default=True
        Draw each image above its overlay.
    alpha : float, default=0.5
        Opacity of the heat maps, as in :func:`overlay_attention`.
    cmap : str or matplotlib.colors.Colormap, default="jet"
        The colour map, as in :func:`overlay_attention`.
    resample : {"bilinear", "bicubic", "nearest"}, default="bilinear"
        How the maps are upsampled, as in :func:`overlay_attention`.
    panel_size : float, default=2.0
        Size of one panel in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes are ``fig.axes``.

    See Also
    --------
    overlay_attention : One overlay.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanimal.explain import plot_attention_grid
    >>> images = np.full((3, 32, 32, 3), 100, dtype=np.uint8)
    >>> maps = np.random.default_rng(0).random((3, 4, 4))
    >>> fig = plot_attention_grid(images, maps, titles=["a", "b", "c"])
    >>> len(fig.axes)
    6
    """
    import matplotlib.pyplot as plt

    if isinstance(images, np.ndarray) and images.dtype != object and images.ndim >= 3:
        items = list(images)
    else:
        items = list(np.asarray(images, dtype=object).ravel())
    maps = list(maps)
    if len(items) != len(maps):
        raise ValueError(f"images and maps differ in length: {len(items)} != {len(maps)}.")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"titles has {len(titles)} entries for {len(items)} images.")
    if isinstance(n_cols, bool) or not isinstance(n_cols, numbers.Integral) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive int, got {n_cols!r}.")
    n = len(items)
    if n == 0:
        raise ValueError("No image to plot.")
    n_cols = min(int(n_cols), n)
    block_rows = -(-n // n_cols)
    per = 2 if show_images else 1
    fig, axes = plt.subplots(block_rows * per, n_cols, squeeze=False,
                             figsize=(panel_size * n_cols, panel_size * block_rows * per))
    for ax in axes.ravel():
        ax.set_axis_off()
    for i, (image, beta) in enumerate(zip(items, maps)):
        r, c = divmod(i, n_cols)
        if show_images:
            axes[r * per, c].imshow(load_image(image, mode="RGB", index=i))
        axes[r * per + per - 1, c].imshow(
            overlay_attention(image, beta, alpha=alpha, cmap=cmap, resample=resample))
        if titles is not None:
            axes[r * per, c].set_title(str(titles[i]), fontsize=9)
    for ax in axes.ravel():
        if not ax.images:
            fig.delaxes(ax)
    fig.tight_layout()
    return fig
