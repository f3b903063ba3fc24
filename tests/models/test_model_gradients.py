"""Numerical gradient checks (central differences, float64) through whole models.

Each check perturbs every input element and every weight of a small model and compares
d loss / d value with what the model's backward pass (the graph walk, fan-out sums, merge
layers and the fused sigmoid/softmax + cross-entropy gradient) produced.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp
import convnp as tf
from tests.helpers import numerical_gradient, rel_error

tfl = tf.keras.layers
F64 = "float64"
TOL = 1e-6


def close(analytic, numeric) -> bool:
    """Relative error below TOL, or both zero up to rounding (a conv bias that feeds
    BatchNormalization has an exactly-zero gradient: only noise is left on both sides)."""
    return rel_error(analytic, numeric) < TOL or np.max(np.abs(analytic - numeric)) < 1e-9


def _graph_grads(model, x, dout, training=True):
    """Backward of sum(model(x) * dout): (dx, [grad of every weight])."""
    graph = model._graph
    graph.plan_backward(input_gradients=True)
    convnp.random.set_seed(7)  # Dropout draws the same mask in every forward
    graph.forward([x], training=training)
    (dx,) = graph.backward([dout])
    return dx, [v.grad for v in model.trainable_weights]


def _check_model(model, x, training=True):
    rng = np.random.default_rng(1)
    out = model._graph.forward([x], training=training)[0]
    dout = rng.normal(size=out.shape)

    def f():
        convnp.random.set_seed(7)
        return model._graph.forward([x], training=training)[0]

    dx, grads = _graph_grads(model, x, dout, training)
    num_dx = numerical_gradient(f, x, dout)
    assert close(dx, num_dx), "d output / d input"
    for variable, grad in zip(model.trainable_weights, grads):
        assert grad is not None, variable.name
        num = numerical_gradient(f, variable.value, dout)
        assert close(grad, num), f"d output / d {variable.name}"


def test_sequential_of_every_single_input_layer_type():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([
        tfl.ZeroPadding2D(padding=1, input_shape=(6, 6, 2), dtype=F64),
        tfl.Conv2D(3, 3, strides=1, dtype=F64),
        tfl.BatchNormalization(axis=3, dtype=F64),
        tfl.ReLU(dtype=F64),
        tfl.MaxPooling2D(pool_size=2, padding="same", dtype=F64),
        tfl.Conv2D(4, 2, strides=2, padding="same", activation="tanh", dtype=F64),
        tfl.AveragePooling2D(pool_size=1, dtype=F64),
        tfl.Dropout(0.3, dtype=F64),
        tfl.Flatten(dtype=F64),
        tfl.Dense(5, activation="sigmoid", dtype=F64),
        tfl.Activation("softmax", dtype=F64),
    ])
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2))
    _check_model(model, x)


def test_functional_branches_add_concatenate_and_fan_out():
    tf.keras.backend.clear_session()
    inp = tf.keras.Input(shape=(5, 5, 2))
    a = tfl.Conv2D(3, 3, padding="same", dtype=F64)(inp)
    b = tfl.Conv2D(3, 1, dtype=F64)(inp)
    s = tfl.Add(dtype=F64)([a, b])                      # a merge of two branches
    r = tfl.ReLU(dtype=F64)(s)
    c = tfl.Concatenate(axis=-1, dtype=F64)([r, a])     # `a` fans out to Add and Concatenate
    p = tfl.GlobalAveragePooling2D(dtype=F64)(c)
    q = tfl.GlobalMaxPooling2D(dtype=F64)(r)
    h = tfl.Concatenate(dtype=F64)([p, q])
    out = tfl.Dense(2, dtype=F64)(h)
    model = tf.keras.Model(inputs=inp, outputs=out)
    x = np.random.default_rng(3).normal(size=(2, 5, 5, 2))
    _check_model(model, x)


def test_add_of_the_same_tensor_twice():
    tf.keras.backend.clear_session()
    inp = tf.keras.Input(shape=(4,))
    d = tfl.Dense(3, dtype=F64)(inp)
    s = tfl.Add(dtype=F64)([d, d])
    model = tf.keras.Model(inp, tfl.Dense(2, dtype=F64)(s))
    _check_model(model, np.random.default_rng(4).normal(size=(3, 4)))


@pytest.mark.parametrize("loss, units, activation", [
    ("binary_crossentropy", 1, "sigmoid"),
    ("categorical_crossentropy", 4, "softmax"),
    ("mse", 3, "linear"),
])
def test_training_gradient_of_the_loss(loss, units, activation):
    """The gradients fit uses (fused sigmoid/softmax + cross-entropy included) are
    d loss / d weight of the very loss fit reports."""
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([
        tfl.Conv2D(2, 2, input_shape=(4, 4, 1), dtype=F64),
        tfl.BatchNormalization(dtype=F64),
        tfl.Flatten(dtype=F64),
        tfl.Dense(units, activation=activation, dtype=F64),
    ])
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 4, 4, 1))
    if activation == "softmax":
        y = np.eye(units)[rng.integers(0, units, 4)]
    else:
        y = (rng.random((4, units)) > 0.5).astype(np.float64)
    fused, variables = model._prepare_training()
    assert (fused is not None) == (activation != "linear")
    model._compute_gradients(x, y, fused)
    grads = [v.grad.copy() for v in variables]

    def loss_value():
        return np.array(model._forward_with_loss(x, y, fused, training=True)[1])

    for variable, grad in zip(variables, grads):
        num = numerical_gradient(loss_value, variable.value, np.array(1.0))
        assert close(grad, num), variable.name


def test_first_layer_skips_its_input_gradient():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([
        tfl.ZeroPadding2D(1, input_shape=(4, 4, 1)),
        tfl.Conv2D(2, 3),
        tfl.Flatten(),
        tfl.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model._prepare_training()
    _pad, conv, _flatten, dense = model.layers
    assert conv.needs_input_gradient is False
    assert dense.needs_input_gradient is True
    assert not model._graph.nodes[0].active  # nothing to learn before the first conv


def test_nested_model_gradients():
    tf.keras.backend.clear_session()
    inner_in = tf.keras.Input(shape=(4, 4, 2))
    h = tfl.Conv2D(2, 2, dtype=F64)(inner_in)
    inner = tf.keras.Model(inner_in, tfl.Activation("tanh", dtype=F64)(h))
    inp = tf.keras.Input(shape=(4, 4, 2))
    y = inner(inp)
    out = tfl.Dense(3, dtype=F64)(tfl.Flatten(dtype=F64)(y))
    model = tf.keras.Model(inp, out)
    _check_model(model, np.random.default_rng(6).normal(size=(2, 4, 4, 2)))
