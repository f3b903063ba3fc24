"""Image resampling for the preprocessing and augmentation layers, NHWC, vectorized per batch.

Two linear maps cover every layer:

* **resizing** (`resize`): with TensorFlow's half-pixel centers, output row ``o`` of a
  bilinear resize from ``n`` to ``n_out`` rows reads the input at ``(o + 0.5) * n / n_out -
  0.5``; the resize is ``R_h @ image @ R_w.T`` with two small interpolation matrices
  (`resize_matrix`), and its gradient is the same products with the transposes;
* **affine sampling** (`affine_plan`, `affine_apply`, `affine_backward`): each output pixel
  ``(x, y)`` of image ``i`` reads the input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``, the
  8-number transforms of ``tf.raw_ops.ImageProjectiveTransformV3`` (with the last two
  ``c0, c1`` nonzero, a projective map: both coordinates divided by ``c0 x + c1 y + 1``). A plan
  holds, for every output pixel, up to four input indices and weights (bilinear) or one
  (nearest), plus the weight given to ``fill_value``; applying it is a gather and a weighted
  sum, its gradient a scatter-add (``np.bincount``).

Fill modes as TensorFlow's: ``"reflect"`` (``d c b a | a b c d | d c b a``), ``"wrap"``
(``a b c d | a b c d``), ``"nearest"`` (``a a a a | a b c d | d d d d``) and ``"constant"``
(``fill_value`` outside). `tap_plan` samples at arbitrary coordinates (elastic transforms)
with the fill rules of Keras 3's ``map_coordinates``, applied per interpolation tap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INTERPOLATIONS = ("bilinear", "nearest")
#: what Keras 3's ``Resizing`` layer takes: the sampling ones and the separable methods of
#: ``tf.image.resize`` that its backend passes on (`image_resize.resize_weights` builds those)
RESIZE_INTERPOLATIONS = INTERPOLATIONS + ("bicubic", "area", "lanczos3", "lanczos5")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def resize_matrix(n_in: int, n_out: int, interpolation: str = "bilinear",
                  antialias: bool = False) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of a 1-D resize with half-pixel centers (TensorFlow 2's
    ``tf.image.resize``). Each row sums to 1. ``antialias`` widens the kernel of a downscale
    as TensorFlow does; "nearest" and "area" ignore it, as there."""
    if interpolation not in INTERPOLATIONS or (antialias and interpolation == "bilinear"):
        from convnp.ops.image_resize import resize_weights

        return resize_weights(n_in, n_out, interpolation, antialias)
    scale = n_in / n_out
    out = np.arange(n_out, dtype=np.float64)
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    if interpolation == "nearest":
        index = np.minimum(np.floor((out + 0.5) * scale).astype(np.int64), n_in - 1)
        matrix[np.arange(n_out), index] = 1.0
        return matrix
    source = (out + 0.5) * scale - 0.5
    floor = np.floor(source)
    lerp = source - floor
    lower = np.clip(floor.astype(np.int64), 0, n_in - 1)
    upper = np.clip(np.ceil(source).astype(np.int64), 0, n_in - 1)
    np.add.at(matrix, (np.arange(n_out), lower), 1.0 - lerp)
    np.add.at(matrix, (np.arange(n_out), upper), lerp)
    return matrix


def resize(images: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear",
           antialias: bool = False):
    """Resize a batch ``(m, n_H, n_W, n_C)`` to ``(m, *size, n_C)``; returns the images and
    the two matrices (for `resize_backward`)."""
    _, n_H, n_W, _ = images.shape
    r_h = resize_matrix(n_H, size[0], interpolation, antialias).astype(images.dtype)
    r_w = resize_matrix(n_W, size[1], interpolation, antialias).astype(images.dtype)
    rows = np.einsum("oh,mhwc->mowc", r_h, images, optimize=True)
    return np.einsum("pw,mowc->mopc", r_w, rows, optimize=True), (r_h, r_w)


def resize_backward(dy: np.ndarray, matrices) -> np.ndarray:
    """The input gradient of `resize`: the transposed matrices applied to ``dy``."""
    r_h, r_w = matrices
    cols = np.einsum("pw,mopc->mowc", r_w, dy, optimize=True)
    return np.einsum("oh,mowc->mhwc", r_h, cols, optimize=True)


def aspect_crop_box(n_H: int, n_W: int, height: int, width: int) -> tuple[int, int, int, int]:
    """``(top, left, crop_height, crop_width)``: the largest centered window of an
    ``n_H x n_W`` image with the aspect ratio of ``height x width`` (Keras'
    ``crop_to_aspect_ratio``)."""
    crop_h = max(min(n_H, int(n_W * height / width)), 1)
    crop_w = max(min(n_W, int(n_H * width / height)), 1)
    return int((n_H - crop_h) / 2), int((n_W - crop_w) / 2), crop_h, crop_w


def aspect_pad(x: np.ndarray, height: int, width: int, fill_value: float = 0.0):
    """``x`` (``(m, n_H, n_W, c)``) padded with ``fill_value`` to about the aspect ratio of
    ``height x width``, as Keras' ``pad_to_aspect_ratio``: the same number of rows above and
    below (or columns left and right), half the missing ones rounded down, so an odd gap
    leaves the padded size one short. Returns ``(padded, top, left)``."""
    _, n_H, n_W, _ = x.shape
    # the sizes with the target's aspect ratio, truncated from float32 as Keras computes them
    top = (max(n_H, int(np.float32(n_W * height) / np.float32(width))) - n_H) // 2
    left = (max(n_W, int(np.float32(n_H * width) / np.float32(height))) - n_W) // 2
    if not top and not left:
        return x, 0, 0
    padded = np.pad(x, ((0, 0), (top, top), (left, left), (0, 0)), constant_values=fill_value)
    return padded.astype(x.dtype, copy=False), top, left


def _map_coordinates(v: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Bring sampling coordinates into ``[0, n - 1]`` as TensorFlow's fill modes do
    (``"constant"`` leaves them: out-of-range reads give ``fill_value``)."""
    if fill_mode == "constant":
        return v
    if fill_mode == "reflect" and n > 1:
        # mirror images about -0.5 and n - 0.5, repeating every 2n (TensorFlow's steps)
        period = 2 * n
        below = v + period * np.trunc(-v / period)
        below = np.where(below < -n, below + period, -below - 1)
        above = v - period * np.trunc(v / period)
        above = np.where(above >= n, period - above - 1, above)
        v = np.where(v < 0, below, np.where(v > n - 1, above, v))
    elif fill_mode == "wrap" and n > 1:
        # TensorFlow's rule, kept exactly: whole periods of n counted in steps of n - 1
        span = n - 1
        v = np.where(v < 0, v + n * (np.trunc(-v / span) + 1),
                     np.where(v > span, v - n * np.trunc(v / span), v))
    return np.clip(v, 0, n - 1)


@dataclass
class AffinePlan:
    """Where each output pixel of each image reads: flat input indices ``(m, P, K)`` (into
    the batch flattened to ``(m * n_H * n_W, n_C)``), their weights, and the weight of
    ``fill_value`` ``(m, P)``; ``shape`` is the batch's."""

    index: np.ndarray
    weight: np.ndarray
    fill_weight: np.ndarray
    shape: tuple[int, int, int, int]


def affine_plan(shape, transforms: np.ndarray, interpolation: str = "bilinear",
                fill_mode: str = "reflect") -> AffinePlan:
    """Plan the sampling of a batch of ``shape`` under per-image ``transforms`` ``(m, 8)``."""
    _, n_H, n_W, _ = shape
    y, x = np.meshgrid(np.arange(n_H, dtype=np.float64), np.arange(n_W, dtype=np.float64),
                       indexing="ij")
    x, y = x.reshape(1, -1), y.reshape(1, -1)
    t = np.asarray(transforms, dtype=np.float64)
    x_in = t[:, 0:1] * x + t[:, 1:2] * y + t[:, 2:3]
    y_in = t[:, 3:4] * x + t[:, 4:5] * y + t[:, 5:6]
    if np.any(t[:, 6:8]):
        # a projective transform: divide by c0 x + c1 y + 1 (where that is 0, TensorFlow
        # gives fill_value; a coordinate far outside does the same in "constant" mode)
        k = t[:, 6:7] * x + t[:, 7:8] * y + 1.0
        safe = np.where(k == 0, 1.0, k)
        x_in = np.where(k == 0, -2.0 * n_W - 2, x_in / safe)
        y_in = np.where(k == 0, -2.0 * n_H - 2, y_in / safe)
    return sample_plan(shape, x_in, y_in, interpolation, fill_mode)


def sample_plan(shape, x_in: np.ndarray, y_in: np.ndarray, interpolation: str = "bilinear",
                fill_mode: str = "reflect") -> AffinePlan:
    """Plan the sampling of a batch of ``shape`` at given input coordinates: ``x_in`` (column)
    and ``y_in`` (row) of every output pixel, ``(m, n_H * n_W)`` in row-major pixel order."""
    m, n_H, n_W, _ = shape
    x_in = _map_coordinates(x_in, n_W, fill_mode)
    y_in = _map_coordinates(y_in, n_H, fill_mode)
    if interpolation == "nearest":
        rows = [np.where(y_in >= 0, np.floor(y_in + 0.5), np.ceil(y_in - 0.5))]
        cols = [np.where(x_in >= 0, np.floor(x_in + 0.5), np.ceil(x_in - 0.5))]
        weights = [np.ones_like(x_in)]
    else:
        y0, x0 = np.floor(y_in), np.floor(x_in)
        dy, dx = y_in - y0, x_in - x0
        rows = [y0, y0, y0 + 1, y0 + 1]
        cols = [x0, x0 + 1, x0, x0 + 1]
        weights = [(1 - dy) * (1 - dx), (1 - dy) * dx, dy * (1 - dx), dy * dx]
    index, weight = [], []
    fill = np.zeros_like(x_in)
    base = (np.arange(m) * n_H * n_W).reshape(m, 1)
    for r, c, w in zip(rows, cols, weights):
        inside = (r >= 0) & (r <= n_H - 1) & (c >= 0) & (c <= n_W - 1)
        fill += np.where(inside, 0.0, w)
        flat = np.clip(r, 0, n_H - 1).astype(np.int64) * n_W + np.clip(c, 0, n_W - 1).astype(
            np.int64)
        index.append(base + flat)
        weight.append(np.where(inside, w, 0.0))
    return AffinePlan(np.stack(index, axis=-1), np.stack(weight, axis=-1), fill,
                      tuple(shape))



#: the fill modes of `keras.ops.image.map_coordinates` (per interpolation tap)
TAP_FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


def _fold_taps(index: np.ndarray, n: int, fill_mode: str):
    """Integer tap indices brought into the image as Keras 3's ``map_coordinates`` does, and
    whether each tap lies inside (only ``"constant"`` has taps outside). Its ``"reflect"``
    mirrors about pixel 0 below the image (``c b | a b c``) and about ``n - 0.5`` above it
    (``c d | d c``); ``"mirror"`` is ``c b | a b c d | c b`` on both sides."""
    inside = (index >= 0) & (index < n)
    if fill_mode == "constant":
        return np.clip(index, 0, n - 1), inside
    if fill_mode == "nearest":
        return np.clip(index, 0, n - 1), np.ones_like(inside)
    if fill_mode == "wrap":
        return index % n, np.ones_like(inside)
    if fill_mode == "mirror":
        period = max(2 * n - 2, 1)
        folded = np.abs(index) % period
        return np.where(folded < n, folded, period - folded), np.ones_like(inside)
    folded = np.abs(index) % (2 * n)
    return np.where(folded < n, folded, 2 * n - folded - 1), np.ones_like(inside)


def tap_plan(shape, x_in: np.ndarray, y_in: np.ndarray, interpolation: str = "bilinear",
             fill_mode: str = "reflect") -> AffinePlan:
    """Plan the sampling of a batch of ``shape`` at given coordinates ``x_in`` (column) and
    ``y_in`` (row), ``(m, n_H * n_W)``, as Keras 3's ``map_coordinates`` (order 0 or 1):
    unlike `sample_plan`, the fill mode applies to each interpolation tap (the integer
    pixels read), not to the coordinate, and ``"nearest"`` interpolation rounds half to
    even. In ``"constant"`` mode a tap outside the image reads ``fill_value``."""
    m, n_H, n_W, _ = shape
    if interpolation == "nearest":
        rows = [(np.round(y_in).astype(np.int64), np.ones_like(y_in))]
        cols = [(np.round(x_in).astype(np.int64), np.ones_like(x_in))]
    else:
        y0, x0 = np.floor(y_in), np.floor(x_in)
        dy, dx = y_in - y0, x_in - x0
        y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
        rows = [(y0, 1 - dy), (y0 + 1, dy)]
        cols = [(x0, 1 - dx), (x0 + 1, dx)]
    index, weight = [], []
    fill = np.zeros(np.shape(x_in))
    base = (np.arange(m) * n_H * n_W).reshape(m, 1)
    for r, w_r in rows:
        r, r_inside = _fold_taps(r, n_H, fill_mode)
        for c, w_c in cols:
            c, c_inside = _fold_taps(c, n_W, fill_mode)
            w = w_r * w_c
            inside = r_inside & c_inside
            fill += np.where(inside, 0.0, w)
            index.append(base + r * n_W + c)
            weight.append(np.where(inside, w, 0.0))
    return AffinePlan(np.stack(index, axis=-1), np.stack(weight, axis=-1), fill, tuple(shape))


def affine_apply(images: np.ndarray, plan: AffinePlan, fill_value: float = 0.0) -> np.ndarray:
    """Sample ``images`` by ``plan``; same shape and dtype."""
    m, n_H, n_W, n_C = images.shape
    flat = images.reshape(-1, n_C)
    weight = plan.weight.astype(images.dtype)
    out = np.einsum("mpk,mpkc->mpc", weight, flat[plan.index], optimize=True)
    if fill_value:
        out += (plan.fill_weight * fill_value).astype(images.dtype)[..., None]
    return out.reshape(m, n_H, n_W, n_C)


def affine_backward(dy: np.ndarray, plan: AffinePlan) -> np.ndarray:
    """The input gradient of `affine_apply` (``fill_value`` is a constant)."""
    m, n_H, n_W, n_C = plan.shape
    g = dy.reshape(m, n_H * n_W, 1, n_C) * plan.weight[..., None]
    index = plan.index.reshape(-1)
    dx = np.empty((m * n_H * n_W, n_C), dtype=dy.dtype)
    for c in range(n_C):
        dx[:, c] = np.bincount(index, weights=g[..., c].reshape(-1), minlength=dx.shape[0])
    return dx.reshape(plan.shape)
