"""The course's checks (np.random.seed(1) inputs), for the reference loops and the fast kernels.

Expected values are not copied from printed output: each is recomputed here by an
independent formula (`tests.ops.oracles`) or from first principles, and the two versions
must also agree with each other.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import numerical_gradient
from tests.ops import oracles
from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))


def course_conv_inputs(seed_shapes=((2, 5, 7, 4), (3, 3, 4, 8))):
    np.random.seed(1)
    A_prev = np.random.randn(*seed_shapes[0])
    W = np.random.randn(*seed_shapes[1])
    b = np.random.randn(1, 1, 1, seed_shapes[1][3])
    return A_prev, W, b


@impls
def test_zero_pad(ops):
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = ops.zero_pad(x, 3)
    assert x_pad.shape == (4, 9, 9, 2)
    assert x_pad.dtype == x.dtype
    np.testing.assert_array_equal(x_pad[:, 3:6, 3:6, :], x)
    np.testing.assert_array_equal(x_pad[1, 1], np.zeros((9, 2)))
    border = x_pad.copy()
    border[:, 3:6, 3:6, :] = 0
    assert not border.any()


@impls
def test_zero_pad_pair_and_asymmetric(ops):
    x = np.arange(2 * 3 * 4 * 1, dtype=np.float64).reshape(2, 3, 4, 1)
    assert ops.zero_pad(x, (1, 2)).shape == (2, 5, 8, 1)
    out = ops.zero_pad(x, ((0, 2), (3, 1)))
    assert out.shape == (2, 5, 8, 1)
    np.testing.assert_array_equal(out[:, 0:3, 3:7], x)
    assert out.sum() == x.sum()
    np.testing.assert_array_equal(ops.zero_pad(x, 0), x)


@impls
def test_conv_single_step(ops):
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)  # NumPy 2 refuses float() of this; the op must not
    Z = ops.conv_single_step(a_slice_prev, W, b)
    assert np.ndim(Z) == 0
    expected = float(np.dot(a_slice_prev.ravel(), W.ravel())) + b.item()
    assert float(Z) == pytest.approx(expected, rel=1e-12)


@impls
def test_conv_forward_course_case(ops):
    A_prev, W, b = course_conv_inputs()
    Z, _ = ops.conv_forward(A_prev, W, b, {"pad": 1, "stride": 2})
    assert Z.shape == (2, 3, 4, 8)
    expected = oracles.conv_forward(A_prev, W, b, (2, 2), ((1, 1), (1, 1)))
    np.testing.assert_allclose(Z, expected, rtol=1e-10, atol=1e-12)
    assert Z.mean() == pytest.approx(expected.mean(), rel=1e-12)
    # One output by hand: example 0, output row 2, column 1 reads padded rows 4..6, cols 2..4.
    A_pad = np.pad(A_prev, ((0, 0), (1, 1), (1, 1), (0, 0)))
    by_hand = [np.sum(A_pad[0, 4:7, 2:5, :] * W[..., c]) + b[0, 0, 0, c] for c in range(8)]
    np.testing.assert_allclose(Z[0, 2, 1], by_hand, rtol=1e-12)


def test_conv_forward_versions_agree():
    A_prev, W, b = course_conv_inputs()
    hp = {"pad": 1, "stride": 2}
    Z_ref, _ = IMPLS["reference"].conv_forward(A_prev, W, b, hp)
    Z_fast, _ = IMPLS["fast"].conv_forward(A_prev, W, b, hp)
    np.testing.assert_allclose(Z_fast, Z_ref, rtol=1e-10, atol=1e-12)


@impls
@pytest.mark.parametrize(
    "shapes, hp",
    [
        (((2, 5, 7, 4), (3, 3, 4, 8)), {"pad": 1, "stride": 2}),
        (((10, 4, 4, 3), (2, 2, 3, 8)), {"pad": 2, "stride": 2}),  # the course's backward case
        (((2, 5, 7, 4), (3, 3, 4, 8)), {"pad": 0, "stride": 1}),   # the notes' pad:-pad defect
    ],
    ids=["pad1-stride2", "pad2-stride2", "pad0"],
)
def test_conv_backward_course_cases(ops, shapes, hp):
    A_prev, W, b = course_conv_inputs(shapes)
    Z, cache = ops.conv_forward(A_prev, W, b, hp)
    dA_prev, dW, db = ops.conv_backward(Z, cache)  # dZ = Z, as in the course
    pads = ((hp["pad"],) * 2,) * 2
    stride = (hp["stride"],) * 2
    assert dA_prev.shape == A_prev.shape and dW.shape == W.shape and db.shape == b.shape
    np.testing.assert_allclose(dW, oracles.conv_dW(A_prev, Z, W.shape[:2], stride, pads),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, oracles.conv_db(Z), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dA_prev, oracles.conv_dA(Z, W, A_prev.shape, stride, pads),
                               rtol=1e-10, atol=1e-10)
    if hp["pad"] == 0:
        assert np.abs(dA_prev).sum() > 0


@impls
@pytest.mark.parametrize("stride, out_hw", [(1, (3, 3)), (2, (2, 2))])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool_forward_course_case(ops, stride, out_hw, mode):
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    A, _ = ops.pool_forward(A_prev, {"stride": stride, "f": 3}, mode=mode)
    assert A.shape == (2, *out_hw, 3)
    np.testing.assert_allclose(A, oracles.pool_forward(A_prev, (3, 3), (stride, stride),
                                                       ((0, 0), (0, 0)), mode), rtol=1e-12)
    corner = A_prev[1, 0:3, 0:3, 2]
    assert A[1, 0, 0, 2] == pytest.approx(corner.max() if mode == "max" else corner.mean())


@impls
def test_pool_forward_default_mode_is_max(ops):
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    A, _ = ops.pool_forward(A_prev, {"stride": 2, "f": 3})
    np.testing.assert_allclose(A, ops.pool_forward(A_prev, {"stride": 2, "f": 3}, "max")[0])


@impls
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool_backward_course_case(ops, mode):
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hp = {"stride": 1, "f": 2}
    _, cache = ops.pool_forward(A_prev, hp, mode=mode)
    dA = np.random.randn(5, 4, 2, 2)
    dA_prev = ops.pool_backward(dA, cache, mode=mode)
    assert dA_prev.shape == A_prev.shape
    # Every window passes its whole gradient on (no padding here).
    assert dA_prev.sum() == pytest.approx(dA.sum(), rel=1e-10)

    def forward():
        return oracles.pool_forward(A_prev, (2, 2), (1, 1), ((0, 0), (0, 0)), mode)

    expected = numerical_gradient(forward, A_prev, dA)
    np.testing.assert_allclose(dA_prev, expected, rtol=1e-6, atol=1e-8)
    if mode == "average":
        # Example 1, rows 0..1, cols 0..1, channel 1: the corner cell gets a quarter of dA.
        assert dA_prev[1, 0, 0, 1] == pytest.approx(dA[1, 0, 0, 1] / 4)


def test_pool_backward_versions_agree():
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    dA = np.random.randn(5, 4, 2, 2)
    for mode in ("max", "average"):
        results = []
        for ops in IMPLS.values():
            _, cache = ops.pool_forward(A_prev, {"stride": 1, "f": 2}, mode=mode)
            results.append(ops.pool_backward(dA, cache, mode=mode))
        np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


@impls
def test_create_mask_from_window(ops):
    np.random.seed(1)
    x = np.random.randn(2, 3)
    mask = ops.create_mask_from_window(x)
    assert mask.shape == x.shape and mask.dtype == bool
    assert mask.sum() == 1 and x[mask][0] == x.max()


@impls
def test_distribute_value(ops):
    a = ops.distribute_value(2, (2, 2))
    assert a.shape == (2, 2)
    np.testing.assert_array_equal(a, np.full((2, 2), 0.5))
    b = ops.distribute_value(3.0, (1, 3))
    np.testing.assert_allclose(b, np.full((1, 3), 1.0))
