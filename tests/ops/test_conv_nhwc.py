"""The NHWC conv path (many input channels: 1x1 convs as one GEMM, strided 1x1 on the sampled
pixels, im2col rows from NHWC for the rest) against the reference loops, values and
gradients, and the threaded GEMM helpers against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import conv, gemm, reference

CASES = [  # kernel, stride, pad, channels in, height, width, batch
    (1, 1, "valid", 16, 5, 6, 3),
    (1, 2, "valid", 16, 7, 6, 3),
    (1, 2, "same", 17, 7, 6, 2),
    (1, 3, "valid", 16, 8, 7, 2),
    (1, 1, 1, 16, 4, 4, 2),
    (3, 1, "same", 16, 5, 5, 3),
    (3, 2, "same", 20, 7, 8, 2),
    (3, 2, "valid", 16, 7, 8, 2),
    (2, 1, 1, 16, 4, 5, 1),
    ((1, 3), (2, 1), "same", 16, 6, 5, 2),
]


@pytest.mark.parametrize("f, stride, pad, c_in, h, w, m", CASES)
@pytest.mark.parametrize("dA", [True, False])
def test_nhwc_conv_matches_the_reference_loops(f, stride, pad, c_in, h, w, m, dA):
    rng = np.random.default_rng(0)
    f_h, f_w = (f, f) if isinstance(f, int) else f
    A = rng.standard_normal((m, h, w, c_in))
    W = rng.standard_normal((f_h, f_w, c_in, 5))
    b = rng.standard_normal((1, 1, 1, 5))
    hp = {"stride": stride, "pad": pad}
    A_before = A.copy()
    Z, cache = conv.conv_forward(A, W, b, hp)
    assert cache.nhwc is not None and cache.A_t is None
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-10, atol=1e-10)
    dZ = rng.standard_normal(Z.shape)
    dA_prev, dW, db = conv.conv_backward(dZ, cache, compute_dA_prev=dA)
    dA_ref, dW_ref, db_ref = reference.conv_backward(dZ, cache_ref)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10, atol=1e-10)
    if dA:
        np.testing.assert_allclose(dA_prev, dA_ref, rtol=1e-10, atol=1e-10)
    else:
        assert dA_prev is None
    np.testing.assert_array_equal(A, A_before)  # the input is read, never written


@pytest.mark.parametrize("shape, hp", [
    ((2, 5, 5, 16), {"stride": 2, "pad": "same"}),
    ((2, 7, 6, 16), {"stride": 1, "pad": "same"}),  # input gradient as a conv of dZ
])
def test_nhwc_conv_numerical_gradient_float64(shape, hp):
    rng = np.random.default_rng(3)
    A = rng.standard_normal(shape)
    W = rng.standard_normal((3, 3, 16, 2)) * 0.1
    b = np.zeros((1, 1, 1, 2))
    Z, cache = conv.conv_forward(A, W, b, hp)
    R = rng.standard_normal(Z.shape)  # loss = sum(R * Z)
    dA, dW, _ = conv.conv_backward(R, cache)
    eps = 1e-6

    def numerical(array, idx, loss):
        plus, minus = array.copy(), array.copy()
        plus[idx] += eps
        minus[idx] -= eps
        return (loss(plus) - loss(minus)) / (2 * eps)

    def loss_of_A(a):
        return np.sum(R * conv.conv_forward(a, W, b, hp)[0])

    def loss_of_W(w):
        return np.sum(R * conv.conv_forward(A, w, b, hp)[0])

    for idx in [(0, 0, 0, 0), (1, 4, 4, 15), (0, 2, 3, 7)]:
        assert dA[idx] == pytest.approx(numerical(A, idx, loss_of_A), rel=1e-6, abs=1e-8)
    for idx in [(0, 0, 0, 0), (2, 2, 15, 1), (1, 0, 8, 1)]:
        assert dW[idx] == pytest.approx(numerical(W, idx, loss_of_W), rel=1e-6, abs=1e-8)


def test_float32_in_float32_out():
    A = np.ones((4, 3, 3, 32), dtype=np.float32)
    W = np.ones((1, 1, 32, 8), dtype=np.float32)
    Z, cache = conv.conv_forward(A, W, np.zeros((1, 1, 1, 8), np.float32), {"stride": 1,
                                                                             "pad": 0})
    assert Z.dtype == np.float32 and np.all(Z == 32)
    dA, dW, db = conv.conv_backward(np.ones_like(Z), cache)
    assert dA.dtype == dW.dtype == db.dtype == np.float32


def test_nhwc_backward_checks_dZ_shape():
    A = np.zeros((2, 4, 4, 16))
    _, cache = conv.conv_forward(A, np.zeros((1, 1, 16, 3)), np.zeros((1, 1, 1, 3)),
                                 {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"dZ must have shape \(2, 4, 4, 3\)"):
        conv.conv_backward(np.zeros((2, 4, 4, 4)), cache)


@pytest.mark.parametrize("rows, k", [(1, 13), (7, 13), (300, 13), (20, 200)])
def test_threaded_gemms_match_numpy(rows, k, monkeypatch):
    monkeypatch.setattr(gemm, "MIN_SPLIT_MACS", 0)  # split even these small products
    rng = np.random.default_rng(2)
    a = rng.standard_normal((rows, k))  # a.T @ c: (20, 200) splits the result's rows
    b = rng.standard_normal((k, 5))
    bias = rng.standard_normal(5)
    np.testing.assert_allclose(gemm.matmul(a, b, bias=bias), a @ b + bias, rtol=1e-12)
    c = rng.standard_normal((rows, 5))
    np.testing.assert_allclose(gemm.matmul_tn(a, c), a.T @ c, rtol=1e-12, atol=1e-12)
    out = np.empty((rows, 5))
    assert gemm.matmul(a, b, out=out) is out


@pytest.mark.parametrize("pad", ["same", "valid"])
def test_nhwc_dilated_conv_and_a_plain_tuple_cache(pad):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((2, 9, 8, 16))
    W = rng.standard_normal((3, 3, 16, 4))
    b = rng.standard_normal((1, 1, 1, 4))
    hp = {"stride": 1, "pad": pad, "dilation": 2}
    Z, cache = conv.conv_forward(A, W, b, hp)
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-10, atol=1e-10)
    dZ = rng.standard_normal(Z.shape)
    expected = reference.conv_backward(dZ, cache_ref)
    for given in (cache, tuple(cache_ref)):  # the fast backward takes the notes' tuple too
        for got, want in zip(conv.conv_backward(dZ, given), expected):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


INPUT_GRADIENT_CASES = [  # kernel, pad, dilation, channels in, filters, height, width
    (3, "same", 1, 16, 5, 7, 6),
    (3, "valid", 1, 16, 8, 24, 24),  # 24x24 over 22x22: not enough border for the scatter
    (3, ((0, 2), (1, 0)), 1, 17, 3, 7, 9),
    ((2, 3), "same", 1, 16, 4, 6, 8),
    (3, "same", 2, 16, 6, 9, 8),
    ((3, 2), ((4, 0), (0, 1)), (2, 1), 16, 3, 7, 6),
]


@pytest.mark.parametrize("f, pad, dilation, c_in, c_out, h, w", INPUT_GRADIENT_CASES)
def test_stride_one_input_gradient_runs_as_a_conv(f, pad, dilation, c_in, c_out, h, w,
                                                  monkeypatch):
    monkeypatch.setattr(conv, "CHUNK_BYTES", 4096)  # several chunks, shared between threads
    rng = np.random.default_rng(5)
    f_h, f_w = (f, f) if isinstance(f, int) else f
    A = rng.standard_normal((5, h, w, c_in))
    W = rng.standard_normal((f_h, f_w, c_in, c_out))
    b = rng.standard_normal((1, 1, 1, c_out))
    hp = {"stride": 1, "pad": pad, "dilation": dilation}
    Z, cache = conv.conv_forward(A, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    plan = conv.InputGradientConv.plan(dZ, cache.kernel, cache.geometry, cache.input_shape)
    assert plan is not None and plan.dZ_pad.shape[1:3] == (h + plan.geometry.span[0] - 1,
                                                            w + plan.geometry.span[1] - 1)
    dZ_before = dZ.copy()
    got = conv.conv_backward(dZ, cache)
    np.testing.assert_array_equal(dZ, dZ_before)
    _, cache_ref = reference.conv_forward(A, W, b, hp)
    for g, want in zip(got, reference.conv_backward(dZ, cache_ref)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("hp, shape, filters", [
    ({"stride": 2, "pad": "same"}, (2, 9, 9, 16), 4),  # strided
    ({"stride": 1, "pad": 3}, (2, 9, 9, 16), 4),  # padded wider than the window
    ({"stride": 1, "pad": "same"}, (2, 4, 4, 16), 4),  # image barely larger than the window
    ({"stride": 1, "pad": "valid"}, (2, 9, 10, 16), 4),  # 1.6x the output's pixels
    ({"stride": 1, "pad": "same"}, (2, 9, 10, 16), 24),  # fewer input than output channels
])
def test_input_gradient_falls_back_to_the_scatter(hp, shape, filters):
    rng = np.random.default_rng(6)
    A = rng.standard_normal(shape)
    W = rng.standard_normal((3, 3, shape[3], filters))
    b = np.zeros((1, 1, 1, filters))
    Z, cache = conv.conv_forward(A, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    assert conv.InputGradientConv.plan(dZ, cache.kernel, cache.geometry, A.shape) is None
    _, cache_ref = reference.conv_forward(A, W, b, hp)
    for g, want in zip(conv.conv_backward(dZ, cache), reference.conv_backward(dZ, cache_ref)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)


def test_stride_one_input_gradient_float32():
    rng = np.random.default_rng(7)
    A, W = rng.standard_normal((3, 8, 8, 16)), rng.standard_normal((3, 3, 16, 8)) * 0.1
    b, hp = np.zeros((1, 1, 1, 8)), {"stride": 1, "pad": "same"}
    Z, cache = conv.conv_forward(A, W, b, hp)
    R = rng.standard_normal(Z.shape)
    dA = conv.conv_backward(R, cache)[0]
    _, cache32 = conv.conv_forward(*[a.astype(np.float32) for a in (A, W, b)], hp)
    dA32 = conv.conv_backward(R.astype(np.float32), cache32)[0]
    assert dA32.dtype == np.float32
    np.testing.assert_allclose(dA32, dA, rtol=1e-4, atol=1e-4)


BAND_CASES = [  # kernel, stride, pad, dilation, height, width, batch
    (3, 1, "same", 1, 9, 6, 3),      # input gradient as a conv, banded with the weights'
    (3, 1, "valid", 1, 10, 5, 2),    # the two bandings cover different heights
    (3, 2, "same", 1, 11, 6, 2),     # scatter-add: whole images, never bands
    (3, 1, "same", 2, 9, 7, 2),      # dilated windows reach across band edges
    ((2, 3), (3, 1), 1, 1, 10, 5, 2),
]


@pytest.mark.parametrize("f, stride, pad, dilation, h, w, m", BAND_CASES)
def test_bands_of_rows_match_whole_images(f, stride, pad, dilation, h, w, m, monkeypatch):
    """With a chunk budget below one image's im2col block, the NHWC path works on bands of
    output rows; values and gradients must not change."""
    rng = np.random.default_rng(5)
    f_h, f_w = (f, f) if isinstance(f, int) else f
    A = rng.standard_normal((m, h, w, 16))
    W = rng.standard_normal((f_h, f_w, 16, 4))
    b = rng.standard_normal((1, 1, 1, 4))
    hp = {"stride": stride, "pad": pad, "dilation": dilation}
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    dZ = rng.standard_normal(Z_ref.shape)
    expected = reference.conv_backward(dZ, cache_ref)
    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * f_h * f_w * 16 * Z_ref.shape[2] * 8)
    geometry = conv.conv_geometry(A, W, b, hp)
    tiles = conv.nhwc_tiles(m, geometry, 16, 8)
    assert max(tile.parts for tile in tiles) > 1  # the budget does force bands
    Z, cache = conv.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-10, atol=1e-10)
    for got, want in zip(conv.conv_backward(dZ, cache), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_row_tiles_cover_every_output_row_once():
    geometry = conv.conv_geometry(np.zeros((3, 50, 128, 32)), np.zeros((3, 3, 32, 8)),
                                  np.zeros((1, 1, 1, 8)), {"stride": 1, "pad": "same"})
    tiles = conv.nhwc_tiles(3, geometry, 32, 4)  # 147 KB of windows a row: 7 MB an image
    assert len(tiles) > 3
    covered = np.zeros((3, 50), dtype=int)
    for tile in tiles:
        covered[tile.batch, tile.rows(50)] += 1
    np.testing.assert_array_equal(covered, 1)


@pytest.mark.parametrize("c_in, f, stride", [(3, 3, 1), (16, 3, 1), (16, 1, 1), (16, 3, 2)])
def test_conv_forward_relu_is_the_rectified_conv(c_in, f, stride):
    """``relu=True`` (Conv2D(activation="relu")) rectifies in the conv's own pass, on every
    path: channels-first, NHWC im2col rows, 1x1 GEMM."""
    rng = np.random.default_rng(9)
    A = rng.standard_normal((3, 6, 7, c_in)).astype(np.float32)
    W = rng.standard_normal((f, f, c_in, 5)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 5)).astype(np.float32)
    hp = {"stride": stride, "pad": "same" if f > 1 else "valid"}
    Z, _ = conv.conv_forward(A, W, b, hp)
    Z_relu, cache = conv.conv_forward(A, W, b, hp, relu=True)
    assert (Z < 0).any() and Z_relu.min() == 0.0
    np.testing.assert_array_equal(Z_relu, np.maximum(Z, 0))
    assert cache.input_shape == A.shape
