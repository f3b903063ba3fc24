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
@pytest.mark.parametrize("ties", [False, True])
def test_route_sends_each_gradient_to_the_first_maximum(shape, kernel, ties):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, shape).astype(float) if ties else rng.standard_normal(shape)
    windows = _windowed(x, kernel)
    pooled = windows.max(axis=-2)
    grad = rng.standard_normal(pooled.shape)
    target = np.full(x.shape, 0.5)
    tiled_windows.route_first_maxima(x, pooled, grad, target, kernel, accumulate=True)
    routed = _windowed(target - 0.5, kernel)
    first = np.argmax(windows == pooled[..., None, :], axis=-2)  # row-major window order
    expected = np.zeros_like(routed)
    np.put_along_axis(expected, first[..., None, :], grad[..., None, :], axis=-2)
    np.testing.assert_allclose(routed, expected, atol=1e-12)
    written = np.full(x.shape, 7.0)
    tiled_windows.route_first_maxima(x, pooled, grad, written, kernel, accumulate=False)
    np.testing.assert_allclose(written, target - 0.5, atol=1e-12)


def test_a_nan_window_routes_nothing():
    y = np.arange(16.0).reshape(1, 4, 4, 1)
    y[0, 0, 0, 0] = np.nan
    pooled = np.maximum.reduce(_windowed(y, (2, 2)), axis=-2)
    target = np.full(y.shape, 7.0)
    tiled_windows.route_first_maxima(y, pooled, np.ones((1, 2, 2, 1)), target, (2, 2), False)
    assert (target[0, :2, :2] == 0).all() and target[0, 3, 3, 0] == 1 and target.sum() == 3


def test_tiles_rejects_padding_strides_and_leftovers():
    assert tiled_windows.tiles((4, 6), (2, 3), (2, 2), (2, 2), False)
    assert not tiled_windows.tiles((4, 6), (2, 3), (2, 2), (2, 2), True)
    assert not tiled_windows.tiles((4, 6), (3, 5), (2, 2), (1, 1), False)
    assert not tiled_windows.tiles((5, 6), (2, 3), (2, 2), (2, 2), False)


@pytest.mark.parametrize("ties", [False, True])
def test_3d_max_pool_takes_the_tiled_route_and_matches_the_loops(ties):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 6, 4, 3))
    if ties:
        x = np.maximum(np.round(x), 0)  # a ReLU's zeros: many windows tie
    a, cache = conv3d.pool3d_forward(x, 2)
    assert cache[1]["tiled"]
    da = rng.standard_normal(a.shape)
    np.testing.assert_allclose(a, reference_conv3d.pool3d_forward(x, 2, None, "valid", "max"))
    np.testing.assert_allclose(conv3d.pool3d_backward(da, cache),
                               reference_conv3d.pool3d_backward(x, da, 2, None, "valid", "max"))
