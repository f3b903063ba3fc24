"""Fast kernels against the reference loops on many small random cases (hypothesis).

Covers non-square kernels and strides, stride > kernel, every padding form (0, int, pair,
asymmetric pairs, 'same', 'valid'), batch 1, one channel, float32 and float64, forward and
backward. The reference output is also checked against an independent einsum formula, so a
bug shared by both versions would still show.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.ops import oracles
from tests.ops.oracles import IMPLS

reference = IMPLS["reference"]
fast = IMPLS["fast"]

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 1e-5}}

pair_1_4 = st.tuples(st.integers(1, 4), st.integers(1, 4))


def pads_strategy(max_pad: int):
    """Every accepted pad form, each side at most ``max_pad``."""
    side = st.integers(0, max_pad)
    return st.one_of(
        st.just(0),
        side,
        st.tuples(side, side),
        st.tuples(st.tuples(side, side), st.tuples(side, side)),
        st.sampled_from(["same", "valid"]),
    )


def assert_close(actual, desired, dtype):
    assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)
    np.testing.assert_allclose(actual, desired, **TOL[dtype])


@st.composite
def conv_cases(draw):
    kernel = draw(pair_1_4)
    stride = draw(pair_1_4)
    pad = draw(pads_strategy(2))
    m = draw(st.integers(1, 2))
    n_H = draw(st.integers(max(1, kernel[0] - 2), kernel[0] + 3))
    n_W = draw(st.integers(max(1, kernel[1] - 2), kernel[1] + 3))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    seed = draw(st.integers(0, 2**16))
    return kernel, stride, pad, (m, n_H, n_W, c_in), c_out, dtype, seed


@SETTINGS
@given(conv_cases())
def test_conv_fast_matches_reference(case):
    kernel, stride, pad, shape, c_out, dtype, seed = case
    try:
        geometry = oracles.geometry(shape, kernel, stride, pad)
    except ValueError:
        assume(False)  # window larger than the padded input: covered by the error tests
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal(shape).astype(dtype)
    W = rng.standard_normal((*kernel, shape[3], c_out)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, c_out)).astype(dtype)
    hp = {"stride": stride, "pad": pad}

    Z_ref, cache_ref = reference.conv_forward(A_prev, W, b, hp)
    Z_fast, cache_fast = fast.conv_forward(A_prev, W, b, hp)
    assert Z_ref.shape == (shape[0], *geometry.out_hw, c_out)
    np.testing.assert_allclose(
        Z_ref, oracles.conv_forward(A_prev, W, b, geometry.stride, geometry.pads),
        **TOL[dtype])
    assert_close(Z_fast, Z_ref, dtype)

    dZ = rng.standard_normal(Z_ref.shape).astype(dtype)
    grads_ref = reference.conv_backward(dZ, cache_ref)
    grads_fast = fast.conv_backward(dZ, cache_fast)
    for name, g_fast, g_ref in zip(("dA_prev", "dW", "db"), grads_fast, grads_ref):
        assert g_fast.shape == g_ref.shape, name
        assert_close(g_fast, g_ref, dtype)
    np.testing.assert_allclose(
        grads_ref[0], oracles.conv_dA(dZ, W, shape, geometry.stride, geometry.pads),
        **TOL[dtype])
    np.testing.assert_allclose(
        grads_ref[1], oracles.conv_dW(A_prev, dZ, kernel, geometry.stride, geometry.pads),
        **TOL[dtype])

    dA_only, dW_again, _ = fast.conv_backward(dZ, cache_fast, compute_dA_prev=False)
    assert dA_only is None
    assert_close(dW_again, grads_ref[1], dtype)


@st.composite
def pool_cases(draw):
    kernel = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    stride = draw(pair_1_4)
    # Pooling pads must be narrower than the window (pool_geometry refuses wider ones).
    max_pad = min(kernel) - 1
    pad = draw(pads_strategy(max_pad) if max_pad > 0 else st.sampled_from([0, "same", "valid"]))
    m = draw(st.integers(1, 2))
    n_H = draw(st.integers(max(1, kernel[0] - 1), kernel[0] + 4))
    n_W = draw(st.integers(max(1, kernel[1] - 1), kernel[1] + 4))
    n_C = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["max", "average"]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    seed = draw(st.integers(0, 2**16))
    return kernel, stride, pad, (m, n_H, n_W, n_C), mode, dtype, seed


@SETTINGS
@given(pool_cases())
def test_pool_fast_matches_reference(case):
    kernel, stride, pad, shape, mode, dtype, seed = case
    try:
        geometry = oracles.geometry(shape, kernel, stride, pad)
    except ValueError:
        assume(False)
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal(shape).astype(dtype)  # continuous values: no ties
    hp = {"f": kernel, "stride": stride, "pad": pad}

    A_ref, cache_ref = reference.pool_forward(A_prev, hp, mode=mode)
    A_fast, cache_fast = fast.pool_forward(A_prev, hp, mode=mode)
    assert A_ref.shape == (shape[0], *geometry.out_hw, shape[3])
    np.testing.assert_allclose(
        A_ref, oracles.pool_forward(A_prev, kernel, geometry.stride, geometry.pads, mode),
        **TOL[dtype])
    assert_close(A_fast, A_ref, dtype)

    dA = rng.standard_normal(A_ref.shape).astype(dtype)
    dA_prev_ref = reference.pool_backward(dA, cache_ref, mode=mode)
    dA_prev_fast = fast.pool_backward(dA, cache_fast, mode=mode)
    assert dA_prev_ref.shape == shape
    assert_close(dA_prev_fast, dA_prev_ref, dtype)
    # Every window hands on its whole gradient to real cells.
    np.testing.assert_allclose(dA_prev_ref.sum(dtype=np.float64), dA.sum(dtype=np.float64),
                               rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-4)
