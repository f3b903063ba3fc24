"""Keras 3.15's newer ``keras.ops.image`` functions: ``affine_transform``,
``perspective_transform``, ``map_coordinates``, ``scale_and_translate``, ``gaussian_blur``,
``sobel_edges``, ``ssim`` and ``extract_patches_3d``, with Keras' arguments, defaults and
numbers on TensorFlow (``tests/fixtures/keras_ops_parity_image.npz``).

The resampling reuses `convnp.ops.image`'s sampling plans (the preprocessing layers'), the
blur the recorded depthwise convolution, the 3-D patches a recorded gather, ``sobel_edges``/``ssim`` `convnp.tensor.image`'s.
Gradients flow to the images (and to ``map_coordinates``' coordinates for ``order=1``); the
transforms, points, scales and translations are constants. Only in ``keras.ops.image`` (Keras
has them there alone); `convnp.keras.ops` builds that namespace.
"""

from __future__ import annotations

import builtins
import itertools

import numpy as np

from convnp.ops import image as _resample
from convnp.tensor import image as _timage
from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops
from convnp.tensor import sorting as _sorting
from convnp.tensor import symbolic as _symbolic


def _arr(x) -> np.ndarray:
    return _ops._convert(x)


def _format(data_format, who: str) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"keras.ops.image.{who}: data_format must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}")
    return data_format


def _on_batch(fn, images, data_format, who: str, ranks=(3, 4)):
    """``fn(batch)`` on ``images`` as a channels_last batch: a single image gets a batch axis
    and channels_first images are transposed, both undone on the result."""
    a = _arr(images)
    if a.ndim not in ranks:
        raise ValueError(f"keras.ops.image.{who}: invalid images rank: expected rank 3 (single "
                         f"image) or rank 4 (batch of images), got shape {a.shape}")
    first = _format(data_format, who) == "channels_first"
    x = images if a.ndim == 4 else _ops.expand_dims(images, 0)
    x = _ops.transpose(x, [0, 2, 3, 1]) if first else x
    y = fn(x)
    if first:
        rank = _arr(y).ndim
        y = _ops.transpose(y, [0, 3, 1, 2, *range(4, rank)])
    return y if a.ndim == 4 else _ops.squeeze(y, [0])


def _choice(value, allowed, name: str, who: str) -> str:
    if value not in allowed:
        raise ValueError(f"keras.ops.image.{who}: {name} must be one of {allowed}, got "
                         f"{value!r}")
    return value


def _sampled(images, transforms: np.ndarray, interpolation, fill_mode, fill_value):
    """Images sampled through projective ``transforms`` ``(m or 1, 8)`` (recorded)."""
    a = _arr(images)
    if a.dtype.kind != "f":
        a = a.astype(np.float32)
    t = np.broadcast_to(transforms, (a.shape[0], 8))
    plan = _resample.affine_plan(a.shape, t, interpolation, fill_mode)
    out = _resample.affine_apply(a, plan, float(fill_value))
    return _ops._op(out.astype(a.dtype), [images],
                    lambda g: [_resample.affine_backward(np.asarray(g, a.dtype), plan)])


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Each output pixel ``(x, y)`` reads the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y
    + b2) / k)``, ``k = c0 x + c1 y + 1``: ``transform`` is ``[a0, a1, a2, b0, b1, b2, c0,
    c1]`` (or one per image), TensorFlow's ``ImageProjectiveTransformV3``."""
    _choice(interpolation, ("nearest", "bilinear"), "interpolation", "affine_transform")
    _choice(fill_mode, ("constant", "nearest", "wrap", "reflect"), "fill_mode",
            "affine_transform")
    t = _arr(transform).astype(np.float64)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError("keras.ops.image.affine_transform: transform must be 8 numbers or "
                         f"(batch, 8), got shape {t.shape}")
    return _on_batch(lambda x: _sampled(x, t.reshape(-1, 8).astype(np.float32),
                                        interpolation, fill_mode, fill_value),
                     images, data_format, "affine_transform")


def _corners(points, name: str) -> np.ndarray:
    p = _arr(points).astype(np.float32)
    if p.ndim not in (2, 3) or p.shape[-2:] != (4, 2):
        raise ValueError(f"keras.ops.image.perspective_transform: {name} must be (4, 2) for "
                         f"one image or (N, 4, 2) for a batch, got shape {p.shape}")
    return p.reshape(-1, 4, 2)


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warp so that the four ``end_points`` of the output show the input's ``start_points``
    (``(x, y)`` corners, one set or one per image); outside the input: ``fill_value``."""
    from convnp.layers.augmentation_geometry import homography

    _choice(interpolation, ("nearest", "bilinear"), "interpolation", "perspective_transform")
    start, end = _corners(start_points, "start_points"), _corners(end_points, "end_points")
    if np.shape(_arr(start_points)) != np.shape(_arr(end_points)):
        raise ValueError("keras.ops.image.perspective_transform: start_points and end_points "
                         "must have the same shape")
    t = homography(start, end).astype(np.float32)
    return _on_batch(lambda x: _sampled(x, t, interpolation, "constant", fill_value), images,
                     data_format, "perspective_transform")


# -- map_coordinates ------------------------------------------------------------------------


def _fixed_index(index: np.ndarray, size: int, fill_mode: str):
    """``(index inside [0, size), valid)`` per Keras' fill modes ('constant': invalid where
    outside; 'mirror' reflects about the edge pixels, 'reflect' about the edges)."""
    if fill_mode == "constant":
        return np.clip(index, 0, size - 1), (index >= 0) & (index < size)
    if fill_mode == "nearest":
        return np.clip(index, 0, size - 1), np.ones(index.shape, bool)
    if fill_mode == "wrap":
        return np.mod(index, size), np.ones(index.shape, bool)
    folded = np.mod(np.abs(index), 2 * size)
    over = folded >= size
    fixed = np.where(over, 2 * size - folded, folded)
    if fill_mode == "reflect":
        fixed = np.where(over, fixed - 1, fixed)
    return np.clip(fixed, 0, size - 1), np.ones(index.shape, bool)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """``inputs`` read at ``coordinates`` (``(inputs.ndim, ...)``: one array per axis), by
    nearest (``order=0``) or linear (``order=1``) interpolation; outside, per ``fill_mode``
    ('constant' gives ``fill_value``, 'nearest', 'wrap', 'mirror', 'reflect')."""
    a = _arr(inputs)
    c = _arr(coordinates)
    if c.ndim < 2:
        raise ValueError("keras.ops.image.map_coordinates: coordinates must have rank >= 2, "
                         f"got shape {c.shape}")
    if c.shape[0] != a.ndim:
        raise ValueError(f"keras.ops.image.map_coordinates: the first axis of coordinates "
                         f"({c.shape[0]}) must be the rank of inputs ({a.ndim})")
    _choice(fill_mode, ("constant", "nearest", "wrap", "mirror", "reflect"), "fill_mode",
            "map_coordinates")
    if order not in (0, 1):
        raise NotImplementedError("keras.ops.image.map_coordinates: order must be 0 or 1")
    dtype = c.dtype if c.dtype.kind == "f" else np.dtype(np.float32)
    c = c.astype(dtype)
    nodes = []  # per axis: [(index, weight, d weight / d coordinate)]
    for axis in range(a.ndim):
        coord = c[axis]
        if order == 0:
            nodes.append([(np.round(coord).astype(np.int64), np.ones_like(coord),
                           np.zeros_like(coord))])
        else:
            low = np.floor(coord)
            frac = coord - low
            nodes.append([(low.astype(np.int64), 1 - frac, -np.ones_like(coord)),
                          (low.astype(np.int64) + 1, frac, np.ones_like(coord))])
    out = np.zeros(c.shape[1:], dtype)
    corners = []
    for corner in itertools.product(*nodes):
        fixed = [_fixed_index(index, a.shape[axis], fill_mode)
                 for axis, (index, _, _) in enumerate(corner)]
        where = tuple(f[0] for f in fixed)
        valid = np.logical_and.reduce([f[1] for f in fixed])
        value = np.where(valid, a[where].astype(dtype), np.asarray(fill_value, dtype))
        weights = [w for _, w, _ in corner]
        out += np.prod(weights, axis=0) * value
        corners.append((where, valid, value, corner))
    result = np.round(out) if a.dtype.kind in "iu" else out
    result = result.astype(a.dtype)
    if a.dtype.kind != "f":
        return _ops._op(result, [inputs, coordinates])

    def vjp(g):
        g = np.asarray(g, dtype)
        d_inputs = np.zeros(a.shape, dtype)
        d_coords = np.zeros(c.shape, dtype)
        for where, valid, value, corner in corners:
            weights = [w for _, w, _ in corner]
            np.add.at(d_inputs, where, np.where(valid, g * np.prod(weights, axis=0), 0))
            for axis, (_, _, slope) in enumerate(corner):
                others = np.prod([w for k, w in enumerate(weights) if k != axis], axis=0)
                d_coords[axis] += g * value * slope * others
        return [d_inputs.astype(a.dtype), d_coords if order == 1 else None]

    return _ops._op(result, [inputs, coordinates], vjp)


# -- scale_and_translate --------------------------------------------------------------------


def _triangle(x):
    return np.maximum(0.0, 1 - np.abs(x))


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float):
    def kernel(x):
        with np.errstate(all="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
            out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
        return np.where(x > radius, 0.0, out)

    return kernel


_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle,
            "triangle": _triangle, "cubic": _keys_cubic, "bicubic": _keys_cubic,
            "tricubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def _weights(n_in: int, n_out: int, scale, shift, kernel, antialias: bool, dtype):
    """``(n_in, n_out)``: how much input cell ``i`` gives output cell ``o`` (JAX's
    ``scale_and_translate`` rule, which Keras follows)."""
    inv = 1.0 / scale
    spread = max(inv, 1.0) if antialias else 1.0
    sample = (np.arange(n_out, dtype=dtype) + 0.5) * inv - shift * inv - 0.5
    w = kernel(np.abs(sample[None, :] - np.arange(n_in, dtype=dtype)[:, None]) / spread)
    total = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                 w / np.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= n_in - 0.5)
    return np.where(inside[None, :], w, 0).astype(dtype)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resample the ``spatial_dims`` of ``images`` to ``output_shape`` (the whole output
    shape), output cell ``o`` of an axis sampling the input at ``(o + 0.5 - translation) /
    scale - 0.5`` through ``method``'s kernel (widened by ``1 / scale`` when shrinking and
    ``antialias``)."""
    _choice(method, tuple(_KERNELS), "method", "scale_and_translate")
    a = _arr(images)
    scales = np.atleast_1d(_arr(scale))
    shifts = np.atleast_1d(_arr(translation))
    dims = [int(d) % a.ndim for d in spatial_dims]
    target = tuple(int(n) for n in output_shape)
    if len(target) != a.ndim or len(scales) != len(dims) or len(shifts) != len(dims):
        raise ValueError("keras.ops.image.scale_and_translate: output_shape needs one size per "
                         "axis of images and scale/translation one value per spatial dim, got "
                         f"{target}, {scales.shape}, {shifts.shape} for images {a.shape} and "
                         f"spatial_dims {list(spatial_dims)}")
    dtype = np.result_type(scales.dtype, shifts.dtype)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float32)
    integer = a.dtype.kind in "iub"
    out = _ops.cast(images, np.float32) if integer else _ops.convert_to_tensor(images)
    for i, d in enumerate(dims):
        w = _weights(a.shape[d], target[d], float(scales[i]), float(shifts[i]),
                     _KERNELS[method], bool(antialias), dtype).astype(_arr(out).dtype)
        moved = _ops.tensordot(out, w, [[d], [0]])
        order = list(range(a.ndim - 1))
        order.insert(d, a.ndim - 1)
        out = _ops.transpose(moved, order)
    if integer:
        rounded = np.clip(np.round(_arr(out)), a.min(), a.max()).astype(a.dtype)
        return _ops._op(rounded, [images])
    return out


# -- filters and measures -------------------------------------------------------------------


def _gaussian(size: int, sigma, dtype) -> np.ndarray:
    x = np.arange(size, dtype=dtype) - (size - 1) / 2
    k = np.exp(-0.5 * (x / np.asarray(sigma, dtype)) ** 2)
    return k / k.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Each channel blurred by a ``kernel_size`` Gaussian (standard deviations ``sigma``),
    zero-padded to keep the size ('same'), as Keras on TensorFlow."""
    sizes = tuple(int(k) for k in kernel_size)
    sigmas = tuple(float(s) for s in sigma)
    if len(sizes) != 2 or len(sigmas) != 2 or min(sizes) < 1 or min(sigmas) <= 0:
        raise ValueError("keras.ops.image.gaussian_blur: kernel_size must be two positive "
                         f"ints and sigma two positive numbers, got {kernel_size!r}, "
                         f"{sigma!r}")

    def blur(x):
        a = _arr(x)
        dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
        # Keras' kernel: the outer product of the second axis' and the first axis' Gaussians,
        # laid out (reshaped, not transposed) as kernel_size
        kernel = np.outer(_gaussian(sizes[1], sigmas[1], dtype),
                          _gaussian(sizes[0], sigmas[0], dtype)).reshape(sizes)
        kernel = np.tile(kernel[:, :, None, None], (1, 1, a.shape[-1], 1)).astype(dtype)
        return _nn.depthwise(_ops.cast(x, dtype), kernel, (1, 1), "same", (1, 1),
                             "keras.ops.image.gaussian_blur")

    return _on_batch(blur, images, data_format, "gaussian_blur")


def sobel_edges(images, data_format=None):
    """``(m, h, w, c)`` -> ``(m, h, w, c, 2)``: vertical then horizontal Sobel responses
    (TensorFlow's ``tf.image.sobel_edges``; channels_first gives ``(m, c, h, w, 2)``)."""
    return _on_batch(_timage.sobel_edges, images, data_format, "sobel_edges", ranks=(4,))


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Mean structural similarity of each image pair (one number per image; one in all for
    single images), with an ``filter_size`` Gaussian window ('valid'). Integer images are
    compared as they are (no rescaling), and the result takes their dtype, as in Keras."""
    a, b = _arr(image1), _arr(image2)
    if a.ndim not in (3, 4) or b.ndim not in (3, 4):
        raise ValueError("keras.ops.image.ssim: invalid image rank: expected rank 3 (single "
                         f"image) or rank 4 (batch of images), got {a.shape} and {b.shape}")
    first = _format(data_format, "ssim") == "channels_first"
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)

    def prepared(image, array):
        x = _ops.cast(image, dtype)
        x = x if array.ndim == 4 else _ops.expand_dims(x, 0)
        return _ops.transpose(x, [0, 2, 3, 1]) if first else x

    out = _timage._ssim(prepared(image1, a), prepared(image2, b), float(max_val),
                        filter_size=filter_size, filter_sigma=filter_sigma, k1=k1, k2=k2)
    out = out if a.ndim == 4 else _ops.squeeze(out, [0])
    return out if a.dtype == dtype else _ops.cast(out, a.dtype)


def _triple(value, name: str) -> tuple[int, int, int]:
    out = (value,) * 3 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(out) != 3 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in out):
        raise ValueError(f"keras.ops.image.extract_patches_3d: {name} must be a positive int "
                         f"or three of them, got {value!r}")
    return tuple(int(v) for v in out)


def _window_index(n: int, size: int, step: int, rate: int, padding: str):
    """``(positions, taps)`` indices into the axis padded by ``(before, after)``, and that
    padding ('same': TensorFlow's split, the extra cell after)."""
    span = (size - 1) * rate + 1
    if padding == "valid":
        count, total = (n - span) // step + 1, 0
    else:
        count = -(-n // step)
        total = builtins.max((count - 1) * step + span - n, 0)
    if count < 1:
        raise ValueError(f"keras.ops.image.extract_patches_3d: a window of {span} does not fit "
                         f"an axis of {n}")
    index = (np.arange(count) * step)[:, None] + (np.arange(size) * rate)[None, :]
    return index, (total // 2, total - total // 2)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """``(m, d, h, w, c)`` volumes (or one ``(d, h, w, c)``) -> ``(m, out_d, out_h, out_w,
    pd * ph * pw * c)``: each output cell holds its ``size`` box flattened (depth, row, column,
    channel), what Keras' convolution with an identity kernel gives; ``strides`` default to
    ``size``. A recorded gather of the (padded) volumes."""
    if not isinstance(size, (int, np.integer)) and len(size) != 3:
        raise TypeError("keras.ops.image.extract_patches_3d: size must be an int or a tuple "
                        f"of length 3, got {size!r}")
    box = _triple(size, "size")
    steps = box if strides is None else _triple(strides, "strides")
    rates = _triple(dilation_rate, "dilation_rate")
    mode = str(padding).lower()
    _choice(mode, ("valid", "same"), "padding", "extract_patches_3d")
    a = _arr(volumes)
    if a.ndim not in (4, 5):
        raise ValueError("keras.ops.image.extract_patches_3d: volumes must be (d, h, w, c) or "
                         f"(m, d, h, w, c), got shape {a.shape}")
    first = _format(data_format, "extract_patches_3d") == "channels_first"
    x = volumes if a.ndim == 5 else _ops.expand_dims(volumes, 0)
    x = _ops.transpose(x, [0, 2, 3, 4, 1]) if first else x
    shape = _arr(x).shape
    found = [_window_index(shape[1 + i], box[i], steps[i], rates[i], mode) for i in range(3)]
    padded = _sorting.pad(x, [[0, 0], *(list(p) for _, p in found), [0, 0]])
    (rows_d, _), (rows_h, _), (rows_w, _) = found
    picked = _ops.convert_to_tensor(padded)[
        :, rows_d[:, None, None, :, None, None], rows_h[None, :, None, None, :, None],
        rows_w[None, None, :, None, None, :], :]
    m, counts = shape[0], (rows_d.shape[0], rows_h.shape[0], rows_w.shape[0])
    out = _ops.reshape(picked, [m, *counts, int(np.prod(box)) * shape[4]])
    out = _ops.transpose(out, [0, 4, 1, 2, 3]) if first else out
    return out if a.ndim == 5 else _ops.squeeze(out, [0])


_symbolic.accept_keras_tensors(globals())
