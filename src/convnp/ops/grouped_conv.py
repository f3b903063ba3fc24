"""Grouped convolution (Keras' ``Conv2D(groups=g)`` / ``Conv1D(groups=g)``), NHWC.

The input channels are cut into ``g`` equal consecutive groups and so are the filters; group
``i``'s filters see only group ``i``'s channels. So the kernel is ``(f_h, f_w, n_C_prev / g,
n_C)`` and output channel ``o`` belongs to group ``o // (n_C / g)``. A grouped convolution is
``g`` ordinary ones side by side, and that is how it runs here: one `conv_forward` /
`conv_backward` of `convnp.ops.conv` per group, on that group's channels, results written next
to each other. When every group has a single input channel (``g == n_C_prev``) it is a
depthwise convolution with ``n_C / g`` filters per channel (same output order), and runs on
`convnp.ops.depthwise` instead of ``g`` one-channel GEMMs.

The readable twin is `convnp.ops.reference.grouped_conv_forward` (the reference convolution
per group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convnp.ops.conv import conv_backward, conv_forward
from convnp.ops.depthwise import depthwise_conv_backward, depthwise_conv_forward
from convnp.ops.padding import check_batch, float_dtype


@dataclass
class GroupedConvCache:
    """What `grouped_conv_backward` needs; callers treat it as opaque.

    Attributes:
        parts: one `conv_forward` cache per group, or the single depthwise cache.
        groups: the number of groups.
        depthwise: whether the depthwise kernel ran (one input channel per group).
        input_shape: shape of ``A_prev``; dtype: the compute dtype.
        kernel_shape: the grouped kernel's shape ``(f_h, f_w, n_C_prev / g, n_C)``.
    """

    parts: list
    groups: int
    depthwise: bool
    input_shape: tuple
    dtype: np.dtype
    kernel_shape: tuple


def grouped_conv_input(cache: GroupedConvCache) -> np.ndarray:
    """The input ``A_prev`` (in the compute dtype) that `grouped_conv_forward` made
    ``cache`` from, read back from its parts (a second-order rule runs the op on it again)."""
    if cache.depthwise:
        return cache.parts[0].source.unpadded()
    return np.concatenate([part[0] for part in cache.parts], axis=3)


def check_groups(n_C_prev: int, W_shape: tuple, groups, op: str) -> None:
    """Refuse a grouping the channels do not allow (before any work)."""
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) \
            or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if len(W_shape) != 4:
        raise ValueError(f"{op}: W must have shape (f_h, f_w, n_C_prev / groups, n_C), "
                         f"got {tuple(W_shape)}")
    if n_C_prev % groups or W_shape[3] % groups:
        raise ValueError(f"{op}: input channels ({n_C_prev}) and filters ({W_shape[3]}) must "
                         f"both be divisible by groups={groups}")
    if W_shape[2] * groups != n_C_prev:
        raise ValueError(f"{op}: W must have n_C_prev / groups = {n_C_prev // groups} input "
                         f"channels on axis 2, got W.shape={tuple(W_shape)}")


def grouped_conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                         hparameters: dict, groups: int):
    """Grouped convolution of a batch.

    Args:
        A_prev: input ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: kernel ``(f_h, f_w, n_C_prev / groups, n_C)``.
        b: bias ``(1, 1, 1, n_C)``.
        hparameters: as for `conv_forward` (``stride``, ``pad``, optional ``dilation``).
        groups: number of groups; divides ``n_C_prev`` and ``n_C``.

    Returns:
        ``(Z, cache)``: ``Z`` ``(m, n_H, n_W, n_C)`` in the operands' float dtype, and the
        opaque cache for `grouped_conv_backward`.
    """
    check_batch(A_prev, "A_prev")
    if not isinstance(W, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"grouped_conv_forward: W and b must be arrays, got "
                        f"{type(W).__name__} and {type(b).__name__}")
    check_groups(A_prev.shape[3], W.shape, groups, "grouped_conv_forward")
    if b.size != W.shape[3]:
        raise ValueError(f"grouped_conv_forward: b must hold {W.shape[3]} values (one per "
                         f"filter), got shape {b.shape}")
    dtype = float_dtype(A_prev, W, b)
    A_prev = A_prev.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    b = b.astype(dtype, copy=False).reshape(1, 1, 1, -1)
    f_h, f_w, c_in, n_C = W.shape
    if c_in == 1 and groups > 1:
        # one channel per group: depthwise, Keras' output order c * k + j either way
        Z, cache = depthwise_conv_forward(A_prev, W.reshape(f_h, f_w, groups, n_C // groups),
                                          b, hparameters)
        return Z, GroupedConvCache([cache], groups, True, A_prev.shape, dtype, W.shape)
    c_out = n_C // groups
    outputs, parts = [], []
    for g in range(groups):
        x_g = np.ascontiguousarray(A_prev[..., g * c_in:(g + 1) * c_in])
        Z_g, cache_g = conv_forward(x_g, np.ascontiguousarray(W[..., g * c_out:(g + 1) * c_out]),
                                    np.ascontiguousarray(b[..., g * c_out:(g + 1) * c_out]),
                                    hparameters)
        outputs.append(Z_g)
        parts.append(cache_g)
    Z = np.concatenate(outputs, axis=3)
    return Z, GroupedConvCache(parts, groups, False, A_prev.shape, dtype, W.shape)


def grouped_conv_backward(dZ: np.ndarray, cache: GroupedConvCache,
                          compute_dA_prev: bool = True):
    """Gradients of `grouped_conv_forward`.

    Returns:
        ``(dA_prev, dW, db)``: shapes of ``A_prev``, ``W`` and ``(1, 1, 1, n_C)``;
        ``dA_prev`` is ``None`` when ``compute_dA_prev`` is False.
    """
    if not isinstance(cache, GroupedConvCache):
        raise TypeError(f"grouped_conv_backward: cache must come from grouped_conv_forward, "
                        f"got {type(cache).__name__}")
    n_C = cache.kernel_shape[3]
    if not isinstance(dZ, np.ndarray) or dZ.ndim != 4 or dZ.shape[0] != cache.input_shape[0] \
            or dZ.shape[3] != n_C:
        raise ValueError(f"grouped_conv_backward: dZ must have shape (m={cache.input_shape[0]}, "
                         f"n_H, n_W, n_C={n_C}), got {getattr(dZ, 'shape', type(dZ).__name__)}")
    dZ = dZ.astype(cache.dtype, copy=False)
    if cache.depthwise:
        dA, dW, db = depthwise_conv_backward(dZ, cache.parts[0], compute_dA_prev)
        return dA, dW.reshape(cache.kernel_shape), db
    c_out = n_C // cache.groups
    c_in = cache.kernel_shape[2]
    dA = np.empty(cache.input_shape, dtype=cache.dtype) if compute_dA_prev else None
    dWs, dbs = [], []
    for g, part in enumerate(cache.parts):
        dA_g, dW_g, db_g = conv_backward(
            np.ascontiguousarray(dZ[..., g * c_out:(g + 1) * c_out]), part,
            compute_dA_prev=compute_dA_prev)
        if dA is not None:
            dA[..., g * c_in:(g + 1) * c_in] = dA_g
        dWs.append(dW_g)
        dbs.append(db_g.reshape(1, 1, 1, c_out))
    return dA, np.concatenate(dWs, axis=3), np.concatenate(dbs, axis=3)
