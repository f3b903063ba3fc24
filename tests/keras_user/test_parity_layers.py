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
