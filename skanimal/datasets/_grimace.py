"""A procedural dataset of cartoon rat faces scored with the Rat Grimace Scale.

:func:`make_grimace_faces` draws small RGB images of a frontal rodent face
with numpy only. Each image carries the four action units (AUs) of the Rat
Grimace Scale (RGS) scored 0/1/2, a pain label derived from them as RGS does,
a subject (the "rat" it shows) with its own appearance and its own way of
showing the AUs, and per-image nuisance (head pose, scale, lighting,
background, noise). Every generating parameter is returned in ``frame``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._docs import cite_papers
from ._base import load_descr, make_bunch

__all__ = ["make_grimace_faces", "GRIMACE_ACTION_UNITS"]

#: Names of the four Rat Grimace Scale action units, in ``frame`` column order.
GRIMACE_ACTION_UNITS = (
    "orbital_tightening",
    "ear_changes",
    "nose_cheek_flattening",
    "whisker_change",
)

# RatsPain high-confidence subset, images per rat and level (no pain /
# moderate / severe), from the PainSeeker paper (Liu et al., 2025).
_RATSPAIN_COUNTS = np.array(
    [[56, 163, 2], [102, 108, 0], [148, 50, 0], [138, 92, 0], [63, 116, 3], [34, 62, 1]]
)

_LEVEL_NAMES = np.array(["no pain", "moderate", "severe"], dtype=object)
_BINARY_NAMES = np.array(["no pain", "pain"], dtype=object)

# Images rendered together (vectorised); fixed so that the random stream, and
# hence every image, does not depend on the machine.
_BATCH = 32

# Tuned strengths of the generating factors (see Notes of make_grimace_faces).
_FUR_TEXTURE_AMPLITUDE = 0.2  # subject fur texture, fraction of fur brightness
_BASELINE_RANGE = 0.55  # subject offsets of the drawn AU intensities (AU units)
_BASELINE_AU_SD = 0.15  # per-AU part of the subject offsets
# overall resting-face offset of subject i % 6, in units of _BASELINE_RANGE
_RESTING_FACE = np.array([-0.6, 1.0, 0.6, -1.0, -0.2, 0.2])
_SUBJECT_SEED = 20250101
_STYLE_SD = 0.6  # subject preference for some AUs over others (log-weights)
_AU_JITTER_SD = 0.2  # per-image jitter of the drawn AU intensities
_NOISE_RANGE = (3.0, 9.0)  # pixel noise standard deviation (0-255 units)

# The PSPI-like score (see Notes of make_grimace_faces): an AU counts from an
# intensity of _PSPI_ONSET; the sum of what exceeds it, less _PSPI_OFFSET,
# raised to _PSPI_POWER and scaled by _PSPI_SCALE, floored, capped at 15.
_PSPI_ONSET = 0.5
_PSPI_OFFSET = 1.2
_PSPI_SCALE = 2.0
_PSPI_POWER = 1.3
_SEQUENCE_LENGTH = 10  # consecutive images of a subject per "sequence"


# --------------------------------------------------------------------------
# Counts, subjects and action units
# --------------------------------------------------------------------------


def _allocate(weights, total):
    """Split ``total`` in proportion to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    rest = total - counts.sum()
    if rest:
        order = np.lexsort((np.arange(exact.size), -(exact - counts).ravel()))
        counts.ravel()[order[:rest]] += 1
    return counts


def _class_counts(n_subjects, n_samples):
    """Images per (subject, level): RatsPain's table, cycled and rescaled."""
    table = _RATSPAIN_COUNTS[np.arange(n_subjects) % len(_RATSPAIN_COUNTS)]
    if n_samples is None:
        return table.copy()
    counts = _allocate(table, n_samples)
    # Keep every subject and every level present when there is room for it.
    for s in range(n_subjects):
        if counts[s].sum() == 0 and n_samples >= n_subjects:
            donor = np.unravel_index(np.argmax(counts), counts.shape)
            counts[donor] -= 1
            counts[s, np.argmax(table[s])] += 1
    for level in range(counts.shape[1]):
        if counts[:, level].sum() == 0 and n_samples >= 2 * counts.shape[1]:
            donor = np.unravel_index(np.argmax(counts), counts.shape)
            counts[donor] -= 1
            counts[donor[0], level] += 1
    return counts


def _au_combinations():
    """All 81 AU score vectors, and the RGS level each one gives."""
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 4, indexing="ij"), -1).reshape(-1, 4)
    return grid, _rgs_level(grid.mean(axis=1))


def _rgs_level(rgs):
    """Round the RGS mean half up: 0-0.25 -> 0, 0.5-1.25 -> 1, 1.5-2 -> 2."""
    return np.floor(np.asarray(rgs) + 0.5).astype(int)


_FURS = np.array(
    [  # pale, albino-like rodent coats with some tints, RGB 0-1
        [0.93, 0.91, 0.86],
        [0.86, 0.82, 0.74],
        [0.80, 0.80, 0.80],
        [0.90, 0.84, 0.78],
        [0.72, 0.69, 0.66],
        [0.95, 0.93, 0.90],
        [0.78, 0.72, 0.64],
        [0.88, 0.88, 0.92],
    ]
)


def _make_subjects(n_subjects, variation):
    """Draw every subject-specific parameter (appearance, AU style, baseline).

    Subject ``i`` is drawn from its own random stream, seeded by
    ``(_SUBJECT_SEED, i)`` and independent of ``random_state``: the subjects
    are a fixed population, like the rats of a real dataset, and a seed only
    draws new images of them.
    """
    rows = []
    for i in range(n_subjects):
        rng = np.random.default_rng([_SUBJECT_SEED, i])
        fur = _FURS[i % len(_FURS)] + rng.normal(0, 0.03, 3)
        angle = rng.uniform(0, np.pi, 3)
        freq = rng.uniform(9.0, 26.0, 3)
        rows.append({
            "fur": fur,
            "face_width": rng.uniform(-0.13, 0.13),
            "eye_size": rng.uniform(-0.25, 0.25),
            "ear_size": rng.uniform(-0.15, 0.15),
            "snout_length": rng.uniform(-0.15, 0.15),
            # fur texture: three oriented gratings fixed to the face
            "tex_kx": freq * np.cos(angle),
            "tex_ky": freq * np.sin(angle),
            "tex_phase": rng.uniform(0, 2 * np.pi, 3),
            "tex_amp": _FUR_TEXTURE_AMPLITUDE * rng.uniform(0.5, 1.0),
            # how the subject shows pain: preference for some AUs (log-weights)
            "au_style": rng.normal(0, _STYLE_SD, 4),
            # its resting face: offsets of the drawn AU intensities
            "au_baseline": (_BASELINE_RANGE * _RESTING_FACE[i % len(_RESTING_FACE)]
                            + rng.normal(0.0, _BASELINE_AU_SD, 4)),
        })
    subj = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    v = variation
    subj["fur"] = np.clip(0.82 + v * (subj["fur"] - 0.82), 0.3, 1.0)
    for key in ("face_width", "eye_size", "ear_size", "snout_length"):
        subj[key] = 1.0 + v * subj[key]
    for key in ("tex_amp", "au_style", "au_baseline"):
        subj[key] = v * subj[key]
    return subj


def _sample_action_units(rng, counts, style):
    """Draw AU scores for each image given its subject and RGS level."""
    combos, combo_level = _au_combinations()
    subject, level, aus = [], [], []
    for s in range(counts.shape[0]):
        logw = combos @ style[s]
        rows = []
        for lev in range(counts.shape[1]):
            k = counts[s, lev]
            if k == 0:
                continue
            idx = np.flatnonzero(combo_level == lev)
            w = np.exp(logw[idx] - logw[idx].max())
            rows.append(combos[rng.choice(idx, size=k, p=w / w.sum())])
            level.append(np.full(k, lev))
        if rows:
            rows = np.concatenate(rows)
            subject.append(np.full(len(rows), s))
            aus.append(rows)
    subject = np.concatenate(subject)
    level = np.concatenate(level)
    aus = np.concatenate(aus)
    # images of one subject stay together, in a random order of levels
    order = np.lexsort((rng.permutation(len(subject)), subject))
    return subject[order], level[order], aus[order]


def _make_nuisance(rng, n, nuisance):
    """Per-image pose, framing, lighting, background and noise parameters."""
    u = nuisance
    return {
        "yaw": u * rng.uniform(-28.0, 28.0, n),
        "roll": u * rng.uniform(-16.0, 16.0, n),
        "scale": 1.0 + u * rng.uniform(-0.14, 0.10, n),
        "shift_x": u * rng.uniform(-0.09, 0.09, n),
        "shift_y": u * rng.uniform(-0.07, 0.07, n),
        "brightness": 1.0 + u * rng.uniform(-0.15, 0.12, n),
        "light_angle": rng.uniform(0.0, 360.0, n),
        "light_strength": u * rng.uniform(0.0, 0.35, n),
        "background_tone": 0.475 + u * rng.uniform(-0.225, 0.225, n),
        "background_texture": u * rng.uniform(0.03, 0.15, n),
        "noise_sd": u * rng.uniform(*_NOISE_RANGE, n),
    }


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def _col(a):
    """Per-image scalars as a (B, 1, 1) array for broadcasting."""
    return np.asarray(a, dtype=np.float32)[:, None, None]


class _Canvas:
    """A batch of float RGB images with anti-aliased shape compositing.

    A shape is only evaluated on a window of the images (the union over the
    batch of its bounding boxes), see :meth:`window`.
    """

    def __init__(self, u, v, pixel, img, forward):
        self.u, self.v = u, v  # face coordinates of every pixel, (B, h, w)
        self.pixel = pixel  # size of one pixel in face units, (B, 1, 1)
        self.img = img  # (B, h, w, 3) float32, a view into the full images
        self._forward = forward  # face (u, v) -> pixel (row, col), per image

    def window(self, cu, cv, radius):
        """The sub-canvas covering discs of ``radius`` around (cu, cv)."""
        rows, cols, rad = self._forward(cu, cv, radius)
        h, w = self.u.shape[1:]
        r0 = int(max(0, np.floor(np.min(rows - rad))))
        r1 = int(min(h, np.ceil(np.max(rows + rad)) + 1))
        c0 = int(max(0, np.floor(np.min(cols - rad))))
        c1 = int(min(w, np.ceil(np.max(cols + rad)) + 1))
        r1, c1 = max(r1, r0 + 1), max(c1, c0 + 1)
        return _Canvas(self.u[:, r0:r1, c0:c1], self.v[:, r0:r1, c0:c1], self.pixel,
                       self.img[:, r0:r1, c0:c1], None)

    def coverage(self, d, radius):
        """Soft coverage from a normalised distance ``d`` (1 on the edge)."""
        return np.clip((1.0 - d) * (radius / self.pixel) + 0.5, 0.0, 1.0)

    def ellipse(self, cx, cy, rx, ry, angle=0.0, power=2.0):
        """Coverage of (super-)ellipses; ``power`` < 2 gives pointed shapes.

        The distance to the edge is the first-order estimate
        ``(d - 1) / |grad d|`` of the normalised radius ``d``, so thin shapes
        are anti-aliased along their length as well as across it.
        """
        du, dv = self.u - cx, self.v - cy
        if np.any(angle):
            c, s = np.cos(angle), np.sin(angle)
            du, dv = c * du + s * dv, -s * du + c * dv
        a, b = np.abs(du) / rx, np.abs(dv) / ry
        if np.all(np.asarray(power) == 2.0):
            d = np.sqrt(a * a + b * b)
            grad = np.hypot(a / rx, b / ry) / np.maximum(d, 1e-6)
        else:
            ap, bp = a ** (power - 1.0), b ** (power - 1.0)
            d = (ap * a + bp * b) ** (1.0 / power)
            grad = np.hypot(ap / rx, bp / ry) * np.maximum(d, 1e-6) ** (1.0 - power)
        dist = (d - 1.0) / np.maximum(grad, 1e-6)
        return np.clip(0.5 - dist / self.pixel, 0.0, 1.0)

    def segment(self, ax, ay, bx, by, width):
        """Coverage of a line segment of the given half-width."""
        ex, ey = bx - ax, by - ay
        px, py = self.u - ax, self.v - ay
        t = np.clip((px * ex + py * ey) / (ex * ex + ey * ey + 1e-12), 0.0, 1.0)
        d = np.hypot(px - t * ex, py - t * ey)
        return np.clip((width - d) / self.pixel + 0.5, 0.0, 1.0)

    def paint(self, alpha, colour):
        """Composite ``colour`` ((B, 3) or (3,)) over the image with ``alpha``."""
        colour = np.asarray(colour, dtype=np.float32)
        colour = colour[:, None, None, :] if colour.ndim == 2 else colour
        a = alpha[..., None].astype(np.float32, copy=False)
        self.img += a * (colour - self.img)


def _upsample_matrix(n_in, n_out):
    """Bilinear interpolation matrix of shape (n_out, n_in)."""
    pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = pos - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


def _render_batch(rng, size, subj, img, au):
    """Draw one batch of faces; every argument holds per-image values.

    ``subj`` and ``img`` are dicts of per-image arrays (subject parameters
    already indexed by each image's subject); ``au`` is (B, 4) of drawn AU
    intensities (continuous, about 0-2). Returns (B, size, size, 3) uint8.
    """
    b = au.shape[0]
    f32 = np.float32
    # pixel centres in [-1, 1], then into face coordinates (inverse similarity)
    g = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(f32)
    sx, sy = _col(img["shift_x"]), _col(img["shift_y"])
    roll = np.deg2rad(_col(img["roll"]))
    scale = _col(img["scale"])
    cr, sr = np.cos(roll), np.sin(roll)
    x = g[None, None, :] - sx
    y = g[None, :, None] - sy
    u = (cr * x + sr * y) / scale
    v = (-sr * x + cr * y) / scale

    def forward(cu, cv_, radius):
        xx = scale * (cr * cu - sr * cv_) + sx
        yy = scale * (sr * cu + cr * cv_) + sy
        half = size / 2.0
        return (yy + 1.0) * half - 0.5, (xx + 1.0) * half - 0.5, radius * scale * half + 1.5

    # ---- background: tone + low-frequency blotches + grain
    tone = img["background_tone"]
    base = np.stack([tone * 1.05, tone, tone * 0.88], axis=1).astype(f32)
    k = 6
    up = _upsample_matrix(k, size).astype(f32)
    blotch = np.einsum("hk,bkl,wl->bhw", up, rng.normal(0, 1, (b, k, k)).astype(f32), up)
    grain = np.sin(
        _col(rng.uniform(20, 45, b)) * u + _col(rng.uniform(-8, 8, b)) * v
        + _col(rng.uniform(0, 2 * np.pi, b))
    )
    texture = _col(img["background_texture"]) * (0.8 * blotch + 0.4 * grain)
    canvas = np.clip(base[:, None, None, :] + texture[..., None], 0, 1).astype(f32)
    cv = _Canvas(u, v, (2.0 / size) / scale, canvas, forward)

    yaw = np.deg2rad(_col(img["yaw"]))
    cy_, sy_ = np.cos(yaw), np.sin(yaw)

    def proj(u0, depth):  # horizontal position of a face point of given depth
        return u0 * cy_ + depth * sy_

    ot, ear, ncf, wh = (_col(au[:, k]) for k in range(4))
    fw = _col(subj["face_width"])
    eye_size = _col(subj["eye_size"])
    ear_size = _col(subj["ear_size"])
    snout = _col(subj["snout_length"])
    fur = subj["fur"].astype(f32)  # (B, 3)
    dark_fur = fur * 0.78
    light_fur = np.clip(fur * 1.08 + 0.03, 0, 1)

    # ---- ears (behind the head): fold, get pointed and rotate outwards
    earc = np.clip(ear, -0.4, 2.4)
    for side in (-1.0, 1.0):
        rot = side * np.deg2rad(12.0 + 27.0 * earc)
        ex = proj(side * (0.47 * fw + 0.07 * earc), -0.1)
        ey = -0.56 + 0.07 * earc
        rx = 0.25 * ear_size * np.clip(1.0 - 0.26 * earc, 0.35, 1.2) * (0.55 + 0.45 * cy_)
        ry = 0.29 * ear_size * (1.0 + 0.05 * earc)
        power = np.clip(2.0 - 0.4 * earc, 1.1, 2.6)
        w = cv.window(ex, ey, 1.15 * np.maximum(rx, ry))
        w.paint(w.ellipse(ex, ey, rx, ry, rot, power), fur * 0.92)
        inner = np.clip(0.95 - 0.3 * earc, 0.15, 1.0)
        w.paint(inner * w.ellipse(ex, ey + 0.02, rx * 0.62, ry * 0.68, rot, power),
                [0.93, 0.66, 0.68])

    # ---- head: an egg narrowing towards the snout, with the subject's fur
    hx = proj(0.0, 0.0)
    hy = 0.06
    ry = 0.62 * (0.95 + 0.05 * snout)
    w = cv.window(hx, hy, 0.95)
    uu, vv = w.u, w.v
    taper = 1.0 - 0.22 * snout * np.clip((vv - hy) / ry, -1, 1)
    d = np.hypot((uu - hx) / (0.56 * fw * cy_ * taper + 0.06 * np.abs(sy_)), (vv - hy) / ry)
    head = w.coverage(d, 0.5)
    tex = sum(
        np.sin(_col(subj["tex_kx"][:, j]) * uu + _col(subj["tex_ky"][:, j]) * vv
               + _col(subj["tex_phase"][:, j]))
        for j in range(3)
    ) * (1.0 / 3.0)
    shade = 1.0 - 0.18 * np.clip(d, 0, 1) ** 3 + _col(subj["tex_amp"]) * tex
    w.img += head[..., None] * (fur[:, None, None, :] * shade[..., None] - w.img)

    # ---- snout, cheeks (whisker pads) and nose bridge: nose/cheek flattening
    ncfc = np.clip(ncf, -0.5, 2.4)
    bulge = np.clip(1.0 - 0.5 * ncfc, 0.0, 1.25)
    w = cv.window(proj(0.0, 0.25), 0.44, 0.45)
    w.paint(w.ellipse(proj(0.0, 0.25), 0.44 + 0.04 * ncfc, 0.27 * fw * cy_, 0.21 * snout),
            light_fur)
    for side in (-1.0, 1.0):
        cx = proj(side * 0.15 * fw, 0.3)
        r = 0.11 * (0.7 + 0.45 * bulge)
        w.paint(0.72 * bulge * w.ellipse(cx, 0.43, r * cy_, r * (0.8 + 0.2 * bulge)),
                np.clip(light_fur * 1.06 + 0.04, 0, 1))
        w.paint(0.35 * w.ellipse(cx + side * 0.02, 0.43 + r * 0.85, r * cy_, r * 0.35),
                dark_fur)
    bridge_len = 0.13 * snout * (1.0 + 0.5 * np.clip(ncf, 0, 2.4))
    bx, by = proj(0.0, 0.3), 0.2 + 0.05 * ncfc
    w = cv.window(bx, by, bridge_len * 1.15 + 0.03)
    w.paint(0.44 * bulge * w.ellipse(bx, by, 0.07 * cy_, bridge_len), light_fur)
    w.paint(0.22 * np.clip(ncf, 0, 2) * w.ellipse(bx, by + 0.02, 0.02 * cy_, bridge_len * 1.1),
            dark_fur)

    # ---- nose and mouth
    ny = 0.56 + 0.06 * ncfc * snout
    nx = proj(0.0, 0.4)
    w = cv.window(nx, ny + 0.04, 0.2)
    w.paint(w.ellipse(nx, ny, 0.085 * fw * cy_ * (1 + 0.12 * ncfc),
                      0.055 * (1.0 - 0.25 * ncfc), 0.0, 1.6), [0.86, 0.52, 0.58])
    w.paint(0.8 * w.ellipse(nx - 0.02, ny - 0.015, 0.02, 0.012), [0.98, 0.85, 0.87])
    my = ny + 0.07
    mouth = w.segment(nx, ny + 0.03, nx, my, 0.011)
    for side in (-1.0, 1.0):
        mouth = np.maximum(mouth, w.segment(nx, my, nx + side * 0.06 * cy_, my + 0.035, 0.011))
    w.paint(0.8 * mouth, [0.45, 0.3, 0.32])

    # ---- eyes: orbital tightening narrows and closes them
    otc = np.clip(ot, -0.5, 2.3)
    r = 0.075 * eye_size
    open_ = np.clip(1.0 - 0.44 * otc, 0.06, 1.25)
    for side in (-1.0, 1.0):
        ex = proj(side * 0.25 * fw, 0.18)
        ey = -0.06 + 0.01 * otc
        w = cv.window(ex, ey, 2.2 * r + 0.03)
        # orbital fur darkens and creases as the eye tightens
        w.paint(0.22 * np.clip(otc, 0, 2.3) * w.ellipse(ex, ey, 1.7 * r * cy_, 1.15 * r),
                dark_fur)
        rx = r * cy_ * (1.0 + 0.08 * np.clip(otc, 0, 2))
        w.paint(w.ellipse(ex, ey, rx, r * open_), [0.32, 0.04, 0.09])
        w.paint(0.9 * np.clip(open_ - 0.35, 0, 1) * w.ellipse(
            ex - 0.3 * rx, ey - 0.35 * r * open_, 0.28 * r, 0.28 * r), [1.0, 0.95, 0.95])
        lid = ey - 1.1 * r * open_ - 0.02
        w.paint(0.45 * np.clip(otc, 0, 2.3) / 2.3 * w.segment(
            ex - 1.3 * rx, lid, ex + 1.3 * rx, lid, 0.012), dark_fur * 0.8)

    # ---- whiskers: relaxed and drooping -> pulled back, stiff and bunched
    whc = np.clip(wh, -0.5, 2.4)
    spread = np.clip(1.0 - 0.38 * whc, 0.12, 1.3)
    length = 0.62 * np.clip(1.0 - 0.2 * whc, 0.45, 1.2)
    droop = np.clip(1.0 - 0.5 * whc, 0.0, 1.3)
    base_angles = np.deg2rad(np.array([-20.0, -6.0, 8.0, 22.0], dtype=f32))
    colour = np.clip(light_fur * 1.1 + 0.1, 0, 1) * 0.98
    for side in (-1.0, 1.0):
        ox = proj(side * 0.2 * fw, 0.3)
        oy = 0.47 + 0.03 * ncfc
        ln = length * (1.0 + side * 0.25 * sy_)  # shorter on the far side
        w = cv.window(ox + side * 0.38, oy + 0.12, 0.72)
        alpha = 0.0
        for a0 in base_angles:
            ang = a0 * spread + np.deg2rad(6.0 - 8.0 * whc)
            dx, dy = side * np.cos(ang) * ln, np.sin(ang) * ln
            mx, mid_y = ox + 0.5 * dx, oy + 0.5 * dy + 0.02 * droop * ln
            tx, ty = ox + dx, oy + dy + 0.14 * droop * ln
            alpha = np.maximum(alpha, w.segment(ox, oy, mx, mid_y, 0.012))
            alpha = np.maximum(alpha, w.segment(mx, mid_y, tx, ty, 0.010))
        w.paint(0.85 * alpha, colour)

    # ---- lighting gradient, brightness, noise
    la = np.deg2rad(_col(img["light_angle"]))
    light = _col(img["brightness"]) * (
        1.0 + _col(img["light_strength"]) * (np.cos(la) * g[None, None, :]
                                             + np.sin(la) * g[None, :, None])
    )
    out = cv.img * (light * 255.0)[..., None]
    noise = rng.standard_normal(out.shape, dtype=f32)
    out += noise * _col(img["noise_sd"])[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _pspi_like(intensity):
    """The PSPI-like score (int 0-15) of drawn AU intensities of shape (n, 4).

    Non-decreasing in every intensity; 0 for a face whose AUs are all weak.
    """
    excess = np.clip(np.asarray(intensity, dtype=float) - _PSPI_ONSET, 0.0, None).sum(axis=1)
    raw = _PSPI_SCALE * np.clip(excess - _PSPI_OFFSET, 0.0, None) ** _PSPI_POWER
    return np.minimum(np.floor(raw), 15).astype(np.int64)


def _sequences(groups, within):
    """Sequence ids: consecutive images of a subject in groups of _SEQUENCE_LENGTH."""
    index = within // _SEQUENCE_LENGTH + 1
    width = max(2, len(str(int(index.max())))) if len(index) else 2
    return np.array([f"{g}_seq{i:0{width}d}" for g, i in zip(groups, index)], dtype=object)


# --------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------


@cite_papers("liu2025", "hosseini")
@validate_params(
    {
        "n_subjects": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "image_size": [Interval(Integral, 16, None, closed="left")],
        "n_classes": [Interval(Integral, 2, 3, closed="both")],
        "subject_variation": [Interval(Real, 0, None, closed="left")],
        "nuisance": [Interval(Real, 0, None, closed="left")],
        "return_X_y": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_grimace_faces(
    n_subjects=6,
    *,
    n_samples=None,
    image_size=96,
    n_classes=2,
    subject_variation=1.0,
    nuisance=1.0,
    return_X_y=False,
    random_state=0,
):
    """Generate cartoon rat faces scored with the Rat Grimace Scale.

    Each image is a frontal cartoon of a rodent face (head, ears, eyes, nose,
    whisker pads and whiskers) in which the four action units (AUs) of the Rat
    Grimace Scale are drawn with an intensity: orbital tightening (the eyes
    narrow and close), ear changes (the ears fold, become pointed and rotate
    outwards), nose/cheek flattening (the cheek bulge disappears and the nose
    bridge lengthens) and whisker change (the whiskers are pulled back,
    stiffen and bunch together). Each AU is scored 0, 1 or 2 and the label is
    the rounded (half up) mean of the four scores, as in the RGS.

    The default dataset mimics RatsPain (PainSeeker paper): 6 subjects with
    that paper's per-rat counts of no-pain, moderate and severe images, 1,138
    images in all. Subjects differ in fur colour and texture, face width,
    snout, eye and ear size, in how strongly they show each AU, and in their
    resting face (a per-subject offset of the drawn AU intensities), so that a
    classifier can recognise subjects -- evaluation that does not keep
    subjects apart then overestimates accuracy, as it does on real data.

    Parameters
    ----------
    n_subjects : int, default=6
        Number of subjects. Subject ``i`` takes its class proportions from
        row ``i % 6`` of the RatsPain per-rat table.
    n_samples : int, default=None
        Total number of images. ``None`` uses the table's counts (1,138 images
        for 6 subjects); an int rescales every (subject, level) count in
        proportion (largest remainder rounding), keeping each subject and each
        level represented when ``n_samples`` allows it.
    image_size : int, default=96
        Height and width of the square images, in pixels (at least 16).
    n_classes : {2, 3}, default=2
        2: "no pain" (RGS level 0) / "pain" (levels 1 and 2, moderate and
        severe merged as in the PainSeeker paper); 3: "no pain" / "moderate" /
        "severe". The images do not depend on this parameter.
    subject_variation : float, default=1.0
        Strength of every subject effect (appearance, fur texture, AU style
        and resting-face offset). 0 makes all subjects alike, larger values
        make subjects easier to tell apart.
    nuisance : float, default=1.0
        Strength of the per-image nuisance (head yaw and roll, scale, position,
        brightness, lighting gradient, background tone and texture, pixel
        noise, and a jitter of the drawn AU intensities). 0 makes each image a
        function of its AU scores and its subject only.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.
    random_state : int, RandomState instance or None, default=0
        Seed of the generator. The same seed gives byte-identical images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_samples, image_size, image_size, 3)
            The images, uint8 RGB.
        target : ndarray of shape (n_samples,)
            Integer class codes, indices into ``target_names``.
        groups : ndarray of shape (n_samples,)
            Subject ids (str, ``"rat01"``, ``"rat02"``, ...) for subject-wise
            cross-validation.
        target_names : ndarray of str
            ``["no pain", "pain"]`` or ``["no pain", "moderate", "severe"]``.
        frame : pandas.DataFrame of shape (n_samples, n_columns)
            One row per image: ``image_id``, ``subject``, ``label``,
            ``label_name``, ``level`` (RGS level 0-2), the four AU scores,
            ``rgs`` (their mean), the drawn AU intensities (``*_intensity``),
            the subject's appearance parameters, the image's nuisance
            parameters, then ``pspi`` (a PSPI-like pain score, int 0-15) and
            ``sequence`` (consecutive images of a subject in groups of 10),
            for the pain-intensity protocol of Hosseini et al. [2]_ (see
            Notes).
        DESCR : str
            Description of the dataset.

    (images, target) : tuple if ``return_X_y`` is True
        The ``images`` and ``target`` arrays described above.

    See Also
    --------
    save_dataset : Write the dataset as PNG files and a manifest.
    load_manifest : Load a dataset from a manifest CSV.

    Notes
    -----
    The generator was tuned so that subject leakage is visible. With the LBP +
    linear SVM baseline of the PainSeeker paper (grey images resized to
    224x224, P=8, R=1, ``"nri_uniform"`` codes, a 4x4 grid of L1-normalised
    59-bin histograms, ``LinearSVC(C=1)``), on the default dataset
    (``random_state=0``):

    ===========================================  ========  =========
    evaluation                                   accuracy  F1 (pain)
    ===========================================  ========  =========
    image-wise, shuffled ``StratifiedKFold(5)``  76.0 %    0.767
    subject-wise, ``LeaveOneGroupOut``           62.9 %    0.654
    majority class ("pain")                      52.5 %
    ===========================================  ========  =========

    Image-wise cross-validation overestimates the subject-wise accuracy by 13
    points (8-13 points, mean 11, over the seeds 0-4, with subject-wise
    accuracies of 63-69 %, in the range the paper reports on real rats,
    62-68 %). The same features identify the subject of an image with 95 %
    accuracy. With ``subject_variation=0`` the gap falls to about 2 points.

    ``pspi`` mimics the Prkachin and Solomon Pain Intensity score (a sum of
    AU intensities, 0-15) of the UNBC-McMaster archive used by Hosseini et
    al. [2]_, so that the seven PSPI levels of
    :func:`~skanimal.datasets.pspi_to_level` can be predicted from these
    faces. It is a function of the drawn AU intensities ``I_k`` (the
    ``*_intensity`` columns) only: with ``E = sum_k max(I_k - 0.5, 0)`` (an AU
    counts once its intensity exceeds 0.5), ``pspi = min(15, floor(2 *
    max(E - 1.2, 0) ** 1.3))``. It is non-decreasing in every intensity, so
    it grows with the drawn pain; it is 0 for most "no pain" faces and, like
    the real PSPI, skewed towards 0. On the default dataset (seeds 0-2) the
    levels 0-6 hold about 63, 13, 9, 5, 5, 4 and 1 % of the images (every
    level is present). ``sequence`` stands for the archive's videos: the
    images of a subject, in their order, cut into groups of 10
    (``"rat01_seq01"``, ...); the levels within a sequence are in random
    order. Neither column changes the images or any other column.

    The subjects are a fixed population: subject ``i`` looks the same for
    every ``random_state``, which only draws the images. Generating the
    default 1,138 images takes 2-3 s on one CPU core.

    Examples
    --------
    >>> from skanimal.datasets import make_grimace_faces
    >>> faces = make_grimace_faces(n_samples=60, image_size=64, random_state=0)
    >>> faces.images.shape, faces.images.dtype
    ((60, 64, 64, 3), dtype('uint8'))
    >>> faces.target_names
    array(['no pain', 'pain'], dtype=object)
    >>> sorted(set(faces.groups))
    ['rat01', 'rat02', 'rat03', 'rat04', 'rat05', 'rat06']
    >>> faces.frame[["orbital_tightening", "ear_changes", "rgs"]].shape
    (60, 3)
    """
    rs = check_random_state(random_state)
    rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max, size=4))

    counts = _class_counts(n_subjects, n_samples)
    subjects = _make_subjects(n_subjects, subject_variation)
    subject, level, scores = _sample_action_units(rng, counts, subjects["au_style"])
    n = len(subject)
    intensity = (
        scores
        + subjects["au_baseline"][subject]
        + rng.normal(0.0, _AU_JITTER_SD, scores.shape) * nuisance
    )
    nuis = _make_nuisance(rng, n, nuisance)

    per_image_subj = {k: val[subject] for k, val in subjects.items()}
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, n, _BATCH):
        sl = slice(start, start + _BATCH)
        images[sl] = _render_batch(
            rng,
            image_size,
            {k: val[sl] for k, val in per_image_subj.items()},
            {k: val[sl] for k, val in nuis.items()},
            intensity[sl],
        )

    if n_classes == 2:
        target = (level >= 1).astype(np.int64)
        target_names = _BINARY_NAMES.copy()
    else:
        target = level.astype(np.int64)
        target_names = _LEVEL_NAMES.copy()

    width = max(2, len(str(n_subjects)))
    subject_ids = np.array([f"rat{s + 1:0{width}d}" for s in range(n_subjects)], dtype=object)
    groups = subject_ids[subject]
    within = np.zeros(n, dtype=int)
    for s in range(n_subjects):
        mask = subject == s
        within[mask] = np.arange(mask.sum())
    frame = {
        "image_id": [f"{g}_{i:04d}" for g, i in zip(groups, within)],
        "subject": groups,
        "label": target,
        "label_name": target_names[target],
        "level": level,
    }
    for k, name in enumerate(GRIMACE_ACTION_UNITS):
        frame[name] = scores[:, k]
    frame["rgs"] = scores.mean(axis=1)
    for k, name in enumerate(GRIMACE_ACTION_UNITS):
        frame[f"{name}_intensity"] = np.round(intensity[:, k], 6)
    fur = per_image_subj["fur"]
    frame.update(
        fur_r=np.round(fur[:, 0], 6), fur_g=np.round(fur[:, 1], 6),
        fur_b=np.round(fur[:, 2], 6),
    )
    for key in ("face_width", "eye_size", "ear_size", "snout_length", "tex_amp"):
        frame[key if key != "tex_amp" else "fur_texture"] = np.round(per_image_subj[key], 6)
    for key, val in nuis.items():
        frame[key] = np.round(val, 6)
    # computed from the intensities as written in frame, so that it can be recomputed
    frame["pspi"] = _pspi_like(np.round(intensity, 6))
    frame["sequence"] = _sequences(groups, within)
    frame = pd.DataFrame(frame)

    if return_X_y:
        return images, target
    return make_bunch(images=images, target=target, groups=groups,
                      target_names=target_names, frame=frame,
                      descr=load_descr("grimace_faces.rst"))
