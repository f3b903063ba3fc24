"""Readable loop twin of `convnp.ops.group_norm` (the oracle; tests and readers only).

One loop per example and group, written from the definitions: the group's values are
collected, their mean and variance computed, each value normalized; the backward applies the
chain rule through the mean and the variance term by term.
"""

from __future__ import annotations

import numpy as np


def _members(x_shape, groups: int, e: int, g: int):
    """Every index of example ``e``'s group ``g`` in an ``(m, ..., C)`` array."""
    per_group = x_shape[-1] // groups
    for position in np.ndindex(*x_shape[1:-1]):
        for c in range(g * per_group, (g + 1) * per_group):
            yield (e, *position, c)


def group_norm_forward(x: np.ndarray, gamma, beta, groups: int, epsilon: float):
    """Same contract as the fast version; the cache is ``(x, gamma, groups, epsilon)``."""
    if x.shape[-1] % groups:
        raise ValueError(f"group normalization: {x.shape[-1]} channels cannot be split into "
                         f"{groups} equal groups")
    y = np.zeros_like(x)
    for e in range(x.shape[0]):
        for g in range(groups):
            idx = list(_members(x.shape, groups, e, g))
            values = np.array([x[i] for i in idx], dtype=np.float64)
            mean = values.sum() / len(values)
            var = ((values - mean) ** 2).sum() / len(values)
            for i in idx:
                c = i[-1]
                v = (x[i] - mean) / np.sqrt(var + epsilon)
                if gamma is not None:
                    v = v * gamma[c]
                if beta is not None:
                    v = v + beta[c]
                y[i] = v
    return y, (x, gamma, groups, epsilon)


def group_norm_backward(dy: np.ndarray, cache: tuple):
    """``(dx, dgamma, dbeta)`` by the chain rule, one group at a time."""
    x, gamma, groups, epsilon = cache
    n_C = x.shape[-1]
    dx = np.zeros_like(x)
    dgamma = np.zeros(n_C, dtype=x.dtype)
    dbeta = np.zeros(n_C, dtype=x.dtype)
    for e in range(x.shape[0]):
        for g in range(groups):
            idx = list(_members(x.shape, groups, e, g))
            n = len(idx)
            values = np.array([x[i] for i in idx], dtype=np.float64)
            mean = values.sum() / n
            var = ((values - mean) ** 2).sum() / n
            std = np.sqrt(var + epsilon)
            # dL/dx_hat for each member, and the two sums the mean and variance feed back
            d_hat = []
            for i in idx:
                c = i[-1]
                x_hat = (x[i] - mean) / std
                dbeta[c] += dy[i]
                dgamma[c] += dy[i] * x_hat
                d_hat.append(dy[i] * (gamma[c] if gamma is not None else 1.0))
            d_hat = np.array(d_hat)
            d_var = np.sum(d_hat * (values - mean)) * -0.5 * std ** -3
            d_mean = -np.sum(d_hat) / std + d_var * -2.0 * np.sum(values - mean) / n
            for k, i in enumerate(idx):
                dx[i] = d_hat[k] / std + d_var * 2.0 * (values[k] - mean) / n + d_mean / n
    return dx, dgamma, dbeta
