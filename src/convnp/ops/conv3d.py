"""3-D convolution, transposed convolution and pooling over NDHWC volumes.

Volumes are ``(m, n_D, n_H, n_W, n_C)`` (video clips, medical scans); conv kernels are
``(f_d, f_h, f_w, n_C_prev // groups, n_C)`` as Keras stores Conv3D's, transposed kernels
``(f_d, f_h, f_w, n_C, n_C_prev)`` as Conv3DTranspose's.

Every op here is one idea applied three times: *im2col over window offsets*. For each of the
``f_d * f_h * f_w`` offsets of the window, one strided slice of the padded volume gives that
tap of every window at once; stacked, they are a ``(windows, taps * channels)`` matrix, and a
convolution is one matrix product with the kernel. The loop runs over kernel taps (a few dozen
at most), never over examples or voxels. The adjoint, `_col2im`, adds each tap's slice back.
Readable loop twins live in `convnp.ops.reference_conv3d`; tests compare the two.

Padding is TensorFlow's: ``"same"`` puts an odd extra voxel after (bottom/right/back).
Ops keep the float dtype they are given.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from convnp.ops.padding import same_padding, transpose_crop, transpose_output_size

Triple = tuple[int, int, int]
Pads3 = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

__all__ = [
    "Conv3DCache",
    "conv3d_backward",
    "conv3d_forward",
    "conv3d_transpose_backward",
    "conv3d_transpose_forward",
    "pool3d_backward",
    "pool3d_forward",
    "volume_geometry",
]


# ---------------------------------------------------------------------------------------------
# Geometry


def as_triple(value, name: str, minimum: int = 1) -> Triple:
    """An int or a ``(d, h, w)`` triple of ints, each at least ``minimum``."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if is_int(value):
        triple = (int(value),) * 3
    elif isinstance(value, (tuple, list)) and len(value) == 3 and all(is_int(v) for v in value):
        triple = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{name} must be an int or a (d, h, w) triple of ints, got {value!r}")
    if min(triple) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return triple


def spread_kernel(kernel: Triple, dilation: Triple) -> Triple:
    """The extent of a dilated kernel: ``(f - 1) * d + 1`` per axis."""
    return tuple((f - 1) * d + 1 for f, d in zip(kernel, dilation))


def volume_geometry(in_dhw, kernel: Triple, stride: Triple, padding: str,
                    dilation: Triple = (1, 1, 1)) -> tuple[Pads3, Triple]:
    """``(pads, out_dhw)`` of a sliding window over a volume of ``in_dhw``.

    ``padding`` is ``"valid"`` or ``"same"``; an input size may be ``None`` (the output size
    is then ``None`` and so are that axis' pads).

    Raises:
        ValueError: the window does not fit a known input size.
    """
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    spread = spread_kernel(kernel, dilation)
    pads, out = [], []
    for n, f, s in zip(in_dhw, spread, stride):
        if n is None:
            pads.append(None)
            out.append(None)
            continue
        before, after = same_padding(n, f, s) if padding == "same" else (0, 0)
        if n + before + after < f:
            raise ValueError(f"window {tuple(spread)} is larger than the input "
                             f"{tuple(in_dhw)} with padding={padding!r}")
        pads.append((before, after))
        out.append((n + before + after - f) // s + 1)
    return tuple(pads), tuple(out)


def _check_volume(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 5:
        raise ValueError(f"{name} must be a volume batch (m, n_D, n_H, n_W, n_C), got shape "
                         f"{x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _pad(x: np.ndarray, pads: Pads3, value: float = 0.0) -> np.ndarray:
    if not any(b or a for b, a in pads):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _tap_slices(offset: Triple, stride: Triple, dilation: Triple, out: Triple):
    """The slices of a padded volume that hold tap ``offset`` of every window."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, d, s, o in zip(offset, dilation, stride, out))


def _im2col(xp: np.ndarray, kernel: Triple, stride: Triple, dilation: Triple,
            out: Triple) -> np.ndarray:
    """``(m, o_d, o_h, o_w, taps, n_C)``: every window of the padded volume ``xp``, one tap
    at a time (``taps = f_d * f_h * f_w`` in row-major order)."""
    m, n_C = xp.shape[0], xp.shape[-1]
    taps = kernel[0] * kernel[1] * kernel[2]
    cols = np.empty((m, *out, taps, n_C), dtype=xp.dtype)
    for t, offset in enumerate(product(*(range(f) for f in kernel))):
        cols[:, :, :, :, t, :] = xp[(slice(None), *_tap_slices(offset, stride, dilation, out))]
    return cols


def _col2im(cols: np.ndarray, padded_dhw, kernel: Triple, stride: Triple,
            dilation: Triple) -> np.ndarray:
    """The adjoint of `_im2col`: add every window's taps back into a zero padded volume."""
    m, out, n_C = cols.shape[0], cols.shape[1:4], cols.shape[-1]
    xp = np.zeros((m, *padded_dhw, n_C), dtype=cols.dtype)
    for t, offset in enumerate(product(*(range(f) for f in kernel))):
        # one tap's windows never share a voxel, so a plain += is exact
        xp[(slice(None), *_tap_slices(offset, stride, dilation, out))] += cols[:, :, :, :, t, :]
    return xp


def _crop(xp: np.ndarray, pads, dhw) -> np.ndarray:
    return xp[(slice(None), *(slice(b, b + n) for (b, _), n in zip(pads, dhw)))]


def _grouped_matmul(a: np.ndarray, b: np.ndarray, groups: int, taps: int) -> np.ndarray:
    """``a`` ``(N, taps * C)`` times the kernel ``b`` ``(taps * C // groups, F)`` group by
    group (group ``g`` of the filters sees only group ``g`` of the channels): ``(N, F)``."""
    if groups == 1:
        return a @ b
    n = a.shape[0]
    c_g = a.shape[1] // (taps * groups)
    f_g = b.shape[1] // groups
    a_g = a.reshape(n, taps, groups, c_g).transpose(2, 0, 1, 3).reshape(groups, n, taps * c_g)
    b_g = b.reshape(taps * c_g, groups, f_g).transpose(1, 0, 2)
    return (a_g @ b_g).transpose(1, 0, 2).reshape(n, groups * f_g)


# ---------------------------------------------------------------------------------------------
# Convolution


class Conv3DCache(tuple):
    """``(A_prev, W, b, hparameters)`` as the course's conv caches, plus the padded input
    (``padded``) and the geometry (``pads``, ``out``) backward needs."""

    padded: np.ndarray
    pads: Pads3
    out: Triple


def _conv_hparameters(strides, padding, dilation, groups) -> dict:
    stride = as_triple(strides, "strides")
    dilation = as_triple(dilation, "dilation_rate")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) \
            or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    return {"stride": stride, "pad": padding.lower(), "dilation": dilation,
            "groups": int(groups)}


def conv3d_forward(A_prev, W, b=None, strides=1, padding: str = "valid", dilation=1,
                   groups: int = 1) -> tuple[np.ndarray, Conv3DCache]:
    """3-D convolution (cross-correlation) of a volume batch with a kernel.

    Args:
        A_prev: ``(m, n_D_prev, n_H_prev, n_W_prev, n_C_prev)``.
        W: ``(f_d, f_h, f_w, n_C_prev // groups, n_C)``.
        b: ``(n_C,)`` (any shape with ``n_C`` values) or ``None``.
        strides, dilation: an int or a ``(d, h, w)`` triple.
        padding: ``"valid"`` or ``"same"``.
        groups: split channels and filters into this many groups (1: an ordinary conv).

    Returns:
        ``Z`` ``(m, n_D, n_H, n_W, n_C)`` and a `Conv3DCache`.
    """
    A_prev = _check_volume(A_prev, "A_prev")
    W = np.asarray(W)
    hp = _conv_hparameters(strides, padding, dilation, groups)
    if W.ndim != 5:
        raise ValueError(f"W must be (f_d, f_h, f_w, n_C_prev // groups, n_C), got shape "
                         f"{W.shape}")
    n_C_prev, n_C = A_prev.shape[-1], W.shape[-1]
    if n_C_prev % hp["groups"] or n_C % hp["groups"] \
            or W.shape[3] * hp["groups"] != n_C_prev:
        raise ValueError(f"W {W.shape} with groups={hp['groups']} does not fit an input with "
                         f"{n_C_prev} channels")
    if b is not None and np.size(b) != n_C:
        raise ValueError(f"b must hold {n_C} values (one per filter), got shape "
                         f"{np.shape(b)}")
    kernel = tuple(W.shape[:3])
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, hp["stride"], hp["pad"],
                                hp["dilation"])
    W = W.astype(A_prev.dtype, copy=False)
    padded = _pad(A_prev, pads)
    cols = _im2col(padded, kernel, hp["stride"], hp["dilation"], out)
    m, taps = A_prev.shape[0], cols.shape[4]
    Z = _grouped_matmul(cols.reshape(-1, taps * n_C_prev), W.reshape(-1, n_C), hp["groups"],
                        taps)
    if b is not None:
        Z += np.asarray(b, dtype=A_prev.dtype).reshape(n_C)
    cache = Conv3DCache((A_prev, W, b, hp))
    cache.padded, cache.pads, cache.out = padded, pads, out
    return Z.reshape(m, *out, n_C), cache


def conv3d_backward(dZ, cache: Conv3DCache, compute_dA_prev: bool = True):
    """Gradients of `conv3d_forward`: ``(dA_prev, dW, db)`` with the shapes of ``A_prev``,
    ``W`` and ``(n_C,)``; ``dA_prev`` is ``None`` when not ``compute_dA_prev``."""
    A_prev, W, _, hp = cache
    dZ = np.asarray(dZ, dtype=A_prev.dtype)
    n_C, kernel, groups = W.shape[-1], tuple(W.shape[:3]), hp["groups"]
    if dZ.shape != (A_prev.shape[0], *cache.out, n_C):
        raise ValueError(f"dZ must have the forward output's shape "
                         f"{(A_prev.shape[0], *cache.out, n_C)}, got {dZ.shape}")
    cols = _im2col(cache.padded, kernel, hp["stride"], hp["dilation"], cache.out)
    taps, n_C_prev = cols.shape[4], A_prev.shape[-1]
    cols = cols.reshape(-1, taps * n_C_prev)
    dY = dZ.reshape(-1, n_C)
    db = dY.sum(axis=0)
    if groups == 1:
        dW = (cols.T @ dY).reshape(W.shape)
    else:
        c_g, f_g = n_C_prev // groups, n_C // groups
        a = cols.reshape(-1, taps, groups, c_g).transpose(2, 1, 3, 0).reshape(
            groups, taps * c_g, -1)
        d = dY.reshape(-1, groups, f_g).transpose(1, 0, 2)
        dW = (a @ d).reshape(groups, taps, c_g, f_g).transpose(1, 2, 0, 3).reshape(W.shape)
    if not compute_dA_prev:
        return None, dW, db
    W2 = W.reshape(-1, n_C)  # (taps * c_g, n_C)
    if groups == 1:
        dcols = dY @ W2.T
    else:
        c_g, f_g = n_C_prev // groups, n_C // groups
        w_g = W2.reshape(taps, c_g, groups, f_g).transpose(2, 3, 0, 1).reshape(
            groups, f_g, taps * c_g)
        d = dY.reshape(-1, groups, f_g).transpose(1, 0, 2)
        dcols = (d @ w_g).reshape(groups, -1, taps, c_g).transpose(1, 2, 0, 3)
    dcols = dcols.reshape(A_prev.shape[0], *cache.out, taps, n_C_prev)
    dpadded = _col2im(dcols, cache.padded.shape[1:4], kernel, hp["stride"], hp["dilation"])
    return _crop(dpadded, cache.pads, A_prev.shape[1:4]), dW, db


# ---------------------------------------------------------------------------------------------
# Transposed convolution


def transpose_geometry(in_dhw, kernel: Triple, stride: Triple, padding: str,
                       output_padding=None) -> tuple[Triple, Triple, Triple]:
    """``(out_dhw, crop, buffer_dhw)`` of a transposed 3-D convolution (Keras' sizes): the
    output is ``buffer[crop : crop + out]`` of the full scatter, which is ``(n - 1) * s + f``
    long and padded with zeros when ``output_padding`` asks for more."""
    extra = (None,) * 3 if output_padding is None else output_padding
    out = tuple(transpose_output_size(n, f, s, padding, e)
                for n, f, s, e in zip(in_dhw, kernel, stride, extra))
    if min(out) < 1:
        raise ValueError(f"the output would be empty: input {tuple(in_dhw)}, kernel {kernel}, "
                         f"strides {stride}, padding={padding!r}, "
                         f"output_padding={output_padding}")
    crop = tuple(transpose_crop(n, f, s, padding, o)
                 for n, f, s, o in zip(in_dhw, kernel, stride, out))
    full = tuple((n - 1) * s + f for n, f, s in zip(in_dhw, kernel, stride))
    buffer = tuple(max(fl, c + o) for fl, c, o in zip(full, crop, out))
    return out, crop, buffer


def conv3d_transpose_forward(x, W, b=None, strides=1, padding: str = "valid",
                             output_padding=None):
    """Transposed 3-D convolution: each input voxel adds a copy of the kernel, weighted by its
    channels, at ``stride`` times its position; overlapping copies add up (the input gradient
    of a `conv3d_forward` with the same kernel, strides and padding).

    Args:
        x: ``(m, n_D, n_H, n_W, n_C_in)``.
        W: ``(f_d, f_h, f_w, n_C, n_C_in)`` (Keras' layout: output channels first).
        b: ``(n_C,)`` or ``None``.
        strides: an int or a triple; padding ``"valid"``/``"same"``; output_padding ``None``
            or a triple (each smaller than its stride).

    Returns:
        ``y`` ``(m, n_D_out, n_H_out, n_W_out, n_C)`` and the cache ``(x, W, b, geometry)``.
    """
    x = _check_volume(x, "x")
    W = np.asarray(W)
    stride = as_triple(strides, "strides")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    if output_padding is not None:
        output_padding = as_triple(output_padding, "output_padding", minimum=0)
    if W.ndim != 5 or W.shape[4] != x.shape[4]:
        raise ValueError(f"W must be (f_d, f_h, f_w, n_C, {x.shape[4]}) for an input with "
                         f"{x.shape[4]} channels, got shape {W.shape}")
    kernel, n_C = tuple(W.shape[:3]), W.shape[3]
    if b is not None and np.size(b) != n_C:
        raise ValueError(f"b must hold {n_C} values, got shape {np.shape(b)}")
    out, crop, buffer = transpose_geometry(x.shape[1:4], kernel, stride, padding,
                                           output_padding)
    W = W.astype(x.dtype, copy=False)
    m, n_C_in = x.shape[0], x.shape[4]
    # (voxels, n_C_in) @ (n_C_in, taps * n_C): each voxel's weighted kernel copy
    cols = x.reshape(-1, n_C_in) @ W.reshape(-1, n_C_in).T
    cols = cols.reshape(m, *x.shape[1:4], -1, n_C)
    full = _col2im(cols, buffer, kernel, stride, (1, 1, 1))
    y = np.ascontiguousarray(full[(slice(None), *(slice(c, c + o) for c, o in zip(crop, out)))])
    if b is not None:
        y += np.asarray(b, dtype=x.dtype).reshape(n_C)
    geometry = {"stride": stride, "crop": crop, "buffer": buffer, "out": out}
    return y, (x, W, b, geometry)


def conv3d_transpose_backward(dy, cache, compute_dx: bool = True):
    """Gradients of `conv3d_transpose_forward`: ``(dx, dW, db)`` (``dx`` ``None`` when not
    ``compute_dx``)."""
    x, W, _, g = cache
    dy = np.asarray(dy, dtype=x.dtype)
    kernel, n_C, n_C_in = tuple(W.shape[:3]), W.shape[3], W.shape[4]
    if dy.shape != (x.shape[0], *g["out"], n_C):
        raise ValueError(f"dy must have the forward output's shape "
                         f"{(x.shape[0], *g['out'], n_C)}, got {dy.shape}")
    db = dy.reshape(-1, n_C).sum(axis=0)
    dfull = np.zeros((x.shape[0], *g["buffer"], n_C), dtype=x.dtype)
    dfull[(slice(None), *(slice(c, c + o) for c, o in zip(g["crop"], g["out"])))] = dy
    dcols = _im2col(dfull, kernel, g["stride"], (1, 1, 1), x.shape[1:4])
    dcols = dcols.reshape(-1, dcols.shape[4] * n_C)  # (voxels, taps * n_C)
    x2 = x.reshape(-1, n_C_in)
    dW = (dcols.T @ x2).reshape(W.shape)
    dx = None
    if compute_dx:
        dx = (dcols @ W.reshape(-1, n_C_in)).reshape(x.shape)
    return dx, dW, db


# ---------------------------------------------------------------------------------------------
# Pooling


def pool3d_forward(A_prev, pool_size, strides=None, padding: str = "valid",
                   mode: str = "max"):
    """Max or average pooling of a volume batch, channel by channel.

    Args:
        A_prev: ``(m, n_D_prev, n_H_prev, n_W_prev, n_C)``.
        pool_size: an int or a triple; strides: the same (``None``: the pool size).
        padding: ``"valid"`` or ``"same"`` (a padded cell never wins a maximum and is not
            counted in an average, as in TensorFlow).
        mode: ``"max"`` or ``"average"``.

    Returns:
        ``A`` ``(m, n_D, n_H, n_W, n_C)`` and the cache ``(A_prev, hparameters)`` whose
        hparameters also hold what backward needs (the winner of each window for max, the
        count of real cells of each window for average).
    """
    A_prev = _check_volume(A_prev, "A_prev")
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    kernel = as_triple(pool_size, "pool_size")
    stride = kernel if strides is None else as_triple(strides, "strides")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, stride, padding.lower())
    ones = (1, 1, 1)
    hp = {"f": kernel, "stride": stride, "pads": pads, "out": out, "mode": mode}
    if mode == "max":
        padded = _pad(A_prev, pads, -np.inf)
        cols = _im2col(padded, kernel, stride, ones, out)
        winner = cols.argmax(axis=4)[:, :, :, :, None, :]  # first maximum of each window
        A = np.take_along_axis(cols, winner, axis=4)[:, :, :, :, 0, :]
        hp["winner"] = winner
    else:
        padded = _pad(A_prev, pads)
        A = _im2col(padded, kernel, stride, ones, out).sum(axis=4)
        real = _pad(np.ones((1, *A_prev.shape[1:4], 1), dtype=A_prev.dtype), pads)
        count = _im2col(real, kernel, stride, ones, out).sum(axis=4)  # (1, o_d, o_h, o_w, 1)
        A /= count
        hp["count"] = count
    hp["padded_dhw"] = padded.shape[1:4]
    return A, (A_prev, hp)


def pool3d_backward(dA, cache):
    """The input gradient of `pool3d_forward`: max sends each window's gradient to its
    (first) maximum, average spreads it evenly over the window's real cells."""
    A_prev, hp = cache
    dA = np.asarray(dA, dtype=A_prev.dtype)
    if dA.shape != (A_prev.shape[0], *hp["out"], A_prev.shape[4]):
        raise ValueError(f"dA must have the forward output's shape "
                         f"{(A_prev.shape[0], *hp['out'], A_prev.shape[4])}, got {dA.shape}")
    taps = hp["f"][0] * hp["f"][1] * hp["f"][2]
    shape = (*dA.shape[:4], taps, dA.shape[4])
    if hp["mode"] == "max":
        dcols = np.zeros(shape, dtype=dA.dtype)
        np.put_along_axis(dcols, hp["winner"], dA[:, :, :, :, None, :], axis=4)
    else:
        dcols = np.broadcast_to((dA / hp["count"])[:, :, :, :, None, :], shape)
    dpadded = _col2im(dcols, hp["padded_dhw"], hp["f"], hp["stride"], (1, 1, 1))
    return _crop(dpadded, hp["pads"], A_prev.shape[1:4])
