"""`EinsumDense` against Keras 3.15 (tests/fixtures/make_attention_more.py): variable shapes,
output shapes, outputs, gradients and configs of the three equation forms; float64 gradients
against central differences; fans of the default initializer; errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp import initializers
from tests.fixtures.einsum_dense_cases import CASES
from tests.helpers import load_fixture
from tests.layers.harness import check_case

keras = tf.keras
layers = keras.layers



@pytest.fixture(scope="module")
def expected():
    return load_fixture("attention_more.npz")


@pytest.mark.parametrize("i", range(len(CASES)))
def test_shapes_outputs_gradients_and_config_match_keras(i, expected):
    shape = CASES[i][-1]
    key = f"ed/{i}"
    keras_config = json.loads(str(expected[f"config/ed{i}"]))
    layer = layers.EinsumDense.from_config(keras_config)  # Keras's config builds ours
    x = expected[f"{key}/x"]
    layer(x)
    weights = [expected[f"{key}/w/{j}"] for j in range(len(layer.weights))]
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in weights]
    assert [w.name for w in layer.weights] == ["kernel", "bias"][:len(weights)]
    layer.set_weights(weights)
    np.testing.assert_allclose(layer(x).numpy(), expected[f"{key}/out"], rtol=1e-5, atol=1e-6)
    # the real output's shape; Keras 3.15 writes None for the sizes output_shape leaves to
    # the input, and reverses the axes a leading ellipsis stands for (case 2)
    got_shape = layer.compute_output_shape((None, *shape[1:]))
    assert got_shape == (None, *expected[f"{key}/out"].shape[1:])
    keras_shape = expected[f"{key}/shape"].tolist()
    if i == 2:
        keras_shape[1:3] = keras_shape[2:0:-1]
    assert all(k in (-1, g) for k, g in zip(keras_shape[1:], got_shape[1:]))
    with tf.GradientTape() as tape:
        t = tf.constant(x)
        tape.watch(t)
        total = tf.reduce_sum(layer(t) ** 2)
    for j, grad in enumerate(tape.gradient(total, [t, *layer.trainable_weights])):
        np.testing.assert_allclose(np.asarray(grad), expected[f"{key}/grad/{j}"], rtol=1e-4,
                                   atol=1e-5)
    ours = layer.get_config()
    for name in ("equation", "bias_axes", "activation", "output_shape"):
        assert ours[name] == keras_config[name], name


@pytest.mark.parametrize("i", [1, 2, 3, 5])
def test_harness_and_float64_backward(i):
    equation, out_shape, bias_axes, activation, shape = CASES[i]
    layer = layers.EinsumDense(equation, out_shape, bias_axes=bias_axes, activation=activation)
    out = layer.compute_output_shape(shape)
    check_case(layers.EinsumDense, {"equation": equation, "output_shape": out_shape,
                                    "bias_axes": bias_axes, "activation": activation},
               shape, out, n_trainable=2)


def test_in_a_model_it_trains_and_the_kernel_fans_are_keras_315s():
    x = keras.Input((6, 8))
    y = layers.EinsumDense("abc,cde->abde", output_shape=(6, 4, 16), bias_axes="de")(x)
    model = keras.Model(x, y)
    model.compile("sgd", "mse")
    data = np.random.default_rng(0).random((4, 6, 8)).astype("float32")
    first = model.evaluate(data, np.zeros((4, 6, 4, 16)), verbose=0)
    model.fit(data, np.zeros((4, 6, 4, 16)), epochs=3, verbose=0)
    assert model.evaluate(data, np.zeros((4, 6, 4, 16)), verbose=0) < first
    # Glorot on the kernel (8, 4, 16): fan_in 8 (the input axis), fan_out 64 (the output
    # axes), not the convolution rule's 8 * 4 and 16 * 4
    init = initializers.GlorotUniform().with_axes([0], [1, 2])
    assert initializers.compute_fans((8, 4, 16), [0], [1, 2]) == (8, 64)
    draws = init((8, 4, 16))
    assert np.abs(draws).max() <= np.sqrt(6 / 72) and draws.std() > 0.8 * np.sqrt(2 / 72)
    kernel = model.layers[1].kernel.numpy()
    assert kernel.shape == (8, 4, 16)
    assert layers.EinsumDense("ab,bc->ac", 4).get_config()["kernel_initializer"] == \
        "glorot_uniform"  # the fans are the build's business, not the config's


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="invalid einsum equation"):
        layers.EinsumDense("ab->b", 3)
    with pytest.raises(TypeError, match="equation must be a string"):
        layers.EinsumDense(3, 3)
    with pytest.raises(ValueError, match="output_shape entries"):
        layers.EinsumDense("ab,bc->ac", -2)
    with pytest.raises(TypeError, match="bias_axes"):
        layers.EinsumDense("ab,bc->ac", 2, bias_axes=1)
    with pytest.raises(ValueError, match="lora_alpha"):
        layers.EinsumDense("ab,bc->ac", 2, lora_alpha=4)
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match="bias axis 'z'"):
        layers.EinsumDense("ab,bc->ac", 2, bias_axes="z")(x)
    with pytest.raises(ValueError, match="must give 1 sizes"):
        layers.EinsumDense("ab,bc->ac", (2, 3))(x)
    with pytest.raises(ValueError, match="names 3 input axes"):
        layers.EinsumDense("abc,cd->abd", (3, 2))(x)
    with pytest.raises(ValueError, match="size 3 in the input but 4"):
        layers.EinsumDense("abc,cd->abd", (4, 2))(np.ones((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="kernel axis 'z'"):
        layers.EinsumDense("ab,bz->ab", (3,))(x)
    layer = layers.EinsumDense("ab,bc->ac", 2)
    layer(x)
    with pytest.raises(ValueError, match="kernel of shape"):
        layer(np.ones((2, 4), "float32"))
