"""``data_format="channels_first"`` on the 1-D window layers, as TensorFlow 2.21 runs it.

TF 2.21 takes and gives ``(batch, channels, steps)`` for `Conv1D`, `Conv1DTranspose`,
`SeparableConv1D`, `DepthwiseConv1D`, `MaxPooling1D`, `AveragePooling1D` and `ZeroPadding1D`
with ``channels_first``; the weights have the ``channels_last`` shapes, and with the same
weights the output and the gradients are the ``channels_last`` ones with the last two axes
swapped (checked under TF 2.21 on the cases below). The shapes here are TF 2.21's.
"""

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers

# (batch, channels, steps) = (2, 3, 11)
X = np.random.RandomState(0).randn(2, 3, 11).astype("float32")

# make(data_format) -> layer, and TF 2.21's output shape for X
CASES = {
    "conv": (lambda f: L.Conv1D(4, 3, data_format=f), (2, 4, 9)),
    "conv_same_strided": (lambda f: L.Conv1D(4, 3, strides=2, padding="same", data_format=f),
                          (2, 4, 6)),
    "conv_causal_dilated_tanh": (lambda f: L.Conv1D(4, 3, padding="causal", dilation_rate=2,
                                                    activation="tanh", data_format=f),
                                 (2, 4, 11)),
    "conv_groups": (lambda f: L.Conv1D(6, 3, groups=3, data_format=f), (2, 6, 9)),
    "transpose": (lambda f: L.Conv1DTranspose(4, 3, strides=2, data_format=f), (2, 4, 23)),
    "transpose_same_output_padding": (
        lambda f: L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1,
                                    data_format=f), (2, 4, 22)),
    "separable": (lambda f: L.SeparableConv1D(4, 3, depth_multiplier=2, padding="same",
                                              data_format=f), (2, 4, 11)),
    "depthwise": (lambda f: L.DepthwiseConv1D(3, strides=2, depth_multiplier=2, data_format=f),
                  (2, 6, 5)),
    "max_pool": (lambda f: L.MaxPool1D(2, data_format=f), (2, 3, 5)),
    "max_pool_same": (lambda f: L.MaxPool1D(3, 2, padding="same", data_format=f), (2, 3, 6)),
    "average_pool_same": (lambda f: L.AveragePooling1D(3, 2, padding="same", data_format=f),
                          (2, 3, 6)),
    "zero_padding": (lambda f: L.ZeroPadding1D((1, 2), data_format=f), (2, 3, 14)),
}


def _swap(a):
    return np.swapaxes(np.asarray(a), 1, 2)


def _pair(make):
    """The channels_first layer and a channels_last one with the same weights."""
    first, last = make("channels_first"), make("channels_last")
    first(X)
    last(_swap(X))
    weights = [np.random.RandomState(i).randn(*w.shape).astype("float32")
               for i, w in enumerate(first.get_weights())]
    first.set_weights(weights)
    last.set_weights(weights)
    return first, last


def _value_and_grads(layer, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * y * 0.5 + y)
    return y, tape.gradient(loss, [x] + layer.trainable_weights)


@pytest.mark.parametrize("case", sorted(CASES))
def test_channels_first_is_channels_last_with_the_axes_swapped(case):
    make, tf_shape = CASES[case]
    first, last = _pair(make)
    y, grads = _value_and_grads(first, X)
    y_last, grads_last = _value_and_grads(last, _swap(X))
    assert tuple(y.shape) == tf_shape
    assert first.data_format == "channels_first"
    assert first.compute_output_shape((None, 3, 11)) == (None, *tf_shape[1:])
    assert [w.shape for w in first.get_weights()] == [w.shape for w in last.get_weights()]
    np.testing.assert_allclose(np.asarray(y), _swap(y_last), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(grads[0]), _swap(grads_last[0]), rtol=1e-4,
                               atol=1e-4)
    for g, g_last in zip(grads[1:], grads_last[1:]):
        np.testing.assert_allclose(np.asarray(g), np.asarray(g_last), rtol=1e-4, atol=1e-4)


def test_data_format_is_read_in_any_case_and_bad_values_are_refused():
    # TF 2.21 lower-cases data_format; anything else is a ValueError
    assert L.Conv1D(2, 3, data_format="CHANNELS_FIRST").data_format == "channels_first"
    assert L.MaxPool1D(data_format="Channels_Last").data_format == "channels_last"
    assert L.GlobalAveragePooling1D(data_format="CHANNELS_FIRST").data_format \
        == "channels_first"
    assert L.ZeroPadding1D(data_format=None).data_format == "channels_last"
    for make in (lambda d: L.Conv1D(2, 3, data_format=d),
                 lambda d: L.DepthwiseConv1D(3, data_format=d),
                 lambda d: L.AveragePooling1D(data_format=d),
                 lambda d: L.ZeroPadding1D(data_format=d)):
        for bad in ("NCW", "channels_middle", 3):
            with pytest.raises(ValueError, match="'channels_last' or 'channels_first'"):
                make(bad)


def test_channels_first_input_of_the_wrong_channel_count_is_refused():
    layer = L.Conv1D(4, 3, data_format="channels_first")
    layer(X)
    with pytest.raises(ValueError, match="features on axis"):
        layer(np.zeros((2, 5, 11), "float32"))
    assert tuple(layer(np.zeros((1, 3, 20), "float32")).shape) == (1, 4, 18)


def test_second_order_through_a_channels_first_conv():
    """A gradient penalty through Conv1D: the channels_last numbers, swapped."""
    first, last = _pair(CASES["conv_causal_dilated_tanh"][0])

    def penalty(layer, x):
        x = tf.constant(x)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(layer(x) ** 2)
            g = inner.gradient(y, x)
            p = tf.reduce_sum(g * g)
        return outer.gradient(p, layer.trainable_weights)

    for a, b in zip(penalty(first, X), penalty(last, _swap(X))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


def _channels_first_model():
    tf.keras.backend.clear_session()
    inp = tf.keras.Input((3, 11))
    h = L.Conv1D(4, 3, padding="same", activation="relu", data_format="channels_first")(inp)
    h = L.MaxPooling1D(2, data_format="channels_first")(h)
    h = L.GlobalAveragePooling1D(data_format="channels_first")(h)
    return tf.keras.Model(inp, L.Dense(2, activation="softmax")(h))


def test_a_channels_first_model_fits_saves_and_loads(tmp_path):
    model = _channels_first_model()
    # TF 2.21: the output shapes of the layers, the parameter count and the history keys
    assert [tuple(layer.output.shape) for layer in model.layers] == [
        (None, 3, 11), (None, 4, 11), (None, 4, 5), (None, 4), (None, 2)]
    assert model.count_params() == 50
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, np.array([0, 1]), epochs=1, verbose=0)
    assert list(history.history) == ["accuracy", "loss"]
    expected = model.predict(X, verbose=0)
    model.save(tmp_path / "cf.keras")
    loaded = tf.keras.models.load_model(tmp_path / "cf.keras")
    assert loaded.layers[1].data_format == "channels_first"
    np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.save_weights(tmp_path / "cf.weights.h5")
    again = _channels_first_model()
    again.load_weights(tmp_path / "cf.weights.h5")
    np.testing.assert_allclose(again.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["conv", "separable", "transpose", "max_pool", "zero_padding"])
def test_a_direct_build_keeps_the_shape_as_given(case):
    # TF 2.21: layer.build((None, 3, 11)) on a channels_first layer makes the same weights
    # as a first call on (batch, 3, 11) would (input_shape: Keras 2's attribute, kept as given)
    layer = CASES[case][0]("channels_first")
    layer.build((None, 3, 11))
    assert layer.input_shape == (None, 3, 11)
    called = CASES[case][0]("channels_first")
    called(X)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in called.get_weights()]
    assert tuple(layer(X).shape) == CASES[case][1]
