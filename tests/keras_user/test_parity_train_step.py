"""A Model subclass with its own ``train_step``/``test_step`` written as Keras 3's guide
writes them ("customizing what happens in fit()") logs what TensorFlow 2.21 logs.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _data():
    x = np.random.RandomState(0).rand(40, 6).astype("float32")
    y = np.random.RandomState(1).rand(40, 1).astype("float32")
    w = np.random.RandomState(2).rand(40).astype("float32")
    return x, y, w


class GuideModel(keras.Model):
    """The guide's body: ``compute_loss``, then one loop over ``self.metrics``."""

    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            (x, y), sample_weight = data, None
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compute_loss(y=y, y_pred=y_pred)  # its value is never given to the tracker
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _model(**dense):
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(1, kernel_initializer="ones", **dense)(inputs)
    return GuideModel(inputs, outputs)


def test_compute_loss_does_not_feed_the_running_loss():
    # The step gives the running "loss" one value per batch: the regularized loss. TF 2.21's
    # history: mse 6.9286 + the L2 penalty 0.1 * 6 = 7.5286 (convnp averaged in the bare
    # mse that compute_loss had fed: 7.2286).
    x, y, _ = _data()
    model = _model(kernel_regularizer=keras.regularizers.l2(0.1))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = model.fit(x, y, epochs=1, batch_size=40, verbose=0)
    assert history.history["loss"] == [pytest.approx(7.5286, abs=1e-4)]
    assert float(model.compute_loss(y=y, y_pred=model(x))) == pytest.approx(7.5286, abs=1e-4)


def test_a_test_step_that_never_updates_the_loss_reports_zero():
    # TF 2.21: {"mae": 2.5154, "loss": 0.0} (the tracker was reset and never updated).
    x, y, _ = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    assert logs["loss"] == 0.0
    assert logs["mae"] == pytest.approx(2.5154, abs=1e-4)


def test_sample_weight_reaches_only_the_weighted_metrics():
    # In a step, model.metrics holds the compiled metrics as one "compile_metrics" entry:
    # update_state(y, y_pred, sample_weight=w) weights the weighted_metrics and leaves the
    # plain ones unweighted. TF 2.21's history after two epochs:
    # {'mae': [2.4889, 2.3933], 'loss': [2.474, 2.2909]} (and 'wmae' weighted).
    x, y, w = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"],
                  weighted_metrics=[keras.metrics.MeanAbsoluteError(name="wmae")])
    history = model.fit(x, y, sample_weight=w, epochs=2, batch_size=20, verbose=0,
                        shuffle=False)
    assert history.history["loss"] == pytest.approx([2.474, 2.2909], abs=1e-4)
    assert history.history["mae"] == pytest.approx([2.4889, 2.3933], abs=1e-4)
    assert history.history["wmae"] == pytest.approx([2.3531, 2.2593], abs=1e-4)


def test_metrics_inside_a_step_are_the_loss_and_compile_metrics():
    # TF 2.21 inside a step: ['loss', 'compile_metrics']; result() of the second is a dict.
    seen = {}

    class Peek(GuideModel):
        def train_step(self, data):
            logs = super().train_step(data)
            seen["names"] = [m.name for m in self.metrics]
            seen["result"] = self.metrics[1].result()
            return logs

    x, y, _ = _data()
    inputs = keras.Input((6,))
    model = Peek(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, batch_size=40, verbose=0)
    assert seen["names"] == ["loss", "compile_metrics"]
    assert isinstance(seen["result"], dict) and list(seen["result"]) == ["mae"]
