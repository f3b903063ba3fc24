"""``keras.metrics``' function forms (Keras 3 exposes the loss functions there): the same
per-sample values as Keras 3.15 (fixtures/api_extras.npz, made by make_api_extras.py)."""

import numpy as np
import pytest

import convnp as tf
from convnp import losses
from tests.helpers import load_fixture

Z = load_fixture("api_extras.npz")
M = tf.keras.metrics
PLAIN = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
         "mean_squared_logarithmic_error", "binary_crossentropy", "binary_focal_crossentropy",
         "kl_divergence", "poisson", "huber", "log_cosh"]


@pytest.mark.parametrize("name", PLAIN)
def test_regression_and_binary_forms(name):
    np.testing.assert_allclose(getattr(M, name)(Z["met/yt"], Z["met/yp"]), Z[f"met/{name}"],
                               rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["categorical_crossentropy", "categorical_focal_crossentropy",
                                  "categorical_hinge"])
def test_categorical_forms(name):
    np.testing.assert_allclose(getattr(M, name)(Z["met/onehot"], Z["met/yp"]),
                               Z[f"met/{name}"], rtol=2e-6)


def test_sparse_and_hinge_forms():
    np.testing.assert_allclose(M.sparse_categorical_crossentropy(Z["met/labels"], Z["met/yp"]),
                               Z["met/sparse_categorical_crossentropy"], rtol=2e-6)
    for name in ("hinge", "squared_hinge"):
        np.testing.assert_allclose(getattr(M, name)(Z["met/signs"], Z["met/yp"]),
                                   Z[f"met/{name}"], rtol=2e-6)


def test_they_are_the_loss_functions_and_listed():
    for name in M.LOSS_FUNCTIONS:
        assert getattr(M, name) is getattr(losses, name)
        assert name in M.__all__
    assert "Precision" in M.__all__  # the metric classes are still exported
    model = tf.keras.Sequential([tf.keras.Input((5,)), tf.keras.layers.Dense(5)])
    model.compile("sgd", "mse", metrics=[M.mean_absolute_error])
    logs = model.evaluate(Z["met/yt"], Z["met/yp"], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mean_absolute_error"}
