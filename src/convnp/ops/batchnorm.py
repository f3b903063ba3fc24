"""Batch normalization on arrays: forward with batch or moving statistics, and backward.

Every function works on a 2-D ``(rows, features)`` view of the input (`to_rows`: free for
channels-last input ``(m, n_H, n_W, n_C)``): the statistics are per feature (column), taken
over all the rows. With ``x_hat = (x - mean) / sqrt(var + epsilon)``::

    y = gamma * x_hat + beta

Training uses the batch's mean and biased variance; inference the moving ones. Both forwards
compute ``y = x * scale + shift`` with per-feature ``scale = gamma / sqrt(var + eps)`` and
``shift = beta - mean * scale``: one pass over ``x`` writing ``y``. Training first reads ``x``
once for ``sum(x)`` and ``sum(x * x)`` (`moments`). Both passes can also add a residual and
rectify (``max(y, 0)``, capped at ``max_value`` for ReLU6): the fused BatchNormalization +
(Add +) ReLU of the model scheduler.

Each row pass is shared out over blocks of rows between the cores (`convnp.ops.threads`).
``gamma``/``beta`` may be None (``scale=False`` / ``center=False``: 1 and 0). Arrays keep
the float dtype they are given; the per-feature numbers are computed in float64.

The readable loop twin is `convnp.ops.reference_batchnorm`.
"""

from __future__ import annotations

import numpy as np

from convnp.ops.reductions import column_sums
from convnp.ops.threads import map_rows

# Below this many rows per core a pass is too small to share out between threads.
MIN_ROWS = 8192
# Above this (mean^2 / variance), raw moments lose too many digits to cancellation.
_RAW_MOMENTS_LIMIT = 100.0


def _check_axis(axis, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"batch norm: axis must be an int, got {axis!r}")
    if ndim < 2 or not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(f"batch norm: axis {axis} is not a feature axis of an array of rank "
                         f"{ndim} (expected 1..{ndim - 1} or -1..{1 - ndim})")
    return int(axis) % ndim


def to_rows(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x`` as ``(rows, features)`` with the feature ``axis`` last (a view when ``axis`` is
    the last one and ``x`` is contiguous)."""
    axis = _check_axis(axis, x.ndim)
    if axis != x.ndim - 1:
        x = np.moveaxis(x, axis, -1)
    return x.reshape(-1, x.shape[-1])


def from_rows(a2d: np.ndarray, shape: tuple, axis: int = -1) -> np.ndarray:
    """Undo `to_rows`: ``(rows, features)`` back to ``shape``."""
    axis = int(axis) % len(shape)
    if axis == len(shape) - 1:
        return a2d.reshape(shape)
    moved = tuple(shape[:axis]) + tuple(shape[axis + 1:]) + (shape[axis],)
    return np.moveaxis(a2d.reshape(moved), -1, axis)


def moments(x2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and biased variance (float64) of a ``(rows, n)`` array.

    One read of ``x`` for ``sum(x)`` and ``sum(x * x)`` (no array is written). The raw second
    moment loses ``mean^2 / var`` times more relative precision than the centred one; the
    float32 block sums are good to ~1e-7, so past `_RAW_MOMENTS_LIMIT` the variance is taken
    again from centred values.
    """
    rows = x2d.shape[0]
    if rows == 0:
        raise ValueError("batch norm: the batch statistics need at least one row, got 0")
    parts = map_rows(lambda r: (column_sums(x2d[r]), column_sums(x2d[r], x2d[r])), rows,
                     MIN_ROWS)
    mean = sum(p[0] for p in parts) / rows
    var = np.maximum(sum(p[1] for p in parts) / rows - mean * mean, 0.0)
    if np.all(mean * mean <= _RAW_MOMENTS_LIMIT * var):
        return mean, var
    mean_x = mean.astype(x2d.dtype)

    def centred_squares(r: slice) -> np.ndarray:
        centred = x2d[r] - mean_x
        return column_sums(centred, centred)

    return mean, sum(map_rows(centred_squares, rows, MIN_ROWS)) / rows


def inverse_std(variance, epsilon: float) -> np.ndarray:
    """``1 / sqrt(variance + epsilon)`` in float64."""
    return 1.0 / np.sqrt(np.asarray(variance, dtype=np.float64) + float(epsilon))


def scale_and_shift(mean, variance, gamma, beta, epsilon: float,
                    dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``scale = gamma / sqrt(var + eps)`` and ``shift = beta - mean * scale``
    (``y = x * scale + shift``), cast to ``dtype``."""
    scale = inverse_std(variance, epsilon)
    if gamma is not None:
        scale = scale * gamma
    shift = -np.asarray(mean, dtype=np.float64) * scale
    if beta is not None:
        shift = shift + beta
    return scale.astype(dtype), shift.astype(dtype)


def affine(x2d: np.ndarray, scale: np.ndarray, shift: np.ndarray, residual2d=None,
           relu: bool = False, max_value: float | None = None) -> np.ndarray:
    """``x * scale + shift`` per column, plus ``residual2d`` when given, then ``max(., 0)``
    when ``relu`` (and ``min(., max_value)`` with a cap): one threaded pass writing a new
    ``(rows, n)`` array."""
    y2d = np.empty_like(x2d)
    cap = None if max_value is None else x2d.dtype.type(max_value)

    def rows_pass(r: slice) -> None:
        np.multiply(x2d[r], scale, out=y2d[r])
        y2d[r] += shift
        if residual2d is not None:
            y2d[r] += residual2d[r]
        if relu:
            np.maximum(y2d[r], 0, out=y2d[r])
            if cap is not None:
                np.minimum(y2d[r], cap, out=y2d[r])

    map_rows(rows_pass, x2d.shape[0], MIN_ROWS)
    return y2d


def update_moving(moving: np.ndarray, batch_value: np.ndarray, momentum: float) -> None:
    """``moving <- momentum * moving + (1 - momentum) * batch_value``, in place."""
    moving[...] = moving * momentum + batch_value * (1.0 - momentum)


class BatchNormCache(tuple):
    """What backward needs: ``(x2d, mean, inv_std, gamma, batch_stats)``.

    ``x2d`` is the input seen as ``(rows, features)`` (None when no gradient needs it),
    ``mean`` and ``inv_std`` the float64 statistics used, ``batch_stats`` whether they were
    the batch's own (then the gradient flows through them). Attributes: ``variance`` (the
    batch's biased variance, for the moving averages), ``shape`` and ``axis`` of the input.
    """

    variance: np.ndarray
    shape: tuple
    axis: int

    @classmethod
    def make(cls, x2d, mean, inv_std, gamma, batch_stats: bool, variance, shape,
             axis: int) -> BatchNormCache:
        cache = cls((x2d, mean, inv_std, gamma, batch_stats))
        cache.variance, cache.shape, cache.axis = variance, tuple(shape), axis % len(shape)
        return cache


def _check_params(x: np.ndarray, axis, **per_feature) -> int:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"batch norm: x must be a float ndarray, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    axis = _check_axis(axis, x.ndim)
    n = x.shape[axis]
    for name, value in per_feature.items():
        if value is not None and np.shape(value) != (n,):
            raise ValueError(f"batch norm: {name} must have shape ({n},) (the size of axis "
                             f"{axis}), got {np.shape(value)}")
    return axis


def batch_norm_forward(x: np.ndarray, gamma, beta, epsilon: float, axis: int = -1,
                       residual=None, relu: bool = False,
                       max_value: float | None = None) -> tuple[np.ndarray, BatchNormCache]:
    """Training forward: normalize with the batch's own statistics.

    Args:
        x: input, e.g. ``(m, n_H, n_W, n_C)``; features along ``axis``.
        gamma, beta: ``(n_C,)`` or None.
        epsilon: added to the variance.
        axis: the feature axis.
        residual: optional array of ``x``'s shape added after the normalization.
        relu: rectify the result (``max(y, 0)``).
        max_value: with ``relu``, cap the result there too (ReLU6: 6).

    Returns:
        ``(y, cache)``: ``y`` of ``x``'s shape and dtype; ``cache.mean`` is ``cache[1]``,
        ``cache.variance`` the biased batch variance (for the moving averages).
    """
    axis = _check_params(x, axis, gamma=gamma, beta=beta)
    x2d = to_rows(x, axis)
    mean, var = moments(x2d)
    scale, shift = scale_and_shift(mean, var, gamma, beta, epsilon, x.dtype)
    res2d = None if residual is None else to_rows(np.asarray(residual, dtype=x.dtype), axis)
    y2d = affine(x2d, scale, shift, res2d, relu, max_value)
    cache = BatchNormCache.make(x2d, mean, inverse_std(var, epsilon), gamma, True, var, x.shape, axis)
    return from_rows(y2d, x.shape, axis), cache


def batch_norm_inference(x: np.ndarray, moving_mean, moving_variance, gamma, beta,
                         epsilon: float, axis: int = -1, residual=None, relu: bool = False,
                         max_value: float | None = None,
                         keep_input: bool = True) -> tuple[np.ndarray, BatchNormCache]:
    """Inference forward: normalize with the moving statistics (one pass over ``x``).

    Same arguments as `batch_norm_forward`, plus ``moving_mean``/``moving_variance``
    ``(n_C,)``; ``keep_input=False`` leaves ``x`` out of the cache (nothing will ask for
    ``gamma``'s gradient).
    """
    axis = _check_params(x, axis, gamma=gamma, beta=beta, moving_mean=moving_mean,
                         moving_variance=moving_variance)
    x2d = to_rows(x, axis)
    scale, shift = scale_and_shift(moving_mean, moving_variance, gamma, beta, epsilon, x.dtype)
    res2d = None if residual is None else to_rows(np.asarray(residual, dtype=x.dtype), axis)
    y2d = affine(x2d, scale, shift, res2d, relu, max_value)
    mean = np.asarray(moving_mean, dtype=np.float64)
    cache = BatchNormCache.make(x2d if keep_input else None, mean, inverse_std(moving_variance, epsilon),
                   gamma, False, None, x.shape, axis)
    return from_rows(y2d, x.shape, axis), cache


def gradient_terms(cache: BatchNormCache, dbeta: np.ndarray, dgamma, rows: int,
                   dtype) -> tuple:
    """Per-feature ``k, a, c`` of ``dx = k * dy + a * x + c`` (``a``, ``c`` None without batch
    statistics: then ``dx = k * dy``), cast to ``dtype``.

    With ``k = gamma * inv_std`` the gradient through the batch mean and variance is
    ``k * (dy - dbeta / rows - x_hat * dgamma / rows)``; expanding ``x_hat`` gives ``a`` and
    ``c``, so no ``x_hat`` array is formed.
    """
    _, mean, inv_std, gamma, batch_stats = cache
    k = inv_std if gamma is None else gamma * inv_std
    if not batch_stats:
        return k.astype(dtype), None, None
    a = -k * inv_std * dgamma / rows
    c = -k * dbeta / rows - a * mean
    return k.astype(dtype), a.astype(dtype), c.astype(dtype)


def batch_norm_backward(dy: np.ndarray, cache: BatchNormCache, compute_dx: bool = True,
                        relu_output=None, max_value: float | None = None,
                        keep_dz: bool = False) -> tuple:
    """Gradients of a batch normalization (followed, with ``relu_output``, by a ReLU).

    Args:
        dy: gradient of the output, the input's shape.
        cache: from `batch_norm_forward` or `batch_norm_inference`.
        compute_dx: False skips the input gradient (returned as None).
        relu_output: the rectified output the forward returned (``relu=True``): ``dy`` is
            first masked where it is 0 (ReLU's backward, one multiply in the same pass),
            and where it equals ``max_value`` when the forward was capped.
        keep_dz: also return the masked gradient (a residual's gradient).

    Returns:
        ``(dx, dgamma, dbeta)`` (float64 ``dgamma``/``dbeta``; ``dgamma`` None when the
        cache has no input), and ``dz`` last with ``keep_dz``. ``dy`` is never written.
    """
    x2d, mean, inv_std, _, batch_stats = cache
    if tuple(dy.shape) != cache.shape:
        raise ValueError(f"batch norm backward: dy must have the input's shape {cache.shape}, "
                         f"got {dy.shape}")
    axis = cache.axis
    dy2d = to_rows(np.asarray(dy), axis)
    rows = dy2d.shape[0]
    dz2d = dy2d
    if relu_output is not None:
        y2d = to_rows(np.asarray(relu_output), axis)
        dz2d = np.empty_like(dy2d)

    def partial_sums(r: slice) -> tuple:
        if relu_output is not None:
            passes = y2d[r] > 0
            if max_value is not None:
                passes &= y2d[r] < max_value
            np.multiply(dy2d[r], passes, out=dz2d[r])
        return column_sums(dz2d[r]), None if x2d is None else column_sums(dz2d[r], x2d[r])

    parts = map_rows(partial_sums, rows, MIN_ROWS)
    dbeta = sum(p[0] for p in parts)
    dgamma = None if x2d is None else (sum(p[1] for p in parts) - mean * dbeta) * inv_std
    extra = (from_rows(dz2d, cache.shape, axis),) if keep_dz else ()
    if not compute_dx:
        return (None, dgamma, dbeta) + extra
    k, a, c = gradient_terms(cache, dbeta, dgamma, rows, dy2d.dtype)
    # The masked gradient is ours unless it is kept: then dx is written over it.
    dx2d = dz2d if dz2d is not dy2d and not keep_dz else np.empty_like(dy2d)

    def input_gradient(r: slice) -> None:
        np.multiply(dz2d[r], k, out=dx2d[r])
        if batch_stats:
            dx2d[r] += x2d[r] * a
            dx2d[r] += c

    map_rows(input_gradient, rows, MIN_ROWS)
    return (from_rows(dx2d, cache.shape, axis), dgamma, dbeta) + extra
