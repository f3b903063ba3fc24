"""`Attention` and `AdditiveAttention` against Keras 3.15 (tests/fixtures/
make_attention_more.py): outputs, scores, masks, the causal mask, gradients and configs of
every score mode; float64 gradients against central differences; dropout; the errors; a
Keras-written model with both layers and `EinsumDense` loaded, run and trained as in Keras."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture
from tests.layers.harness import check_gradients

keras = tf.keras
layers = keras.layers

CASES = {
    "dot": lambda: layers.Attention(),
    "dot_scale": lambda: layers.Attention(use_scale=True),
    "concat": lambda: layers.Attention(score_mode="concat"),
    "concat_scale": lambda: layers.Attention(use_scale=True, score_mode="concat"),
    "additive": lambda: layers.AdditiveAttention(),
    "additive_plain": lambda: layers.AdditiveAttention(use_scale=False),
}


@pytest.fixture(scope="module")
def expected():
    return load_fixture("attention_more.npz")


def loaded(name, expected):
    layer = CASES[name]()
    q, v, k = (expected[f"att/{n}"] for n in "qvk")
    layer([q, v, k])
    count = len(layer.weights)
    layer.set_weights([expected[f"att/{name}/w/{i}"] for i in range(count)])
    return layer, [q, v, k], [expected["att/qmask"], expected["att/vmask"]]


@pytest.mark.parametrize("name", list(CASES))
def test_outputs_scores_masks_and_configs_match_keras(name, expected):
    layer, (q, v, k), mask = loaded(name, expected)
    out, scores = layer([q, v, k], mask=mask, return_attention_scores=True,
                        use_causal_mask=True)
    np.testing.assert_allclose(out.numpy(), expected[f"att/{name}/out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), expected[f"att/{name}/scores"], rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(layer([q, k]).numpy(), expected[f"att/{name}/plain"],
                               rtol=1e-5, atol=1e-6)
    keras_config = json.loads(str(expected[f"config/{name}"]))
    ours = layer.get_config()
    for key in ("use_scale", "score_mode", "dropout", "seed"):
        assert ours.get(key, "absent") == keras_config.get(key, "absent"), key
    again = type(layer).from_config(keras_config)
    assert again.get_config() == {**ours, "name": keras_config["name"]}


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_keras(name, expected):
    layer, xs, mask = loaded(name, expected)
    with tf.GradientTape() as tape:
        tensors = [tf.constant(x) for x in xs]
        tape.watch(tensors)
        total = tf.reduce_sum(layer(tensors, mask=mask, use_causal_mask=True) ** 2)
    grads = tape.gradient(total, tensors + layer.trainable_weights)
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(np.asarray(grad), expected[f"att/{name}/grad/{i}"],
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["dot_scale", "concat_scale", "additive"])
def test_backward_matches_central_differences_in_float64(name):
    layer = {"dot_scale": layers.Attention(use_scale=True, dtype="float64"),
             "concat_scale": layers.Attention(use_scale=True, score_mode="concat",
                                              dtype="float64"),
             "additive": layers.AdditiveAttention(dtype="float64")}[name]
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 6), (2, 5, 4))]
    check_gradients(layer, xs)


def test_symbolic_calls_masks_and_scores_in_a_model(expected):
    query, value, key = keras.Input((3, 4)), keras.Input((5, 6)), keras.Input((5, 4))
    qmask, vmask = keras.Input((3,), dtype="bool"), keras.Input((5,), dtype="bool")
    layer = layers.Attention(use_scale=True)
    out, scores = layer([query, value, key], mask=[qmask, vmask],
                        return_attention_scores=True)
    assert (out.shape, scores.shape) == ((None, 3, 6), (None, 3, 5))
    model = keras.Model([query, value, key, qmask, vmask], [out, scores])
    q, v, k = (expected[f"att/{n}"] for n in "qvk")
    got, weights = model.predict([q, v, k, expected["att/qmask"], expected["att/vmask"]],
                                 verbose=0)
    assert np.all(got[0, 2] == 0)  # the masked query
    np.testing.assert_allclose(weights[..., 3:][expected["att/vmask"][:, None, 3:].repeat(
        3, 1) == 0], 0, atol=1e-7)  # masked values get no weight
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-5)


def test_dropout_in_training_and_seeds():
    rng = np.random.default_rng(0)
    q, v = rng.random((2, 4, 3)).astype("float32"), rng.random((2, 6, 3)).astype("float32")
    layer = layers.Attention(dropout=0.5, seed=3)
    _, inference = layer([q, v], return_attention_scores=True)
    _, dropped = layer([q, v], return_attention_scores=True, training=True)
    kept = dropped.numpy() != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped.numpy()[kept], 2 * inference.numpy()[kept], rtol=1e-6)
    again = layers.Attention(dropout=0.5, seed=3)
    np.testing.assert_array_equal(
        again([q, v], return_attention_scores=True, training=True)[1].numpy(),
        dropped.numpy())


def test_bad_inputs_are_refused_clearly():
    q = np.ones((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="dropout"):
        layers.AdditiveAttention(dropout=1.5)
    with pytest.raises(TypeError, match="seed"):
        layers.Attention(seed=0.5)
    with pytest.raises(ValueError, match=r"list \[query, value\]"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="same number of features"):
        layers.Attention()([q, np.ones((2, 5, 4)), np.ones((2, 5, 3))])
    with pytest.raises(ValueError, match="same number of steps"):
        layers.Attention()([q, np.ones((2, 5, 4)), np.ones((2, 6, 4))])
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([q, q], mask=np.ones((2, 3), bool))


def test_keras_written_model_runs_and_trains_as_keras(expected, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "attention_more.keras")
    x = [expected["model/q"], expected["model/v"]]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["model/before"],
                               rtol=1e-5, atol=1e-6)
    history = model.fit(x, expected["model/y"], epochs=2, batch_size=2, shuffle=False,
                        verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["model/history/loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["model/after"],
                               rtol=1e-4, atol=1e-6)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
