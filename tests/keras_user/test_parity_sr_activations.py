"""``keras.activations.*`` called on a functional model's KerasTensors, as keras.io's MIRNet
writes its spatial attention (``feature_map = keras.activations.sigmoid(feature_map)``).

In TF 2.21 (Keras 3) every activation function accepts a KerasTensor and answers with one
(Keras writes them in keras.ops); the model runs, trains and saves. The expected values below
are the activations' formulas in NumPy."""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def test_sigmoid_on_a_keras_tensor_builds_the_mirnet_spatial_attention():
    inputs = keras.Input((4, 4, 2))
    pooled = keras.layers.Conv2D(1, 1, use_bias=False)(inputs)
    attention = keras.activations.sigmoid(pooled)
    assert isinstance(attention, type(inputs))
    assert tuple(attention.shape) == (None, 4, 4, 1)
    model = keras.Model(inputs, inputs * attention)
    model.set_weights([np.array([[[[0.5], [-1.0]]]], dtype="float32")])
    x = _x(2, 4, 4, 2)
    got = model.predict(x, verbose=0)
    want = x * _sigmoid(x[..., :1] * 0.5 - x[..., 1:])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda v: np.maximum(v, 0)),
    ("tanh", np.tanh),
    ("softplus", lambda v: np.log1p(np.exp(v))),
    ("elu", lambda v: np.where(v > 0, v, np.expm1(v))),
    ("leaky_relu", lambda v: np.where(v > 0, v, 0.2 * v)),
    ("linear", lambda v: v),
    ("exponential", np.exp),
    ("mish", lambda v: v * np.tanh(np.log1p(np.exp(v)))),
    ("silu", lambda v: v * _sigmoid(v)),
    ("swish", lambda v: v * _sigmoid(v)),
    ("softmax", lambda v: np.exp(v) / np.exp(v).sum(axis=-1, keepdims=True)),
])
def test_each_activation_function_takes_a_keras_tensor(name, formula):
    inputs = keras.Input((3, 4))
    outputs = getattr(keras.activations, name)(inputs)
    assert tuple(outputs.shape) == (None, 3, 4)
    x = _x(2, 3, 4)
    got = keras.Model(inputs, outputs).predict(x, verbose=0)
    np.testing.assert_allclose(got, formula(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_options_reach_the_op():
    inputs = keras.Input((5,))
    capped = keras.activations.relu(inputs, max_value=1.0)
    shifted = keras.activations.relu(inputs, threshold=0.5)
    exact = keras.activations.gelu(inputs)  # Keras's activation: approximate=False
    halves = keras.activations.glu(inputs[:, :4], axis=-1)
    model = keras.Model(inputs, [capped, shifted, exact, halves])
    x = np.array([[-1.0, 0.25, 0.75, 1.5, 3.0]], dtype="float32")
    c, s, e, h = model.predict(x, verbose=0)
    np.testing.assert_allclose(c, [[0.0, 0.25, 0.75, 1.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(s, [[0.0, 0.0, 0.75, 1.5, 3.0]], rtol=1e-6)
    # exact GELU of these inputs (x * Phi(x)), TF 2.21's keras.activations.gelu
    np.testing.assert_allclose(e, [[-0.158655, 0.149677, 0.58003, 1.399789, 2.99595]],
                               rtol=1e-5)
    np.testing.assert_allclose(h, [[-1.0 * _sigmoid(0.75), 0.25 * _sigmoid(1.5)]], rtol=1e-5)


def test_an_activation_object_takes_a_keras_tensor():
    inputs = keras.Input((4,))
    by_name = keras.activations.get("sigmoid")(inputs)
    assert tuple(by_name.shape) == (None, 4)
    x = _x(3, 4)
    got = keras.Model(inputs, by_name).predict(x, verbose=0)
    np.testing.assert_allclose(got, _sigmoid(x), rtol=1e-5)


def test_the_model_trains_and_saves(tmp_path):
    inputs = keras.Input((4, 4, 2))
    gate = keras.activations.sigmoid(keras.layers.Conv2D(2, 1)(inputs))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(inputs * gate))
    model.compile(optimizer="adam", loss="mse")
    x, y = _x(4, 4, 4, 2), _x(4, 4, 4, 1, seed=1)
    history = model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert list(history.history) == ["loss"]
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_plain_arrays_and_tensors_are_unchanged():
    x = _x(2, 3)
    assert type(keras.activations.sigmoid(x)) is np.ndarray
    t = keras.activations.sigmoid(tf.constant(x))
    np.testing.assert_allclose(np.asarray(t), _sigmoid(x), rtol=1e-6)
