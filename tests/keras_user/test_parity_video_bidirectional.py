"""TensorFlow parity of ``Bidirectional`` over a convolutional LSTM (a clip of frames read both
ways). The expected values are TF 2.21's (Keras 3.15), computed with the same weights."""

import zipfile

import h5py
import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers

# TF 2.21: Bidirectional(ConvLSTM2D(1, 2, padding="same", return_sequences=True),
# merge_mode="sum") on the clip below, weights i drawn from default_rng(i).normal(0, 0.5)
_SUM = [-0.14212, -0.18195, -0.00095, -0.1705, -0.18834, 0.02104, -0.17666, -0.12755, 0.02264,
        -0.1643, -0.13146, -0.05194, -0.18107, -0.15388, -0.02983, -0.0955, -0.07321, 0.01815,
        -0.15439, -0.02741, -0.0529, -0.1673, -0.08916, -0.06195, -0.05528, -0.03259, -0.01039]
# the same with mask [[True, True, False]]: the last step outputs zeros both ways
_SUM_MASKED = [-0.13404, -0.18209, 0.00591, -0.162, -0.1757, 0.0255, -0.16411, -0.1224,
               0.0238, -0.11245, -0.1215, -0.04079, -0.14826, -0.12981, -0.02208, -0.0686,
               -0.05114, 0.02102] + [0.0] * 9


def _summed():
    keras.backend.clear_session()
    layer = layers.Bidirectional(
        layers.ConvLSTM2D(1, 2, padding="same", return_sequences=True), merge_mode="sum")
    layer.build((None, 3, 3, 3, 1))
    layer.set_weights([np.random.default_rng(i).normal(0, 0.5, w.shape).astype("float32")
                       for i, w in enumerate(layer.get_weights())])
    clip = np.random.default_rng(7).random((1, 3, 3, 3, 1)).astype("float32")
    return layer, clip


def test_bidirectional_conv_lstm_matches_keras_values():
    layer, clip = _summed()
    np.testing.assert_allclose(np.asarray(layer(clip)).reshape(-1), _SUM, atol=2e-5)
    masked = layer(clip, mask=np.array([[True, True, False]]))
    np.testing.assert_allclose(np.asarray(masked).reshape(-1), _SUM_MASKED, atol=2e-5)


@pytest.mark.parametrize("merge_mode, shapes", [
    ("concat", [(2, 3, 6, 6, 4)]),
    ("sum", [(2, 3, 6, 6, 2)]),
    (None, [(2, 3, 6, 6, 2), (2, 3, 6, 6, 2)]),
])
def test_bidirectional_conv_lstm_shapes_and_weights(merge_mode, shapes):
    # TF 2.21: 448 parameters (two ConvLSTM2D(2, 3) on one channel), Keras's weight names
    keras.backend.clear_session()
    layer = layers.Bidirectional(
        layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True), merge_mode=merge_mode)
    out = layer(np.zeros((2, 3, 6, 6, 1), "float32"))
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert [tuple(o.shape) for o in outs] == shapes
    assert layer.count_params() == 448
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"] * 2
    assert [w.path for w in layer.weights[:2]] == [
        "bidirectional/forward_conv_lstm2d/conv_lstm_cell/kernel",
        "bidirectional/forward_conv_lstm2d/conv_lstm_cell/recurrent_kernel"]


def test_bidirectional_conv_lstm_in_a_model_trains_and_round_trips(tmp_path):
    keras.backend.clear_session()
    inp = keras.Input((3, 6, 6, 1))
    x = layers.Bidirectional(layers.ConvLSTM2D(2, 3, padding="same"), merge_mode="ave")(inp)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, layers.Dense(2, activation="softmax")(x))
    assert model.output_shape == (None, 2)
    clips = np.random.default_rng(0).random((4, 3, 6, 6, 1)).astype("float32")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    history = model.fit(clips, np.array([0, 1, 1, 0]), epochs=1, verbose=0)
    assert list(history.history) == ["loss"]
    config = model.layers[1].get_config()
    assert config["layer"]["config"]["name"] == "forward_conv_lstm2d"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    path = tmp_path / "bidi.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as member, \
            h5py.File(member, "r") as weights:
        assert "layers/bidirectional/forward_layer/cell/vars/0" in weights
        assert "layers/bidirectional/backward_layer/cell/vars/2" in weights
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(clips, verbose=0), model.predict(clips, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_bidirectional_refuses_a_layer_that_is_not_recurrent():
    # TF 2.21: Bidirectional(Dense(3)) is a TypeError
    with pytest.raises(TypeError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))
