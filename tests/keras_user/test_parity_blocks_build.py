"""Blocks written for Keras 3 build their sublayers in their own ``build``
(``self.norm.build(input_shape)``, ``self.dense.build([None, d])``) and leave defaulted
constructor arguments out of ``get_config``. Each expected value below is what TF 2.21
(Keras 3.15) gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers
rng = np.random.default_rng(0)


@pytest.mark.parametrize("make, shape", [
    (lambda: L.LayerNormalization(epsilon=1e-6), (None, 5, 4)),
    (lambda: L.GroupNormalization(2), (None, 6, 6, 4)),
    (lambda: L.Dense(4), (None, 5, 4)),
    (lambda: L.DepthwiseConv2D(3, padding="same"), (None, 6, 6, 4)),
    (lambda: L.BatchNormalization(), (None, 6, 6, 4)),
])
def test_layer_built_directly_then_called(make, shape):
    # TF 2.21: build(shape) then calls on arrays and on a KerasTensor work, and a tape
    # gives a gradient for every weight (LayerNormalization and GroupNormalization raised
    # TypeError here)
    layer = make()
    layer.build(shape)
    assert layer.built
    x = rng.normal(size=(2,) + shape[1:]).astype("float32")
    assert tuple(layer(x).shape) == x.shape
    assert tuple(layer(keras.Input(shape[1:])).shape) == shape
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True))
    assert all(g is not None for g in tape.gradient(loss, layer.trainable_weights))


def test_shape_written_as_a_list_is_one_shape():
    # TF 2.21: Dense.build([None, 4]) builds a (4, 3) kernel (convnp took the list for
    # two inputs: TypeError)
    dense = L.Dense(3)
    dense.build([None, 4])
    assert tuple(dense.kernel.shape) == (4, 3)
    assert tuple(dense(np.zeros((2, 4), "float32")).shape) == (2, 3)


def test_layer_built_directly_checks_its_input():
    # TF 2.21: a Conv2D built for 4 channels refuses 3 (ValueError)
    conv = L.Conv2D(3, 3)
    conv.build((None, 6, 6, 4))
    with pytest.raises(ValueError):
        conv(np.zeros((1, 6, 6, 3), "float32"))


class Block(L.Layer):
    """A pre-norm residual MLP block that builds its sublayers itself; ``dropout_rate`` and
    ``qkv_bias`` are left out of get_config (they have defaults)."""

    def __init__(self, dim, hidden=8, dropout_rate=0.0, qkv_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.hidden = hidden
        self.norm = L.LayerNormalization(epsilon=1e-5)
        self.mlp = keras.Sequential([L.Dense(hidden, activation="gelu"), L.Dense(dim)])
        self.drop = L.Dropout(dropout_rate)

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.mlp.build(input_shape)

    def call(self, x, training=False):
        return x + self.drop(self.mlp(self.norm(x)), training=training)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": self.hidden}


def test_block_building_its_sublayers_saves_without_its_defaulted_arguments(tmp_path):
    # TF 2.21: the model saves (the defaulted arguments are left out of the config) and
    # loads back with the same outputs and parameter count
    inp = keras.Input((5, 4))
    model = keras.Model(inp, Block(4)(inp))
    assert model.count_params() == 8 + (4 * 8 + 8) + (8 * 4 + 4)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", custom_objects={"Block": Block})
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)


class Forgetful(L.Layer):
    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, x):
        return x * self.k

    def get_config(self):
        return super().get_config()


def test_required_argument_left_out_is_still_refused(tmp_path):
    # TF 2.21 writes the file and then cannot load it (TypeError: missing argument k);
    # convnp refuses at save time, before writing a file that cannot be read back
    inp = keras.Input((3,))
    model = keras.Model(inp, Forgetful(2.0)(inp))
    with pytest.raises(ValueError, match="k"):
        model.save(tmp_path / "m.keras")
