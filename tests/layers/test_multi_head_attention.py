"""`MultiHeadAttention` against Keras 3.15's numbers (tests/fixtures/make_attention.py):
outputs, scores, masks, the causal mask, attention over an image's positions, gradients, and
a small CNN with a transformer block loaded from Keras's file and trained as in Keras."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture

keras = tf.keras
layers = keras.layers


@pytest.fixture(scope="module")
def expected():
    return load_fixture("attention_expected.npz")


def lone_layer(expected):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5)
    layer(expected["q"], expected["v"])
    layer.set_weights([expected[f"w/{i}"] for i in range(8)])
    return layer


def test_outputs_scores_and_masks_match_keras(expected):
    layer = lone_layer(expected)
    assert [tuple(w.shape) for w in layer.weights] == [
        (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 4), (2, 4), (2, 4, 5), (5,)]
    out, scores = layer(expected["q"], expected["v"], return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), expected["out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), expected["scores"], rtol=1e-5, atol=1e-7)
    masked = layer(expected["q"], expected["v"], attention_mask=expected["mask"])
    np.testing.assert_allclose(masked.numpy(), expected["out_mask"], rtol=1e-5, atol=1e-6)
    causal = layer(expected["q"], expected["q"], use_causal_mask=True)
    np.testing.assert_allclose(causal.numpy(), expected["out_causal"], rtol=1e-5, atol=1e-6)


def test_gradients_match_keras(expected):
    layer = lone_layer(expected)
    with tf.GradientTape() as tape:
        q = tf.constant(expected["q"])
        tape.watch(q)
        total = tf.reduce_sum(layer(q, expected["v"]) ** 2)
    for i, grad in enumerate(tape.gradient(total, [q, *layer.trainable_weights])):
        np.testing.assert_allclose(np.asarray(grad), expected[f"grad/{i}"], rtol=1e-4,
                                   atol=1e-5)


def test_attention_over_an_images_positions(expected):
    layer = layers.MultiHeadAttention(2, 3)
    layer(expected["img"], expected["img"])
    layer.set_weights([expected[f"img_w/{i}"] for i in range(8)])
    np.testing.assert_allclose(layer(expected["img"], expected["img"]).numpy(),
                               expected["img_out"], rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes=(2,))(expected["img"], expected["img"])


def test_keras_written_transformer_block_trains_as_keras(expected, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "attention.keras")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["before"],
                               rtol=1e-5, atol=1e-6)
    history = model.fit(expected["x"], expected["y"], epochs=2, batch_size=3, shuffle=False,
                        verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["history/loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["after"],
                               rtol=1e-4, atol=1e-6)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        np.testing.assert_array_equal(again.predict(expected["x"], verbose=0),
                                      model.predict(expected["x"], verbose=0))


def test_scores_as_a_second_output_and_dropout():
    keras.utils.set_random_seed(3)
    tokens = keras.Input((6, 8))
    out, scores = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=1)(
        tokens, tokens, return_attention_scores=True)
    assert (out.shape, scores.shape) == ((None, 6, 8), (None, 2, 6, 6))
    model = keras.Model(tokens, [out, scores])
    x = np.random.default_rng(3).random((2, 6, 8)).astype(np.float32)
    _, predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(predicted.sum(axis=-1), 1.0, rtol=1e-5)  # no dropout
    model.compile("sgd", ["mse", None])
    model.fit(x, np.zeros((2, 6, 8), np.float32), epochs=1, verbose=0)  # one y for one loss
    with pytest.raises(TypeError, match="needs `value`"):
        layers.MultiHeadAttention(2, 4)(tokens)


def test_dropout_repeats_under_set_random_seed():
    """With no seed of its own the layer draws from convnp's generator, as Dropout does, so
    ``keras.utils.set_random_seed`` makes a training run repeat (it drew fresh entropy)."""
    x = np.random.default_rng(0).random((2, 5, 4)).astype(np.float32)

    def run():
        keras.utils.set_random_seed(42)
        attention = layers.MultiHeadAttention(2, 3, dropout=0.5)
        return attention(x, x, training=True).numpy()

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)
    attention = layers.MultiHeadAttention(2, 3, dropout=0.5)
    # the generator moves on: two calls in one run drop different weights
    assert not np.array_equal(attention(x, x, training=True).numpy(),
                              attention(x, x, training=True).numpy())
    with pytest.raises(TypeError, match="seed must be an int"):
        layers.MultiHeadAttention(2, 3, seed=1.5)
