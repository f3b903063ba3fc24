"""Keras 3's loss reductions: "none" / None (one value per sample), "sum",
"sum_over_batch_size", "mean", "mean_with_sample_weight"; Keras 2's
``tf.keras.losses.Reduction`` names; a "none" loss in `compile`, trained as Keras 3 trains
it. The numbers marked Keras come from Keras 3.15 on TensorFlow 2.21."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras

Y = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32")
P = np.zeros((2, 2), dtype="float32")
W = np.array([1.0, 2.0], dtype="float32")


class SquaredError(keras.losses.Loss):
    """A user's loss: per-sample values from ``call``."""

    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


@pytest.mark.parametrize("reduction, plain, weighted", [
    # Keras: MeanSquaredError(reduction=...)(Y, P) and with sample_weight=[1, 2]
    ("none", [0.5, 6.5], [0.5, 13.0]),
    (None, [0.5, 6.5], [0.5, 13.0]),
    ("sum", 7.0, 13.5),
    ("sum_over_batch_size", 3.5, 6.75),
    ("mean", 3.5, 6.75),
    ("mean_with_sample_weight", 3.5, 4.5),
])
@pytest.mark.parametrize("cls", [keras.losses.MeanSquaredError, SquaredError])
def test_every_keras_3_reduction(cls, reduction, plain, weighted):
    loss = cls(reduction=reduction)
    value = loss(Y, P)
    assert value.shape == np.shape(plain) and value.dtype == np.float32
    np.testing.assert_allclose(value, plain, rtol=1e-6)
    np.testing.assert_allclose(loss(Y, P, sample_weight=W), weighted, rtol=1e-6)
    assert loss.get_config()["reduction"] == reduction


def test_keras_2_reduction_names():
    reduction = keras.losses.Reduction
    assert (reduction.NONE, reduction.SUM, reduction.SUM_OVER_BATCH_SIZE, reduction.AUTO) == (
        "none", "sum", "sum_over_batch_size", "auto")
    assert reduction.all() == ("auto", "none", "sum", "sum_over_batch_size")
    reduction.validate("none")
    with pytest.raises(ValueError, match="Reduction"):
        reduction.validate("average")
    np.testing.assert_allclose(keras.losses.MeanAbsoluteError(reduction=reduction.NONE)(Y, P),
                               [0.5, 2.5])
    # Keras 3 refuses "auto" (Reduction.AUTO) in a loss; the message says what to write
    with pytest.raises(ValueError, match="sum_over_batch_size"):
        keras.losses.MeanSquaredError(reduction=reduction.AUTO)
    with pytest.raises(ValueError, match="reduction"):
        keras.losses.BinaryCrossentropy(reduction="average")


def test_unreduced_values_are_differentiable_per_sample():
    for loss in (keras.losses.MeanSquaredError(reduction="none"), SquaredError(reduction=None)):
        p = tf.Variable(P)
        with tf.GradientTape() as tape:
            values = loss(Y, p, sample_weight=W)
            total = tf.reduce_sum(values * tf.constant([1.0, 3.0]))
        # Keras (without the weights): [[-0, -1], [-6, -9]]; the weight 2 doubles row 2
        np.testing.assert_allclose(tape.gradient(total, p), [[0.0, -1.0], [-12.0, -18.0]])


def test_unreduced_gradient_reaches_a_teacher_on_the_tape():
    teacher = tf.Variable(Y)
    p = tf.Variable(P)
    with tf.GradientTape(persistent=True) as tape:
        values = keras.losses.MeanSquaredError(reduction="none")(teacher * 1.0, p)
        total = tf.reduce_sum(values * tf.constant([1.0, 3.0]))
    np.testing.assert_allclose(tape.gradient(total, teacher), [[0.0, 1.0], [6.0, 9.0]])
    np.testing.assert_allclose(tape.gradient(total, p), [[0.0, -1.0], [-6.0, -9.0]])


def test_per_pixel_values_and_mean_with_sample_weight():
    y = np.arange(18, dtype="float32").reshape(2, 3, 3, 1) / 10
    p = np.full_like(y, 0.5)
    values = keras.losses.MeanSquaredError(reduction="none")(y, p)
    assert values.shape == (2, 3, 3)
    np.testing.assert_allclose(values, (y[..., 0] - 0.5) ** 2, rtol=1e-6)
    w = np.array([1.0, 3.0]).reshape(2, 1, 1)
    bce = keras.losses.BinaryCrossentropy
    # Keras: 6.238324 (the weighted sum over pixels / the sum of the weights, 4)
    assert float(bce(reduction="mean_with_sample_weight")(y, p, sample_weight=w)) == (
        pytest.approx(6.238324, rel=1e-6))
    np.testing.assert_allclose(bce(reduction="none")(y, p, sample_weight=w)[:, 0],
                               [[0.6931472] * 3, [2.0794415] * 3], rtol=1e-6)
    # all weights 0: 0, not NaN (Keras divides with divide_no_nan)
    assert float(bce(reduction="mean_with_sample_weight")(y, p, sample_weight=0 * w)) == 0.0


X8 = np.random.RandomState(0).rand(8, 3).astype("float32")
Y8 = np.random.RandomState(1).rand(8, 2).astype("float32")


@pytest.mark.parametrize("loss", [keras.losses.MeanSquaredError(reduction="none"),
                                  SquaredError(reduction="none")])
def test_compile_with_an_unreduced_loss_logs_the_mean_and_steps_on_the_sum(loss):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
    model.compile("sgd", loss)
    history = model.fit(X8, Y8, batch_size=4, epochs=1, verbose=0, shuffle=False)
    # Keras: the same numbers for both losses; with reduction="sum" every one is 4 times
    # these (the same steps), with the default reduction the steps are 4 times smaller
    assert history.history["loss"] == pytest.approx([2.2466325759887695], rel=1e-6)
    assert model.evaluate(X8, Y8, batch_size=4, verbose=0) == pytest.approx(
        1.7332441806793213, rel=1e-6)
    assert model.train_on_batch(X8[:4], Y8[:4]) == pytest.approx(1.9140138626098633, rel=1e-6)
    assert model.test_on_batch(X8[:4], Y8[:4]) == pytest.approx(1.6003390550613403, rel=1e-6)
    assert model.loss is loss  # the user's object; the compiled view reduces it


XB = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
YB = np.array([[1], [0], [1], [1], [0], [0], [1], [0]], dtype="float32")
WB = np.array([1, 2, 0.5, 1, 1, 3, 1, 0.25], dtype="float32")


@pytest.mark.parametrize("reduction, losses, kernel, bias", [
    # Keras: fit(sample_weight=WB, batch_size=4, epochs=2, shuffle=False), SGD(0.1)
    ("none", [1.3713352680206299, 1.1997894048690796],
     [0.634645402431488, 0.612852931022644, 0.5910605788230896], -0.25061264634132385),
    ("mean_with_sample_weight", [1.1041465997695923, 1.0762463808059692],
     [0.9208979606628418, 0.9174319505691528, 0.9139660596847534], -0.03985878825187683),
])
def test_weighted_fit_through_the_fused_sigmoid_matches_keras(reduction, losses, kernel, bias):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(0.1), keras.losses.BinaryCrossentropy(reduction=reduction))
    history = model.fit(XB, YB, sample_weight=WB, batch_size=4, epochs=2, verbose=0,
                        shuffle=False)
    assert history.history["loss"] == pytest.approx(losses, rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0].ravel(), kernel, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[1], [bias], rtol=1e-5)


class _OwnStep(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables),
                             self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def test_an_unreduced_loss_in_a_users_step_steps_on_the_sum_as_keras():
    inputs = keras.Input((3,))
    model = _OwnStep(inputs, keras.layers.Dense(1, activation="sigmoid",
                                                kernel_initializer="ones")(inputs))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.BinaryCrossentropy(reduction="none"))
    history = model.fit(XB, YB, batch_size=4, epochs=2, verbose=0, shuffle=False)
    # Keras: compute_loss returns the vector; its gradient is the sum's, its mean is logged
    assert history.history["loss"] == pytest.approx(
        [1.3320178985595703, 1.139535903930664], rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0].ravel(),
                               [0.559410035610199, 0.5586315393447876, 0.5578530430793762],
                               rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[1], [-0.00895315408706665], rtol=1e-4)
