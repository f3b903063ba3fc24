"""TensorFlow parity of a stateful convolutional LSTM (a long clip fed in chunks, each call
starting from the states the last one ended with; ``reset_state`` between clips). The
expected values are TF 2.21's (Keras 3.15), computed with the same weights."""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers

# TF 2.21: out[:, -1, 1, :2] of the model below on the first and the second call, and the
# carried c at [:, 2, 2] after the second call
_FIRST = [-0.19455, 0.06789, -0.05067, 0.03377, -0.13308, 0.02103, -0.12523, 0.033]
_SECOND = [-0.22718, 0.0674, -0.05603, 0.03429, -0.14828, 0.0126, -0.14453, 0.03435]
_CARRIED_C = [-2.13304, 0.06452, -2.02199, 0.15753]


def _stateful_model():
    keras.backend.clear_session()
    inp = keras.Input((2, 4, 4, 1), batch_size=2)
    layer = layers.ConvLSTM2D(2, 3, padding="same", stateful=True, return_sequences=True)
    model = keras.Model(inp, layer(inp))
    model.set_weights([np.random.default_rng(3).normal(0, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    clip = np.random.default_rng(4).random((2, 2, 4, 4, 1)).astype("float32")
    return model, layer, clip


def test_a_stateful_conv_lstm_carries_its_states_between_calls():
    model, layer, clip = _stateful_model()
    first = model.predict(clip, verbose=0)
    second = model.predict(clip, verbose=0)
    np.testing.assert_allclose(first[:, -1, 1, :2].reshape(-1), _FIRST, atol=2e-5)
    np.testing.assert_allclose(second[:, -1, 1, :2].reshape(-1), _SECOND, atol=2e-5)
    assert [tuple(s.shape) for s in layer.states] == [(2, 4, 4, 2), (2, 4, 4, 2)]
    np.testing.assert_allclose(np.asarray(layer.states[1])[:, 2, 2].reshape(-1), _CARRIED_C,
                               atol=2e-5)
    layer.reset_state()  # TF 2.21: the states are zeros again, the next call as the first
    assert not np.asarray(layer.states[0]).any()
    np.testing.assert_allclose(model.predict(clip, verbose=0), first, atol=1e-6)
    layer.reset_states()  # the Keras 2 spelling, as the recurrent layers keep it
    np.testing.assert_allclose(model.predict(clip, verbose=0), first, atol=1e-6)


def test_a_stateful_conv_lstm_fits_and_keeps_stateful_in_its_config():
    model, layer, clip = _stateful_model()
    model.compile(loss="mse", optimizer="sgd")
    history = model.fit(clip, np.zeros((2, 2, 4, 4, 2), "float32"), batch_size=2, epochs=1,
                        verbose=0, shuffle=False)
    assert list(history.history) == ["loss"]
    assert layer.get_config()["stateful"] is True
    assert layers.ConvLSTM2D.from_config(layer.get_config()).stateful is True


def test_a_stateful_conv_lstm_needs_a_fixed_batch():
    # TF 2.21: a dynamic batch size is a ValueError when the layer is called on the Input,
    # another batch size a ValueError when the model runs
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="batch size must be static"):
        layers.ConvLSTM2D(2, 3, stateful=True)(keras.Input((2, 4, 4, 1)))
    model, _, clip = _stateful_model()
    model.predict(clip, verbose=0)
    with pytest.raises(ValueError, match="stateful"):
        model.predict(clip[:1], verbose=0)


def test_bidirectional_stateful_conv_lstm_resets_both_directions():
    keras.backend.clear_session()
    layer = layers.Bidirectional(layers.ConvLSTM2D(1, 2, padding="same", stateful=True))
    clip = np.random.default_rng(0).random((1, 2, 3, 3, 1)).astype("float32")
    first = np.asarray(layer(clip))
    assert not np.allclose(np.asarray(layer(clip)), first)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(clip)), first, atol=1e-6)
