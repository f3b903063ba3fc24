"""``Layer.add_weight(dtype=...)`` makes a variable of that dtype, as Keras 3.15 does (an
integer step counter, a float64 accumulator), and Normalization's ``count`` is an int64
scalar as on Keras's TensorFlow backend (summaries count its 8 bytes: keras.io's ViT reports
"Non-trainable params: 7 (32.00 B)" for its adapted RGB Normalization)."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import keras


class Counters(keras.layers.Layer):
    def build(self, input_shape):
        self.steps = self.add_weight(shape=(), dtype="int32", trainable=False, name="steps")
        self.total = self.add_weight(shape=(), dtype="int", trainable=False, name="total")
        self.acc = self.add_weight(shape=(2,), dtype="float64", initializer="ones",
                                   trainable=False, name="acc")
        self.kernel = self.add_weight(shape=(2, 2), name="kernel")

    def call(self, x):
        self.steps.assign_add(1)
        return x @ self.kernel


def test_add_weight_keeps_the_dtype_it_is_given():
    layer = Counters()
    layer(np.ones((1, 2), np.float32))
    layer(np.ones((1, 2), np.float32))
    got = {v.name: (str(np.asarray(v).dtype), np.asarray(v).tolist()) for v in layer.weights}
    # what Keras 3.15 (TensorFlow backend) makes: the default initializer of a
    # non-float variable is zeros, "int" is int64
    assert got["steps"] == ("int32", 2)
    assert got["total"] == ("int64", 0)
    assert got["acc"] == ("float64", [1.0, 1.0])
    assert got["kernel"][0] == "float32" and np.any(np.asarray(layer.kernel) != 0)


def test_add_weight_refuses_a_dtype_that_is_not_one():
    layer = keras.layers.Layer()
    for bad in (object(), "floaty"):
        with pytest.raises(ValueError, match="dtype"):  # Keras: ValueError too
            layer.add_weight(shape=(), dtype=bad)


def test_normalization_count_is_int64_and_the_summary_counts_its_bytes():
    norm = keras.layers.Normalization()
    norm.adapt(np.random.default_rng(0).random((10, 4, 4, 3)).astype(np.float32))
    assert [str(w.dtype) for w in norm.get_weights()] == ["float32", "float32", "int64"]
    model = keras.Sequential([keras.Input((4, 4, 3)), norm])
    lines = []
    model.summary(print_fn=lines.append)
    assert " Non-trainable params: 7 (32.00 B)" in lines
