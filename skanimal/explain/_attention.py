"""Heat maps over face images, and figure grids of them.

PainSeeker's region weights ``beta`` form an ``M x M`` map (7 x 7 for
ResNet-18 at 224 pixels); the PainSeeker paper (Liu et al., 2025) reads it as
the explanation, upsampled over the image as a heat map (its Figure 4). The
dog emotion paper (Boneh-Shitrit et al.) shows EigenCAM maps the same way
(:mod:`skanimal.explain._eigencam`). :func:`overlay` draws one map over its
image; :func:`plot_attention_grid` and :func:`plot_explanations` make figures.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..utils import load_image
from ..utils._docs import cite_papers
from ..utils._images import _resample_filter

__all__ = ["overlay", "overlay_attention", "plot_attention_grid", "plot_explanations"]


def _as_map(heat_map, name="heat_map"):
    if hasattr(heat_map, "detach"):  # a torch tensor
        heat_map = heat_map.detach().cpu().numpy()
    heat_map = np.asarray(heat_map, dtype=np.float64)
    if heat_map.ndim != 2 or 0 in heat_map.shape:
        raise ValueError(
            f"{name} must be a 2-D map of shape (M, N), got shape {heat_map.shape}."
        )
    if not np.all(np.isfinite(heat_map)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return heat_map


def _upsample_map(heat_map, size, *, resample="bilinear", vmin=None, vmax=None,
                  name="heat_map"):
    """Scale a map to [0, 1] and upsample it to ``size = (height, width)``."""
    heat_map = _as_map(heat_map, name)
    lo = heat_map.min() if vmin is None else float(vmin)
    hi = heat_map.max() if vmax is None else float(vmax)
    scaled = np.zeros_like(heat_map) if hi <= lo else np.clip((heat_map - lo) / (hi - lo), 0, 1)
    filt = _resample_filter(resample)
    h, w = size
    up = Image.fromarray(scaled.astype(np.float32), mode="F").resize((int(w), int(h)), filt)
    return np.clip(np.asarray(up, dtype=np.float64), 0, 1)


def _overlay(image, heat_map, *, alpha, cmap, resample, vmin, vmax, name, index=None):
    from matplotlib import colormaps

    if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
            or not 0 <= alpha <= 1):
        raise ValueError(f"alpha must be a real in [0, 1], got alpha={alpha!r}.")
    img = load_image(image, mode="RGB", index=index).astype(np.float64)
    heat = _upsample_map(heat_map, img.shape[:2], resample=resample, vmin=vmin, vmax=vmax,
                         name=name)
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    coloured = colormap(heat)[..., :3] * 255.0
    out = (1.0 - alpha) * img + alpha * coloured
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def overlay(image, heat_map, *, alpha=0.5, cmap="jet", resample="bilinear", vmin=None,
            vmax=None):
    """Overlay a heat map (EigenCAM, attention) on an image.

    The map is scaled to [0, 1] (by its own minimum and maximum unless
    ``vmin``/``vmax`` are given), upsampled to the image size if it is
    smaller (a region grid such as PainSeeker's 7 x 7 attention), coloured
    with ``cmap`` and blended: ``(1 - alpha) * image + alpha * heat``.

    Parameters
    ----------
    image : str, os.PathLike or ndarray of shape (height, width[, channels])
        One image: a file path or an array (uint8 0-255 or float 0-1), read
        with :func:`skanimal.utils.load_image` in RGB.
    heat_map : array-like or torch.Tensor of shape (M, N)
        The map: one of :func:`eigencam` (at the image size) or of
        :meth:`skanimal.nets.PainSeekerClassifier.attention_maps` (a grid).
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
        If ``heat_map`` is not a finite 2-D map or ``alpha`` is not in [0, 1].

    See Also
    --------
    overlay_attention : The same, named for PainSeeker's attention maps.
    plot_attention_grid : A figure of many overlays.
    plot_explanations : Overlays of right and wrong predictions, per class.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.explain import overlay
    >>> image = np.full((64, 64, 3), 128, dtype=np.uint8)
    >>> heat = np.zeros((64, 64)); heat[16:32, 16:32] = 1.0
    >>> out = overlay(image, heat, alpha=1.0, cmap="gray")
    >>> out.shape, int(out[20, 20, 0]), int(out[50, 50, 0])
    ((64, 64, 3), 255, 0)
    """
    return _overlay(image, heat_map, alpha=alpha, cmap=cmap, resample=resample, vmin=vmin,
                    vmax=vmax, name="heat_map")


def overlay_attention(image, beta_map, *, alpha=0.5, cmap="jet", resample="bilinear",
                      vmin=None, vmax=None):
    """Overlay an attention map on an image as a coloured heat map.

    :func:`overlay` under the name of PainSeeker's attention ``beta``: the
    map is scaled to [0, 1] (by its own minimum and maximum unless
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
    overlay : The same for any heat map (EigenCAM).
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
    return _overlay(image, beta_map, alpha=alpha, cmap=cmap, resample=resample, vmin=vmin,
                    vmax=vmax, name="beta_map")


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
        Their heat maps, e.g. from
        :meth:`skanimal.nets.PainSeekerClassifier.attention_maps` or
        :func:`eigencam`.
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
    plot_explanations : Overlays of right and wrong predictions, per class.

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
    items, maps = _items_and_maps(images, maps)
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"titles has {len(titles)} entries for {len(items)} images.")
    _check_positive_int(n_cols, "n_cols")
    n = len(items)
    if n == 0:
        raise ValueError("No image to plot.")
    n_cols = min(int(n_cols), n)
    per = 2 if show_images else 1
    panels = []
    for i in range(n):
        r, c = divmod(i, n_cols)
        title = None if titles is None else str(titles[i])
        if show_images:
            panels.append(_Panel(r * per, c, i, items[i], None, title))
        panels.append(_Panel(r * per + per - 1, c, i, items[i], maps[i],
                             None if show_images else title))
    return _draw(panels, -(-n // n_cols) * per, n_cols, alpha=alpha, cmap=cmap,
                 resample=resample, panel_size=panel_size)


# --------------------------------------------------------------------------
# Figure grids
# --------------------------------------------------------------------------


@dataclass
class _Panel:
    row: int
    col: int
    index: int  # position in X, quoted in errors
    image: object
    heat_map: object  # None: the image alone
    title: object = None
    colour: str = "black"


def _items_and_maps(images, maps):
    if isinstance(images, np.ndarray) and images.dtype != object and images.ndim >= 3:
        items = list(images)
    else:
        items = list(np.asarray(images, dtype=object).ravel())
    maps = list(maps)
    if len(items) != len(maps):
        raise ValueError(f"images and maps differ in length: {len(items)} != {len(maps)}.")
    return items, maps


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")


def _draw(panels, n_rows, n_cols, *, alpha, cmap, resample, panel_size):
    """A figure of ``n_rows x n_cols`` panels; axes without a panel are removed."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(panel_size * n_cols, panel_size * n_rows))
    for ax in axes.ravel():
        ax.set_axis_off()
    for p in panels:
        ax = axes[p.row, p.col]
        if p.heat_map is None:
            ax.imshow(load_image(p.image, mode="RGB", index=p.index))
        else:
            ax.imshow(_overlay(p.image, p.heat_map, alpha=alpha, cmap=cmap, resample=resample,
                               vmin=None, vmax=None, name=f"maps[{p.index}]", index=p.index))
        if p.title is not None:
            ax.set_title(str(p.title), fontsize=9, color=p.colour)
    for ax in axes.ravel():
        if not ax.images:
            fig.delaxes(ax)
    fig.tight_layout()
    return fig


def _class_name(label, classes, class_names):
    if class_names is None:
        return str(label)
    if isinstance(class_names, dict):
        return str(class_names.get(label, label))
    return str(class_names[int(np.flatnonzero(classes == label)[0])])


@cite_papers("boneh-shitrit", "liu2025")
def plot_explanations(images, maps, *, y_true, y_pred, class_names=None, n_per_class=2,
                      random_state=0, alpha=0.5, cmap="jet", panel_size=2.0):
    """Heat maps of a few right and a few wrong predictions of each class.

    One row per true class: up to ``n_per_class`` correctly classified images,
    then up to ``n_per_class`` misclassified ones, each shown with its map
    (:func:`overlay`) and titled with its true and predicted class (green when
    right, red when wrong). The figures of the dog emotion paper [1]_
    (EigenCAM, :func:`eigencam`) and of PainSeeker [2]_ (attention,
    :meth:`skanimal.nets.PainSeekerClassifier.attention_maps`) are of this kind.
    A class with fewer images of a kind shows what there is.

    Parameters
    ----------
    images : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        The images (paths or arrays).
    maps : array-like of shape (n_samples, M, N)
        One heat map per image, at the image size (:func:`eigencam`) or a
        coarser grid (PainSeeker's ``7 x 7`` attention), upsampled for display.
    y_true : array-like of shape (n_samples,)
        The true class of each image.
    y_pred : array-like of shape (n_samples,)
        The predicted class of each image.
    class_names : dict or sequence of str, default=None
        Names shown for the classes: a dict ``{label: name}``, or a sequence
        indexed by the position of the label among the sorted labels of
        ``y_true`` and ``y_pred`` (``["no pain", "pain"]`` for labels 0 and 1).
        ``None`` shows the labels.
    n_per_class : int, default=2
        Right and wrong images shown per class (each).
    random_state : int, RandomState instance or None, default=0
        Which images are drawn when a class has more than ``n_per_class``.
    alpha : float, default=0.5
        Opacity of the heat maps, as in :func:`overlay`.
    cmap : str or matplotlib.colors.Colormap, default="jet"
        The colour map, as in :func:`overlay`.
    panel_size : float, default=2.0
        Size of one panel in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes are ``fig.axes``, row by row.

    Raises
    ------
    ValueError
        If ``images``, ``maps``, ``y_true`` and ``y_pred`` differ in length,
        or there is no image.

    See Also
    --------
    eigencam : EigenCAM maps of images.
    plot_attention_grid : Overlays of chosen images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanimal.explain import plot_explanations
    >>> images = np.full((6, 32, 32, 3), 100, dtype=np.uint8)
    >>> maps = np.random.default_rng(0).random((6, 32, 32))
    >>> y_true = np.array([0, 0, 0, 1, 1, 1])
    >>> y_pred = np.array([0, 0, 1, 1, 0, 1])
    >>> fig = plot_explanations(images, maps, y_true=y_true, y_pred=y_pred,
    ...                         class_names=["no pain", "pain"], n_per_class=1)
    >>> [ax.get_title() for ax in fig.axes][:2]
    ['true: no pain\\npred: no pain', 'true: no pain\\npred: pain']
    """
    from sklearn.utils import check_random_state

    items, maps = _items_and_maps(images, maps)
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if not len(items) == len(y_true) == len(y_pred):
        raise ValueError(
            f"images, y_true and y_pred differ in length: {len(items)}, {len(y_true)}, "
            f"{len(y_pred)}."
        )
    if not items:
        raise ValueError("No image to plot.")
    _check_positive_int(n_per_class, "n_per_class")
    rng = check_random_state(random_state)
    classes = np.unique(np.concatenate([y_true, y_pred]))
    panels, row = [], 0
    for label in np.unique(y_true):
        true_name = _class_name(label, classes, class_names)
        of_class = y_true == label
        for k, (right, colour) in enumerate(((True, "tab:green"), (False, "tab:red"))):
            chosen = np.flatnonzero(of_class & ((y_pred == label) == right))
            if len(chosen) > n_per_class:
                chosen = np.sort(rng.choice(chosen, size=n_per_class, replace=False))
            for j, i in enumerate(chosen):
                title = (f"true: {true_name}\n"
                         f"pred: {_class_name(y_pred[i], classes, class_names)}")
                panels.append(_Panel(row, k * n_per_class + j, int(i), items[i], maps[i],
                                     title, colour))
        row += 1
    return _draw(panels, row, 2 * int(n_per_class), alpha=alpha, cmap=cmap,
                 resample="bilinear", panel_size=panel_size)
