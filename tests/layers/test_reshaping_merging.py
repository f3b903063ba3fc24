"""ZeroPadding2D, Add and Concatenate."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.layers import Add, Concatenate, KerasTensor, ZeroPadding2D
from tests.layers.harness import check_gradients, check_layer


@pytest.mark.parametrize("padding, output_shape", [
    (3, (2, 10, 9, 2)), ((1, 2), (2, 6, 7, 2)), (((0, 2), (3, 1)), (2, 6, 7, 2)),
])
def test_zero_padding_check_layer(padding, output_shape):
    check_layer(ZeroPadding2D, {"padding": padding}, (2, 4, 3, 2), output_shape, 0)


def test_zero_padding_default_and_values():
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    y = ZeroPadding2D(((1, 0), (0, 2)))(x)
    assert y[0, :, :, 0].tolist() == [[0, 0, 0, 0], [0, 1, 0, 0], [2, 3, 0, 0]]
    assert ZeroPadding2D().padding == ((1, 1), (1, 1))


def test_zero_padding_gradients():
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    check_gradients(ZeroPadding2D(((1, 2), (0, 1)), dtype="float64"), x)


@pytest.mark.parametrize("padding", [-1, (1, -1), (1, 2, 3), ((1, 2), 3), "same", 1.5])
def test_zero_padding_bad(padding):
    with pytest.raises(ValueError):
        ZeroPadding2D(padding)


def test_zero_padding_bad_rank():
    with pytest.raises(ValueError, match="rank 4"):
        ZeroPadding2D(1)(np.ones((2, 3), dtype="float32"))


def test_add():
    check_layer(Add, {}, [(2, 3, 4), (2, 3, 4), (2, 3, 4)], (2, 3, 4), 0)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 3, 2)) for _ in range(3)]
    np.testing.assert_allclose(Add(dtype="float64")(xs), xs[0] + xs[1] + xs[2])
    check_gradients(Add(dtype="float64"), xs)


def test_concatenate():
    check_layer(Concatenate, {}, [(2, 3, 3, 2), (2, 3, 3, 4)], (2, 3, 3, 6), 0)
    check_layer(Concatenate, {"axis": 1}, [(2, 1, 3), (2, 4, 3)], (2, 5, 3), 0)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((2, 3, 1)), rng.standard_normal((2, 3, 3))]
    np.testing.assert_array_equal(Concatenate(dtype="float64")(xs), np.concatenate(xs, -1))
    check_gradients(Concatenate(dtype="float64"), xs)
    check_gradients(Concatenate(axis=1, dtype="float64"),
                    [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 1, 3))])


def test_merge_symbolic_with_unknown_dims():
    a, b = KerasTensor((None, None, 4)), KerasTensor((None, 5, 4))
    assert Add()([a, b]).shape == (None, 5, 4)
    assert Concatenate(axis=1)([a, b]).shape == (None, None, 4)


def test_merge_shape_mismatch():
    ones = np.ones
    with pytest.raises(ValueError, match=r"3\).*4\)"):
        Add()([ones((2, 3)), ones((2, 4))])
    with pytest.raises(ValueError, match="agree"):
        Concatenate()([ones((2, 3, 1)), ones((2, 4, 1))])
    with pytest.raises(ValueError, match="rank"):
        Concatenate()([ones((2, 3, 1)), ones((2, 3))])
    with pytest.raises(ValueError, match="axis"):
        Concatenate(axis=0)([ones((2, 3)), ones((2, 3))])
    layer = Add()
    layer([ones((2, 3)), ones((2, 3))])
    with pytest.raises(ValueError, match="one shape"):
        layer([ones((2, 3)), ones((2, 5))])  # checked on every call, not only at build


def test_merge_needs_a_list():
    with pytest.raises(TypeError, match="list"):
        Add()(np.ones((2, 3)))
    with pytest.raises(TypeError, match="list"):
        Concatenate()(KerasTensor((None, 3)))
