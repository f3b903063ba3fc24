"""Users' losses in fit and by hand give what TensorFlow 2.21 gives.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _one_number(y_true, y_pred):
    """A loss returning its own mean: one number per batch, not one per sample."""
    return tf.reduce_mean(tf.square(y_true - y_pred))


def test_a_loss_returning_one_number_takes_sample_weights():
    # TF 2.21: each batch's loss is that number times the batch's mean weight; fit trains on
    # it (convnp: "cannot reshape array of size 16 into shape (1,)")
    x = np.random.RandomState(0).rand(40, 6).astype("float32")
    y = np.random.RandomState(1).rand(40, 2).astype("float32")
    weights = np.linspace(0, 1, 40).astype("float32")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="ones")(inputs))
    model.compile(keras.optimizers.SGD(0.01), loss=_one_number)
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False,
                        sample_weight=weights)
    assert history.history["loss"] == [pytest.approx(3.3425, abs=1e-4)]
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:2], [[0.9812, 0.9799], [0.9777, 0.9778]], atol=1e-4)
    np.testing.assert_allclose(bias, [-0.0405, -0.0412], atol=1e-4)


def test_a_loss_subclass_returning_one_number_takes_sample_weights():
    # TF 2.21: 0.3026 (the mean square times the mean weight 2.5); with reduction="sum" 1.2104
    class OneNumber(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return _one_number(y_true, y_pred)

    y = np.random.RandomState(1).rand(4, 2).astype("float32")
    weights = np.array([1, 2, 3, 4], "float32")
    assert float(OneNumber()(y, y * 0, sample_weight=weights)) == pytest.approx(0.3026,
                                                                                abs=1e-4)
    assert float(OneNumber(reduction="sum")(y, y * 0, sample_weight=weights)) == \
        pytest.approx(1.2104, abs=1e-4)


@pytest.mark.parametrize("name, function", [
    ("mse", "mean_squared_error"), ("MSE", "mean_squared_error"),
    ("mae", "mean_absolute_error"), ("MAE", "mean_absolute_error"),
    ("mape", "mean_absolute_percentage_error"), ("MAPE", "mean_absolute_percentage_error"),
    ("msle", "mean_squared_logarithmic_error"), ("MSLE", "mean_squared_logarithmic_error"),
    ("kld", "kl_divergence"), ("KLD", "kl_divergence"),
    ("kullback_leibler_divergence", "kl_divergence"), ("logcosh", "log_cosh")])
def test_metric_functions_short_spellings(name, function):
    # TF 2.21's tf.keras.metrics has them (tf.keras.metrics.mae(y, p) gives per-sample
    # values, shape (2,) here); convnp raised AttributeError
    y_true = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], "float32")
    y_pred = np.array([[0.9, 0.6, 0.2], [0.1, 0.3, 0.8]], "float32")
    values = getattr(keras.metrics, name)(y_true, y_pred)
    assert np.shape(values) == (2,)
    np.testing.assert_allclose(values, getattr(keras.losses, function)(y_true, y_pred))
