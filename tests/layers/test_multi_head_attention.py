"""`MultiHeadAttention` against Keras 3.15's numbers (tests/fixtures/make_attention.py):
outputs, scores, masks, the causal mask, attention over an image's positions, gradients, and
a small CNN with a transformer block loaded from Keras's file and trained as in Keras."""

from __future__ import annotations

import json
import math

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
    # the features axis, the batch axis and a repeated axis are not attention axes
    for axes in ((3,), (0,), (1, 1)):
        with pytest.raises(ValueError, match="attention_axes"):
            layers.MultiHeadAttention(2, 3, attention_axes=axes)(expected["img"],
                                                                 expected["img"])
    with pytest.raises(ValueError, match="attention_axes must be"):
        layers.MultiHeadAttention(2, 3, attention_axes="1")


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


# -- attention_axes and the methods Keras users override (tests/fixtures/make_attention_more.py)


@pytest.fixture(scope="module")
def more():
    return load_fixture("attention_more.npz")


AXES = {"rank5_axis2": (2,), "rank5_axes23": (2, 3), "rank4_axis1": (1,),
        "rank4_axis_neg2": (-2,), "rank4_default": None}


@pytest.mark.parametrize("name", list(AXES))
def test_attention_axes_match_keras(name, more):
    key = f"mha_axes/{name}"
    x = more[f"{key}/x"]
    layer = layers.MultiHeadAttention(2, 3, attention_axes=AXES[name])
    layer(x, x)
    layer.set_weights([more[f"{key}/w/{i}"] for i in range(8)])
    out, scores = layer(x, x, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), more[f"{key}/out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), more[f"{key}/scores"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(layer(x, x, attention_mask=more[f"{key}/mask"]).numpy(),
                               more[f"{key}/out_mask"], rtol=1e-5, atol=1e-6)
    with tf.GradientTape() as tape:
        t = tf.constant(x)
        tape.watch(t)
        total = tf.reduce_sum(layer(t, t) ** 2)
    for i, grad in enumerate(tape.gradient(total, [t, *layer.trainable_weights])):
        np.testing.assert_allclose(np.asarray(grad), more[f"{key}/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)
    keras_config = json.loads(str(more[f"config/mha_{name}"]))
    assert layer.get_config()["attention_axes"] == keras_config["attention_axes"]
    assert layers.MultiHeadAttention.from_config(keras_config).get_config()[
        "attention_axes"] == keras_config["attention_axes"]


def test_attention_axes_in_a_model_train_and_save(tmp_path):
    clips = keras.Input((3, 4, 5, 6))  # (time, height, width, channels): attend over width
    y = layers.MultiHeadAttention(2, 4, attention_axes=(3,), output_shape=(6,))(clips, clips)
    model = keras.Model(clips, layers.GlobalAveragePooling3D()(y))
    assert y.shape == (None, 3, 4, 5, 6)
    model.compile("adam", "mse")
    x = np.random.default_rng(1).random((4, 3, 4, 5, 6)).astype("float32")
    first = model.evaluate(x, np.zeros((4, 6)), verbose=0)
    model.fit(x, np.zeros((4, 6)), epochs=3, verbose=0)
    assert model.evaluate(x, np.zeros((4, 6)), verbose=0) < first
    model.save(tmp_path / "m.convnp")
    again = keras.models.load_model(tmp_path / "m.convnp")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


@keras.saving.register_keras_serializable(package="fixtures")
class LocalitySelfAttention(layers.MultiHeadAttention):
    """keras.io's locality self-attention written the same way: a learned temperature, the
    Keras 3.15 signature of `_compute_attention`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tau = self.add_weight(name="tau", shape=(), initializer=keras.initializers.Constant(
            math.sqrt(float(self._key_dim))))

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False):
        scaled = keras.ops.multiply(query, 1.0 / self.tau)
        scores = keras.ops.einsum(self._dot_product_equation, key, scaled)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer(scores, training=training)
        return keras.ops.einsum(self._combine_equation, dropped, value), scores


class OlderSignature(layers.MultiHeadAttention):
    """The same as keras.io writes it: a `tf.Variable` attribute and the five-argument
    `_compute_attention` of Keras before 3.5 (Keras 3.15 itself calls it with six)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tau = tf.Variable(math.sqrt(float(self._key_dim)), trainable=True)

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        query = keras.ops.multiply(query, 1.0 / self.tau)
        scores = keras.ops.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer(scores, training=training)
        return keras.ops.einsum(self._combine_equation, dropped, value), scores


def diagonal_mask(n):
    return keras.ops.cast([1 - keras.ops.eye(n)], "int8")


@pytest.mark.parametrize("cls", [LocalitySelfAttention, OlderSignature])
def test_subclass_overriding_compute_attention_matches_keras(cls, more):
    x = more["lsa/x"]
    layer = cls(num_heads=2, key_dim=4, dropout=0.1)
    layer(x, x, attention_mask=diagonal_mask(5))
    assert [w.name for w in layer.weights][:1] == ["tau"] or cls is OlderSignature
    assert len(layer.trainable_weights) == 9  # tau first, as Keras orders it
    layer.set_weights([more[f"lsa/w/{i}"] for i in range(9)])
    out, scores = layer(x, x, attention_mask=diagonal_mask(5), return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), more["lsa/out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), more["lsa/scores"], rtol=1e-5, atol=1e-7)
    assert np.all(np.diagonal(scores.numpy(), axis1=-2, axis2=-1) == 0)
    with tf.GradientTape() as tape:
        t = tf.constant(x)
        tape.watch(t)
        total = tf.reduce_sum(layer(t, t, attention_mask=diagonal_mask(5)) ** 2)
    grads = tape.gradient(total, [t, *layer.trainable_weights])
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(np.asarray(grad), more[f"lsa/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)
    # in training the dropout layer drops some weights, and the gradient still reaches tau
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x, x, attention_mask=diagonal_mask(5), training=True))
    assert np.asarray(tape.gradient(total, layer.tau)) != 0


def test_keras_written_model_with_the_subclass_loads_and_trains_as_keras(more, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "attention_lsa.keras")  # registered above
    x = more["lsa_model/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), more["lsa_model/before"],
                               rtol=1e-5, atol=1e-6)
    history = model.fit(x, more["lsa_model/y"], epochs=2, batch_size=2, shuffle=False,
                        verbose=0)
    np.testing.assert_allclose(history.history["loss"], more["lsa_model/history/loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), more["lsa_model/after"],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.get_layer("lsa").tau), more["lsa_model/tau"],
                               rtol=1e-5)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_output_shape_of_several_axes_and_keras_attribute_names():
    x = np.random.default_rng(2).random((2, 5, 4)).astype("float32")
    layer = layers.MultiHeadAttention(2, 3, output_shape=(2, 3))
    assert layer(x, x).shape == (2, 5, 2, 3)
    assert [tuple(w.shape) for w in layer.output_dense.weights] == [(2, 3, 2, 3), (2, 3)]
    assert layer.get_config()["output_shape"] == [2, 3]
    assert (layer._num_heads, layer._key_dim, layer._value_dim) == (2, 3, 3)
    assert layer._query_dense is layer.query_dense
    assert (layer._dot_product_equation, layer._combine_equation) == (
        "aecd,abcd->acbe", "acbe,aecd->abcd")  # Keras 3.15's for sequences


def test_masks_from_a_masking_layer_are_used_as_keras_uses_them(tmp_path):
    """Keras 3.15's file of Masking -> Attention, AdditiveAttention, MultiHeadAttention
    (make_attention_more.masked): the attention takes the query's and the value's tensor
    masks; the one-head layers on the same Masking outputs run after it in Keras's order and
    find the masks taken off (their outputs match unmasked calls there), and here too."""
    pytest.importorskip("h5py")
    data = load_fixture("attention_masked.npz")
    model = keras.models.load_model(FIXTURES / "attention_masked.keras")
    outs = model.predict([data["q"], data["v"]], verbose=0)
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, data[f"out/{i}"], rtol=1e-5, atol=1e-6)
    mha = model.get_layer("mha")
    assert mha.output._keras_mask is model.get_layer("mask_q").output._keras_mask
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    for a, b in zip(again.predict([data["q"], data["v"]], verbose=0), outs):
        np.testing.assert_array_equal(a, b)
    # called on arrays, the Masking output's mask is used as well
    masked_q = layers.Masking()(data["q"])
    masked_v = layers.Masking()(data["v"])
    np.testing.assert_allclose(mha(masked_q, masked_v).numpy(), data["out/2"], rtol=1e-5,
                               atol=1e-6)
