"""``keras.Variable`` as Keras 3 spells it, the way Keras ports of Swin and MobileViT keep a
constant index table or attention mask with their layer. Each expected value below is what
TF 2.21 (Keras 3.15) gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


def test_value_given_as_initializer_keyword():
    # TF 2.21: keras.Variable(initializer=array, shape=..., dtype="int", trainable=False)
    # holds the array as int64, not trainable
    index = np.arange(4).reshape(2, 2)
    v = keras.Variable(initializer=index, shape=index.shape, dtype="int", trainable=False)
    assert v.dtype == np.int64 and tuple(v.shape) == (2, 2) and v.trainable is False
    np.testing.assert_array_equal(np.asarray(v), index)


@pytest.mark.parametrize("initializer, expected", [
    ("zeros", [[0.0], [0.0]]),
    (keras.initializers.Constant(3.0), [[3.0], [3.0]]),
    (lambda shape, dtype: np.ones(shape), [[1.0], [1.0]]),
])
def test_initializer_called_with_the_shape(initializer, expected):
    # TF 2.21: a name, an Initializer or a function f(shape, dtype) is called with the
    # shape; the value is float32
    v = keras.Variable(initializer, shape=(2, 1))
    assert v.dtype == np.float32 and tuple(v.shape) == (2, 1)
    np.testing.assert_array_equal(np.asarray(v), expected)


def test_initializer_without_shape_is_a_value_error():
    # TF 2.21: ValueError ("the `shape` argument should be specified")
    with pytest.raises(ValueError, match="shape"):
        keras.Variable(initializer="zeros")


def test_missing_initializer_is_a_type_error():
    # TF 2.21: TypeError (a required positional argument)
    with pytest.raises(TypeError):
        keras.Variable()


def test_values_keep_tf_variable_dtypes_and_autocast_is_accepted():
    # TF 2.21: int64/float64 arrays keep their dtype, Python floats are float32, Python ints
    # int32; autocast= and aggregation= are accepted
    assert keras.Variable(np.arange(3)).dtype == np.int64
    assert keras.Variable(np.zeros(2)).dtype == np.float64
    assert keras.Variable([1.0, 2.0]).dtype == np.float32
    assert keras.Variable([1, 2]).dtype == np.int32
    assert keras.Variable(1.0, autocast=False).dtype == np.float32
    assert keras.Variable(1.0, aggregation="mean", name="foo").name == "foo"


def test_layer_weights_are_keras_variables_and_gradients_reach_them():
    # TF 2.21: a layer's weights are keras.Variable instances; a tape differentiates one
    dense = L.Dense(2)
    dense.build((None, 3))
    assert isinstance(dense.kernel, keras.Variable)
    v = keras.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, v)), [2.0, 4.0])


class TableBias(L.Layer):
    """A relative-position bias: a trainable table gathered through a constant index kept
    as a non-trainable keras.Variable (Swin's WindowAttention, condensed)."""

    def __init__(self, window=2, heads=2, **kwargs):
        super().__init__(**kwargs)
        self.window = window
        self.heads = heads

    def build(self, input_shape):
        w = self.window
        self.table = self.add_weight(shape=((2 * w - 1) ** 2, self.heads),
                                     initializer="ones", name="table")
        coords = np.stack(np.meshgrid(np.arange(w), np.arange(w), indexing="ij")).reshape(2, -1)
        rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (w - 1)
        index = rel[:, :, 0] * (2 * w - 1) + rel[:, :, 1]
        self.index = keras.Variable(initializer=index, shape=index.shape, dtype="int",
                                    trainable=False)

    def call(self, x):
        n = self.window * self.window
        bias = tf.gather(self.table, tf.reshape(self.index, (-1,)))
        bias = tf.transpose(tf.reshape(bias, (n, n, -1)), (2, 0, 1))
        return x + tf.expand_dims(bias, 0)

    def get_config(self):
        return {**super().get_config(), "window": self.window, "heads": self.heads}


def test_constant_table_in_a_layer_saves_and_trains(tmp_path):
    # TF 2.21: the index is a non-trainable weight of the layer (counted by count_params),
    # saved and restored with the model; the table gets a gradient through tf.gather
    inp = keras.Input((2, 4, 4))
    model = keras.Model(inp, TableBias()(inp))
    assert model.count_params() == 9 * 2 + 16
    assert [tuple(w.shape) for w in model.non_trainable_weights] == [(4, 4)]
    x = np.random.default_rng(0).normal(size=(2, 2, 4, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", custom_objects={"TableBias": TableBias})
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)
    assert again.non_trainable_weights[0].dtype == np.int64
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    grad = tape.gradient(loss, model.trainable_weights)[0]
    assert tuple(grad.shape) == (9, 2) and float(np.sum(grad)) == pytest.approx(2 * 2 * 16)
