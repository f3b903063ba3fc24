"""Batch normalization as readable loops: the oracle for `convnp.ops.batchnorm`.

Same signatures and results as the fast functions (tests and readers only). Every loop runs
over the features (the columns of the ``(rows, features)`` view) and, inside, over the rows,
with the textbook formulas::

    mean  = sum(x) / rows               var = sum((x - mean)^2) / rows   (biased)
    x_hat = (x - mean) / sqrt(var + eps)
    y     = gamma * x_hat + beta        (+ residual, then max(., 0) and min(., cap) when asked)

and for backward, with ``dz`` the output gradient (masked by ``0 < y < cap`` after a ReLU)::

    dbeta  = sum(dz)                    dgamma = sum(dz * x_hat)
    dx     = gamma / sqrt(var + eps) * (dz - dbeta / rows - x_hat * dgamma / rows)

(the last two terms only when the batch's own statistics were used).
"""

from __future__ import annotations

import math

import numpy as np

from convnp.ops.batchnorm import BatchNormCache, from_rows, to_rows


def _normalize(x, mean, var, gamma, beta, epsilon, axis, residual, relu, max_value):
    x2d = to_rows(x, axis)
    res2d = None if residual is None else to_rows(np.asarray(residual, dtype=x.dtype), axis)
    rows, features = x2d.shape
    y2d = np.zeros_like(x2d)
    for j in range(features):
        inv_std = 1.0 / math.sqrt(float(var[j]) + epsilon)
        g = 1.0 if gamma is None else float(gamma[j])
        b = 0.0 if beta is None else float(beta[j])
        for i in range(rows):
            value = g * (float(x2d[i, j]) - float(mean[j])) * inv_std + b
            if res2d is not None:
                value += float(res2d[i, j])
            if relu and value < 0.0:
                value = 0.0
            if relu and max_value is not None and value > max_value:
                value = max_value
            y2d[i, j] = value
    inv_std = np.array([1.0 / math.sqrt(float(v) + epsilon) for v in var])
    return x2d, from_rows(y2d, x.shape, axis), inv_std


def batch_norm_forward(x, gamma, beta, epsilon, axis=-1, residual=None, relu=False,
                       max_value=None):
    """Training forward with the batch's statistics (loops); see the fast version."""
    x2d = to_rows(x, axis)
    rows, features = x2d.shape
    mean = np.zeros(features)
    var = np.zeros(features)
    for j in range(features):
        total = 0.0
        for i in range(rows):
            total += float(x2d[i, j])
        mean[j] = total / rows
        squares = 0.0
        for i in range(rows):
            squares += (float(x2d[i, j]) - mean[j]) ** 2
        var[j] = squares / rows
    x2d, y, inv_std = _normalize(x, mean, var, gamma, beta, epsilon, axis, residual, relu,
                                 max_value)
    return y, BatchNormCache.make(x2d, mean, inv_std, gamma, True, var, x.shape, axis)


def batch_norm_inference(x, moving_mean, moving_variance, gamma, beta, epsilon, axis=-1,
                         residual=None, relu=False, max_value=None, keep_input=True):
    """Inference forward with the moving statistics (loops); see the fast version."""
    mean = np.asarray(moving_mean, dtype=np.float64)
    x2d, y, inv_std = _normalize(x, mean, moving_variance, gamma, beta, epsilon, axis,
                                 residual, relu, max_value)
    return y, BatchNormCache.make(x2d if keep_input else None, mean, inv_std, gamma, False, None, x.shape,
                     axis)


def batch_norm_backward(dy, cache, compute_dx=True, relu_output=None, max_value=None,
                        keep_dz=False):
    """Gradients ``(dx, dgamma, dbeta)`` (and ``dz`` with ``keep_dz``), as loops."""
    x2d, mean, inv_std, gamma, batch_stats = cache
    dy2d = to_rows(np.asarray(dy), cache.axis)
    rows, features = dy2d.shape
    dz2d = dy2d.copy()
    if relu_output is not None:
        y2d = to_rows(np.asarray(relu_output), cache.axis)
        for i in range(rows):
            for j in range(features):
                capped = max_value is not None and not y2d[i, j] < max_value
                if not y2d[i, j] > 0 or capped:
                    dz2d[i, j] = 0.0
    dbeta = np.zeros(features)
    dgamma = None if x2d is None else np.zeros(features)
    for j in range(features):
        for i in range(rows):
            dbeta[j] += float(dz2d[i, j])
            if x2d is not None:
                x_hat = (float(x2d[i, j]) - mean[j]) * inv_std[j]
                dgamma[j] += float(dz2d[i, j]) * x_hat
    dx = None
    if compute_dx:
        dx2d = np.zeros_like(dy2d)
        for j in range(features):
            k = inv_std[j] * (1.0 if gamma is None else float(gamma[j]))
            for i in range(rows):
                value = float(dz2d[i, j])
                if batch_stats:
                    x_hat = (float(x2d[i, j]) - mean[j]) * inv_std[j]
                    value -= dbeta[j] / rows + x_hat * dgamma[j] / rows
                dx2d[i, j] = k * value
        dx = from_rows(dx2d, cache.shape, cache.axis)
    result = (dx, dgamma, dbeta)
    if keep_dz:
        result += (from_rows(dz2d, cache.shape, cache.axis),)
    return result
