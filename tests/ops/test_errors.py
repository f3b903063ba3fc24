"""Bad input is refused with ValueError/TypeError naming what was expected, in both versions."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import reference
from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))

A4 = np.zeros((2, 5, 5, 3))
W4 = np.zeros((3, 3, 3, 4))
B4 = np.zeros((1, 1, 1, 4))
CONV_HP = {"stride": 1, "pad": 0}
POOL_HP = {"f": 2, "stride": 2}


@impls
@pytest.mark.parametrize(
    "A_prev, W, b, hp, match",
    [
        (np.zeros((5, 5, 3)), W4, B4, CONV_HP, r"4 dimensions"),
        (A4, np.zeros((3, 3, 3)), B4, CONV_HP, r"f_h, f_w, n_C_prev, n_C"),
        (A4, np.zeros((3, 3, 2, 4)), B4, CONV_HP, r"channels"),
        (A4, W4, np.zeros((1, 1, 1, 3)), CONV_HP, r"\(1, 1, 1, 4\)"),
        (A4, np.zeros((6, 3, 3, 4)), B4, CONV_HP, r"larger than the padded input"),
        (A4, np.zeros((7, 7, 3, 4)), B4, {"stride": 1, "pad": 0}, r"larger"),
        (A4, W4, B4, {"stride": 0, "pad": 0}, r"stride must be >= 1"),
        (A4, W4, B4, {"stride": (1, -2), "pad": 0}, r"stride"),
        (A4, W4, B4, {"stride": 1.5, "pad": 0}, r"stride must be an int"),
        (A4, W4, B4, {"stride": 1, "pad": -1}, r"pad must be >= 0"),
        (A4, W4, B4, {"stride": 1, "pad": "full"}, r"'same', 'valid'"),
        (A4, W4, B4, {"stride": 1}, r"missing \['pad'\]"),
        (A4, W4, B4, {"pad": 0}, r"missing \['stride'\]"),
    ],
    ids=["rank-A", "rank-W", "channels", "bias-size", "window-too-tall", "window-too-big",
         "stride-0", "stride-negative", "stride-float", "pad-negative", "pad-unknown",
         "missing-pad", "missing-stride"],
)
def test_conv_forward_value_errors(ops, A_prev, W, b, hp, match):
    with pytest.raises(ValueError, match=match):
        ops.conv_forward(A_prev, W, b, hp)


@impls
def test_conv_forward_type_errors(ops):
    with pytest.raises(TypeError, match=r"numpy array"):
        ops.conv_forward(A4.tolist(), W4, B4, CONV_HP)
    with pytest.raises(TypeError, match=r"dict"):
        ops.conv_forward(A4, W4, B4, [("stride", 1), ("pad", 0)])
    with pytest.raises(TypeError, match=r"real numbers"):
        ops.conv_forward(A4.astype(complex), W4, B4, CONV_HP)


@impls
def test_window_larger_than_input_is_fine_once_padded(ops):
    Z, _ = ops.conv_forward(np.ones((1, 2, 2, 1)), np.ones((4, 4, 1, 1)), np.zeros((1, 1, 1, 1)),
                            {"stride": 1, "pad": 1})
    assert Z.shape == (1, 1, 1, 1) and Z[0, 0, 0, 0] == 4.0


@impls
@pytest.mark.parametrize("bad_shape", [(2, 5, 5, 4), (2, 3, 3, 3), (2, 3, 4), (1, 3, 3, 4)])
def test_conv_backward_checks_dZ_shape(ops, bad_shape):
    _, cache = ops.conv_forward(A4, W4, B4, CONV_HP)  # Z has shape (2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"\(2, 3, 3, 4\)"):
        ops.conv_backward(np.zeros(bad_shape), cache)


@impls
def test_conv_backward_refuses_foreign_cache(ops):
    with pytest.raises(TypeError, match=r"cache"):
        ops.conv_backward(np.zeros((2, 3, 3, 4)), "not a cache")


@impls
@pytest.mark.parametrize(
    "A_prev, hp, mode, match",
    [
        (np.zeros((5, 5, 3)), POOL_HP, "max", r"4 dimensions"),
        (A4, {"stride": 2}, "max", r"missing \['f'\]"),
        (A4, {"f": 2}, "average", r"missing \['stride'\]"),
        (A4, {"f": 2, "stride": 0}, "max", r"stride must be >= 1"),
        (A4, {"f": 0, "stride": 1}, "max", r"f \(window size\) must be >= 1"),
        (A4, {"f": 6, "stride": 1}, "average", r"larger than the padded input"),
        (A4, {"f": (2, 6), "stride": 1}, "max", r"larger"),
        (A4, {"f": 2, "stride": 1, "pad": 2}, "max", r"smaller than the window"),
        (A4, {"f": (3, 2), "stride": 1, "pad": ((0, 0), (0, 2))}, "average", r"smaller than"),
        (A4, POOL_HP, "min", r"mode must be one of"),
        (A4, POOL_HP, "avg", r"'max', 'average'"),
    ],
    ids=["rank", "missing-f", "missing-stride", "stride-0", "f-0", "window-too-big",
         "window-too-wide", "pad-as-wide-as-window", "pad-right-too-wide", "mode-min", "mode-avg"],
)
def test_pool_forward_value_errors(ops, A_prev, hp, mode, match):
    with pytest.raises(ValueError, match=match):
        ops.pool_forward(A_prev, hp, mode=mode)


@impls
def test_pool_forward_type_errors(ops):
    with pytest.raises(TypeError, match=r"numpy array"):
        ops.pool_forward(A4.tolist(), POOL_HP)
    with pytest.raises(TypeError, match=r"dict"):
        ops.pool_forward(A4, None)


@impls
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("bad_shape", [(2, 2, 2, 4), (2, 3, 2, 3), (2, 2, 2)])
def test_pool_backward_checks_dA_shape(ops, mode, bad_shape):
    _, cache = ops.pool_forward(A4, POOL_HP, mode=mode)  # A has shape (2, 2, 2, 3)
    with pytest.raises(ValueError, match=r"\(2, 2, 2, 3\)"):
        ops.pool_backward(np.zeros(bad_shape), cache, mode=mode)


@impls
def test_pool_backward_unknown_mode(ops):
    A, cache = ops.pool_forward(A4, POOL_HP, mode="max")
    with pytest.raises(ValueError, match=r"mode must be one of"):
        ops.pool_backward(np.zeros(A.shape), cache, mode="median")


@impls
def test_zero_pad_errors(ops):
    with pytest.raises(ValueError, match=r"4 dimensions"):
        ops.zero_pad(np.zeros((3, 3, 2)), 1)
    with pytest.raises(ValueError, match=r"pad must be >= 0"):
        ops.zero_pad(A4, -1)
    with pytest.raises(ValueError, match=r"explicit pad sizes"):
        ops.zero_pad(A4, "same")
    with pytest.raises(TypeError, match=r"numpy array"):
        ops.zero_pad([[1.0]], 1)


@impls
def test_conv_single_step_errors(ops):
    with pytest.raises(ValueError, match=r"shape"):
        ops.conv_single_step(np.zeros((2, 2, 3)), np.zeros((2, 2, 2)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match=r"\(1, 1, 1\)"):
        ops.conv_single_step(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), np.zeros((1, 1, 2)))


@impls
def test_distribute_value_errors(ops):
    with pytest.raises(ValueError, match=r"shape"):
        ops.distribute_value(1.0, (0, 2))
    with pytest.raises(ValueError, match=r"dz"):
        ops.distribute_value(np.ones(2), (2, 2))


def test_reference_backward_refuses_wrong_cache_tuples():
    with pytest.raises(TypeError, match=r"cache must be the tuple"):
        reference.conv_backward(np.zeros((2, 3, 3, 4)), (A4, W4, B4))
    with pytest.raises(TypeError, match=r"cache must be the tuple"):
        reference.pool_backward(np.zeros((2, 2, 2, 3)), (A4,))
