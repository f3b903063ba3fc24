"""A plain ReLU that only feeds a max pooling runs after it (on the pooled tensor); the model
must compute exactly what the layers as written compute."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def _model(relu, padding, seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(9, 9, 2))
    z = tfl.Conv2D(4, 3, padding="same")(inputs)
    z = tfl.MaxPool2D(pool_size=3, strides=2, padding=padding)(relu(z))
    outputs = tfl.Dense(3, activation="softmax")(tfl.Flatten()(z))
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_relu_before_max_pool_runs_after_it_with_identical_results(padding):
    swapped = _model(tfl.ReLU(), padding)
    # A ReLU capped far above the data computes the same function but is never moved.
    as_written = _model(tfl.ReLU(max_value=1e30), padding)
    as_written.set_weights(swapped.get_weights())

    names = [type(n.layer).__name__ for n in swapped._graph.schedule]
    assert names.index("MaxPooling2D") < names.index("ReLU")
    assert [type(n.layer).__name__ for n in as_written._graph.schedule].index("ReLU") < \
        names.index("ReLU")
    # the model as written is what users see
    assert [type(layer).__name__ for layer in swapped.layers][2:4] == ["ReLU", "MaxPooling2D"]

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 9, 9, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
    np.testing.assert_allclose(swapped.predict(x, verbose=0), as_written.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    for _ in range(3):
        swapped.train_on_batch(x, y)
        as_written.train_on_batch(x, y)
    for a, b in zip(swapped.get_weights(), as_written.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_relu_read_elsewhere_is_not_moved():
    inputs = tf.keras.Input(shape=(4, 4, 1))
    r = tfl.ReLU()(inputs)
    outputs = tfl.Add()([tfl.Flatten()(tfl.MaxPool2D(pool_size=4)(r)),
                         tfl.Flatten()(tfl.MaxPool2D(pool_size=4)(r))])
    model = tf.keras.Model(inputs, outputs)
    assert [n.layer for n in model._graph.schedule] == [n.layer for n in model._graph.nodes]
