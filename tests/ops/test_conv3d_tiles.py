"""The 3-D ops cut into tiles (examples, or slabs of output depths of one example) and shared
between threads give the numbers of the loop twins (`convnp.ops.reference_conv3d`).

Test volumes are small, so the chunk budget is shrunk to force many tiles, and BLAS is
allowed two threads so that `map_parts` runs the tiles on two Python threads.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from convnp.ops import conv3d as fast
from convnp.ops import reference_conv3d as reference
from convnp.ops import row_taps
from tests.helpers import record_row_tap_copies

threadpoolctl = pytest.importorskip("threadpoolctl")

TOLERANCE = {np.float64: {"rtol": 1e-10, "atol": 1e-10},
             np.float32: {"rtol": 2e-4, "atol": 2e-4}}


@pytest.fixture
def threads_seen(monkeypatch):
    """Two threads for the ops (BLAS held to one inside), and the names of the threads that
    built an im2col block."""
    names = set()
    build = fast.im2col_rows

    def spy(*args, **kwargs):
        names.add(threading.current_thread().name)
        return build(*args, **kwargs)

    monkeypatch.setattr(fast, "im2col_rows", spy)
    monkeypatch.setattr(fast, "_cores", lambda: 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield names


def _covers_once(tiles, m, depth):
    """Each (example, output depth) in exactly one tile."""
    seen = np.zeros((m, depth), dtype=int)
    for tile in tiles:
        seen[tile.batch, tile.depths(depth)] += 1
    return np.all(seen == 1)


@pytest.mark.parametrize("m, out, channels, budget, backward_of, slabs, kind", [
    (8, (4, 5, 6), 3, 1 << 30, None, True, "examples"),     # all fits: one chunk per core
    (8, (4, 5, 6), 3, 200_000, None, True, "examples"),     # a few examples per chunk
    (3, (7, 5, 6), 4, 3000, None, True, "slabs"),           # one example is too big
    (3, (7, 5, 6), 4, 3000, None, False, "examples"),       # slabs forbidden: one each
    (1, (6, 4, 4), 2, 1 << 30, None, True, "slabs"),        # a lone example on two cores
    (2, (9, 3, 3), 8, 4 * 2000, 16, True, "slabs"),         # backward: >= 32 voxels a slab
])
def test_tiles_cover_every_output_voxel_once(monkeypatch, m, out, channels, budget,
                                             backward_of, slabs, kind):
    monkeypatch.setattr(fast, "CHUNK_BYTES", budget)
    monkeypatch.setattr(fast, "_cores", lambda: 2)
    windows = fast.VolumeWindows((3, 3, 3), (1, 1, 1), (1, 1, 1), out)
    tiles = fast.volume_tiles(m, windows, channels, 8, backward_of, slabs)
    assert _covers_once(tiles, m, out[0])
    assert len(tiles) >= 2
    parts = {tile.parts for tile in tiles}
    assert (parts == {1}) == (kind == "examples")
    if kind == "slabs":
        assert all(tile.batch.stop - tile.batch.start == 1 for tile in tiles)
        if backward_of:
            per_depth = out[1] * out[2]
            assert all((tile.depths(out[0]).stop - tile.depths(out[0]).start) * per_depth
                       >= 2 * backward_of for tile in tiles)


# shape, kernel, strides, padding, dilation, groups, filters: stride 1 takes the input
# gradient as a conv of dZ, strided convs scatter-add; grouped and dilated both ways
CONV_CASES = [
    ((3, 6, 5, 7, 3), 3, 1, "same", 1, 1, 5),
    ((2, 7, 6, 5, 4), (3, 2, 3), (2, 1, 2), "same", 1, 1, 6),
    ((2, 8, 6, 6, 4), (2, 3, 2), 1, "valid", (2, 1, 2), 2, 6),
    ((3, 5, 6, 5, 6), 3, 2, "same", 1, 3, 6),
    ((1, 9, 7, 6, 2), 3, 1, "same", 1, 1, 4),
    ((2, 6, 5, 4, 3), (3, 3, 1), (1, 2, 1), "valid", (1, 1, 1), 1, 3),
    ((2, 5, 6, 8, 3), (2, 3, 3), (1, 1, 2), "same", 1, 1, 8),
]
# the cases with few channels and an even output width run as blocked convs
BLOCKED = {4, 5, 6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("budget", [1500, 100_000])
@pytest.mark.parametrize("shape, kernel, strides, padding, dilation, groups, filters",
                         CONV_CASES)
def test_tiled_conv3d_on_two_threads_matches_the_loops(monkeypatch, threads_seen, dtype,
                                                       budget, shape, kernel, strides,
                                                       padding, dilation, groups, filters):
    monkeypatch.setattr(fast, "CHUNK_BYTES", budget)
    rng = np.random.default_rng(11)
    k = (kernel,) * 3 if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape).astype(dtype)
    W = rng.standard_normal((*k, shape[-1] // groups, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    args = (strides, padding, dilation, groups)
    z, cache = fast.conv3d_forward(x, W, b, *args)
    assert z.dtype == dtype
    x64, W64 = x.astype(np.float64), W.astype(np.float64)
    np.testing.assert_allclose(z, reference.conv3d_forward(x64, W64, b.astype(np.float64),
                                                           *args), **TOLERANCE[dtype])
    dz = rng.standard_normal(z.shape).astype(dtype)
    got = fast.conv3d_backward(dz, cache)
    want = reference.conv3d_backward(x64, W64, dz.astype(np.float64), *args)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **TOLERANCE[dtype])
    _, dW_only, _ = fast.conv3d_backward(dz, cache, compute_dA_prev=False)
    np.testing.assert_allclose(dW_only, got[1], **TOLERANCE[dtype])
    # the rectified output is the conv's, clipped at 0
    z_relu, _ = fast.conv3d_forward(x, W, b, *args, relu=True)
    np.testing.assert_array_equal(z_relu, np.maximum(z, 0))
    assert len(threads_seen) == min(2, os.cpu_count() or 1)


@pytest.mark.parametrize("index", range(len(CONV_CASES)))
def test_convs_with_few_channels_run_blocked(index):
    shape, kernel, strides, padding, dilation, groups, filters = CONV_CASES[index]
    k = (kernel,) * 3 if isinstance(kernel, int) else kernel
    W = np.ones((*k, shape[-1] // groups, filters))
    _, cache = fast.conv3d_forward(np.ones(shape), W, None, strides, padding, dilation, groups)
    assert (cache.blocked is not None) == (index in BLOCKED)
    if cache.blocked is not None:
        assert cache.blocked.block == 2 and cache.blocked.kernel.shape[1] == 2 * filters


def test_stride_one_conv_takes_its_input_gradient_as_a_conv():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 6, 6, 3))
    _, cache = fast.conv3d_forward(x, rng.standard_normal((3, 3, 3, 3, 4)), None, 1, "same")
    plan = fast._input_gradient_plan(np.zeros((2, 6, 6, 6, 4)), cache[1], cache)
    assert plan is not None and plan[0].shape == (2, 8, 8, 8, 4)
    _, strided = fast.conv3d_forward(x, rng.standard_normal((3, 3, 3, 3, 4)), None, 2, "same")
    assert fast._input_gradient_plan(np.zeros((2, 3, 3, 3, 4)), strided[1], strided) is None


# stride-1 convs with 8 or more channels run by kernel depths (`RowTaps`), unless the
# kernel is one depth deep; the last case's output is too small for the input gradient as a
# conv, so its backward takes the im2col rows
DEPTH_CASES = [
    ((2, 6, 5, 7, 8), 3, "same", 5),
    ((3, 7, 6, 5, 9), (2, 3, 2), "valid", 6),
    ((1, 9, 4, 4, 12), (3, 1, 3), "same", 8),
    ((2, 5, 6, 6, 8), (1, 3, 3), "same", 4),
    ((2, 3, 4, 3, 8), 3, "same", 4),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("depths", [2, 3, 100])
@pytest.mark.parametrize("shape, kernel, padding, filters", DEPTH_CASES)
def test_stride_one_convs_by_kernel_depths_match_the_loops(monkeypatch, dtype, depths, shape,
                                                           kernel, padding, filters):
    # slabs of two output depths up to whole examples, on two threads
    k = (kernel,) * 3 if isinstance(kernel, int) else kernel
    _, out = fast.volume_geometry(shape[1:4], k, (1, 1, 1), padding)
    monkeypatch.setattr(row_taps, "SLAB_POSITIONS", depths * out[1] * out[2])
    names = record_row_tap_copies(monkeypatch)
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape).astype(dtype)
    W = rng.standard_normal((*k, shape[-1], filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        z, cache = fast.conv3d_forward(x, W, b, 1, padding)
        dz = rng.standard_normal(z.shape).astype(dtype)
        got = fast.conv3d_backward(dz, cache)
        _, dW_only, _ = fast.conv3d_backward(dz, cache, compute_dA_prev=False)
        z_relu, _ = fast.conv3d_forward(x, W, b, 1, padding, relu=True)
    by_depths = k[0] > 1
    assert bool(names) == by_depths
    if by_depths and depths == 2:
        assert len(set(names)) == min(2, os.cpu_count() or 1)
    x64, W64 = x.astype(np.float64), W.astype(np.float64)
    np.testing.assert_allclose(z, reference.conv3d_forward(x64, W64, b.astype(np.float64), 1,
                                                           padding), **TOLERANCE[dtype])
    want = reference.conv3d_backward(x64, W64, dz.astype(np.float64), 1, padding)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **TOLERANCE[dtype])
    np.testing.assert_allclose(dW_only, got[1], **TOLERANCE[dtype])
    np.testing.assert_array_equal(z_relu, np.maximum(z, 0))


def test_depth_taps_apply_to_unstrided_undilated_ungrouped_convs_only():
    windows = fast.VolumeWindows((3, 3, 3), (1, 1, 1), (1, 1, 1), (16, 16, 16))
    taps = fast._depth_taps(windows, 16)
    assert taps is not None and taps.rows == row_taps.SLAB_POSITIONS // 256
    assert sum(d.stop - d.start for _, d in taps.slabs(3)) == 3 * 16
    # planes so large that a slab would be one depth deep keep the im2col rows
    side = int(np.sqrt(row_taps.SLAB_POSITIONS)) + 1
    assert fast._depth_taps(fast.VolumeWindows((3, 3, 3), (1, 1, 1), (1, 1, 1),
                                               (16, side, side)), 16) is None
    for other in (fast.VolumeWindows((3, 3, 3), (1, 2, 1), (1, 1, 1), (16, 8, 16)),
                  fast.VolumeWindows((3, 3, 3), (1, 1, 1), (2, 1, 1), (16, 16, 16))):
        assert fast._depth_taps(other, 16) is None
    assert fast._depth_taps(windows, 16, groups=2) is None
    assert fast._depth_taps(windows, fast.DEPTH_TAPS_MIN_CHANNELS - 1) is None


TRANSPOSE_CASES = [
    ((3, 3, 4, 3, 3), (3, 3, 3), 2, "same", None),
    ((2, 4, 3, 3, 2), (2, 3, 2), (1, 2, 2), "valid", None),
    ((2, 3, 3, 4, 3), (3, 2, 3), (2, 1, 3), "same", (1, 0, 2)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, kernel, strides, padding, output_padding", TRANSPOSE_CASES)
def test_tiled_conv3d_transpose_matches_the_loops_and_the_conv(monkeypatch, threads_seen,
                                                               dtype, shape, kernel, strides,
                                                               padding, output_padding):
    monkeypatch.setattr(fast, "CHUNK_BYTES", 2000)
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape).astype(dtype)
    W = rng.standard_normal((*kernel, 4, shape[-1])).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    args = (strides, padding, output_padding)
    y, cache = fast.conv3d_transpose_forward(x, W, b, *args)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, reference.conv3d_transpose_forward(
        x.astype(np.float64), W.astype(np.float64), b.astype(np.float64), *args),
        **TOLERANCE[dtype])
    # Its gradients are those of the conv it is the adjoint of (same kernel, strides and
    # padding, from 4 channels back to the input's): dx = conv(dy), dW = that conv's dW
    # for an output gradient x.
    dy = rng.standard_normal(y.shape)
    dx, dW, db = fast.conv3d_transpose_backward(dy.astype(dtype), cache)
    z, conv_cache = fast.conv3d_forward(dy, W.astype(np.float64), None, strides, padding)
    if z.shape == x.shape:  # 'valid' with output_padding: the conv drops the extra rows
        np.testing.assert_allclose(dx, z, **TOLERANCE[dtype])
        _, dW_conv, _ = fast.conv3d_backward(x.astype(np.float64), conv_cache)
        np.testing.assert_allclose(dW, dW_conv, **TOLERANCE[dtype])
    np.testing.assert_allclose(db, dy.reshape(-1, 4).sum(axis=0), **TOLERANCE[dtype])
    assert dx.dtype == dW.dtype == dtype
    assert fast.conv3d_transpose_backward(dy.astype(dtype), cache, compute_dx=False)[0] is None
    assert len(threads_seen) == min(2, os.cpu_count() or 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape, pool, strides, padding", [
    ((5, 6, 7, 6, 3), (1, 2, 2), None, "valid"),
    ((4, 5, 5, 4, 2), (3, 2, 3), (2, 2, 1), "same"),
    ((3, 4, 5, 6, 2), 2, 1, "same"),
    ((4, 4, 6, 8, 3), 2, None, "valid"),  # windows that tile the volume
    ((3, 2, 4, 6, 2), (1, 2, 3), None, "same"),
])
def test_pooling_on_two_threads_matches_the_loops_with_ties(dtype, mode, shape, pool, strides,
                                                            padding):
    rng = np.random.default_rng(13)
    # few distinct values: many windows hold their maximum twice (the first one wins)
    x = rng.integers(-2, 3, shape).astype(dtype)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        a, cache = fast.pool3d_forward(x, pool, strides, padding, mode)
        da = rng.standard_normal(a.shape).astype(dtype)
        dx = fast.pool3d_backward(da, cache)
    assert a.dtype == dx.dtype == dtype
    np.testing.assert_allclose(a, reference.pool3d_forward(x, pool, strides, padding, mode),
                               **TOLERANCE[dtype])
    np.testing.assert_allclose(dx, reference.pool3d_backward(x, da.astype(np.float64), pool,
                                                             strides, padding, mode),
                               **TOLERANCE[dtype])
    a[...] = 99  # the caller may overwrite the output: backward does not read it
    np.testing.assert_array_equal(fast.pool3d_backward(da, cache), dx)


@pytest.mark.parametrize("channels", [3, 8])  # 8: by kernel depths at stride 1
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients(channels):
    x = np.zeros((0, 4, 4, 4, channels))
    for strides in (1, 2):
        z, cache = fast.conv3d_forward(x, np.ones((3, 3, 3, channels, 5)), np.ones(5), strides,
                                       "same")
        dx, dW, db = fast.conv3d_backward(z, cache)
        assert z.shape == (0, *(-(-4 // strides),) * 3, 5) and dx.shape == x.shape
        assert not dW.any() and dW.shape == (3, 3, 3, channels, 5) and not db.any()
        _, dW_only, _ = fast.conv3d_backward(z, cache, compute_dA_prev=False)
        assert not dW_only.any() and dW_only.shape == dW.shape
    y, cache = fast.conv3d_transpose_forward(x, np.ones((2, 2, 2, 5, channels)), None, 2)
    dx, dW, _ = fast.conv3d_transpose_backward(y, cache)
    assert y.shape == (0, 8, 8, 8, 5) and dx.shape == x.shape and not dW.any()
