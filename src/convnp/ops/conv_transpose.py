"""Fast transposed convolution (Keras' ``Conv2DTranspose``), NHWC.

A transposed convolution is the input gradient of a strided convolution, run forward: every
input pixel ``x[m, h, w, :]`` paints a ``(f_h, f_w, n_C)`` patch, ``x[m, h, w] @ W[i, j].T``,
whose top-left corner sits at ``(h * s_h, w * s_w)`` of a *full* canvas of size
``((n_H - 1) * s_h + f_h, (n_W - 1) * s_w + f_w)``; overlapping patches add up. The output is
the canvas with the forward convolution's padding cut off (``"same"``) or with zero rows added
at the end (``"valid"`` with a stride larger than the kernel, or ``output_padding``).

The fast version does all the patches in one matrix product, ``x.reshape(-1, n_C_in) @
W_cols.T`` (``W_cols`` is ``W`` as ``(f_h * f_w * n_C, n_C_in)``), then adds the ``f_h * f_w``
window offsets onto the canvas as strided slabs: col2im with the loop over offsets only, as in
`convnp.ops.conv`. The backward pass is an ordinary convolution of the (padded) upstream
gradient with the same kernel: ``dx = conv(dy_canvas, W)``, and ``dW`` is that convolution's
filter gradient for ``dZ = x``; both come from `convnp.ops.conv`.

Kernels are stored as Keras stores them: ``(f_h, f_w, n_C, n_C_in)`` (output channels before
input channels: the shape of the convolution this one transposes). A dilated kernel (taps
``d`` pixels apart) runs as the undilated op on the kernel spread out with zeros between its
taps, ``((f_h - 1) * d_h + 1, (f_w - 1) * d_w + 1)``; its gradient is read back at the taps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convnp.ops import padding as geometry
from convnp.ops._threads import map_rows
from convnp.ops.conv import conv_backward, conv_forward
from convnp.ops.padding import Pair, as_pair, check_batch, float_dtype

PADDINGS = ("valid", "same")


@dataclass(frozen=True)
class TransposeGeometry:
    """Sizes of one transposed convolution.

    Attributes:
        kernel, stride: ``(h, w)`` pairs.
        in_hw: input size ``(n_H, n_W)``.
        full_hw: the canvas every patch fits on, ``((n_H - 1) * s_h + f_h, ...)``.
        crop: leading rows/columns of the canvas the output drops ``(top, left)``.
        out_hw: output size (Keras' rule, `convnp.ops.padding.transpose_output_size`).
    """

    kernel: Pair
    stride: Pair
    in_hw: Pair
    full_hw: Pair
    crop: Pair
    out_hw: Pair

    def kept(self, axis: int) -> int:
        """Rows (axis 0) or columns (axis 1) of the output that come from the canvas; the
        rest, past the canvas' end, are zeros."""
        return max(0, min(self.out_hw[axis], self.full_hw[axis] - self.crop[axis]))


def transpose_geometry(x_shape, W_shape, strides, padding: str,
                       output_padding=None, op: str = "conv_transpose_forward"
                       ) -> TransposeGeometry:
    """Validate the arguments of a transposed convolution and compute its sizes.

    ``x_shape`` is ``(m, n_H, n_W, n_C_in)``, ``W_shape`` ``(f_h, f_w, n_C, n_C_in)``.
    """
    if len(W_shape) != 4:
        raise ValueError(f"{op}: W must have shape (f_h, f_w, n_C, n_C_in), got {W_shape}")
    if W_shape[3] != x_shape[3]:
        raise ValueError(f"{op}: W expects {W_shape[3]} input channels (W.shape={W_shape}) but "
                         f"x has {x_shape[3]} (x.shape={tuple(x_shape)})")
    if padding not in PADDINGS:
        raise ValueError(f"{op}: padding must be one of {PADDINGS}, got {padding!r}")
    kernel = (int(W_shape[0]), int(W_shape[1]))
    stride = as_pair(strides, "strides")
    extra = (None, None) if output_padding is None else as_pair(output_padding,
                                                                "output_padding", minimum=0)
    for e, s in zip(extra, stride):
        if e is not None and e >= s:
            raise ValueError(f"{op}: output_padding must be smaller than the stride {stride}, "
                             f"got {output_padding!r}")
    in_hw = (int(x_shape[1]), int(x_shape[2]))
    full, crop, out = [], [], []
    for n, f, s, e in zip(in_hw, kernel, stride, extra):
        size = geometry.transpose_output_size(n, f, s, padding, e)
        if size < 1:
            raise ValueError(f"{op}: the output would be empty (input {in_hw}, kernel {kernel}, "
                             f"strides {stride}, padding {padding!r}, output_padding "
                             f"{output_padding!r})")
        full.append((n - 1) * s + f)
        crop.append(geometry.transpose_crop(n, f, s, padding, size))
        out.append(size)
    return TransposeGeometry(kernel, stride, in_hw, tuple(full), tuple(crop), tuple(out))


def _check_operands(x, W, b, op: str) -> None:
    check_batch(x, "x")
    if not isinstance(W, np.ndarray) or W.ndim != 4:
        raise ValueError(f"{op}: W must be an array of shape (f_h, f_w, n_C, n_C_in), "
                         f"got {getattr(W, 'shape', type(W).__name__)}")
    if b is not None and (not isinstance(b, np.ndarray) or b.size != W.shape[2]):
        raise ValueError(f"{op}: b must be None or hold {W.shape[2]} values (one per output "
                         f"channel), got {getattr(b, 'shape', type(b).__name__)}")


@dataclass
class ConvTransposeCache:
    """What `conv_transpose_backward` needs: the input, the kernel, the geometry."""

    x: np.ndarray
    W: np.ndarray
    has_bias: bool
    geometry: TransposeGeometry
    dilation: Pair = (1, 1)


def spread_kernel(W: np.ndarray, dilation: Pair) -> np.ndarray:
    """``W`` ``(f_h, f_w, ...)`` with ``d - 1`` zero rows/columns between its taps: the
    kernel of the same convolution with dilation 1."""
    d_h, d_w = dilation
    if (d_h, d_w) == (1, 1):
        return W
    f_h, f_w = W.shape[:2]
    spread = np.zeros(((f_h - 1) * d_h + 1, (f_w - 1) * d_w + 1, *W.shape[2:]), dtype=W.dtype)
    spread[::d_h, ::d_w] = W
    return spread


def conv_transpose_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, strides,
                           padding: str = "valid", output_padding=None, dilation=1):
    """Transposed convolution of a batch.

    Args:
        x: input, shape ``(m, n_H, n_W, n_C_in)``.
        W: kernel, shape ``(f_h, f_w, n_C, n_C_in)`` (Keras' layout).
        b: bias with ``n_C`` values (any shape), or ``None``.
        strides: an int or ``(s_h, s_w)``.
        padding: ``"valid"`` or ``"same"``.
        output_padding: ``None`` or an int / pair smaller than the stride.
        dilation: an int or ``(d_h, d_w)``: the spacing of the kernel taps (sizes then count
            the kernel as ``(f - 1) * d + 1``).

    Returns:
        ``(y, cache)``: ``y`` of shape ``(m, out_h, out_w, n_C)`` (sizes by
        `convnp.ops.padding.transpose_output_size`), in the operands' float dtype.
    """
    _check_operands(x, W, b, "conv_transpose_forward")
    dilation = as_pair(dilation, "dilation")
    W = spread_kernel(W, dilation)
    geo = transpose_geometry(x.shape, W.shape, strides, padding, output_padding)
    dtype = float_dtype(x, W) if b is None else float_dtype(x, W, b)
    x = x.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    m, n_H, n_W, n_C_in = x.shape
    f_h, f_w, n_C, _ = W.shape
    s_h, s_w = geo.stride
    (top, left), (out_h, out_w) = geo.crop, geo.out_hw
    keep_h, keep_w = geo.kept(0), geo.kept(1)
    W_rows = W.reshape(f_h * f_w * n_C, n_C_in)
    y = np.empty((m, out_h, out_w, n_C), dtype=dtype)
    bias = None if b is None else b.reshape(n_C).astype(dtype, copy=False)
    # Each window offset's slab, clipped to the part of the canvas the output keeps.
    taps = [(_kept_range(i, s_h, n_H, top, keep_h), _kept_range(j, s_w, n_W, left, keep_w))
            for i in range(f_h) for j in range(f_w)]

    def scatter(examples: slice) -> None:
        # One example at a time, so that its patches (3.5 MB for the U-Net's last
        # upsampling) are still in cache when they are added onto the output.
        buffer = np.empty((n_H * n_W, f_h * f_w * n_C), dtype=dtype)
        for e in range(examples.start, examples.stop):
            np.matmul(x[e].reshape(-1, n_C_in), W_rows.T, out=buffer)
            patches = buffer.reshape(n_H, n_W, f_h * f_w, n_C)
            out = y[e]
            out[...] = 0 if bias is None else bias
            for tap, ((h0, h1, o_h), (w0, w1, o_w)) in enumerate(taps):
                if h1 > h0 and w1 > w0:
                    out[o_h:o_h + s_h * (h1 - h0 - 1) + 1:s_h,
                        o_w:o_w + s_w * (w1 - w0 - 1) + 1:s_w] += patches[h0:h1, w0:w1, tap]

    map_rows(scatter, m)  # examples shared between the cores (even a batch of 2)
    return y, ConvTransposeCache(x, W, b is not None, geo, dilation)


def _kept_range(offset: int, stride: int, n: int, crop: int, kept: int) -> tuple[int, int, int]:
    """For the window offset ``offset`` along one axis: the input positions ``[lo, hi)`` whose
    painted cell ``offset + stride * p`` lands inside the kept part of the canvas
    ``[crop, crop + kept)``, and the output index of the first of them."""
    lo = max(0, -(-(crop - offset) // stride))
    hi = min(n, (crop + kept - 1 - offset) // stride + 1) if kept > 0 else lo
    return lo, max(lo, hi), offset + stride * lo - crop


def conv_transpose_backward(dy: np.ndarray, cache: ConvTransposeCache,
                            compute_dx: bool = True):
    """Gradients of `conv_transpose_forward`.

    Returns:
        ``(dx, dW, db)``: shapes of ``x``, ``W`` and ``(n_C,)`` (``db`` is ``None`` when the
        forward had no bias; ``dx`` is ``None`` when ``compute_dx`` is False).
    """
    if not isinstance(cache, ConvTransposeCache):
        raise TypeError(f"conv_transpose_backward: cache must come from "
                        f"conv_transpose_forward, got {type(cache).__name__}")
    geo, W, x = cache.geometry, cache.W, cache.x
    n_C = W.shape[2]
    expected = (x.shape[0], *geo.out_hw, n_C)
    if not isinstance(dy, np.ndarray) or dy.shape != expected:
        raise ValueError(f"conv_transpose_backward: dy must have shape {expected}, "
                         f"got {getattr(dy, 'shape', type(dy).__name__)}")
    dy = dy.astype(W.dtype, copy=False)
    db = dy.reshape(-1, n_C).sum(axis=0) if cache.has_bias else None
    # Put dy back on the full canvas (zeros where the forward cropped), then convolve.
    (top, left), (keep_h, keep_w) = geo.crop, (geo.kept(0), geo.kept(1))
    if geo.crop == (0, 0) and geo.full_hw == geo.out_hw:
        canvas = dy
    else:
        canvas = np.zeros((dy.shape[0], *geo.full_hw, n_C), dtype=dy.dtype)
        canvas[:, top:top + keep_h, left:left + keep_w] = dy[:, :keep_h, :keep_w]
    zero_bias = np.zeros((1, 1, 1, x.shape[3]), dtype=W.dtype)
    dx, conv_cache = conv_forward(canvas, W, zero_bias, {"stride": geo.stride, "pad": 0})
    _, dW, _ = conv_backward(x, conv_cache, compute_dA_prev=False)
    d_h, d_w = cache.dilation
    return (dx if compute_dx else None), np.ascontiguousarray(dW[::d_h, ::d_w]), db
