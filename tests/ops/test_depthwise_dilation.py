"""Depthwise convolution and dilated convolution: fast kernels against the reference loops
(hypothesis over shapes), numerical gradients of the loops, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convnp import ops
from convnp.ops import depthwise, reference
from convnp.ops.padding import window_geometry
from tests.helpers import numerical_gradient, rel_error

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-11}, np.float32: {"rtol": 1e-4, "atol": 1e-4}}


@st.composite
def window_cases(draw, dilated: bool):
    kernel = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 3), st.integers(1, 3))) if dilated else (1, 1)
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    pad = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2),
                         st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                   st.tuples(st.integers(0, 2), st.integers(0, 2)))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.integers(1, 8)),
             draw(st.integers(1, 3)))
    channels = draw(st.integers(1, 3))  # depth multiplier, or conv filters
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return kernel, dilation, stride, pad, shape, channels, dtype, draw(st.integers(0, 2**16))


def _operands(case, depthwise_layout: bool):
    kernel, dilation, stride, pad, shape, channels, dtype, seed = case
    try:
        window_geometry(shape[1:3], kernel, stride, pad, dilation)
    except ValueError:
        assume(False)  # window larger than the padded input: covered by the error tests
    rng = np.random.default_rng(seed)
    n_out = shape[3] * channels if depthwise_layout else channels
    A = rng.standard_normal(shape).astype(dtype)
    W = rng.standard_normal((*kernel, shape[3], channels)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, n_out)).astype(dtype)
    return A, W, b, {"stride": stride, "pad": pad, "dilation": dilation}, rng, dtype


def _compare(fast_forward, fast_backward, ref_forward, ref_backward, A, W, b, hp, rng, dtype):
    Z_fast, cache_fast = fast_forward(A, W, b, hp)
    Z_ref, cache_ref = ref_forward(A, W, b, hp)
    assert Z_fast.dtype == np.dtype(dtype) and Z_fast.shape == Z_ref.shape
    np.testing.assert_allclose(Z_fast, Z_ref, **TOL[dtype])
    dZ = rng.standard_normal(Z_ref.shape).astype(dtype)
    for got, want in zip(fast_backward(dZ, cache_fast), ref_backward(dZ, cache_ref)):
        assert got.dtype == np.dtype(dtype) and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])


@SETTINGS
@given(window_cases(dilated=True))
def test_depthwise_fast_matches_reference(case):
    _compare(depthwise.depthwise_conv_forward, depthwise.depthwise_conv_backward,
             reference.depthwise_conv_forward, reference.depthwise_conv_backward,
             *_operands(case, depthwise_layout=True))


@SETTINGS
@given(window_cases(dilated=True))
def test_dilated_conv_fast_matches_reference(case):
    _compare(ops.conv_forward, ops.conv_backward, reference.conv_forward,
             reference.conv_backward, *_operands(case, depthwise_layout=False))


def test_depthwise_is_a_conv_with_a_block_diagonal_kernel():
    """Independent of both implementations: depthwise == full conv whose kernel only links
    input channel c to output channels c * k .. c * k + k - 1."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 7, 6, 3))
    W = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal((1, 1, 1, 6))
    full = np.zeros((3, 2, 3, 6))
    for c in range(3):
        full[:, :, c, 2 * c:2 * c + 2] = W[:, :, c, :]
    for hp in ({"stride": 2, "pad": "same"}, {"stride": 1, "pad": 1, "dilation": (2, 1)}):
        Z, _ = depthwise.depthwise_conv_forward(A, W, b, hp)
        np.testing.assert_allclose(Z, reference.conv_forward(A, full, b, hp)[0], rtol=1e-12,
                                   atol=1e-12)


def test_dilation_one_is_the_plain_conv():
    rng = np.random.default_rng(1)
    A, W, b = rng.standard_normal((2, 6, 6, 2)), rng.standard_normal((3, 3, 2, 4)), \
        rng.standard_normal((1, 1, 1, 4))
    plain, _ = ops.conv_forward(A, W, b, {"stride": 1, "pad": "same"})
    explicit, _ = ops.conv_forward(A, W, b, {"stride": 1, "pad": "same", "dilation": 1})
    np.testing.assert_array_equal(plain, explicit)
    # a dilated 2x2 kernel with d=2 equals a 3x3 kernel with zeros between the taps
    W2 = rng.standard_normal((2, 2, 2, 4))
    spread = np.zeros((3, 3, 2, 4))
    spread[::2, ::2] = W2
    dilated, _ = ops.conv_forward(A, W2, b, {"stride": 1, "pad": "same", "dilation": 2})
    np.testing.assert_allclose(dilated, ops.conv_forward(A, spread, b,
                                                         {"stride": 1, "pad": "same"})[0],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("hp, multiplier", [
    ({"stride": 1, "pad": "same"}, 1),
    ({"stride": 2, "pad": "valid"}, 2),
    ({"stride": (1, 2), "pad": "same"}, 3),
    ({"stride": 1, "pad": "same", "dilation": 2}, 2),
    ({"stride": 2, "pad": "same"}, 1),
    ({"stride": 1, "pad": "valid", "dilation": (2, 1)}, 1),
])
def test_depthwise_numerical_gradients(impl, hp, multiplier):
    forward = (depthwise.depthwise_conv_forward if impl == "fast"
               else reference.depthwise_conv_forward)
    backward = (depthwise.depthwise_conv_backward if impl == "fast"
                else reference.depthwise_conv_backward)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((2, 5, 6, 2))
    W = rng.standard_normal((3, 2, 2, multiplier))
    b = rng.standard_normal((1, 1, 1, 2 * multiplier))
    Z, cache = forward(A, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    dA, dW, db = backward(dZ, cache)
    run = lambda: forward(A, W, b, hp)[0]
    for analytic, wrt in ((dA, A), (dW, W), (db, b)):
        assert rel_error(analytic, numerical_gradient(run, wrt, dZ)) < 1e-7


def test_depthwise_skips_input_gradient():
    rng = np.random.default_rng(3)
    A, W, b = rng.standard_normal((4, 5, 5, 3)), rng.standard_normal((3, 3, 3, 1)), \
        np.zeros((1, 1, 1, 3))
    Z, cache = depthwise.depthwise_conv_forward(A, W, b, {"stride": 1, "pad": "same"})
    dZ = rng.standard_normal(Z.shape)
    _, dW, db = depthwise.depthwise_conv_backward(dZ, cache)
    none, dW2, db2 = depthwise.depthwise_conv_backward(dZ, cache, compute_dA_prev=False)
    assert none is None
    np.testing.assert_allclose(dW2, dW)
    np.testing.assert_allclose(db2, db)


def test_depthwise_big_batch_split_between_cores_matches_reference():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((16, 12, 12, 8)).astype(np.float32)
    W = rng.standard_normal((3, 3, 8, 1)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 8)).astype(np.float32)
    hp = {"stride": 2, "pad": "same"}
    Z, cache = depthwise.depthwise_conv_forward(A, W, b, hp)
    dZ = rng.standard_normal(Z.shape).astype(np.float32)
    want_Z, want_cache = reference.depthwise_conv_forward(A[:3], W, b, hp)
    np.testing.assert_allclose(Z[:3], want_Z, rtol=1e-5, atol=1e-5)
    dA, dW, _ = depthwise.depthwise_conv_backward(dZ, cache)
    dA_ref, _, _ = reference.depthwise_conv_backward(dZ[:3], want_cache)
    np.testing.assert_allclose(dA[:3], dA_ref, rtol=1e-5, atol=1e-5)
    dW_einsum = np.zeros_like(dW)
    A_pad = np.pad(A, ((0, 0), (0, 1), (0, 1), (0, 0)))  # 'same' for 12 / stride 2 / k 3
    for i in range(3):
        for j in range(3):
            dW_einsum[i, j, :, 0] = np.einsum("mhwc,mhwc->c", A_pad[:, i:i + 12:2, j:j + 12:2],
                                              dZ)
    np.testing.assert_allclose(dW, dW_einsum, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("module", [depthwise, reference])
@pytest.mark.parametrize("W_shape, b_shape, hp, match", [
    ((3, 3, 2, 1), (1, 1, 1, 3), {"stride": 1, "pad": "same"}, "input channels"),
    ((3, 3, 3, 2), (1, 1, 1, 3), {"stride": 1, "pad": "same"}, r"\(1, 1, 1, 6\)"),
    ((3, 3, 3), (1, 1, 1, 3), {"stride": 1, "pad": "same"}, "depth_multiplier"),
    ((3, 3, 3, 1), (1, 1, 1, 3), {"stride": 1}, "missing"),
    ((3, 3, 3, 1), (1, 1, 1, 3), {"stride": 1, "pad": 0, "dilation": 4}, "dilated"),
    ((3, 3, 3, 1), (1, 1, 1, 3), {"stride": 1, "pad": 0, "dilation": 0}, "dilation"),
])
def test_depthwise_bad_arguments(module, W_shape, b_shape, hp, match):
    A = np.zeros((1, 6, 6, 3))
    with pytest.raises(ValueError, match=match):
        module.depthwise_conv_forward(A, np.zeros(W_shape), np.zeros(b_shape), hp)


def test_depthwise_backward_bad_arguments():
    A = np.zeros((1, 4, 4, 2))
    Z, cache = depthwise.depthwise_conv_forward(A, np.zeros((2, 2, 2, 1)), np.zeros((1, 1, 1, 2)),
                                                {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"\(1, 3, 3, 2\)"):
        depthwise.depthwise_conv_backward(np.zeros((1, 4, 4, 2)), cache)
    with pytest.raises(TypeError, match="depthwise_conv_forward"):
        depthwise.depthwise_conv_backward(Z, (A,))


@pytest.mark.parametrize("hp", [{"stride": 1, "pad": "same"}, {"stride": 2, "pad": "same"},
                                {"stride": (2, 1), "pad": 1, "dilation": (1, 2)},
                                {"stride": (1, 3), "pad": "valid"}])
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_einsum_forward_in_groups_and_threads(monkeypatch, hp, bias):
    # The multiplier-1 forward runs one einsum per group of examples, the groups split
    # between threads: force groups of one example and a split for a small batch.
    monkeypatch.setattr(depthwise, "_CHUNK", 1)
    monkeypatch.setattr(depthwise, "_MIN_SPLIT", 1)
    rng = np.random.default_rng(7)
    A = rng.standard_normal((5, 7, 9, 4))
    W = rng.standard_normal((3, 3, 4, 1))
    b = rng.standard_normal((1, 1, 1, 4)) if bias else np.zeros((1, 1, 1, 4))
    Z, _ = depthwise.depthwise_conv_forward(A, W, b, hp)
    want, _ = reference.depthwise_conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("few, wide", [(64, 16), (0, 1), (0, 1000)],
                         ids=["per-tap-rows", "row-einsum", "pixel-einsum"])
@pytest.mark.parametrize("hp", [{"stride": 1, "pad": "same"}, {"stride": 2, "pad": "same"},
                                {"stride": 2, "pad": "valid"}, {"stride": (1, 3), "pad": 2},
                                {"stride": 1, "pad": "same", "dilation": (2, 3)},
                                {"stride": 2, "pad": 1, "dilation": 2}])
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_backward_paths_in_groups_and_threads(monkeypatch, few, wide, hp,
                                                        multiplier):
    # Backward contracts the tap view in one of three ways chosen by shape (filter gradient)
    # and writes the input gradient phase by phase; force each way, groups of one example
    # and a split between threads, and compare with the loops in float64.
    monkeypatch.setattr(depthwise, "_FEW_CHANNELS", few)
    monkeypatch.setattr(depthwise, "_WIDE_ROWS", wide)
    monkeypatch.setattr(depthwise, "_CHUNK", 1)
    monkeypatch.setattr(depthwise, "_MIN_SPLIT", 1)
    rng = np.random.default_rng(8)
    A = rng.standard_normal((3, 9, 8, 4))
    W = rng.standard_normal((3, 3, 4, multiplier))
    b = rng.standard_normal((1, 1, 1, 4 * multiplier))
    _assert_forward_and_backward_match_the_loops(A, W, b, hp, rng)


@pytest.mark.parametrize("hp", [{"stride": 2, "pad": "same"}, {"stride": 3, "pad": "valid"},
                                {"stride": 1, "pad": 3}])
def test_depthwise_input_gradient_phases_without_taps(hp):
    # A stride above the kernel leaves input positions no window reads (their gradient is
    # 0), and a pad wider than the window leaves output rows that read padding only.
    rng = np.random.default_rng(9)
    A = rng.standard_normal((2, 7, 8, 3))
    W = rng.standard_normal((2, 2, 3, 1))
    b = np.zeros((1, 1, 1, 3))
    _, cache = depthwise.depthwise_conv_forward(A, W, b, hp)
    Z, want_cache = reference.depthwise_conv_forward(A, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    dA, _, _ = depthwise.depthwise_conv_backward(dZ, cache)
    np.testing.assert_allclose(dA, reference.depthwise_conv_backward(dZ, want_cache)[0],
                               rtol=1e-12, atol=1e-12)
    run = lambda: depthwise.depthwise_conv_forward(A, W, b, hp)[0]
    assert rel_error(dA, numerical_gradient(run, A, dZ)) < 1e-7


@pytest.mark.parametrize("hp", [{"stride": 1, "pad": "same"}, {"stride": 2, "pad": (1, 2)},
                                {"stride": 1, "pad": "valid"}])
def test_depthwise_padded_frames_are_reused_across_groups_of_any_size(monkeypatch, hp):
    # Each thread pads its groups in one reused frame (`PaddedInput.group`): with groups of two
    # examples over five, the last group is smaller than the frame, and every group must see
    # a zero border whatever the one before held.
    per_example = 9 * 8 * 4  # output numbers of one example at stride 1
    monkeypatch.setattr(depthwise, "_CHUNK", 2 * per_example)
    monkeypatch.setattr(depthwise, "_MIN_SPLIT", 10**9)  # one thread: all groups share a frame
    rng = np.random.default_rng(10)
    A = rng.standard_normal((5, 9, 8, 4)) + 5.0  # far from 0: a stale border would show
    A_before = A.copy()
    W = rng.standard_normal((3, 3, 4, 1))
    b = rng.standard_normal((1, 1, 1, 4))
    _assert_forward_and_backward_match_the_loops(A, W, b, hp, rng)
    np.testing.assert_array_equal(A, A_before)  # the input is read, never written


def _assert_forward_and_backward_match_the_loops(A, W, b, hp, rng) -> None:
    """The fast depthwise conv's output and gradients equal the reference loops' (float64)."""
    Z, cache = depthwise.depthwise_conv_forward(A, W, b, hp)
    want_Z, want_cache = reference.depthwise_conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, want_Z, rtol=1e-12, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for got, want in zip(depthwise.depthwise_conv_backward(dZ, cache),
                         reference.depthwise_conv_backward(dZ, want_cache)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
