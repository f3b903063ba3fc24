"""`convnp.ops.tiled_windows`: pooling windows that tile their input, in 1 to 3 spatial axes,
against plain per-window reductions, and max-pool gradients against the first-maximum rule."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import conv3d, reference_conv3d, tiled_windows

CASES = [((2, 6, 3), (3,)), ((2, 4, 6, 3), (2, 2)), ((1, 6, 4, 2), (3, 1)),
         ((2, 4, 6, 8, 2), (2, 2, 2)), ((2, 2, 6, 4, 3), (1, 3, 2))]


def _windowed(x, kernel):
    """``x`` as ``(m, outputs..., window cells, n_C)``, by plain indexing."""
    dims = x.shape[1:-1]
    outs = [n // f for n, f in zip(dims, kernel)]
    cells = []
    for offset in np.ndindex(*kernel):
        index = (slice(None),) + tuple(slice(k, k + f * o, f)
                                       for k, f, o in zip(offset, kernel, outs))
        cells.append(x[index])
    return np.stack(cells, axis=-2)


@pytest.mark.parametrize("shape, kernel", CASES)
@pytest.mark.parametrize("ufunc, reduction", [(np.maximum, np.max), (np.add, np.sum)])
def test_reduce_matches_the_window_reduction(shape, kernel, ufunc, reduction):
    x = np.random.default_rng(0).standard_normal(shape)
    out_dims = [n // f for n, f in zip(shape[1:-1], kernel)]
    assert tiled_windows.tiles(shape[1:-1], out_dims, kernel, kernel, False)
    out = np.empty((shape[0], *out_dims, shape[-1]))
    tiled_windows.reduce(x, kernel, ufunc, out)
    np.testing.assert_allclose(out, reduction(_windowed(x, kernel), axis=-2), rtol=1e-12)


@pytest.mark.parametrize("shape, kernel", CASES)
def test_route_sends_each_gradient_to_the_unique_maximum(shape, kernel):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    windows = _windowed(x, kernel)
    pooled = windows.max(axis=-2)
    grad = rng.standard_normal(pooled.shape)
    target = np.full(x.shape, 0.5)
    assert tiled_windows.route_unique_maxima(x, pooled, grad, target, kernel, accumulate=True)
    routed = _windowed(target - 0.5, kernel)
    winner = windows == pooled[..., None, :]
    np.testing.assert_allclose(routed, np.where(winner, grad[..., None, :], 0.0), atol=1e-12)


def test_route_refuses_ties_and_nan_without_writing():
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = 1.0  # a tie in the first window
    pooled = _windowed(x, (2, 2)).max(axis=-2)
    target = np.full(x.shape, 7.0)
    assert not tiled_windows.route_unique_maxima(x, pooled, np.ones_like(pooled), target,
                                                 (2, 2), accumulate=False)
    y = np.arange(16.0).reshape(1, 4, 4, 1)
    y[0, 0, 0, 0] = np.nan
    assert not tiled_windows.route_unique_maxima(y, np.maximum.reduce(
        _windowed(y, (2, 2)), axis=-2), np.ones((1, 2, 2, 1)), target, (2, 2), False)
    assert (target == 7.0).all()


def test_tiles_rejects_padding_strides_and_leftovers():
    assert tiled_windows.tiles((4, 6), (2, 3), (2, 2), (2, 2), False)
    assert not tiled_windows.tiles((4, 6), (2, 3), (2, 2), (2, 2), True)
    assert not tiled_windows.tiles((4, 6), (3, 5), (2, 2), (1, 1), False)
    assert not tiled_windows.tiles((5, 6), (2, 3), (2, 2), (2, 2), False)


def test_3d_max_pool_takes_the_tiled_route_and_matches_the_loops():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 6, 4, 3))
    a, cache = conv3d.pool3d_forward(x, 2)
    assert cache[1]["tiled"]
    da = rng.standard_normal(a.shape)
    np.testing.assert_allclose(a, reference_conv3d.pool3d_forward(x, 2, None, "valid", "max"))
    np.testing.assert_allclose(conv3d.pool3d_backward(da, cache),
                               reference_conv3d.pool3d_backward(x, da, 2, None, "valid", "max"))
