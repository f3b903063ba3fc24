"""The small objects Keras users write themselves: metrics keeping state in variables
(Keras 3's ``add_variable``, Keras 2's ``add_weight``), constraint and activation functions;
how they train, reset, save or are refused."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
ops = keras.ops
rng = np.random.default_rng(21)


class MeanAbsolute(keras.metrics.Metric):
    """keras.io's custom metric shape (Keras 3)."""

    def __init__(self, name="mean_absolute", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(y_true - y_pred)))
        self.count.assign_add(ops.cast(ops.size(y_true), "float32"))

    def result(self):
        return self.total / self.count


class Positives(keras.metrics.Metric):
    """Keras 2's spelling: ``add_weight(name, initializer=...)``, ``reset_states``."""

    def __init__(self, name="positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.seen = self.add_weight(name="seen", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.seen.assign_add(tf.reduce_sum(tf.cast(y_pred > 0.5, "float32")))

    def result(self):
        return self.seen


def test_a_metric_with_variables_updates_resets_and_is_called():
    metric = MeanAbsolute()
    assert [v.name for v in metric.variables] == ["total", "count"]
    assert float(metric(np.ones((2, 2)), np.zeros((2, 2)))) == 1.0
    metric.update_state(np.zeros((2, 2)), np.zeros((2, 2)))
    assert float(metric.result()) == 0.5
    metric.reset_state()
    assert [float(v.numpy()) for v in metric.variables] == [0.0, 0.0]
    counter = Positives()
    counter.update_state(None, np.array([0.9, 0.2, 0.7]))
    assert float(counter.result()) == 2.0
    counter.reset_states()
    assert float(counter.result()) == 0.0


def test_users_metrics_in_fit_match_their_definition_per_epoch():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.0), "mse", metrics=[MeanAbsolute(), Positives()])
    x = rng.standard_normal((24, 4)).astype("float32")
    y = rng.standard_normal((24, 2)).astype("float32")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    pred = model.predict(x, verbose=0)  # the learning rate is 0: the same every batch
    assert history["mean_absolute"] == pytest.approx([float(np.abs(y - pred).mean())] * 2,
                                                     rel=1e-5)
    assert history["positives"] == [float((pred > 0.5).sum())] * 2  # reset every epoch


def test_a_constraint_function_projects_after_every_update():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, kernel_constraint=lambda w: tf.clip_by_value(w, -0.05, 0.05))])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(rng.standard_normal((16, 4)), rng.standard_normal((16, 3)) * 10, verbose=0)
    assert np.abs(model.layers[0].kernel.numpy()).max() <= 0.05 + 1e-7
    with pytest.raises(ValueError, match="constraint function '<lambda>' cannot be saved"):
        model.to_json()


def test_activation_functions_run_save_or_are_refused(tmp_path, clean_registry):
    assert keras.layers.Dense(2, activation=tf.nn.gelu).activation is \
        keras.activations.get("gelu")  # the built-in: same function, saved by name

    @keras.saving.register_keras_serializable(package="tests")
    def doubled(t):
        return t * 2.0

    inputs = keras.Input((3,))
    x = rng.standard_normal((2, 3)).astype("float32")
    registered = keras.Model(inputs, keras.layers.Dense(2, activation=doubled)(inputs))
    registered.save(tmp_path / "r.convnp")
    np.testing.assert_array_equal(
        keras.models.load_model(tmp_path / "r.convnp").predict(x, verbose=0),
        registered.predict(x, verbose=0))
    anonymous = keras.Model(inputs, keras.layers.Dense(2, activation=lambda t: t * 2.0)(inputs))
    assert keras.models.clone_model(anonymous).layers[1].activation.name == "<lambda>"
    with pytest.raises((TypeError, ValueError), match="activation function '<lambda>' cannot be"):
        anonymous.save(tmp_path / "a.convnp")
    assert not (tmp_path / "a.convnp").exists()


def test_mixed_precision_policy_is_float32_only():
    keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().compute_dtype == "float32"
    with pytest.raises(ValueError, match="'mixed_float16'.*not supported.*float32"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    with pytest.raises(ValueError, match="unknown dtype policy 'float8'"):
        keras.mixed_precision.Policy("float8")
