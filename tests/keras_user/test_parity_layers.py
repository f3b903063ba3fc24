"""The layers themselves as TensorFlow 2.21 (Keras 3.15) has them: attributes, configs,
shapes and dtypes a user's program reads back. Each expected value below is what TF 2.21
gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


# -- the dtype names a layer answers to ------------------------------------------------------

@pytest.mark.parametrize("make, name", [
    (lambda: L.Dense(3), "float32"),
    (lambda: L.Embedding(5, 2), "float32"),
    (lambda: L.Dense(3, dtype="float64"), "float64"),
    (lambda: L.Dense(3, dtype=keras.mixed_precision.Policy("float64")), "float64"),
    (lambda: keras.Sequential([keras.Input((2,)), L.Dense(1)]), "float32"),
])
def test_dtype_names(make, name):
    # TF 2.21: compute_dtype, variable_dtype and input_dtype are the dtype's name as a str;
    # dtype_policy is a DTypePolicy of that name
    layer = make()
    assert layer.compute_dtype == name and isinstance(layer.compute_dtype, str)
    assert layer.variable_dtype == name
    assert layer.input_dtype == name
    assert layer.dtype_policy.name == name
    assert layer.dtype_policy.compute_dtype == name


def test_custom_layer_casts_with_compute_dtype():
    # TF 2.21: the keras.io idiom tf.cast(x, self.compute_dtype) gives float32 values
    class Doubling(L.Layer):
        def call(self, x):
            return tf.cast(x, self.compute_dtype) * 2

    out = Doubling()(np.arange(3))
    assert np.asarray(out).dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), [0.0, 2.0, 4.0])


def test_global_policy_stays_float32():
    # a float64 policy is for one layer; the global policy still refuses it (convnp's rule)
    with pytest.raises(ValueError):
        keras.mixed_precision.set_global_policy("float64")


# -- where a weight sits: variable.path ------------------------------------------------------

def _paths(layer):
    return [w.path for w in layer.weights]


def test_recurrent_layer_paths_name_the_cell():
    # TF 2.21: an LSTM's weights sit below the layer and its cell
    tf.keras.backend.clear_session()  # the automatic name stacked_rnn_cells is numbered
    layer = L.LSTM(2, name="lstm")
    layer(np.ones((1, 3, 2), np.float32))
    assert _paths(layer) == ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel",
                             "lstm/lstm_cell/bias"]
    stacked = L.RNN([L.GRUCell(2, name="gru_cell"), L.LSTMCell(2, name="lstm_cell")],
                    name="rnn")
    stacked(np.ones((1, 3, 2), np.float32))
    assert _paths(stacked)[0] == "rnn/stacked_rnn_cells/gru_cell/kernel"
    assert _paths(stacked)[3] == "rnn/stacked_rnn_cells/lstm_cell/kernel"


def test_wrapper_paths_are_unique_and_nested():
    # TF 2.21: a Bidirectional's two directions (and a TimeDistributed's layer) sit below it,
    # so no two weights of a model share a path
    inp = keras.Input((3, 2))
    x = L.Bidirectional(L.SimpleRNN(2, name="rnn"), name="bi")(inp)
    x = L.RepeatVector(2)(x)
    x = L.TimeDistributed(L.Dense(2, name="dense"), name="td")(x)
    model = keras.Model(inp, x)
    assert _paths(model) == [
        "bi/forward_rnn/simple_rnn_cell/kernel", "bi/forward_rnn/simple_rnn_cell/recurrent_kernel",
        "bi/forward_rnn/simple_rnn_cell/bias", "bi/backward_rnn/simple_rnn_cell/kernel",
        "bi/backward_rnn/simple_rnn_cell/recurrent_kernel", "bi/backward_rnn/simple_rnn_cell/bias",
        "td/dense/kernel", "td/dense/bias"]


def test_user_layer_paths_hold_its_sublayers():
    # TF 2.21: weights of layers a user's layer calls (built in its call or its build) sit
    # below it; its own weights directly
    class Block(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = L.Dense(2, name="first")

        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1], 2), name="w")
            self.second = L.Dense(2, name="second")
            self.second.build(shape)

        def call(self, x):
            return self.first(x) + self.second(x) + tf.matmul(x, self.w)

    block = Block(name="block")
    block(np.ones((1, 3), np.float32))
    assert sorted(_paths(block)) == ["block/first/bias", "block/first/kernel",
                                     "block/second/bias", "block/second/kernel", "block/w"]
    dense = L.Dense(1, name="alone")
    dense(np.ones((1, 3), np.float32))
    assert _paths(dense) == ["alone/kernel", "alone/bias"]


def test_multi_head_attention_paths():
    # TF 2.21: the projections sit below the attention layer
    layer = L.MultiHeadAttention(2, 2, name="mha")
    q = np.ones((1, 2, 2), np.float32)
    layer(q, q)
    assert _paths(layer)[:2] == ["mha/query/kernel", "mha/query/bias"]
    assert _paths(layer)[-1] == "mha/attention_output/bias"


# -- the error a wrong size argument raises ---------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: L.Dense(3.0), lambda: L.Dense("3"), lambda: L.Dense(None), lambda: L.Dense(2.5),
    lambda: L.Embedding(3.0, 2), lambda: L.Embedding(10, "2"), lambda: L.SimpleRNN(2.5),
    lambda: L.GRU(2.5), lambda: L.Dense(-1), lambda: L.Dense(0), lambda: L.Embedding(-1, 3),
    lambda: L.LSTM(-1),
])
def test_bad_sizes_raise_value_error(make):
    # TF 2.21: a non-integer (or non-positive) units / input_dim / output_dim is a ValueError
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("make", [lambda: L.Dense(2, foo=1), lambda: L.Conv2D(2, 3, foo=1),
                                  lambda: L.Flatten(foo=1), lambda: L.Dense(2, weights=[])])
def test_unknown_keyword_is_a_value_error(make):
    # TF 2.21: "Unrecognized keyword arguments passed to Dense" is a ValueError (convnp's
    # error is also a TypeError, as Python's own for an unknown keyword)
    with pytest.raises(ValueError):
        make()
    with pytest.raises(TypeError):
        make()


# -- Keras 2 arguments TF 2.21 still takes -------------------------------------------------------

def test_input_dim_builds_the_first_layer():
    # TF 2.21: Sequential([Dense(3, input_dim=4), Dense(1)]) is built, 19 parameters
    model = keras.Sequential([L.Dense(3, input_dim=4), L.Dense(1)])
    assert model.built
    assert [tuple(w.shape) for w in model.weights] == [(4, 3), (3,), (3, 1), (1,)]
    assert model.count_params() == 19


TABLE = np.arange(8, dtype=np.float32).reshape(4, 2) / 8


@pytest.mark.parametrize("weights", [[TABLE], (TABLE,), TABLE])
def test_embedding_starts_from_given_weights(weights):
    # TF 2.21: Embedding(4, 2, weights=[matrix]) (or the bare matrix) is built at once
    # with that table (a tuple is convnp's leniency: TF 2.21 fails on it)
    layer = L.Embedding(4, 2, weights=weights)
    assert layer.built
    np.testing.assert_array_equal(layer.get_weights()[0], TABLE)
    np.testing.assert_allclose(np.asarray(layer(np.array([[3, 1]]))),
                               [[[0.75, 0.875], [0.25, 0.375]]])
    assert "weights" not in layer.get_config()


def test_frozen_pretrained_embedding_in_a_model():
    # TF 2.21: the GloVe recipe, weights=[matrix], trainable=False: fit leaves the table
    model = keras.Sequential([keras.Input((3,)), L.Embedding(4, 2, weights=[TABLE],
                                                             trainable=False),
                              L.GlobalAveragePooling1D(), L.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.array([[0, 1, 2], [3, 2, 1]]), np.array([[1.0], [0.0]]), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], TABLE)
    assert model.count_params() == 11


@pytest.mark.parametrize("weights, error", [
    ([np.ones((3, 2))], ValueError), ([TABLE, TABLE], ValueError), (["a"], TypeError)])
def test_embedding_refuses_wrong_weights(weights, error):
    # TF 2.21: a table of the wrong shape is a ValueError (the other misuses end in an
    # AttributeError there; convnp names what it expected)
    with pytest.raises(error):
        L.Embedding(4, 2, weights=weights)


def test_batch_normalization_renorm_arguments():
    # TF 2.21: BatchNormalization takes renorm, renorm_clipping, renorm_momentum and writes
    # them in its config (convnp computes no renormalization: renorm=True is refused)
    layer = L.BatchNormalization(renorm=False, renorm_momentum=0.9)
    config = layer.get_config()
    assert (config["renorm"], config["renorm_clipping"], config["renorm_momentum"]) == \
        (False, None, 0.9)
    assert L.BatchNormalization.from_config(config).get_config()["renorm_momentum"] == 0.9
    with pytest.raises(ValueError):
        L.BatchNormalization(renorm=True)


# -- Rescaling per channel ------------------------------------------------------------------------

def test_rescaling_takes_per_channel_lists():
    # TF 2.21: Rescaling([1., 2.], offset=[0., 1.]) scales each channel; the config keeps
    # the lists and from_config gives the same layer
    layer = L.Rescaling([1.0, 2.0], offset=[0.0, 1.0])
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2, 2, 2), np.float32))).sum(), 16.0)
    config = layer.get_config()
    assert (config["scale"], config["offset"]) == ([1.0, 2.0], [0.0, 1.0])
    again = L.Rescaling.from_config(config)
    np.testing.assert_allclose(np.asarray(again(np.ones((1, 1, 1, 2), np.float32))).ravel(),
                               [1.0, 3.0])
    assert L.Rescaling(0.5).get_config()["scale"] == 0.5  # a number stays a number


def test_rescaling_imagenet_normalization_in_a_model():
    # the per-channel normalization users write: (x / 255 - mean) / std as one layer
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    inp = keras.Input((2, 2, 3))
    model = keras.Model(inp, L.Rescaling(1 / (255 * std), offset=-mean / std)(inp))
    x = np.full((1, 2, 2, 3), 128.0, np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0)[0, 0, 0],
                               (128 / 255 - mean) / std, rtol=1e-5)
    # Keras writes an array argument as {"class_name": "__numpy__", ...}: it reads back
    keras_form = {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float64"}}
    layer = L.Rescaling.from_config({"name": "r", "scale": keras_form, "offset": 0.0})
    np.testing.assert_allclose(layer.scale, [1.0, 2.0])


def test_rescaling_refuses_lists_that_do_not_fit():
    # TF 2.21 fails in the multiplication; convnp names the shapes
    with pytest.raises(ValueError, match="scale of shape"):
        L.Rescaling([1.0, 2.0, 3.0])(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError):
        L.Rescaling([1.0, float("nan")])


def test_dense_and_embedding_take_keras3_neutral_arguments():
    # TF 2.21: Dense and Embedding take lora_alpha and quantization_config (None: no
    # quantization); convnp implements neither, so other values are refused
    L.Dense(3, lora_alpha=None, quantization_config=None)
    L.Embedding(4, 2, lora_alpha=None, quantization_config=None)
    with pytest.raises(ValueError):
        L.Dense(3, lora_alpha=2.0)


# -- the ranges of the geometric augmentation factors ----------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: L.RandomZoom(2.0), lambda: L.RandomZoom(-1.5), lambda: L.RandomZoom(0.5, 2.0),
    lambda: L.RandomZoom((-1.0, 0.2)), lambda: L.RandomTranslation(2.0, 0.1),
    lambda: L.RandomTranslation(0.1, (-1.5, 0.0)), lambda: L.RandomRotation(3.0),
])
def test_geometric_factors_out_of_range(make):
    # TF 2.21: zoom factors must lie in (-1, 1], translation and rotation factors in [-1, 1]
    with pytest.raises(ValueError):
        make()


def test_geometric_factors_at_the_edges():
    # TF 2.21 takes these
    L.RandomZoom(1.0)
    L.RandomZoom((-0.2, -0.1), width_factor=(-0.9, 1.0))
    L.RandomRotation((-1, 1))
    L.RandomTranslation((-1.0, 1.0), 1.0)


@pytest.mark.parametrize("size", [3, (3,), [3]])
def test_adaptive_pooling_1d_reads_tf_config(size):
    # TF 2.21 writes AdaptiveMaxPooling1D(3)'s output_size as (3,) (a list in JSON); its
    # from_config and the constructor take it
    config = {"name": "p", "output_size": size, "data_format": "channels_last"}
    layer = L.AdaptiveMaxPooling1D.from_config(config)
    assert tuple(layer(np.ones((2, 8, 3), np.float32)).shape) == (2, 3, 3)
