"""The config Keras 3 makes for a user's block that writes no get_config. Each expected
value below is what TF 2.21 (Keras 3.15) gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


class Doubler(L.Layer):
    """No __init__ and no get_config."""

    def call(self, x):
        return x * 2


class WithLayerArgument(L.Layer):
    """An activation layer given to the constructor, no get_config."""

    def __init__(self, act=None, **kwargs):
        super().__init__(**kwargs)
        self.act = act

    def call(self, x):
        return x if self.act is None else self.act(x)


def test_config_of_a_layer_without_init():
    # TF 2.21: the base Layer's arguments, without input_shape/batch_input_shape/input_dim
    config = Doubler(name="d").get_config()
    assert sorted(config) == ["activity_regularizer", "autocast", "dtype", "name", "trainable"]


def test_argument_that_is_not_a_plain_value_refuses_a_config(tmp_path):
    # TF 2.21: NotImplementedError from get_config and from save (convnp dropped `act` and
    # saved a file that rebuilt the layer without it)
    assert WithLayerArgument(name="w").get_config()["act"] is None
    layer = WithLayerArgument(act=L.ReLU())
    with pytest.raises(NotImplementedError, match="get_config"):
        layer.get_config()
    inp = keras.Input((3,))
    model = keras.Model(inp, WithLayerArgument(act=L.ReLU())(inp))
    np.testing.assert_array_equal(np.asarray(model(np.array([[-1.0, 0.0, 2.0]], "float32"))),
                                  [[0.0, 0.0, 2.0]])
    with pytest.raises(NotImplementedError):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
