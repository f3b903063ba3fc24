"""Fast depthwise convolution: one multiply-accumulate per window offset, no GEMM.

A depthwise convolution filters each input channel on its own: with ``depth_multiplier``
``k``, input channel ``c`` gives the ``k`` output channels ``c * k .. c * k + k - 1`` (Keras'
order), each the cross-correlation of that channel with its own ``f_h x f_w`` filter. There is
no sum over channels, so a matrix product has nothing to gain; instead the kernel walks the
``f_h * f_w`` window offsets. For offset ``(i, j)`` the input values every output pixel reads
form one strided slab of the padded input, ``(m, n_H, n_W, n_C_prev)``, and the output gains
``slab * W[i, j]`` (a per-channel scale, broadcast). The Python loop runs ``f_h * f_w`` times,
whatever the batch or image size. Backward walks the same offsets: ``dW[i, j]`` is the sum over
pixels of ``slab * dZ`` and the slab positions of ``dA`` gain ``dZ * W[i, j]``.

Large batches are split between the cores by examples (`convnp.ops._threads`). The readable
loop twin is `convnp.ops.reference.depthwise_conv_forward`.

Shapes: ``A_prev`` ``(m, n_H_prev, n_W_prev, n_C_prev)``, ``W`` ``(f_h, f_w, n_C_prev, k)``,
``b`` ``(1, 1, 1, n_C_prev * k)``, output ``(m, n_H, n_W, n_C_prev * k)``. Functions keep
the float dtype they are given (ints compute in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops._threads import map_rows
from convnp.ops.conv import _pad
from convnp.ops.padding import Geometry, depthwise_geometry, float_dtype
from convnp.ops.reductions import column_sums

# Below this many output numbers per example group the work is not worth sharing.
_MIN_SPLIT = 1 << 15


@dataclass
class DepthwiseCache:
    """What `depthwise_conv_backward` needs; callers treat it as opaque.

    Attributes:
        A_pad: the padded input, NHWC, in the compute dtype.
        W: the filters ``(f_h, f_w, n_C_prev, k)`` in the compute dtype.
        input_shape: shape of ``A_prev``.
        geometry: kernel, stride, dilation, pads and output size.
    """

    A_pad: np.ndarray
    W: np.ndarray
    input_shape: tuple[int, int, int, int]
    geometry: Geometry


def _offset_slab(geometry: Geometry, i: int, j: int) -> tuple:
    """The index of the padded input read by kernel tap ``(i, j)`` at every output pixel."""
    s_h, s_w = geometry.stride
    d_h, d_w = geometry.dilation
    n_H, n_W = geometry.out_hw
    top, left = i * d_h, j * d_w
    return (slice(None), slice(top, top + s_h * (n_H - 1) + 1, s_h),
            slice(left, left + s_w * (n_W - 1) + 1, s_w))


def _split_examples(task, m: int, per_example: int) -> list:
    """Run ``task(rows)`` over the batch, shared between cores when the work is large."""
    return map_rows(task, m, max(1, _MIN_SPLIT // max(per_example, 1)))


def depthwise_conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                           hparameters: dict):
    """Filter each channel of a batch with its own ``depth_multiplier`` filters.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: filters, shape ``(f_h, f_w, n_C_prev, depth_multiplier)``.
        b: biases, shape ``(1, 1, 1, n_C_prev * depth_multiplier)``.
        hparameters: ``{"stride", "pad"}`` as for `conv_forward`, and optionally
            ``"dilation": int | (d_h, d_w)`` (default 1).

    Returns:
        ``(Z, cache)``: ``Z`` of shape ``(m, n_H, n_W, n_C_prev * depth_multiplier)``, output
        channel ``c * depth_multiplier + k`` being input channel ``c`` under filter
        ``W[:, :, c, k]``; and the opaque cache (the padded input) for
        `depthwise_conv_backward`.
    """
    geometry = depthwise_geometry(A_prev, W, b, hparameters)
    dtype = float_dtype(A_prev, W, b)
    A = A_prev.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    f_h, f_w, n_C_prev, k = W.shape
    m = A.shape[0]
    n_H, n_W = geometry.out_hw

    A_pad = _pad(A, geometry.pads)
    bias = b.astype(dtype, copy=False).reshape(n_C_prev, k)
    if k == 1:
        Z = np.empty((m, n_H, n_W, n_C_prev), dtype=dtype)
        taps = _tap_sums(A_pad, W[..., 0], geometry)
        _split_examples(lambda rows: taps(rows, Z[rows], bias[:, 0]), m, Z[0].size)
        return Z, DepthwiseCache(A_pad, W, A.shape, geometry)
    Z = np.empty((m, n_H, n_W, n_C_prev, k), dtype=dtype)

    def forward(rows: slice) -> None:
        out = Z[rows]
        out[...] = bias
        scratch = np.empty_like(out)
        for i in range(f_h):
            for j in range(f_w):
                slab = A_pad[rows][_offset_slab(geometry, i, j)]
                np.multiply(slab[..., None], W[i, j], out=scratch)
                out += scratch

    _split_examples(forward, m, Z[0].size)
    return Z.reshape(m, n_H, n_W, n_C_prev * k), DepthwiseCache(A_pad, W, A.shape, geometry)


# Output numbers per einsum call: a few hundred KB, so each call's output stays in L2.
_CHUNK = 1 << 16


def _tap_sums(A_pad: np.ndarray, W: np.ndarray, geometry: Geometry):
    """The ``depth_multiplier == 1`` forward as one `np.einsum` per group of examples.

    Every window tap of every output pixel is a strided view of the padded input (no copy):
    ``taps[e, i, j, h, w, c]`` is the value tap ``(i, j)`` reads for output pixel ``(h, w)``.
    The sum over ``(i, j)`` of ``taps * W`` is then a single einsum, which reads each tap once
    and accumulates in registers instead of the two passes over the output (multiply, add) per
    tap of the loop. With a horizontal stride of 1 the ``w`` taps of one row are contiguous
    runs of ``n_W * n_C`` numbers, so ``(w, c)`` is seen as one long axis (the filter repeated
    along it) and the einsum's inner loop runs over whole rows instead of ``n_C`` numbers.
    Returns ``run(rows, out, bias)`` writing examples ``rows`` of the output into ``out``.
    """
    f_h, f_w, n_C = W.shape
    s_h, s_w = geometry.stride
    d_h, d_w = geometry.dilation
    n_H, n_W = geometry.out_hw
    se, sh, sw, sc = A_pad.strides
    if s_w == 1:
        weights = np.tile(W, (1, 1, n_W))
        shape = (f_h, f_w, n_H, n_W * n_C)
        strides = (sh * d_h, sw * d_w, sh * s_h, sc)
        spec = "eijhx,ijx->ehx"
    else:
        weights = W
        shape = (f_h, f_w, n_H, n_W, n_C)
        strides = (sh * d_h, sw * d_w, sh * s_h, sw * s_w, sc)
        spec = "eijhwc,ijc->ehwc"
    group = max(1, _CHUNK // (n_H * n_W * n_C))

    def run(rows: slice, out: np.ndarray, bias: np.ndarray) -> None:
        has_bias = bool(bias.any())
        for start in range(rows.start, rows.stop, group):
            stop = min(start + group, rows.stop)
            view = as_strided(A_pad[start:], (stop - start, *shape), (se, *strides),
                              writeable=False)
            part = out[start - rows.start:stop - rows.start]
            np.einsum(spec, view, weights, out=part.reshape(stop - start, *shape[2:]))
            if has_bias:
                part += bias

    return run


def depthwise_conv_backward(dZ: np.ndarray, cache: DepthwiseCache,
                            compute_dA_prev: bool = True):
    """Gradients of a depthwise convolution.

    Args:
        dZ: gradient of the cost w.r.t. ``Z``, shape ``(m, n_H, n_W, n_C_prev * k)``.
        cache: the cache returned by `depthwise_conv_forward`.
        compute_dA_prev: set False to skip the input gradient (``dA_prev`` is then ``None``).

    Returns:
        ``(dA_prev, dW, db)`` of shapes ``(m, n_H_prev, n_W_prev, n_C_prev)``,
        ``(f_h, f_w, n_C_prev, k)`` and ``(1, 1, 1, n_C_prev * k)``.
    """
    if not isinstance(cache, DepthwiseCache):
        raise TypeError(f"depthwise_conv_backward: cache must come from "
                        f"convnp.ops.depthwise_conv_forward, got {type(cache).__name__}")
    W, geometry = cache.W, cache.geometry
    f_h, f_w, n_C_prev, k = W.shape
    m = cache.input_shape[0]
    n_H, n_W = geometry.out_hw
    expected = (m, n_H, n_W, n_C_prev * k)
    if not isinstance(dZ, np.ndarray) or dZ.shape != expected:
        raise ValueError(f"depthwise_conv_backward: dZ must have shape {expected}, "
                         f"got {getattr(dZ, 'shape', type(dZ).__name__)}")
    dtype = W.dtype
    dZ = dZ.astype(dtype, copy=False)
    db = column_sums(dZ.reshape(-1, n_C_prev * k)).astype(dtype).reshape(1, 1, 1, -1)
    dZ5 = dZ.reshape(m, n_H, n_W, n_C_prev, k)
    A_pad = cache.A_pad
    dA_pad = np.zeros_like(A_pad) if compute_dA_prev else None

    def backward(rows: slice) -> np.ndarray:
        dW_part = np.empty_like(W)
        g = dZ5[rows]
        # Collapse (m, n_H, n_W) into one axis so each tap's weight gradient is one product.
        g_rows = g.reshape(-1, n_C_prev, k)
        for i in range(f_h):
            for j in range(f_w):
                index = _offset_slab(geometry, i, j)
                slab = A_pad[rows][index].reshape(-1, n_C_prev)
                if k == 1:
                    dW_part[i, j, :, 0] = np.einsum("pc,pc->c", slab, g_rows[..., 0])
                    if compute_dA_prev:
                        dA_pad[rows][index] += g[..., 0] * W[i, j, :, 0]
                else:
                    dW_part[i, j] = np.einsum("pc,pck->ck", slab, g_rows)
                    if compute_dA_prev:
                        dA_pad[rows][index] += np.einsum("...ck,ck->...c", g, W[i, j])
        return dW_part

    parts = _split_examples(backward, m, dZ5[0].size)
    dW = parts[0] if len(parts) == 1 else np.sum(parts, axis=0)
    if not compute_dA_prev:
        return None, dW, db
    (top, _), (left, _) = geometry.pads
    _, n_H_prev, n_W_prev, _ = cache.input_shape
    dA_prev = dA_pad[:, top:top + n_H_prev, left:left + n_W_prev, :]
    return np.ascontiguousarray(dA_prev), dW, db
