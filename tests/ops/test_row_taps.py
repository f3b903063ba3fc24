"""Stride-1 2-D convs by kernel rows (`convnp.ops.row_taps`, through `convnp.ops.conv`'s NHWC
path) against the reference loops: values, weight and input gradients, on two threads, with
slabs from two rows to whole images. (The 3-D convs by kernel depths are tested in
test_conv3d_tiles.py.)"""

from __future__ import annotations

import os

import numpy as np
import pytest

from convnp.ops import conv, reference, row_taps
from tests.helpers import record_row_tap_copies

threadpoolctl = pytest.importorskip("threadpoolctl")

TOLERANCE = {np.float64: {"rtol": 1e-10, "atol": 1e-10},
             np.float32: {"rtol": 2e-4, "atol": 2e-4}}

CASES = [  # kernel, pad, height, width, batch, by kernel rows
    (3, "same", 9, 6, 3, True),
    ((2, 3), "valid", 10, 5, 2, True),
    (5, 2, 7, 8, 2, True),          # explicit pad
    ((3, 1), "same", 6, 9, 2, True),
    ((1, 3), "same", 6, 9, 2, False),  # a kernel one row deep keeps im2col
]


@pytest.fixture
def slabs_seen(monkeypatch):
    """Every image counts as large enough; records the threads that copied a slab."""
    monkeypatch.setattr(conv, "ROW_TAPS_MIN_PIXELS", 1)
    names = record_row_tap_copies(monkeypatch)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield names


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [2, 3, 1000])
@pytest.mark.parametrize("f, pad, h, w, m, by_rows", CASES)
def test_convs_by_kernel_rows_match_the_loops(monkeypatch, slabs_seen, dtype, rows, f, pad, h,
                                              w, m, by_rows):
    rng = np.random.default_rng(21)
    f_h, f_w = (f, f) if isinstance(f, int) else f
    A = rng.standard_normal((m, h, w, 16)).astype(dtype)
    W = rng.standard_normal((f_h, f_w, 16, 5)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, 5)).astype(dtype)
    hp = {"stride": 1, "pad": pad}
    Z_ref, cache_ref = reference.conv_forward(A.astype(np.float64), W.astype(np.float64),
                                              b.astype(np.float64), hp)
    monkeypatch.setattr(row_taps, "SLAB_POSITIONS", rows * Z_ref.shape[2])
    Z, cache = conv.conv_forward(A, W, b, hp)
    assert Z.dtype == dtype
    np.testing.assert_allclose(Z, Z_ref, **TOLERANCE[dtype])
    dZ = rng.standard_normal(Z.shape).astype(dtype)
    got = conv.conv_backward(dZ, cache)
    for g, want in zip(got, reference.conv_backward(dZ.astype(np.float64), cache_ref)):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, want, **TOLERANCE[dtype])
    _, dW_only, _ = conv.conv_backward(dZ, cache, compute_dA_prev=False)
    np.testing.assert_allclose(dW_only, got[1], **TOLERANCE[dtype])
    Z_relu, _ = conv.conv_forward(A, W, b, hp, relu=True)
    np.testing.assert_array_equal(Z_relu, np.maximum(Z, 0))
    assert bool(slabs_seen) == by_rows
    if by_rows and rows == 2:
        assert len(set(slabs_seen)) == min(2, os.cpu_count() or 1)


def test_a_small_output_takes_its_input_gradient_by_scatter(slabs_seen):
    # an output hardly larger than the window has no input gradient as a conv: then neither
    # gradient goes by kernel rows, and both still match the loops
    rng = np.random.default_rng(22)
    A = rng.standard_normal((2, 3, 4, 16))
    W = rng.standard_normal((3, 3, 16, 4))
    b = np.zeros((1, 1, 1, 4))
    hp = {"stride": 1, "pad": "same"}
    Z, cache = conv.conv_forward(A, W, b, hp)
    assert slabs_seen  # the forward did
    assert conv.InputGradientConv.plan(Z, W, cache.geometry, A.shape) is None
    seen = len(slabs_seen)
    dZ = rng.standard_normal(Z.shape)
    got = conv.conv_backward(dZ, cache)
    assert len(slabs_seen) == seen
    _, cache_ref = reference.conv_forward(A, W, b, hp)
    for g, want in zip(got, reference.conv_backward(dZ, cache_ref)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)


def test_which_convs_run_by_kernel_rows():
    def geometry(shape, f, stride=1, dilation=1):
        return conv.conv_geometry(np.zeros(shape), np.zeros((f, f, shape[3], 4)),
                                  np.zeros((1, 1, 1, 4)),
                                  {"stride": stride, "pad": "same", "dilation": dilation})

    plan = conv._row_taps(geometry((2, 128, 32, 16), 3))  # large enough by default
    assert plan is not None and plan.rows == min(128, row_taps.SLAB_POSITIONS // 32)
    assert sum(r.stop - r.start for _, r in plan.slabs(2)) == 2 * 128
    assert conv._row_taps(geometry((2, 16, 16, 16), 3)) is None        # a small image
    assert conv._row_taps(geometry((2, 32, 32, 16), 3, stride=2)) is None
    assert conv._row_taps(geometry((2, 32, 32, 16), 3, dilation=2)) is None
    # rows so long that a slab would be one row deep keep im2col
    assert conv._row_taps(geometry((2, 4, row_taps.SLAB_POSITIONS, 16), 3)) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_windows_moves_contiguous_runs_whole_with_the_same_numbers(dtype):
    """`copy_windows` copies the contiguous tail of a window view (a kernel row of NHWC
    numbers) as one opaque item: every window shape gives exactly ``np.copy``'s result, in a
    reused buffer too, and views without such a tail take the plain copy."""
    from numpy.lib.stride_tricks import as_strided

    from convnp.ops.row_taps import _contiguous_tail, copy_windows

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 9, 11, 4)).astype(dtype)
    m, h, w, c = x.strides
    views = {
        # (view, trailing axes copied as one run)
        "im2col rows, 3x3": (as_strided(x, (3, 7, 9, 3, 3, 4), (m, h, w, h, w, c)), 2),
        "strided windows": (as_strided(x, (3, 4, 5, 2, 2, 4), (m, 2 * h, 2 * w, h, w, c)), 2),
        "dilated taps": (as_strided(x, (3, 5, 7, 3, 3, 4), (m, h, w, 2 * h, 2 * w, c)), 1),
        "one channel of four": (as_strided(x, (3, 7, 9, 3, 3), (m, h, w, h, w)), 0),
        "length-1 axis in the tail": (as_strided(x, (3, 7, 9, 3, 1, 4), (m, h, w, w, h, c)), 3),
        "whole array": (x, 0),
    }
    buffer = np.empty(x.size * 9, dtype)
    for name, (view, tail) in views.items():
        assert _contiguous_tail(view) == tail, name
        expected = view.copy()
        np.testing.assert_array_equal(copy_windows(view, None), expected, err_msg=name)
        copied = copy_windows(view, buffer)
        assert np.shares_memory(copied, buffer), name
        np.testing.assert_array_equal(copied, expected, err_msg=name)
    empty = np.empty((0, 3, 4), dtype)
    assert copy_windows(empty, None).shape == (0, 3, 4)
