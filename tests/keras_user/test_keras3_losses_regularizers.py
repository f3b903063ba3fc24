"""Keras 3 objects TensorFlow 2.21 has and convnp lacked: the CTC loss, the orthogonal
regularizer and the sparse activations. Expected numbers are TensorFlow 2.21's on the same
inputs (read off there once; written here)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

K = tf.keras

LABELS = np.array([[1, 2, 0], [3, 3, 0]], dtype=np.int32)
LOGITS = (np.sin(np.arange(2 * 6 * 4, dtype=np.float32)).reshape(2, 6, 4) * 2).astype(
    np.float32)


def test_ctc_values_and_gradient_as_tensorflow():
    np.testing.assert_allclose(np.asarray(K.losses.ctc(LABELS, LOGITS)),
                               [5.768711090087891, 5.099247932434082], rtol=1e-5)
    loss = K.losses.CTC()
    assert loss.name == "ctc" and loss.get_config() == {"name": "ctc",
                                                        "reduction": "sum_over_batch_size"}
    assert float(loss(LABELS, LOGITS)) == pytest.approx(5.433979511260986, rel=1e-5)
    x = tf.Variable(LOGITS)
    with tf.GradientTape() as tape:
        value = loss(LABELS, x)
    grad = np.asarray(tape.gradient(value, x))
    np.testing.assert_allclose(grad[0, 0], [-0.018422484397888184, -0.25154638290405273,
                                            0.22216659784317017, 0.04780225083231926],
                               rtol=1e-4, atol=1e-6)
    assert abs(grad.sum()) < 1e-5  # a softmax's gradient sums to 0 at every step


def test_ctc_trains_by_name_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 6, 3), dtype=np.float32)
    y = rng.integers(1, 4, (16, 3)).astype(np.int32)
    y[:, 2] = 0  # padding after a label sequence of two
    model = K.Sequential([K.Input((6, 3)), K.layers.Dense(8, activation="relu"),
                          K.layers.Dense(4)])
    model.compile(optimizer=K.optimizers.Adam(1e-2), loss="ctc")
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0).history["loss"]
    assert history[-1] < history[0]
    model.save(tmp_path / "ctc.keras")
    loaded = K.models.load_model(tmp_path / "ctc.keras")
    assert loaded.loss == "ctc"
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0),
                                                             rel=1e-6)


@pytest.mark.parametrize("y_true, y_pred", [(np.array([1, 2]), LOGITS),
                                            (LABELS, LOGITS[0])])
def test_ctc_refuses_wrong_ranks(y_true, y_pred):
    with pytest.raises(ValueError, match="ctc"):
        K.losses.ctc(y_true, y_pred)


W = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
             dtype=np.float32)


def test_orthogonal_regularizer_values_and_gradient_as_tensorflow():
    rows = K.regularizers.OrthogonalRegularizer(factor=0.1, mode="rows")
    assert float(rows(W)) == pytest.approx(0.02250012569129467, rel=1e-6)
    columns = K.regularizers.OrthogonalRegularizer(0.1, "columns")
    assert float(columns(W)) == pytest.approx(0.04654743894934654, rel=1e-6)
    expected = [[3.0e-06, 0.000964, -0.003863], [0.000581, -0.00065, -0.000412],
                [-0.001269, -0.002614, 0.003882], [0.0, 0.0, 0.0]]  # the zero row: 0, no NaN
    np.testing.assert_allclose(rows.gradient(W), expected, atol=2e-6)
    assert rows.get_config() == {"factor": 0.1, "mode": "rows"}
    assert K.regularizers.get("orthogonal_regularizer").get_config() == {
        "factor": 0.01, "mode": "rows"}
    assert K.regularizers.orthogonal_regularizer(0.2).factor == 0.2
    # one column has no pair: 0 (Keras gives NaN there)
    assert float(columns(np.ones((3, 1), np.float32))) == 0.0


def test_orthogonal_regularizer_refusals():
    with pytest.raises(ValueError, match="mode"):
        K.regularizers.OrthogonalRegularizer(mode="x")
    with pytest.raises(ValueError, match="rank 2"):
        K.regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), np.float32))
    with pytest.raises(TypeError):
        K.regularizers.OrthogonalRegularizer(factor="big")


def test_orthogonal_regularizer_in_a_layer_trains_and_saves(tmp_path):
    regularizer = K.regularizers.OrthogonalRegularizer(0.5, "columns")
    model = K.Sequential([K.Input((4,)), K.layers.Dense(3, kernel_regularizer=regularizer)])
    model.compile("sgd", "mse")
    rng = np.random.default_rng(2)
    x, y = rng.random((8, 4)), rng.random((8, 3))
    penalty = float(regularizer(model.layers[0].kernel.numpy()))
    plain = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(plain + penalty, rel=1e-5)
    model.fit(x, y, verbose=0, epochs=2)
    model.save(tmp_path / "m.keras")
    loaded = K.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].kernel_regularizer.get_config() == {"factor": 0.5,
                                                                 "mode": "columns"}


def test_sparse_activations_as_tensorflow():
    x = np.array([[-2.0, -1.0, -0.5, 0.0, 0.7, 1.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(np.asarray(K.activations.sparse_sigmoid(x)),
                               [[0, 0, 0.25, 0.5, 0.85, 1, 1]], rtol=1e-6)
    z = np.array([[1.0, 2.0, 0.5, -1.0], [0.1, 0.2, 0.3, 0.25]], dtype=np.float32)
    np.testing.assert_allclose(np.asarray(K.activations.sparsemax(z)),
                               [[0, 1, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(np.asarray(K.activations.sparsemax(z, axis=0)),
                               [[0.45, 1, 0.35, 0], [0, 0, 0.15, 1]], rtol=1e-5, atol=1e-7)
    v = tf.Variable(z)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(K.activations.sparsemax(v, axis=0) * np.arange(4, dtype="f4"))
    np.testing.assert_allclose(np.asarray(tape.gradient(total, v)), [[0, 0, -2, 0], [0] * 4])
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(K.activations.sparse_sigmoid(xv))
    np.testing.assert_allclose(np.asarray(tape.gradient(total, xv)),
                               [[0, 0, 0.5, 0.5, 0.5, 0, 0]])


def test_sparse_activations_by_name_in_layers():
    assert K.activations.serialize(K.activations.get("sparsemax")) == "sparsemax"
    model = K.Sequential([K.Input((3,)), K.layers.Dense(4, activation="sparsemax"),
                          K.layers.Dense(1, activation="sparse_sigmoid")])
    model.compile("adam", "mse")
    rng = np.random.default_rng(3)
    history = model.fit(rng.random((8, 3)), rng.random((8, 1)), verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    out = model.layers[0](rng.random((5, 3), dtype=np.float32)).numpy()
    assert (out >= 0).all()
