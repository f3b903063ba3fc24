"""InputSpec: stored as Keras users write it in custom layers and checked on every call
(arrays and KerasTensors) before anything is built."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import InputSpec


class Scale(tf.keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=4, axes={-1: 3})

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w


def test_custom_layer_with_input_spec():
    layer = Scale(name="scale")
    assert isinstance(layer.input_spec, tf.keras.layers.InputSpec)
    np.testing.assert_array_equal(layer(np.ones((1, 2, 2, 3), "float32")), 1.0)
    with pytest.raises(ValueError, match=r"Input 0 of layer 'scale'.*expected ndim=4, "
                                         r"found ndim=3.*\(None, 2, 3\)"):
        layer(np.ones((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match="axis -1 of input shape to have value 3"):
        layer(np.ones((1, 2, 2, 4), "float32"))
    fresh = Scale(name="fresh")
    with pytest.raises(ValueError, match="ndim=4"):
        fresh(tf.keras.Input((5,)))
    assert not fresh.built  # refused before build
    model = tf.keras.Sequential([tf.keras.Input((2, 2, 3)), Scale()])
    assert model.output_shape == (None, 2, 2, 3)


@pytest.mark.parametrize("spec, ok, bad", [
    (InputSpec(min_ndim=2), (None, 3), (None,)),
    (InputSpec(max_ndim=3), (None, 3, 2), (None, 3, 2, 1)),
    (InputSpec(shape=(None, 4, None)), (None, 4, 7), (None, 5, 7)),
    (InputSpec(axes={1: 8}), (None, 8, 2), (None, 9, 2)),
])
def test_spec_checks(spec, ok, bad):
    spec.check(ok, "x")
    with pytest.raises(ValueError, match="incompatible"):
        spec.check(bad, "x")


def test_lists_of_specs_and_bad_specs():
    a, b = tf.keras.Input((4,)), tf.keras.Input((4, 2))
    add = tf.keras.layers.Concatenate()
    add.input_spec = [InputSpec(ndim=2), InputSpec(ndim=2)]
    with pytest.raises(ValueError, match="Input 1 .*ndim=2"):
        add([a, b])
    with pytest.raises(TypeError, match="ndim"):
        InputSpec(ndim=-1)
    with pytest.raises(TypeError, match="axes"):
        InputSpec(axes=[1])
    with pytest.raises(ValueError, match="out of range"):
        InputSpec(ndim=2, axes={3: 1})
    layer = tf.keras.layers.Dense(2)
    layer.input_spec = "rank 2"
    with pytest.raises(TypeError, match="InputSpec"):
        layer(np.ones((1, 2), "float32"))
    assert InputSpec.from_config(InputSpec(ndim=3, axes={-1: 2}).get_config()).axes == {-1: 2}
