"""The 1-D resampling matrices of ``tf.image.resize``'s methods beyond bilinear/nearest.

Every method TensorFlow's ``tf.image.resize`` offers is separable and linear: resizing an
``(h, w)`` image is ``R_h @ image @ R_w.T`` with one ``(n_out, n_in)`` matrix per axis, so the
gradient is the same products with the transposes. `resize_weights` builds that matrix,
following the arithmetic of TensorFlow's kernels (their numbers are checked in
``tests/tensor/test_image_resize_methods.py``):

* ``"bicubic"`` (no antialiasing): output ``o`` reads around ``x = (o + 0.5) * n_in / n_out -
  0.5`` (half-pixel centers) with the four taps ``floor(x) - 1 .. floor(x) + 2`` weighted by
  Keys' cubic convolution kernel with ``a = -0.5`` (the fraction ``x - floor(x)`` rounded to
  a multiple of 1/1024, TensorFlow's table of the kernel); taps that fall outside the image are
  dropped and the remaining weights rescaled to sum to 1.
* ``"area"``: output ``o`` averages the input over ``[o * s, (o + 1) * s)`` (``s = n_in /
  n_out``), each input pixel weighted by how much of it the interval covers. TensorFlow has no
  gradient for it; here it is the transposed matrix like every other method.
* the *kernel* methods (``"lanczos3"``, ``"lanczos5"``, ``"gaussian"``, ``"mitchellcubic"``, and
  ``"bilinear"``/``"bicubic"`` with ``antialias=True``: TensorFlow's ``ScaleAndTranslate``
  with the triangle and Keys kernels): output ``o`` is centred at ``c = (o + 0.5) * n_in /
  n_out`` in input coordinates; input pixel ``i`` (centred at ``i + 0.5``) gets the weight
  ``k((i + 0.5 - c) / stretch)``, where ``stretch`` is ``n_in / n_out`` when antialiasing a
  downscale (the kernel widened to low-pass the image) and 1 otherwise; the weights of each
  row are divided by their sum.

Pure NumPy; no other convnp import.
"""

from __future__ import annotations

import numpy as np

#: every method name ``tf.image.resize`` accepts
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic")
#: steps per pixel of the tabulated bicubic kernel
_TABLE_STEPS = 1024
#: the methods that run through a kernel (`_kernel_matrix`) whether antialiased or not
KERNEL_METHODS = ("lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def _keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (support [-2, 2])."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _mitchell(x: np.ndarray) -> np.ndarray:
    """Mitchell-Netravali's cubic with B = C = 1/3 (support [-2, 2])."""
    x = np.abs(x)
    near = (7 * x - 12) * x * x / 6 + 16 / 18
    far = ((-7 / 18 * x + 2) * x - 10 / 3) * x + 16 / 9
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _lanczos(radius: int):
    def kernel(x: np.ndarray) -> np.ndarray:
        # sinc(x) * sinc(x / radius) inside the support, 1 at 0
        return np.where(np.abs(x) < radius, np.sinc(x) * np.sinc(x / radius), 0.0)

    return kernel, float(radius)


def _gaussian(x: np.ndarray) -> np.ndarray:
    sigma = 0.5
    return np.where(np.abs(x) < 3 * sigma, np.exp(-x * x / (2 * sigma * sigma)), 0.0)


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(1 - np.abs(x), 0.0)


# (kernel, its radius) per method of the kernel path
_KERNELS = {
    "lanczos3": _lanczos(3),
    "lanczos5": _lanczos(5),
    "gaussian": (_gaussian, 1.5),
    "mitchellcubic": (_mitchell, 2.0),
    "bilinear": (_triangle, 1.0),
    "bicubic": (_keys_cubic, 2.0),
}


def _kernel_matrix(n_in: int, n_out: int, method: str, antialias: bool) -> np.ndarray:
    kernel, radius = _KERNELS[method]
    scale = n_in / n_out
    stretch = max(scale, 1.0) if antialias else 1.0
    centers = (np.arange(n_out) + 0.5) * scale
    # distances (in kernel units) from every output center to every input pixel center
    offsets = ((np.arange(n_in) + 0.5)[None, :] - centers[:, None]) / stretch
    weights = np.where(np.abs(offsets) <= radius, kernel(offsets), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=np.abs(total) > 1e-30)


def _bicubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    f32 = np.float32
    source = (np.arange(n_out, dtype=f32) + f32(0.5)) * (f32(n_in) / f32(n_out)) - f32(0.5)
    start = np.floor(source)
    # TensorFlow reads the kernel from a table of 1024 steps per pixel: the fraction is
    # rounded to the nearest multiple of 1/1024 before weighting
    frac = np.round((source - start).astype(np.float64) * _TABLE_STEPS) / _TABLE_STEPS
    start = start.astype(np.int64)
    taps = start[:, None] + np.arange(-1, 3)[None, :]
    weights = _keys_cubic(frac[:, None] - np.arange(-1, 3)[None, :])
    inside = (taps >= 0) & (taps < n_in)
    weights = np.where(inside, weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.repeat(np.arange(n_out), 4)
    np.add.at(matrix, (rows, np.clip(taps, 0, n_in - 1).reshape(-1)), weights.reshape(-1))
    return matrix


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    scale = n_in / n_out
    starts = np.arange(n_out) * scale
    ends = starts + scale
    pixels = np.arange(n_in)
    covered = np.minimum(pixels[None, :] + 1, ends[:, None]) - np.maximum(pixels[None, :],
                                                                          starts[:, None])
    return np.maximum(covered, 0.0) / scale


def resize_weights(n_in: int, n_out: int, method: str, antialias: bool = False) -> np.ndarray:
    """The ``(n_out, n_in)`` float64 matrix of ``tf.image.resize(..., method, antialias)``
    along one axis, for ``method`` in ``"bicubic"``, ``"area"``, the `KERNEL_METHODS`, or
    ``"bilinear"`` with ``antialias=True`` (plain bilinear and nearest: `image.resize_matrix`).
    ``"area"`` ignores ``antialias``, as TensorFlow does."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"resize_weights: sizes must be >= 1, got {n_in} -> {n_out}")
    if method == "area":
        return _area_matrix(n_in, n_out)
    if method == "bicubic" and not antialias:
        return _bicubic_matrix(n_in, n_out)
    if method in KERNEL_METHODS or (antialias and method in ("bilinear", "bicubic")):
        return _kernel_matrix(n_in, n_out, method, antialias)
    raise ValueError(f"resize_weights: no matrix for method {method!r} with "
                     f"antialias={antialias}")
