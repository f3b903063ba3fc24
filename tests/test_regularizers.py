"""kernel/bias/activity regularizers: values, gradients, Keras parity of a regularized fit,
model.losses and configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import regularizers
from tests.helpers import check_training_gradients

FIXTURE = Path(__file__).parent / "fixtures" / "training_parity.npz"
R = tf.keras.regularizers
L = tf.keras.layers


def _model(dtype="float32"):
    return tf.keras.Sequential([
        tf.keras.Input((5, 5, 1), dtype=dtype),
        L.Conv2D(2, 3, name="conv", kernel_regularizer=R.l2(0.1),
                 activity_regularizer=R.L1(0.01), dtype=dtype),
        L.Flatten(name="flat", dtype=dtype),
        L.Dense(1, name="dense", kernel_regularizer=R.l1_l2(0.01, 0.02),
                bias_regularizer=R.l1(0.01), dtype=dtype),
    ])


def test_values_gradients_and_names():
    x = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert R.L1(0.1)(x) == pytest.approx(0.35)
    assert R.L2(0.1)(x) == pytest.approx(0.525)
    assert R.L1L2(0.1, 0.1)(x) == pytest.approx(0.875)
    np.testing.assert_allclose(R.l1_l2(0.1, 0.1).gradient(x), 0.1 * np.sign(x) + 0.2 * x)
    assert regularizers.get("l2").l2 == 0.01 and regularizers.get(None) is None
    with pytest.raises(ValueError, match="l1"):
        R.L1(-1.0)


def test_regularized_fit_matches_keras():
    z = np.load(FIXTURE, allow_pickle=False)
    model = _model()
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([z[f"regularized/w_init/{layer.name}/{i}"]
                               for i in range(len(layer.weights))])
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    x, y = z["regularized/x"], z["regularized/y"]
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], z["regularized/loss"], rtol=1e-5)
    assert model.evaluate(x, y, verbose=0, batch_size=8) == pytest.approx(
        float(z["regularized/eval"]), rel=1e-5)
    for layer in model.layers:
        for i, w in enumerate(layer.get_weights()):
            np.testing.assert_allclose(w, z[f"regularized/w_final/{layer.name}/{i}"],
                                       atol=1e-5)
    assert len(model.losses) == 3  # weights only: the activity penalty needs a forward


def test_training_gradient_includes_the_penalties():
    tf.keras.utils.set_random_seed(0)
    model = _model("float64")
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 5, 5, 1)), rng.normal(size=(3, 1))
    assert check_training_gradients(model, x, y, atol=1e-6) == 4


def test_config_round_trip():
    model = _model()
    again = tf.keras.Sequential.from_config(model.get_config())
    conv, dense = again.get_layer("conv"), again.get_layer("dense")
    assert conv.kernel_regularizer.get_config() == {"l2": 0.1}
    assert conv.activity_regularizer.get_config() == {"l1": 0.01}
    assert dense.kernel_regularizer.get_config() == {"l1": 0.01, "l2": 0.02}


def test_every_kernel_layer_takes_them():
    layer = L.Conv2DTranspose(2, 3, kernel_regularizer=R.l2(0.5))
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 1)), layer])
    assert model.losses == pytest.approx([0.5 * float(np.sum(layer.kernel.value ** 2))])


# -- users' regularizers, add_weight(regularizer=...), layers held by users' layers ------------


class Cubic(regularizers.Regularizer):
    """A user's regularizer: ``__call__`` in tensor ops, no gradient written."""

    def __init__(self, rate=0.01):
        self.rate = rate

    def __call__(self, x):
        return self.rate * tf.reduce_sum(tf.abs(x) ** 3)

    def get_config(self):
        return {"rate": self.rate}


class Scaled(tf.keras.layers.Layer):
    """A user's layer with a regularized weight of its own and a regularized Dense inside."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = tf.keras.layers.Dense(3, kernel_regularizer=regularizers.L1(0.02),
                                           dtype=kwargs.get("dtype"))

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale",
                                     regularizer=regularizers.L2(0.3))

    def call(self, x):
        return self.inner(x) * self.scale


def _users_model():
    tf.keras.utils.set_random_seed(5)
    inputs = tf.keras.Input((4,), dtype="float64")
    h = tf.keras.layers.Dense(3, dtype="float64", kernel_regularizer=Cubic(0.2),
                              activity_regularizer=lambda y: 0.1 * tf.reduce_sum(y * y))(inputs)
    h = tf.keras.layers.Dense(4, dtype="float64",
                              kernel_regularizer=lambda w: 0.05 * tf.reduce_sum(w * w))(h)
    return tf.keras.Model(inputs, Scaled(dtype="float64")(h))


def test_users_regularizers_get_their_gradients_from_the_tape():
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert Cubic(0.2).gradient(x) == pytest.approx(0.2 * 3 * x * np.abs(x))
    as_function = regularizers.get(lambda w: tf.reduce_sum(w * w))
    assert isinstance(as_function, regularizers.FunctionRegularizer)
    assert as_function.gradient(x) == pytest.approx(2 * x)


def test_fit_differentiates_every_kind_of_penalty():
    model = _users_model()
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    assert check_training_gradients(model, x, y, atol=1e-6) == 7
    model(x)
    # activity, then the weights': Cubic, the function, Scaled's own, the Dense inside Scaled
    assert len(model.losses) == 5
    scaled = model.layers[-1]
    assert [float(v) for v in scaled.losses] == pytest.approx(
        [0.3 * 3.0, 0.02 * float(np.abs(scaled.inner.kernel.numpy()).sum())])


def test_a_registered_users_regularizer_saves_and_a_function_is_refused(tmp_path, clean_registry):
    registered = tf.keras.saving.register_keras_serializable(package="tests")(Cubic)
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(
        2, kernel_regularizer=registered(0.5))(inputs))
    for name in ("m.keras", "m.convnp"):
        model.save(tmp_path / name)
        loaded = tf.keras.models.load_model(tmp_path / name)
        assert loaded.layers[1].kernel_regularizer.rate == 0.5
    function = tf.keras.Model(inputs, tf.keras.layers.Dense(
        2, kernel_regularizer=lambda w: tf.reduce_sum(w))(inputs))
    with pytest.raises(ValueError, match="regularizer function '<lambda>' cannot be saved"):
        function.save(tmp_path / "f.convnp")
    assert not (tmp_path / "f.convnp").exists()

    class NoConfig(regularizers.Regularizer):
        def __call__(self, x):
            return tf.reduce_sum(x)

    assert repr(NoConfig()) == "<NoConfig>"
    with pytest.raises(NotImplementedError, match="NoConfig does not implement get_config"):
        tf.keras.Model(inputs, tf.keras.layers.Dense(2, kernel_regularizer=NoConfig())(
            inputs)).save(tmp_path / "n.keras")


def test_activity_penalty_after_a_folded_pass_follows_the_pass_that_ran():
    # keras.io's PointNet: a Dense with an activity regularizer after Dense + BatchNormalization
    # (which inference folds into one call, so positions in the schedule move). fit with
    # validation_data ran the training schedule, then evaluate's folded one, and read the
    # penalty at a stale position (TypeError: 'NoneType' object is not callable).
    keras = tf.keras
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    x = keras.layers.BatchNormalization()(keras.layers.Dense(4)(inp))
    reg = keras.regularizers.L2(0.1)
    out = keras.layers.Dense(2, activity_regularizer=reg)(x)
    model = keras.Model(inp, out)
    model.compile("sgd", "mse")
    xs = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    ys = np.zeros((8, 2), "float32")
    model.fit(xs, ys, epochs=1, validation_data=(xs, ys), verbose=0)
    pred = model.predict(xs, verbose=0)
    want = float(np.mean(pred ** 2) + 0.1 * np.sum(pred ** 2) / len(xs))
    assert model.evaluate(xs, ys, verbose=0) == pytest.approx(want, rel=1e-5)
    model.train_on_batch(xs, ys)  # and back to the training schedule
    assert model.evaluate(xs, ys, verbose=0) > 0
