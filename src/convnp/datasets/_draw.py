"""Vectorized 2-D drawing with signed distance fields, shared by the built-in datasets.

Every function works on a whole batch at once: per-image parameters are arrays of shape
``(m,)`` and pixel fields are ``(m, H, W)``. A shape is described by its signed distance
``d`` (negative inside, positive outside); :func:`coverage` turns ``d`` into an anti-aliased
alpha mask, and :func:`paint` composites a colour through that mask. Nothing loops over
images, so a dataset of a thousand 64×64 pictures renders in a fraction of a second.

Coordinates: the image spans ``[-1, 1]`` on both axes with ``y`` pointing *down* (row order),
so "up" in a picture means a smaller ``y``.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def grid(size: int) -> tuple[Array, Array]:
    """Pixel-centre coordinates of a ``size``×``size`` image in ``[-1, 1]``.

    Returns:
        ``(x, y)``, each float32 of shape ``(1, size, size)`` so they broadcast against a batch.
    """
    centres = (np.arange(size, dtype=np.float32) + 0.5) * (2.0 / size) - 1.0
    y, x = np.meshgrid(centres, centres, indexing="ij")
    return x[None], y[None]


def col(v: Array) -> Array:
    """Per-image values ``(m,)`` → ``(m, 1, 1)`` to broadcast over pixels."""
    return np.asarray(v, dtype=np.float32)[:, None, None]


def to_local(x: Array, y: Array, cx: Array, cy: Array, angle: Array, scale: Array
             ) -> tuple[Array, Array]:
    """Image coordinates → an object's own frame (translated, rotated by ``angle``, scaled).

    Args:
        x, y: pixel grid, ``(1, H, W)``.
        cx, cy, angle, scale: per-image pose, ``(m,)``; ``angle`` in radians, counter-clockwise
            as seen on screen.

    Returns:
        ``(u, v)`` of shape ``(m, H, W)``: where each pixel falls in the object's frame, in which
        the object is drawn at unit size around the origin.
    """
    dx, dy = x - col(cx), y - col(cy)
    c, s = col(np.cos(angle)), col(np.sin(angle))
    # Screen y points down, so a counter-clockwise turn on screen is clockwise in (x, y).
    u = (c * dx - s * dy) / col(scale)
    v = (s * dx + c * dy) / col(scale)
    return u, v


def random_pose(rng: np.random.Generator, m: int, x: Array, y: Array, *,
                shift_x: tuple[float, float], shift_y: tuple[float, float], degrees: float,
                scale: tuple[float, float]) -> tuple[Array, Array, Array]:
    """Place one object per image at a random centre (uniform in ``shift_x`` × ``shift_y``),
    rotation (uniform in ±``degrees``) and size (uniform in ``scale``), drawn in that order.

    Returns:
        ``(u, v, pixel)``: the object's own coordinates (see :func:`to_local`) and the width of
        one pixel in them, ``(m, 1, 1)``, for :func:`coverage`.
    """
    cx, cy = rng.uniform(*shift_x, m), rng.uniform(*shift_y, m)
    angle = np.deg2rad(rng.uniform(-degrees, degrees, m))
    size = rng.uniform(*scale, m)
    u, v = to_local(x, y, cx, cy, angle, size)
    return u, v, col((2.0 / x.shape[-1]) / size)


def ellipse(u: Array, v: Array, cx: Array | float, cy: Array | float,
            rx: Array | float, ry: Array | float) -> Array:
    """Approximate signed distance to an axis-aligned ellipse (exact for circles)."""
    cx, cy, rx, ry = (_b(a) for a in (cx, cy, rx, ry))
    q = np.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)
    return (q - 1.0) * np.minimum(rx, ry)


def capsule(u: Array, v: Array, ax: Array | float, ay: Array | float,
            bx: Array | float, by: Array | float, r: Array | float) -> Array:
    """Signed distance to a segment A→B thickened to radius ``r`` (a finger, a stroke)."""
    ax, ay, bx, by, r = (_b(a) for a in (ax, ay, bx, by, r))
    ex, ey = bx - ax, by - ay
    pu, pv = u - ax, v - ay
    t = np.clip((pu * ex + pv * ey) / np.maximum(ex * ex + ey * ey, 1e-12), 0.0, 1.0)
    return np.sqrt((pu - t * ex) ** 2 + (pv - t * ey) ** 2) - r


def parabola_stroke(u: Array, v: Array, cy: Array | float, bend: Array | float,
                    half_width: Array | float, thickness: Array | float) -> Array:
    """Signed distance to the curve ``v = cy - bend·u²`` for ``|u| ≤ half_width``, thickened.

    A positive ``bend`` lifts the ends (a smile), a negative one drops them (a frown). The
    distance to the curve uses the first-order estimate ``|f| / |∇f|``, which is accurate for
    the thin strokes drawn here.
    """
    cy, bend, half_width, thickness = (_b(a) for a in (cy, bend, half_width, thickness))
    f = v - (cy - bend * u * u)
    d_curve = np.abs(f) / np.sqrt(1.0 + (2.0 * bend * u) ** 2)
    # Round the ends: outside the span, measure to the end point instead.
    end_u = np.clip(u, -half_width, half_width)
    end_v = cy - bend * end_u * end_u
    d_end = np.sqrt((u - end_u) ** 2 + (v - end_v) ** 2)
    d = np.where(np.abs(u) <= half_width, d_curve, d_end)
    return d - thickness


def coverage(d: Array, pixel: Array | float) -> Array:
    """Anti-aliased alpha in ``[0, 1]`` from a signed distance.

    ``pixel`` is the size of one pixel in the units of ``d``.
    """
    return np.clip(0.5 - d / _b(pixel), 0.0, 1.0)


def paint(image: Array, alpha: Array, colour: Array) -> None:
    """Composite ``colour`` ``(m, 3)`` over ``image`` in place, through ``alpha``.

    Args:
        image: ``(3, m, H, W)`` float32, modified.
        alpha: ``(m, H, W)`` coverage in ``[0, 1]``.
        colour: ``(m, 3)`` RGB in ``[0, 1]``.

    Images are kept channel-planar while drawing so each channel update is one contiguous
    in-place pass instead of broadcasting over a strided trailing RGB axis.
    """
    colour = np.asarray(colour, dtype=np.float32)
    alpha = alpha.astype(np.float32, copy=False)
    for k in range(3):
        step = col(colour[:, k]) - image[k]
        step *= alpha
        image[k] += step


def background(rng: np.random.Generator, m: int, x: Array, y: Array, *, blobs: float,
               level: tuple[float, float], tint: float) -> Array:
    """Random two-colour linear gradients plus up to three soft blobs.

    Args:
        blobs: probability of each of the three blobs being drawn.
        level: range of the base grey level; ``tint``: how far each channel strays from it.

    Returns:
        ``(3, m, H, W)`` float32, channel-planar (see :func:`paint`).
    """
    grey = rng.uniform(level[0], level[1], (m, 1))
    c0 = np.clip(grey + rng.uniform(-tint, tint, (m, 3)), 0.0, 1.0).astype(np.float32)
    c1 = np.clip(c0 + rng.normal(0.0, 0.2, (m, 3)), 0.0, 1.0).astype(np.float32)
    phi = rng.uniform(0.0, 2.0 * np.pi, m)
    t = 0.5 + 0.5 * (x * col(np.cos(phi)) + y * col(np.sin(phi))) / np.float32(np.sqrt(2.0))
    image = np.stack([col(c0[:, k]) + t * col(c1[:, k] - c0[:, k]) for k in range(3)])
    for _ in range(3):
        present = rng.random(m) < blobs
        bx, by = rng.uniform(-1.1, 1.1, m), rng.uniform(-1.1, 1.1, m)
        r = rng.uniform(0.08, 0.35, m)
        colour = rng.uniform(0.0, 1.0, (m, 3))
        d = ellipse(x, y, bx, by, r, r * rng.uniform(0.5, 1.5, m))
        paint(image, coverage(d, 2.0 / x.shape[-1]) * col(present), colour)
    return image.astype(np.float32, copy=False)


def finish(rng: np.random.Generator, image: Array, x: Array, y: Array, *,
           noise: tuple[float, float], light: float) -> Array:
    """Lighting gradient, contrast/brightness jitter and sensor noise, then quantize to uint8.

    Quantizing (as the course's photos are uint8) makes the output bytes robust to last-bit
    differences in transcendental functions between CPUs, so a seed gives the same dataset
    everywhere.

    Args:
        image: channel-planar ``(3, m, H, W)`` float32 drawing.

    Returns:
        uint8 ``(m, H, W, 3)``.
    """
    m = image.shape[1]
    phi = rng.uniform(0.0, 2.0 * np.pi, m)
    gain = rng.uniform(0.0, light, m)
    light = 1.0 + col(gain) * (x * col(np.cos(phi)) + y * col(np.sin(phi))) * np.float32(0.7)
    contrast = col(rng.uniform(0.75, 1.15, m))
    bright = col(rng.uniform(-0.08, 0.08, m))
    sigma = col(rng.uniform(noise[0], noise[1], m))
    # Fold everything into one affine map per pixel: out = a * image + b, then add noise.
    a = np.float32(255.0) * light * contrast
    b = np.float32(255.0) * (0.5 - 0.5 * contrast + bright)
    out = np.empty(image.shape[1:] + (3,), dtype=np.uint8)
    for k in range(3):
        plane = image[k] * a
        plane += b
        plane += (np.float32(255.0) * sigma) * rng.standard_normal(plane.shape, dtype=np.float32)
        np.rint(plane, out=plane)
        np.clip(plane, 0, 255, out=plane)
        out[..., k] = plane
    return out


def skin_tones(rng: np.random.Generator, m: int) -> Array:
    """Skin-like RGB colours ``(m, 3)``, from pale to dark, with a little hue jitter."""
    t = rng.uniform(0.0, 1.0, m)[:, None]
    light = np.array([0.96, 0.80, 0.68])
    dark = np.array([0.36, 0.22, 0.14])
    tone = light + t * (dark - light) + rng.normal(0.0, 0.03, (m, 3))
    return np.clip(tone, 0.0, 1.0).astype(np.float32)


def balanced_labels(rng: np.random.Generator, m: int, n_classes: int) -> Array:
    """``m`` labels with every class equally often (``m`` divisible by ``n_classes``), shuffled."""
    return rng.permutation(np.arange(m) % n_classes).astype(np.int64)


def _b(a: Array | float) -> Array | float:
    """Per-image ``(m,)`` arrays broadcast over pixels; scalars stay scalars."""
    if isinstance(a, np.ndarray) and a.ndim == 1:
        return col(a)
    return a
