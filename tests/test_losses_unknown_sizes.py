"""Built-in losses train fully-convolutional models whose output sizes are unknown
(``Input((None, None, C))``): an unknown size matches the targets' size on that axis, and the
real arrays are compared when the loss runs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import losses

keras = tf.keras


def _fully_convolutional(filters, activation=None):
    tf.keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 1))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(filters, 3, padding="same",
                                                   activation=activation)(hidden))


def _images(h, w, seed):
    return np.random.default_rng(seed).random((4, h, w, 1)).astype("float32")


def _targets(loss, x):
    if loss == "sparse_categorical_crossentropy":  # per-pixel class labels (N, H, W)
        return np.minimum((x[..., 0] * 3).astype("int64"), 2)
    if loss == "binary_crossentropy":
        return (x > 0.5).astype("float32")
    return x


@pytest.mark.parametrize("loss, filters, activation", [
    ("mse", 1, None), ("mae", 1, None), ("binary_crossentropy", 1, "sigmoid"),
    ("sparse_categorical_crossentropy", 3, "softmax")])
def test_fit_and_evaluate_on_images_of_two_sizes(loss, filters, activation):
    model = _fully_convolutional(filters, activation)
    model.compile("adam", loss)
    for h, w, seed in ((8, 8, 0), (12, 16, 1)):
        x = _images(h, w, seed)
        y = _targets(loss, x)
        history = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
        assert len(history.history["loss"]) == 2
        assert np.all(np.isfinite(history.history["loss"]))
        value = model.evaluate(x, y, verbose=0)
        expected = losses.get(loss)(y, model.predict(x, verbose=0))
        assert value == pytest.approx(float(expected), rel=1e-4)


def test_sparse_labels_with_a_trailing_axis_and_mismatches_at_run_time():
    model = _fully_convolutional(3, "softmax")
    model.compile("adam", "sparse_categorical_crossentropy")
    x = _images(8, 12, 2)
    y = _targets("sparse_categorical_crossentropy", x)
    model.fit(x, y[..., None], epochs=1, verbose=0)  # (N, H, W, 1) labels
    with pytest.raises(ValueError, match="labels of shape"):  # labels for other images
        model.fit(x, y[:, :4], epochs=1, verbose=0)


def test_known_sizes_are_still_checked_against_the_targets():
    model = _fully_convolutional(2)
    model.compile("adam", "mse")
    x = _images(8, 8, 3)
    # an unknown height and width match the targets', the known channel axis does not
    with pytest.raises(ValueError, match=r"cannot compare targets of shape \(4, 8, 8, 3\)"):
        model.fit(x, np.zeros((4, 8, 8, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match="do not match"):  # sizes differ at run time
        model.fit(x, np.zeros((4, 6, 8, 2), "float32"), verbose=0)


def test_check_output_probes_unknown_sizes_with_the_target_sizes():
    mse = losses.MeanSquaredError()
    mse.check_output((None, None, None, 1), (4, 8, 8, 1))
    mse.check_output((None, None, None, 1), (4, 12, 16))  # the size-1 axis dropped
    mse.check_output((None, 5, None), (4, 5))
    with pytest.raises(ValueError, match="cannot compare"):
        mse.check_output((None, None, None, 2), (4, 8, 8, 3))
