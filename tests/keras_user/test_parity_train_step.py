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


class TwoOutputs(keras.Model):
    """A step written with Keras 3's helpers: compute_loss, then compute_metrics."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.compute_metrics(x, y, y_pred, sample_weight=None)


def _two_outputs(loss_weights=None):
    inputs = keras.Input((6,))
    reg = keras.layers.Dense(1, name="reg", kernel_initializer="ones")(inputs)
    cls = keras.layers.Dense(3, activation="softmax", name="cls",
                             kernel_initializer="ones")(inputs)
    model = TwoOutputs(inputs, [reg, cls])
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=["mse", "sparse_categorical_crossentropy"], loss_weights=loss_weights,
                  metrics=[["mae"], ["accuracy"]])
    return model


def _two_targets():
    x, y, _ = _data()
    return x, [y, np.random.RandomState(2).randint(0, 3, 40)]


def test_compute_loss_of_several_outputs():
    # TF 2.21: mse 6.9286 + crossentropy 1.0986 = 8.0272 (convnp: ValueError "needs a
    # loss"); with loss_weights [0.5, 2.0]: 0.5 * 6.9286 + 2 * 1.0986
    x, ys = _two_targets()
    model = _two_outputs()
    assert float(model.compute_loss(x=x, y=ys, y_pred=model(x))) == pytest.approx(8.0272,
                                                                                 abs=1e-4)
    by_name = {"reg": ys[0], "cls": ys[1]}
    assert float(model.compute_loss(x=x, y=by_name, y_pred=model(x))) == pytest.approx(
        8.0272, abs=1e-4)
    weighted = _two_outputs(loss_weights=[0.5, 2.0])
    assert float(weighted.compute_loss(x=x, y=ys, y_pred=weighted(x))) == pytest.approx(
        0.5 * 6.9286 + 2 * 1.0986, abs=1e-4)


def test_compute_metrics_and_the_output_losses_in_a_step():
    # TF 2.21's history: {'cls_accuracy': [0.375], 'cls_loss': [1.0986], 'loss': [0.0],
    # 'reg_loss': [6.9286], 'reg_mae': [2.5154]} ("loss" stays 0: the step never updates it;
    # compute_loss feeds each output's running loss)
    x, ys = _two_targets()
    model = _two_outputs()
    history = model.fit(x, ys, epochs=1, batch_size=40, verbose=0)
    assert sorted(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss",
                                       "reg_mae"]
    got = {k: round(v[0], 4) for k, v in history.history.items()}
    assert got == {"cls_accuracy": 0.375, "cls_loss": 1.0986, "loss": 0.0,
                   "reg_loss": 6.9286, "reg_mae": 2.5154}
    # get_metrics_result: the same numbers, in Keras 3's order
    result = model.get_metrics_result()
    assert list(result) == ["loss", "reg_mae", "cls_accuracy", "reg_loss", "cls_loss"]
    assert float(result["reg_mae"]) == pytest.approx(2.5154, abs=1e-4)
    # reset_metrics resets every one of them (convnp left the running losses)
    model.reset_metrics()
    assert all(float(value) == 0.0 for value in model.get_metrics_result().values())


def test_metrics_names_of_a_model_with_its_own_metrics_property():
    # keras.io's GAN: `metrics` lists its two trackers; TF 2.21's metrics_names is
    # ['d_loss', 'g_loss'] (convnp gave ['loss'])
    class Pair(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, data):
            self.d_loss_tracker.update_state(1.0)
            self.g_loss_tracker.update_state(2.0)
            return {m.name: m.result() for m in self.metrics}

    model = Pair()
    model.compile(optimizer="sgd")
    history = model.fit(np.ones((4, 2), "float32"), epochs=1, verbose=0)
    assert history.history == {"d_loss": [1.0], "g_loss": [2.0]}
    assert model.metrics_names == ["d_loss", "g_loss"]


def test_get_metrics_result_after_the_built_in_loops():
    # TF 2.21, after fit (SGD at rate 0): {'loss': 1.0986, 'accuracy': 0.375}; after an
    # evaluate on 10 rows: {'loss': 1.0986, 'accuracy': 0.3}; reset_metrics: zeros
    x, _, _ = _data()
    labels = np.random.RandomState(2).randint(0, 3, 40)
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(3, activation="softmax", kernel_initializer="ones")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    result = model.get_metrics_result()
    assert {k: round(float(v), 4) for k, v in result.items()} == {"loss": 1.0986,
                                                                   "accuracy": 0.375}
    assert isinstance(result["loss"].numpy(), np.float32)
    model.evaluate(x[:10], labels[:10], verbose=0)
    assert round(float(model.get_metrics_result()["accuracy"]), 4) == 0.3
    model.reset_metrics()
    assert all(float(v) == 0.0 for v in model.get_metrics_result().values())
