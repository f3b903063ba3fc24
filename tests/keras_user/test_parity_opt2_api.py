"""The optimizer module's functions and constructors as TF 2.21's Keras 3 answers them:
``optimizers.serialize`` (module and registered name included), ``optimizers.get`` of None
or of something it cannot read, the exception type of an unknown argument or a learning rate
that is no number, and ``gradient_accumulation_steps=0``.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
O = keras.optimizers


def test_serialize_writes_module_and_registered_name():
    # TF 2.21: {"module": "keras.optimizers", "class_name": "Adam", "config": ...,
    # "registered_name": None} (convnp wrote class_name and config only)
    keras.backend.clear_session()
    written = O.serialize(O.Adam(0.01))
    assert list(written) == ["module", "class_name", "config", "registered_name"]
    assert written["module"] == "keras.optimizers"
    assert written["class_name"] == "Adam"
    assert written["registered_name"] is None
    assert written["config"]["learning_rate"] == 0.01
    again = O.deserialize(written)
    assert type(again) is O.Adam and again.get_config() == O.Adam(0.01, name="adam").get_config()
    assert O.serialize(O.LossScaleOptimizer(O.SGD()))["module"] == "keras.optimizers"
    assert O.serialize(None) is None


@keras.utils.register_keras_serializable(package="opt2")
class _RegisteredSGD(keras.optimizers.SGD):
    pass


class _PlainAdam(keras.optimizers.Adam):
    pass


def test_serialize_a_users_subclass():
    # TF 2.21: module None, the class's own name, and the registered name
    written = O.serialize(_RegisteredSGD(0.2))
    assert (written["module"], written["class_name"], written["registered_name"]) == (
        None, "_RegisteredSGD", "opt2>_RegisteredSGD")
    again = O.deserialize(written)
    assert type(again) is _RegisteredSGD and float(again.learning_rate) == pytest.approx(0.2)
    written = O.serialize(_PlainAdam())
    assert (written["module"], written["class_name"], written["registered_name"]) == (
        None, "_PlainAdam", "_PlainAdam")


def test_get_of_none_and_of_other_types():
    # TF 2.21: get(None) is None (compile(optimizer=None) is accepted); a number or a list
    # is a ValueError "Could not interpret optimizer identifier" (convnp: TypeError)
    assert O.get(None) is None
    for bad in (3, [1]):
        with pytest.raises(ValueError):
            O.get(bad)
    with pytest.raises(ValueError):
        O.get("nope")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=None, loss="mse")
    assert model.optimizer is None
    assert model.evaluate(tf.ones((2, 2)), tf.ones((2, 1)), verbose=0) >= 0


@pytest.mark.parametrize("make", [
    lambda: O.Adam(foo=1),
    lambda: O.Adafactor(beta_1=0.9),
    lambda: O.LossScaleOptimizer(O.SGD(), momentum=0.9),
])
def test_unknown_arguments_are_value_errors(make):
    # TF 2.21: ValueError "Argument(s) not recognized" (convnp: TypeError, still caught too)
    with pytest.raises(ValueError, match="unexpected arguments"):
        make()
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize("rate", ["x", [0.1], tf.constant([0.1])])
def test_a_learning_rate_that_is_no_number_is_a_value_error(rate):
    # TF 2.21: ValueError "Argument `learning_rate` should be float, or an instance of
    # LearningRateSchedule, or a callable" (convnp: TypeError, still caught too)
    with pytest.raises(ValueError, match="learning_rate"):
        O.Adam(learning_rate=rate)
    with pytest.raises(TypeError):
        O.SGD(learning_rate=rate)
    opt = O.SGD(0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = rate
    assert float(opt.learning_rate) == pytest.approx(0.1)


def test_zero_accumulation_steps_is_no_accumulation():
    # TF 2.21 takes 0 as None (convnp refused it); 1 is still refused
    opt = O.SGD(0.5, gradient_accumulation_steps=0)
    assert opt.gradient_accumulation_steps is None
    v = tf.Variable([1.0])
    opt.apply_gradients([(tf.constant([1.0]), v)])
    assert v.numpy().tolist() == [0.5]
    assert int(opt.iterations) == 1
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        O.SGD(gradient_accumulation_steps=1)


def test_the_rate_set_from_a_scalar_tensor():
    # TF 2.21 assigns a scalar tensor, array or variable to its rate variable (convnp raised
    # TypeError: learning_rate must be a number): a callback's decay by a tensor expression
    opt = O.SGD(0.1)
    opt.learning_rate = tf.constant(0.05)
    assert float(opt.learning_rate) == pytest.approx(0.05)
    opt.learning_rate = opt.learning_rate * tf.math.exp(-0.1)
    assert float(opt.learning_rate) == pytest.approx(0.045242, abs=1e-6)
    opt.learning_rate.assign(tf.constant(0.02))
    assert float(opt.learning_rate) == pytest.approx(0.02)
    opt.learning_rate = tf.Variable(0.03)
    assert float(opt.learning_rate) == pytest.approx(0.03)

    class Halve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rate = self.model.optimizer.learning_rate
            self.model.optimizer.learning_rate = rate * tf.math.exp(-0.5)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=O.SGD(0.1), loss="mse")
    model.fit(tf.ones((4, 2)), tf.ones((4, 1)), epochs=2, verbose=0, callbacks=[Halve()])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.036788, abs=1e-6)


def test_loss_scale_optimizer_slot_paths():
    # TF 2.21: the first step builds the inner optimizer inside the wrapper's name scope, so
    # its slots' paths start with the wrapper's name; an explicit build leaves them without
    # it (convnp never wrote the wrapper's name)
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="head")],
                             name="net")
    opt = O.LossScaleOptimizer(O.Adam(name="inner"), name="ls")
    model.compile(optimizer=opt, loss="mse")
    model.fit(tf.ones((2, 2)), tf.ones((2, 1)), verbose=0)
    assert [v.path for v in opt.variables] == [
        "ls/iteration", "ls/learning_rate", "ls/step_counter", "ls/dynamic_scale",
        "inner/iteration", "inner/learning_rate", "ls/inner/net_head_kernel_momentum",
        "ls/inner/net_head_kernel_velocity", "ls/inner/net_head_bias_momentum",
        "ls/inner/net_head_bias_velocity"]
    opt = O.LossScaleOptimizer(O.SGD(0.1, momentum=0.9), name="scaled")
    opt.build(model.trainable_variables)
    assert [v.path for v in opt.variables][4:] == [
        "sgd/iteration", "sgd/learning_rate", "sgd/net_head_kernel_momentum",
        "sgd/net_head_bias_momentum"]


def _two_layer_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32")
                       for i, w in enumerate(model.get_weights())])
    return model


@pytest.mark.parametrize("make", [
    lambda: O.Adam(0.1), lambda: O.Nadam(0.1), lambda: O.SGD(0.1, momentum=0.9),
    lambda: O.RMSprop(0.1, centered=True, momentum=0.5),
    lambda: O.Adam(0.1, use_ema=True, gradient_accumulation_steps=2),
])
def test_set_weights_copies_another_optimizers_state(make):
    # TF 2.21's optimizers have set_weights (one array per entry of optimizer.variables);
    # convnp's had none (AttributeError). Copying the state makes the next steps agree.
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    y = np.array([[1.0], [0.0], [1.0], [0.5]], "float32")
    first, second = _two_layer_model(), _two_layer_model()
    opt_first, opt_second = make(), make()
    first.compile(optimizer=opt_first, loss="mse")
    first.fit(x, y, epochs=3, verbose=0)
    second.set_weights(first.get_weights())
    opt_second.build(second.trainable_variables)
    opt_second.set_weights([np.asarray(v.numpy()) for v in opt_first.variables])
    assert int(opt_second.iterations) == int(opt_first.iterations)
    second.compile(optimizer=opt_second, loss="mse")
    for model in (first, second):
        model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_set_weights_values_and_misuse():
    # TF 2.21: the arrays land in optimizer.variables in order (iteration 5, rate 5.0, the
    # slots 2.0); before a build, and with a wrong shape, a ValueError
    model = _two_layer_model()
    opt = O.Adam(0.1)
    with pytest.raises(ValueError, match="built"):
        opt.set_weights([])
    opt.build(model.trainable_variables)
    opt.set_weights([np.full(np.shape(v.numpy()), 2, "float32") if np.ndim(v.numpy())
                     else np.array(5, dtype=str(v.dtype)) for v in opt.variables])
    assert int(opt.iterations) == 5
    assert float(opt.learning_rate) == 5.0
    assert [float(np.asarray(v.numpy()).ravel()[0]) for v in opt.variables[2:]] == [2.0] * 8
    with pytest.raises(ValueError, match="shape"):
        opt.set_weights([np.array(1, "int64"), np.array(0.1, "float32"), np.zeros((2, 2))])


def test_set_weights_of_a_loss_scale_optimizer_sets_its_own_variables():
    # TF 2.21: the wrapper's set_weights goes through its own four variables; the inner
    # optimizer keeps its state (its step count and slots are not set)
    model = _two_layer_model()
    opt = O.LossScaleOptimizer(O.Adam(0.1))
    opt.build(model.trainable_variables)
    weights = [np.asarray(v.numpy()) for v in opt.variables]
    assert len(weights) == 14
    weights[2] = np.array(7, "int64")  # step_counter
    weights[3] = np.array(64.0, "float32")  # dynamic_scale
    weights[4] = np.array(9, "int64")  # the inner step count: not set
    weights[6] = np.ones_like(weights[6])  # an inner slot: not set
    opt.set_weights(weights)
    assert int(opt.step_counter.numpy()) == 7 and float(opt.dynamic_scale.numpy()) == 64.0
    assert int(opt.inner_optimizer.iterations) == 0
    assert not np.asarray(opt.variables[6].numpy()).any()


def test_a_gradient_of_the_wrong_shape_is_an_invalid_argument_error():
    # TF 2.21: tf.errors.InvalidArgumentError (convnp: a plain ValueError; it is one still)
    v = tf.Variable([1.0, 2.0])
    for opt in (O.SGD(), O.Adam()):
        with pytest.raises(tf.errors.InvalidArgumentError):
            opt.apply_gradients([(tf.ones(3), v)])
        with pytest.raises(ValueError):
            opt.apply_gradients([(tf.ones(3), v)])
