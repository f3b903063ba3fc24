"""Group normalization (Wu and He, 2018), channels last: the fast kernels.

The ``C`` channels of each example are split into ``groups`` groups of ``C // groups``
consecutive channels; each (example, group) pair is normalized with the mean and (biased)
variance of all its values (every spatial position, every channel of the group), then each
channel is scaled by ``gamma`` and shifted by ``beta``. With ``groups == C`` it is instance
normalization, with ``groups == 1`` layer normalization over all the non-batch axes.

The readable loop twin is `convnp.ops.reference_group_norm`.
"""

from __future__ import annotations

import numpy as np


def check_groups(n_C: int, groups: int) -> None:
    """Refuse a channel count that the groups do not divide."""
    if n_C % groups:
        raise ValueError(f"group normalization: {n_C} channels cannot be split into "
                         f"{groups} equal groups (channels must be a multiple of groups)")


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """``(m, ..., C)`` seen as ``(m, positions, groups, C // groups)`` (a view when possible)."""
    m, n_C = a.shape[0], a.shape[-1]
    return a.reshape(m, -1, groups, n_C // groups)


def group_norm_forward(x: np.ndarray, gamma, beta, groups: int,
                       epsilon: float) -> tuple[np.ndarray, tuple]:
    """Normalize ``x`` of shape ``(m, ..., C)``; ``gamma``/``beta`` are ``(C,)`` or None.

    Returns ``(y, cache)``; the cache holds the normalized input ``x_hat`` (shape of ``x``),
    the inverse standard deviations ``(m, 1, groups, 1)``, ``gamma`` and ``groups``.
    """
    check_groups(x.shape[-1], groups)
    xg = _grouped(x, groups)
    mean = xg.mean(axis=(1, 3), keepdims=True)
    centered = xg - mean
    var = np.mean(centered * centered, axis=(1, 3), keepdims=True)
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(epsilon))
    x_hat = (centered * inv_std).reshape(x.shape)
    y = x_hat
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    if y is x_hat:
        y = x_hat.copy()
    return y, (x_hat, inv_std, gamma, groups)


def group_norm_backward(dy: np.ndarray, cache: tuple):
    """Gradients of `group_norm_forward`: ``(dx, dgamma, dbeta)`` (``dgamma``/``dbeta`` are
    ``(C,)`` sums over the batch and positions; computed even when the layer has no such
    weight)."""
    x_hat, inv_std, gamma, groups = cache
    reduce = tuple(range(dy.ndim - 1))
    dbeta = dy.sum(axis=reduce)
    dgamma = (dy * x_hat).sum(axis=reduce)
    d_hat = dy * gamma if gamma is not None else dy
    dg = _grouped(d_hat, groups)
    hg = _grouped(x_hat, groups)
    # the usual normalization backward, with the group as the set of values sharing a mean
    dx = inv_std * (dg - dg.mean(axis=(1, 3), keepdims=True)
                    - hg * np.mean(dg * hg, axis=(1, 3), keepdims=True))
    return dx.reshape(dy.shape), dgamma, dbeta
