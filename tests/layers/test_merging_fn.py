"""Subtract, Multiply, Average, Maximum, Minimum, Dot, broadcasting merges and Keras'
lowercase merge functions."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import (
    Add,
    Average,
    Concatenate,
    Dot,
    KerasTensor,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from tests.layers.harness import check_gradients, check_layer

ELEMENTWISE = [
    (Subtract, lambda xs: xs[0] - xs[1], 2),
    (Multiply, lambda xs: xs[0] * xs[1] * xs[2], 3),
    (Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3, 3),
    (Maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2]), 3),
    (Minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2]), 3),
]


@pytest.mark.parametrize("cls, formula, count", ELEMENTWISE)
def test_elementwise_merges(cls, formula, count):
    check_layer(cls, {}, [(2, 3, 4)] * count, (2, 3, 4), 0)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((2, 3, 2)) for _ in range(count)]
    np.testing.assert_allclose(cls(dtype="float64")(xs), formula(xs), rtol=1e-12)
    check_gradients(cls(dtype="float64"), xs)


@pytest.mark.parametrize("cls", [Add, Multiply, Subtract, Maximum])
def test_broadcasting_merge(cls):
    # squeeze-and-excitation: (m, 1, 1, C) gates times (m, H, W, C) features
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 3, 4, 2)), rng.standard_normal((2, 1, 1, 2))]
    assert cls()([KerasTensor((None, 3, 4, 2)), KerasTensor((None, 1, 1, 2))]).shape == (
        None, 3, 4, 2)
    assert cls(dtype="float64")(xs).shape == (2, 3, 4, 2)
    check_gradients(cls(dtype="float64"), xs)


def test_maximum_ties_send_the_gradient_to_the_first():
    layer = Maximum(dtype="float64")
    layer([np.ones((1, 2)), np.ones((1, 2))])
    first, second = layer.backward(np.full((1, 2), 5.0))
    assert first.tolist() == [[5.0, 5.0]] and second.tolist() == [[0.0, 0.0]]


def test_merge_errors():
    with pytest.raises(ValueError, match="exactly 2"):
        Subtract()([np.ones((1, 2))] * 3)
    with pytest.raises(ValueError, match="one shape"):
        Multiply()([np.ones((1, 2)), np.ones((1, 3))])
    with pytest.raises(TypeError, match="list"):
        Multiply()(np.ones((1, 2)))


@pytest.mark.parametrize("axes, shapes, out", [
    (1, [(2, 4), (2, 4)], (2, 1)),
    (2, [(2, 3, 4), (2, 5, 4)], (2, 3, 5)),
    ((1, 2), [(2, 3, 4), (2, 5, 3)], (2, 4, 5)),
    (-1, [(2, 3, 4), (2, 4)], (2, 3)),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(axes, shapes, out, normalize):
    check_layer(Dot, {"axes": axes, "normalize": normalize}, shapes, out, 0)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(s) for s in shapes]
    y = Dot(axes, normalize=normalize, dtype="float64")(xs)
    a, b = (axes, axes) if isinstance(axes, int) else axes
    a, b = a % len(shapes[0]), b % len(shapes[1])
    x0, x1 = xs
    if normalize:
        x0 = x0 / np.linalg.norm(x0, axis=a, keepdims=True)
        x1 = x1 / np.linalg.norm(x1, axis=b, keepdims=True)
    expected = np.stack([np.tensordot(x0[i], x1[i], axes=(a - 1, b - 1)) for i in range(2)])
    np.testing.assert_allclose(y, expected.reshape(out), rtol=1e-10)
    check_gradients(Dot(axes, normalize=normalize, dtype="float64"), xs)


def test_dot_errors():
    with pytest.raises(ValueError, match="axis 1 of the first"):
        Dot(1)([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="axes"):
        Dot("last")
    with pytest.raises(ValueError, match="exactly 2"):
        Dot(1)([np.ones((2, 3))] * 3)


def test_lowercase_functions_build_the_layers():
    layers = tf.keras.layers
    a, b = tf.keras.Input((4, 6, 2)), tf.keras.Input((4, 6, 2))
    cases = {layers.add: Add, layers.subtract: Subtract, layers.multiply: Multiply,
             layers.average: Average, layers.maximum: Maximum, layers.minimum: Minimum}
    for function, cls in cases.items():
        out = function([a, b], name=f"merge_{cls.__name__.lower()}")
        assert type(out.layer) is cls and out.shape == (None, 4, 6, 2)
        assert out.layer.name == f"merge_{cls.__name__.lower()}"
    joined = layers.concatenate([a, b], axis=3)
    assert type(joined.layer) is Concatenate and joined.shape == (None, 4, 6, 4)
    assert layers.dot([tf.keras.Input((3,)), tf.keras.Input((3,))], axes=1).shape == (None, 1)
    # eager: on arrays
    x = np.ones((1, 2), dtype="float32")
    assert layers.add([x, x]).tolist() == [[2.0, 2.0]]
