"""Keras 3.15's GroupQueryAttention, ReversibleEmbedding, STFTSpectrogram and MelSpectrogram
against Keras's numbers (tests/fixtures/make_keras315_layers.py): outputs, masks, attention
scores, gradients, configs, a Keras-written .keras model using all four (predictions and two
epochs of SGD as Keras), round trips through convnp's files, and argument checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture, numerical_gradient

keras = tf.keras
layers = keras.layers


@pytest.fixture(scope="module")
def z():
    return load_fixture("keras315_layers.npz")


def cases(z, prefix):
    return sorted({name.split("/")[1] for name in z if name.startswith(prefix + "/")})


def config_of(z, key):
    return json.loads(str(z[f"{key}/config"]))


def same_config(layer, expected):
    got = layer.get_config()
    assert list(got) == list(expected)
    assert {k: v for k, v in got.items() if k != "dtype"} == \
        {k: v for k, v in expected.items() if k != "dtype"}


def close(got, want, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=atol)


def tape_grads(layer, inputs, call):
    with tf.GradientTape() as tape:
        tensors = [tf.constant(x) for x in inputs]
        for t in tensors:
            tape.watch(t)
        total = tf.reduce_sum(call(layer, tensors) ** 2)
    return tape.gradient(total, tensors + list(layer.trainable_weights))


# -- GroupQueryAttention ------------------------------------------------------------------


def gqa_layer(z, case):
    key = f"gqa/{case}"
    layer = layers.GroupQueryAttention.from_config(config_of(z, key))
    layer(z[f"{key}/q"], z[f"{key}/v"], z[f"{key}/k"])
    count = len([n for n in z if n.startswith(f"{key}/w/")])
    layer.set_weights([z[f"{key}/w/{i}"] for i in range(count)])
    return layer, key


@pytest.mark.parametrize("case", ["plain", "mqa", "gate_window"])
def test_group_query_attention_matches_keras(z, case):
    layer, key = gqa_layer(z, case)
    q, v, k, mask = (z[f"{key}/{n}"] for n in ("q", "v", "k", "mask"))
    assert [list(w.shape) for w in layer.weights] == json.loads(str(z[f"{key}/shapes"]))
    names = [p.split("/", 1)[1] for p in json.loads(str(z[f"{key}/names"]))]
    # layer/sublayer/weight, as Keras (the sublayers' weights sit below the layer)
    assert [w.path for w in layer.weights] == [f"{layer.name}/{n}" for n in names]
    same_config(layer, config_of(z, key))
    out, scores = layer(q, v, k, return_attention_scores=True)
    close(out, z[f"{key}/out"])
    close(scores, z[f"{key}/scores"])
    # a query that sees no key: uniform weights on Keras's fused path, none with the scores
    close(layer(q, v, k, attention_mask=mask), z[f"{key}/out_mask"])
    out, scores = layer(q, v, k, attention_mask=mask, return_attention_scores=True)
    close(out, z[f"{key}/out_mask_scores"])
    close(scores, z[f"{key}/scores_mask"])
    causal = (q, v[:, :4], k[:, :4])
    close(layer(*causal, use_causal_mask=True), z[f"{key}/out_causal"])
    out, scores = layer(*causal, use_causal_mask=True, return_attention_scores=True)
    close(out, z[f"{key}/out_causal_scores"])
    close(scores, z[f"{key}/scores_causal"])
    close(layer(q, v, k, use_causal_mask=True, attention_mask=mask),
          z[f"{key}/out_causal_mask"])
    close(layer(q, v, k, value_mask=z[f"{key}/vmask"]), z[f"{key}/out_vmask"])
    grads = tape_grads(layer, [q, v, k],
                       lambda lay, t: lay(t[0], t[1], t[2], attention_mask=mask))
    for i, g in enumerate(grads):
        close(g, z[f"{key}/grad/{i}"], rtol=1e-4)


def test_group_query_attention_names_scores_and_dropout():
    layer = layers.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2)
    assert layer.name.startswith("grouped_query_attention")  # Keras's class name
    tokens = keras.Input((6, 8))
    out, scores = layers.GroupQueryAttention(4, 4, 2, dropout=0.5, seed=1)(
        tokens, tokens, return_attention_scores=True)
    assert (out.shape, scores.shape) == ((None, 6, 8), (None, 4, 6, 6))
    model = keras.Model(tokens, [out, scores])
    x = np.random.default_rng(0).random((2, 6, 8)).astype(np.float32)
    _, weights = model.predict(x, verbose=0)
    close(weights.sum(axis=-1), np.ones((2, 4, 6)))  # no dropout in inference
    dropped = model.layers[1](x, x, training=True)
    assert np.asarray(dropped).shape == (2, 6, 8)


def test_group_query_attention_argument_checks():
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="sliding_window"):
        layers.GroupQueryAttention(4, 2, 2, sliding_window=0)
    with pytest.raises(ValueError, match="dropout"):
        layers.GroupQueryAttention(4, 2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(TypeError, match="head_dim"):
        layers.GroupQueryAttention("4", 2, 2)
    layer = layers.GroupQueryAttention(4, 2, 1)
    with pytest.raises(ValueError, match="sequence"):
        layer(np.zeros((2, 3, 4, 5), np.float32), np.zeros((2, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="same last axis"):
        layer.compute_output_shape((None, 3, 4), (None, 5, 6))
    with pytest.raises(TypeError, match="needs `value`"):
        layer(np.zeros((2, 3, 4), np.float32))
    flash = layers.GroupQueryAttention(4, 2, 1, flash_attention=True)
    x = np.zeros((1, 3, 4), np.float32)
    flash(x, x)
    with pytest.raises(ValueError, match="flash_attention"):
        flash(x, x, return_attention_scores=True)


# -- ReversibleEmbedding ------------------------------------------------------------------


@pytest.mark.parametrize("case", ["tied", "untied_cap", "mask"])
def test_reversible_embedding_matches_keras(z, case):
    key = f"rev/{case}"
    layer = layers.ReversibleEmbedding.from_config(config_of(z, key))
    ids, x = z[f"{key}/ids"], z[f"{key}/x"]
    layer(ids)
    count = len([n for n in z if n.startswith(f"{key}/w/")])
    layer.set_weights([z[f"{key}/w/{i}"] for i in range(count)])
    assert [w.name for w in layer.weights] == \
        ["embeddings"] + ([] if layer.tie_weights else ["reverse_embeddings"])
    same_config(layer, config_of(z, key))
    emb = layer(ids)
    close(emb, z[f"{key}/emb"])
    assert (getattr(emb, "_keras_mask", None) is not None) == layer.mask_zero
    logits = layer(x, reverse=True)
    close(logits, z[f"{key}/logits"])
    assert getattr(logits, "_keras_mask", None) is None
    for i, g in enumerate(tape_grads(layer, [x], lambda lay, t: lay(t[0], reverse=True))):
        want = z[f"{key}/grad/{i}"]
        close(np.zeros_like(want) if g is None else g, want, rtol=1e-4)


def test_reversible_embedding_checks_and_shapes():
    with pytest.raises(ValueError, match="logit_soft_cap"):
        layers.ReversibleEmbedding(5, 3, logit_soft_cap=-1.0)
    with pytest.raises(ValueError, match="reverse_dtype"):
        layers.ReversibleEmbedding(5, 3, reverse_dtype="int8")
    with pytest.raises(TypeError, match="tie_weights"):
        layers.ReversibleEmbedding(5, 3, tie_weights="yes")
    layer = layers.ReversibleEmbedding(5, 3)
    with pytest.raises(ValueError, match="before it is built"):
        layer(np.zeros((1, 3), np.float32), reverse=True)
    layer(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="output_dim"):
        layer(np.zeros((1, 4), np.float32), reverse=True)
    assert layer.compute_output_shape((None, 7), reverse=True) == (None, 5)
    assert layer.compute_output_shape((None, 7)) == (None, 7, 3)
    f64 = layers.ReversibleEmbedding(5, 3, reverse_dtype="float64")
    f64(np.array([[1]]))
    assert np.asarray(f64(np.ones((1, 3), np.float32), reverse=True)).dtype == np.float64


# -- STFTSpectrogram ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["angle", "bartlett", "blackman_none", "boxcar",
                                  "imag_hamming", "log", "magnitude_same", "nowindow",
                                  "psd_spectrum", "real_periodic", "stft_expand"])
def test_stft_spectrogram_matches_keras(z, case):
    key = f"stft/{case}"
    layer = layers.STFTSpectrogram.from_config(config_of(z, key))
    x = z[f"{key}/x"]
    out = layer(x)
    close(out, z[f"{key}/out"])
    assert tuple(layer.compute_output_shape((None,) + x.shape[1:]))[1:] == \
        z[f"{key}/out"].shape[1:]
    for i, w in enumerate(layer.weights):  # the kernels, initialized as Keras's
        close(w.value, z[f"{key}/kernels/{i}"], atol=1e-7)
    same_config(layer, config_of(z, key))
    for i, g in enumerate(tape_grads(layer, [x], lambda lay, t: lay(t[0]))):
        close(g, z[f"{key}/grad/{i}"], rtol=1e-4, atol=1e-4)


def test_stft_channels_first_is_the_transposed_channels_last():
    x = np.random.default_rng(1).standard_normal((2, 30, 3)).astype(np.float32)
    for expand in (False, True):
        last = layers.STFTSpectrogram(mode="magnitude", frame_length=8, frame_step=3,
                                      expand_dims=expand)
        first = layers.STFTSpectrogram(mode="magnitude", frame_length=8, frame_step=3,
                                       expand_dims=expand, data_format="channels_first")
        a, b = np.asarray(last(x)), np.asarray(first(x.transpose(0, 2, 1)))
        want = a.transpose(0, 3, 1, 2) if expand else a.transpose(0, 2, 1)
        close(b, want, atol=1e-6)
        assert first.compute_output_shape((None, 3, 30)) == want.shape[:0] + (None,) + \
            want.shape[1:]


def test_stft_gradient_numerically():
    x = np.random.default_rng(2).standard_normal((1, 12, 1))
    layer = layers.STFTSpectrogram(mode="log", frame_length=4, frame_step=2, dtype="float64")
    layer(x)
    dout = np.random.default_rng(3).standard_normal(np.shape(layer(x)))
    with tf.GradientTape() as tape:
        t = tf.constant(x)
        tape.watch(t)
        total = tf.reduce_sum(layer(t) * dout)
    got = tape.gradient(total, t)
    want = numerical_gradient(lambda: np.asarray(layer(x)), x, dout)
    close(got, want, rtol=1e-5, atol=1e-7)


def test_stft_argument_checks():
    with pytest.raises(ValueError, match="frame_step"):
        layers.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length"):
        layers.STFTSpectrogram(frame_length=8, fft_length=4)
    with pytest.raises(ValueError, match="mode"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="scaling"):
        layers.STFTSpectrogram(scaling="energy")
    with pytest.raises(ValueError, match="padding"):
        layers.STFTSpectrogram(padding="causal")
    with pytest.raises(ValueError, match="window"):
        layers.STFTSpectrogram(window="kaiser")
    with pytest.raises(ValueError, match="window"):
        layers.STFTSpectrogram(frame_length=4, window=[1.0, 1.0])
    with pytest.raises(ValueError, match="data_format"):
        layers.STFTSpectrogram(data_format="NCW")
    with pytest.warns(UserWarning, match="power of two"):
        layers.STFTSpectrogram(frame_length=8, fft_length=12)
    with pytest.raises(ValueError):
        layers.STFTSpectrogram(frame_length=8)(np.zeros((2, 30), np.float32))
    with pytest.raises(TypeError, match="float"):
        layers.STFTSpectrogram(frame_length=8)(np.zeros((2, 30, 1), np.int32))


# -- MelSpectrogram -----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["db", "db_ref", "nowindow", "power"])
def test_mel_spectrogram_matches_keras(z, case):
    key = f"mel/{case}"
    layer = layers.MelSpectrogram.from_config(config_of(z, key))
    x = z[f"{key}/x"]
    out = np.asarray(layer(x))
    want = z[f"{key}/out"]
    close(out, want, rtol=1e-5, atol=2e-5)
    close(layer(x[0]), z[f"{key}/out1"], rtol=1e-5, atol=2e-5)
    assert tuple(layer.compute_output_shape(x.shape)) == want.shape
    same_config(layer, config_of(z, key))


def test_mel_filterbank_and_checks():
    from convnp.layers.mel_spectrogram import linear_to_mel_weight_matrix

    matrix = linear_to_mel_weight_matrix(8, 33, 8000, 100.0, 3000.0)
    assert matrix.shape == (33, 8) and not matrix[0].any()
    assert np.all(matrix <= 1.0) and np.all(matrix.max(axis=0) > 0.5)
    with pytest.raises(ValueError, match="fft_length"):
        layers.MelSpectrogram(fft_length=32, sequence_length=64)
    with pytest.raises(ValueError, match="window"):
        layers.MelSpectrogram(window="blackman")
    with pytest.raises(ValueError, match="num_mel_bins"):
        layers.MelSpectrogram(num_mel_bins=0)
    with pytest.raises(ValueError, match="min_freq"):
        layers.MelSpectrogram(min_freq=9000.0, sampling_rate=16000)
    with pytest.raises(ValueError, match="samples"):
        layers.MelSpectrogram(fft_length=32)(np.zeros((2, 3, 100), np.float32))


# -- a Keras-written model with all four ---------------------------------------------------


def test_keras_written_model_predicts_and_trains_as_keras(z, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "keras315_layers.keras")
    xs = [z[f"model/x/{i}"] for i in range(3)]
    preds = model.predict(xs, verbose=0)
    for i, p in enumerate(preds):
        assert isinstance(p, np.ndarray)
        close(p, z[f"model/pred/{i}"], rtol=1e-5, atol=2e-5)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        for a, b in zip(again.predict(xs, verbose=0), preds):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(again.layers, model.layers):
            assert json.dumps(a.get_config()) == json.dumps(b.get_config())
    model.save_weights(tmp_path / "w.weights.h5")
    import h5py

    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        groups = set(f["layers"].keys())
        assert {"grouped_query_attention", "grouped_query_attention_1",
                "reversible_embedding", "reversible_embedding_1", "stft_spectrogram",
                "mel_spectrogram"} <= groups
        assert f["layers/grouped_query_attention_1/_gate_dense/vars/0"].shape == (8, 2, 2)
        assert f["layers/reversible_embedding_1/vars/1"].shape == (8, 12)
    # two epochs of SGD (the shared embedding's two calls both reach its gradient)
    model.compile(keras.optimizers.SGD(0.01), ["mse"] * 4)
    history = model.fit(xs, [np.zeros_like(p) for p in preds], epochs=2, batch_size=2,
                        shuffle=False, verbose=0)
    close(history.history["loss"], z["model/history/loss"], rtol=1e-5)
    for i, p in enumerate(model.predict(xs, verbose=0)):
        close(p, z[f"model/after/{i}"], rtol=1e-4, atol=2e-5)


def test_convnp_built_model_round_trips(tmp_path):
    ids = keras.Input((4,), dtype="int32")
    emb = layers.ReversibleEmbedding(9, 4, tie_weights=False, logit_soft_cap=2.0)
    h = emb(ids)
    h = layers.GroupQueryAttention(2, 2, 1, use_gate=True, sliding_window=2)(
        h, h, use_causal_mask=True)
    model = keras.Model(ids, emb(h, reverse=True))
    x = np.random.default_rng(4).integers(0, 9, (3, 4)).astype(np.int32)
    want = model.predict(x, verbose=0)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"m.{suffix}")
        again = keras.models.load_model(tmp_path / f"m.{suffix}")
        np.testing.assert_array_equal(again.predict(x, verbose=0), want)
    model.save_weights(tmp_path / "m.weights.h5")
    model.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(model.predict(x, verbose=0), want)


# -- MaxNumBoundingBoxes ------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 7])
def test_max_num_bounding_boxes_matches_keras(z, count):
    expected = json.loads(str(z[f"mnb/{count}/config"]))
    same_config(layers.MaxNumBoundingBoxes.from_config(expected), expected)
    layer = layers.MaxNumBoundingBoxes(count, fill_value=-2, bounding_box_format="xyxy")
    data = {"images": z["mnb/images"],
            "bounding_boxes": {"boxes": z["mnb/boxes"], "labels": z["mnb/labels"]}}
    out = layer(data)
    np.testing.assert_array_equal(out["images"], z[f"mnb/{count}/images"])
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], z[f"mnb/{count}/boxes"])
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], z[f"mnb/{count}/labels"])
    assert data["bounding_boxes"]["boxes"] is z["mnb/boxes"]  # the input is left alone
    one = layer({"images": z["mnb/images"][0], "bounding_boxes": {
        "boxes": z["mnb/boxes"][0], "labels": z["mnb/labels"][0]}})
    np.testing.assert_array_equal(one["bounding_boxes"]["boxes"], z[f"mnb/{count}/boxes"][0])
    assert layer(z["mnb/images"]) is z["mnb/images"]  # images alone pass through
    shapes = layer.compute_output_shape({"images": (None, 4, 4, 3), "bounding_boxes": {
        "boxes": (None, 5, 4), "labels": (None, 5)}})
    assert shapes["bounding_boxes"] == {"boxes": [None, count, 4], "labels": [None, count]}


def test_max_num_bounding_boxes_checks():
    with pytest.raises(ValueError, match="max_number"):
        layers.MaxNumBoundingBoxes(0)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layers.MaxNumBoundingBoxes(3, bounding_box_format="corners")
    boxes = {"boxes": np.zeros((1, 2, 4)), "labels": np.zeros((1, 2))}
    images = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layers.MaxNumBoundingBoxes(3)({"images": images, "bounding_boxes": boxes})
    layer = layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        layer({"images": images, "bounding_boxes": {"boxes": boxes["boxes"]}})
    with pytest.raises(ValueError, match="expected boxes"):
        layer({"images": images, "bounding_boxes": {"boxes": np.zeros((1, 2, 3)),
                                                    "labels": np.zeros((1, 2))}})
    with pytest.raises(TypeError, match="symbolic"):
        layer(keras.Input((4, 4, 3)))
