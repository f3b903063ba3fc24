"""Keras 3.15's newer activations (glu, hard_shrink, soft_shrink, sparse_plus, squareplus,
tanh_shrink, threshold): values and gradients against Keras (fixtures/api_extras.npz, made by
make_api_extras.py), float64 finite differences, use by name in layers and in .keras files."""

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture, numerical_gradient, rel_error

Z = load_fixture("api_extras.npz")
A = tf.keras.activations
CASES = {"hard_shrink": (), "hard_shrink_t": (1.0,), "soft_shrink": (), "soft_shrink_t": (1.0,),
         "sparse_plus": (), "squareplus": (), "squareplus_b": (1.5,), "tanh_shrink": (),
         "threshold": (0.5, -2.0), "glu": (), "glu_0": (0,)}


def _function(key):
    name = key.rsplit("_", 1)[0] if key.endswith(("_t", "_b", "_0")) else key
    return getattr(A, name)


def _input(key):
    return Z["act/x"][:4] if key.startswith("glu") else Z["act/x"]


@pytest.mark.parametrize("key", sorted(CASES))
def test_values_and_gradients_match_keras(key):
    x = _input(key)
    y = _function(key)(x, *CASES[key])
    np.testing.assert_allclose(y, Z[f"act/{key}/y"], rtol=1e-6, atol=1e-6)
    assert y.dtype == np.float32
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = _function(key)(t, *CASES[key])
        weights = np.linspace(0.5, 1.5, out.numpy().size).reshape(out.shape).astype("float32")
        total = tf.reduce_sum(out * weights)
    np.testing.assert_allclose(tape.gradient(total, t), Z[f"act/{key}/grad"],
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("key", sorted(CASES))
def test_gradients_match_finite_differences_in_float64(key):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (4, 6))
    x[np.abs(np.abs(x) - 0.5) < 0.05] += 0.2  # keep away from the kinks
    x[np.abs(np.abs(x) - 1.0) < 0.05] += 0.2
    function, args = _function(key), CASES[key]
    y = function(x, *args)
    dy = rng.normal(size=y.shape)
    obj = A.get(function) if not args else None
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        total = tf.reduce_sum(function(t, *args) * dy)
    numeric = numerical_gradient(lambda: function(x, *args), x, dy)
    assert rel_error(tape.gradient(total, t), numeric) < 1e-7
    if obj is not None:  # the object the layers call: backward(dy, x, y)
        assert rel_error(obj.backward(dy, x, y), numeric) < 1e-7


@pytest.mark.parametrize("name", ["hard_shrink", "soft_shrink", "sparse_plus", "squareplus",
                                  "tanh_shrink"])
def test_by_name_in_a_layer_and_saved_by_name(name, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(4, activation=name)])
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    dense = model.layers[0]
    expected = getattr(A, name)(x @ dense.kernel.numpy() + dense.bias.numpy())
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
    assert dense.get_config()["activation"] == name
    model.save(tmp_path / "m.keras")
    again = tf.keras.models.load_model(tmp_path / "m.keras")
    assert again.layers[0].activation == A.get(name)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-6)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((2, 4), "float32"), epochs=1, verbose=0)  # trains through backward


def test_activation_layer_and_function_identity():
    layer = tf.keras.layers.Activation("squareplus")
    np.testing.assert_allclose(layer(np.array([[0.0, 2.0]], "float32")), [[1.0, 2.4142137]],
                               rtol=1e-6)
    assert A.get(A.tanh_shrink) is A.get("tanh_shrink")
    assert A.serialize(A.sparse_plus) == "sparse_plus"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="even"):
        A.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        A.glu(np.ones((2, 4)), axis=2)
    with pytest.raises(ValueError, match="b must be >= 0"):
        A.squareplus(np.ones(2), b=-1)
    with pytest.raises(TypeError, match="threshold must be a number"):
        A.hard_shrink(np.ones(2), threshold="big")
    with pytest.raises(TypeError):
        A.threshold(np.ones(2))  # both arguments are required, as in Keras
    layer = tf.keras.layers.Activation("threshold")
    with pytest.raises(TypeError, match="needs its two arguments"):
        layer(np.ones((1, 2), "float32"))
