"""Inference-time arithmetic: a batch normalization folded into the layer before it, and the
elementwise tail (residual add, ReLU or capped ReLU) applied in place on a fresh output.

In inference mode a batch normalization is a fixed affine map per channel,
``y = z * scale + shift`` with ``scale = gamma / sqrt(moving_variance + epsilon)`` and
``shift = beta - moving_mean * scale``. When ``z = x * W + b`` is a convolution (or a dense
layer) with ``W``'s last axis the output channel, ``y = x * (W * scale) + (b * scale + shift)``:
one convolution with changed weights, and the normalization's pass over the output is gone.

>>> import numpy as np
>>> kernel = np.ones((1, 1, 2, 3))
>>> w, b = fold_kernel(kernel, None, np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, -1.0]))
>>> w[0, 0].tolist(), b.tolist()
([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], [0.5, 0.0, -1.0])
"""

from __future__ import annotations

import numpy as np

from convnp.ops import elementwise
from convnp.ops.gemm import MIN_SPLIT_MACS
from convnp.ops.threads import map_rows

# below this many numbers an elementwise pass is not worth sharing between the cores
MIN_ELEMENTS = 1 << 16


def fold_kernel(kernel: np.ndarray, bias: np.ndarray | None, scale: np.ndarray,
                shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weights of ``z * scale + shift`` where ``z = x * kernel + bias``.

    Args:
        kernel: weights whose *flattened* last axes are the output channels in order:
            ``(f_h, f_w, n_C_prev, n_C)`` for Conv2D, ``(n_in, units)`` for Dense,
            ``(f_h, f_w, n_C_prev, depth_multiplier)`` for a depthwise conv (its output channel
            ``c * depth_multiplier + k`` is the pair of the last two axes).
        bias: ``(n_C,)`` or None (no bias: zero).
        scale, shift: ``(n_C,)`` per output channel.

    Returns:
        ``(kernel', bias')``: new arrays in ``kernel``'s dtype; ``bias'`` of shape ``(n_C,)``.
    """
    n_C = scale.shape[0]
    dtype = kernel.dtype
    if n_C not in (kernel.shape[-1], int(np.prod(kernel.shape[-2:]))):
        raise ValueError(f"fold_kernel: a kernel of shape {kernel.shape} does not have {n_C} "
                         "output channels on its last axis (or last two axes)")
    scale = np.asarray(scale, dtype=dtype)
    folded = (kernel.reshape(-1, n_C) * scale).reshape(kernel.shape)
    folded_bias = np.asarray(shift, dtype=dtype).copy()
    if bias is not None:
        folded_bias += np.asarray(bias, dtype=dtype) * scale
    return folded, folded_bias


def finish_inplace(z: np.ndarray, shortcut: np.ndarray | None = None, relu: bool = False,
                   max_value: float | None = None) -> np.ndarray:
    """``z += shortcut`` (when given), then ``max(z, 0)`` (when ``relu``), capped at
    ``max_value`` (when given): one pass over ``z``, shared between the cores, written in
    place. ``z`` must be a fresh, contiguous array the caller owns; returns it."""
    if shortcut is None and not relu:
        return z
    flat = z.reshape(-1)
    other = None if shortcut is None else np.asarray(shortcut, dtype=z.dtype).reshape(-1)
    cap = None if max_value is None else z.dtype.type(max_value)

    map_rows(lambda r: _finish_block(flat[r], None, None if other is None else other[r], relu,
                                     cap), flat.size, MIN_ELEMENTS)
    return z


def _finish_block(part: np.ndarray, bias, shortcut, relu: bool, cap) -> None:
    """``part += bias; part += shortcut; part = relu(part)`` in place, each when given
    (``bias``: a `ColumnTile` of ``part``'s columns)."""
    if bias is not None:
        bias.add_to(part)
    if shortcut is not None:
        part += shortcut
    if relu or cap is not None:
        elementwise.relu(part, out=part, cap=cap)


# Output numbers per block of `pointwise_forward`: the block's GEMM result is still in L2
# when the bias, the shortcut and the ReLU are applied to it. Smaller blocks make smaller
# products (BLAS packs the kernel again for each) and more GIL hand-overs between the threads:
# predict with 256K against 32K (same process, alternating) took 0.87-0.94x the time on
# MobileNetV2 and 0.96-0.99x on ResNet-50; 512K and 2M were no better.
BLOCK_OUTPUTS = 1 << 18


def pointwise_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None,
                      shortcut: np.ndarray | None = None, relu: bool = False,
                      max_value: float | None = None) -> np.ndarray:
    """A 1x1 convolution at stride 1 without padding (or a Dense layer) in inference:
    ``finish(x @ kernel + bias)`` with `finish_inplace`'s tail, block by block of rows.

    Args:
        x: ``(..., n_C_prev)`` (NHWC images, or rows), C-contiguous.
        kernel: ``(1, 1, n_C_prev, n_C)`` or ``(n_C_prev, n_C)``.
        bias: ``(n_C,)`` or None. shortcut: same shape as the output, or None.
        relu, max_value: as for `finish_inplace`.

    Returns:
        ``(..., n_C)``, a new array. Each block of rows is multiplied, then gets the bias, the
        shortcut and the ReLU while it is in cache (one pass over the output instead of
        three); blocks are shared between the cores.
    """
    n_C_prev, n_C = kernel.shape[-2:]
    w = kernel.reshape(n_C_prev, n_C)
    a = x.reshape(-1, n_C_prev)
    out = np.empty((a.shape[0], n_C), dtype=np.result_type(x, kernel))
    other = None if shortcut is None else np.asarray(shortcut, dtype=out.dtype).reshape(-1, n_C)
    cap = None if max_value is None else out.dtype.type(max_value)
    step = max(256, BLOCK_OUTPUTS // n_C)
    bias = None if bias is None else elementwise.ColumnTile(np.asarray(bias, dtype=out.dtype),
                                                           total_rows=len(out))

    def rows(r: slice) -> None:
        for start in range(r.start, r.stop, step):
            b = slice(start, min(start + step, r.stop))
            np.matmul(a[b], w, out=out[b])
            _finish_block(out[b], bias, None if other is None else other[b], relu, cap)

    m = a.shape[0]
    if m * n_C_prev * n_C < MIN_SPLIT_MACS:
        rows(slice(0, m))
    else:
        map_rows(rows, m, 8)
    return out.reshape(*x.shape[:-1], n_C)
