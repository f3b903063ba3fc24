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


def _rows(a: np.ndarray) -> np.ndarray:
    """``(m, ..., C)`` as ``(m, positions, C)`` (a view of a contiguous array)."""
    return a.reshape(a.shape[0], -1, a.shape[-1])


def _group_means(a3: np.ndarray, groups: int) -> np.ndarray:
    """The mean of each (example, group) of ``a3`` ``(m, positions, C)``, repeated for each
    channel of the group: ``(m, 1, C)``.

    Summed over the positions first (whole rows of C contiguous numbers added together),
    then over each group's channels in the small ``(m, C)`` result. Reducing the grouped
    view ``(m, positions, groups, C // groups)`` over axes 1 and 3 at once walks runs of
    ``C // groups`` numbers and took 5x as long."""
    m, positions, n_C = a3.shape
    per_channel = np.add.reduce(a3, axis=1)  # (m, C)
    size = n_C // groups
    means = np.add.reduce(per_channel.reshape(m, groups, size), axis=2) / a3.dtype.type(
        positions * size)
    return np.repeat(means, size, axis=1)[:, None, :]


def group_norm_forward(x: np.ndarray, gamma, beta, groups: int,
                       epsilon: float) -> tuple[np.ndarray, tuple]:
    """Normalize ``x`` of shape ``(m, ..., C)``; ``gamma``/``beta`` are ``(C,)`` or None.

    Returns ``(y, cache)``; the cache holds the normalized input ``x_hat`` (shape of ``x``),
    the inverse standard deviations per channel ``(m, 1, C)`` (equal within a group),
    ``gamma`` and ``groups``.
    """
    check_groups(x.shape[-1], groups)
    x3 = _rows(np.ascontiguousarray(x))
    centered = x3 - _group_means(x3, groups)
    inv_std = _group_means(centered * centered, groups)
    inv_std += x.dtype.type(epsilon)
    np.sqrt(inv_std, out=inv_std)
    np.divide(x.dtype.type(1), inv_std, out=inv_std)
    centered *= inv_std
    x_hat = centered.reshape(x.shape)
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
    n_C = dy.shape[-1]
    dy2 = np.ascontiguousarray(dy).reshape(-1, n_C)
    hat2 = x_hat.reshape(-1, n_C)
    dbeta = np.add.reduce(dy2, axis=0)
    product = dy2 * hat2
    dgamma = np.add.reduce(product, axis=0)
    if gamma is not None:
        d_hat = dy2 * gamma
        np.multiply(d_hat, hat2, out=product)
    else:
        d_hat = dy2
    # the usual normalization backward, with the group as the set of values sharing a mean
    d3, h3 = _rows(d_hat.reshape(dy.shape)), _rows(x_hat)
    dx = d3 - _group_means(d3, groups)
    dx -= h3 * _group_means(_rows(product.reshape(dy.shape)), groups)
    dx *= inv_std
    return dx.reshape(dy.shape), dgamma, dbeta
