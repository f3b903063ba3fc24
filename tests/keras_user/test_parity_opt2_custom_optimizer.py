"""Keras 3's way of writing an optimizer: a subclass of ``keras.optimizers.Optimizer`` whose
``build`` makes its variables with ``add_variable_from_reference``/``add_variable`` and whose
``update_step(gradient, variable, learning_rate)`` updates one variable with ``self.assign``
and friends; and a built-in optimizer whose ``update_step`` override changes the gradient
before ``super().update_step``. convnp had none of this API (AttributeError on
``add_variable_from_reference``) and never called an ``update_step`` override.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


@keras.utils.register_keras_serializable(package="opt2")
class MomentumSGD(keras.optimizers.Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.9, name="momentum_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.moms = [self.add_variable_from_reference(reference_variable=v, name="mom")
                     for v in var_list]
        self.count = self.add_variable((), initializer="zeros", dtype="float32", name="count")

    def update_step(self, gradient, variable, learning_rate):
        lr = tf.cast(learning_rate, variable.dtype)
        m = self.moms[self._get_variable_index(variable)]
        self.assign(m, self.momentum * m - lr * gradient)
        self.assign_add(variable, m)
        self.assign_add(self.count, 1.0)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class HalfSGD(keras.optimizers.SGD):
    def update_step(self, gradient, variable, learning_rate):
        return super().update_step(gradient * 0.5, variable, learning_rate)


X = np.linspace(-1, 1, 24, dtype="float32").reshape(6, 4)
Y = np.cos(np.arange(12, dtype="float32")).reshape(6, 2)
SLOTS = ["net_a_kernel", "net_a_bias", "net_b_kernel", "net_b_bias"]


def _model():
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(3, activation="tanh", name="a"),
                              keras.layers.Dense(2, name="b")], name="net")
    model.set_weights([np.round(np.cos(np.arange(w.size).reshape(w.shape) * 0.7) * 0.4, 4)
                       .astype("float32") for w in model.get_weights()])
    return model


def _fit(optimizer):
    model = _model()
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(X, Y, epochs=3, batch_size=3, shuffle=False, verbose=0)
    return model, history.history["loss"], [w.ravel()[:2] for w in model.get_weights()]


def _close(got, expected):
    for a, b in zip(got, expected):
        assert a == pytest.approx(b, abs=1e-5)


def test_an_optimizer_written_from_scratch():
    # TF 2.21: losses, first weights, variables (the added ones after the step count and
    # rate, in creation order) and the count update_step kept (6 steps x 4 variables)
    opt = MomentumSGD(0.1)
    _, losses, weights = _fit(opt)
    assert losses == pytest.approx([0.716663, 0.535238, 0.515495], abs=1e-5)
    _close(weights, [[0.363426, 0.301376], [0.157056, 0.339652], [0.110818, 0.168724],
                     [-0.127002, -0.044109]])
    assert [v.path for v in opt.variables] == [
        "momentum_sgd/iteration", "momentum_sgd/learning_rate",
        *[f"momentum_sgd/{s}_mom" for s in SLOTS], "momentum_sgd/count"]
    assert int(opt.iterations) == 6 and float(opt.count.numpy()) == 24.0


def test_clipping_and_moving_average_around_a_users_update_step():
    # TF 2.21: clipnorm before update_step, the moving averages listed before the added
    # variables
    opt = MomentumSGD(0.1, clipnorm=0.5, use_ema=True, ema_momentum=0.5)
    _, losses, weights = _fit(opt)
    assert losses == pytest.approx([0.719952, 0.549541, 0.508008], abs=1e-5)
    _close(weights, [[0.387022, 0.299383], [0.183051, 0.341779], [0.159325, 0.189058],
                     [-0.002602, 0.036483]])
    assert [v.path for v in opt.variables][2:] == [
        *[f"momentum_sgd/{s}_average" for s in SLOTS], *[f"momentum_sgd/{s}_mom" for s in SLOTS],
        "momentum_sgd/count"]


def test_a_builtin_optimizer_with_an_update_step_override():
    # TF 2.21: fit goes through the override (convnp ignored it and trained plain SGD)
    opt = HalfSGD(0.2, momentum=0.5)
    _, losses, weights = _fit(opt)
    assert losses == pytest.approx([0.716663, 0.557716, 0.490881], abs=1e-5)
    _close(weights, [[0.373373, 0.303208], [0.263347, 0.335009], [0.234971, 0.226595],
                     [0.083693, 0.095566]])
    assert [v.path for v in opt.variables][2:] == [f"half_sgd/{s}_momentum" for s in SLOTS]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_the_added_variables_are_saved_and_restored(tmp_path, suffix):
    # TF 2.21: a model file keeps them; the loaded model trains on as the original
    model, _, _ = _fit(MomentumSGD(0.1))
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert type(loaded.optimizer) is MomentumSGD
    assert float(loaded.optimizer.count.numpy()) == 24.0
    for m in (model, loaded):
        m.fit(X, Y, epochs=1, batch_size=3, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert float(loaded.optimizer.count.numpy()) == 32.0


def test_an_optimizer_without_an_update_step():
    # TF 2.21: NotImplementedError on the first update
    class Bare(keras.optimizers.Optimizer):
        pass

    model = _model()
    model.compile(optimizer=Bare(0.1), loss="mse")
    with pytest.raises(NotImplementedError):
        model.fit(X, Y, verbose=0)


class TwoMoments(keras.optimizers.Optimizer):
    def __init__(self, learning_rate=0.01, name="two_moments", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build(self, var_list):
        super().build(var_list)
        self._m, self._v = self.add_optimizer_variables(var_list, ["m", "v"],
                                                        initializer=["zeros", "ones"])
        self._first = self.add_variable_from_reference(var_list[0])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        m, v = self._m[i], self._v[i]
        self.assign_add(m, 0.1 * (gradient - m))
        self.assign_add(v, 0.01 * (gradient * gradient - v))
        self.assign_sub(variable, tf.cast(learning_rate, variable.dtype) * m / (tf.sqrt(v) + 1e-7))


def test_add_optimizer_variables():
    # TF 2.21: the lists for several names made variable by variable, one initializer per
    # name; add_variable_from_reference without a name calls the variable "<path>_var"
    opt = TwoMoments(0.05)
    _, losses, weights = _fit(opt)
    assert [v.path for v in opt.variables][2:] == [
        f"two_moments/{s}_{n}" for s in SLOTS for n in ("m", "v")
    ] + ["two_moments/net_a_kernel_var"]
    assert losses == pytest.approx([0.744127, 0.728056, 0.700441], abs=1e-5)
    _close(weights, [[0.398485, 0.304842], [0.377781, 0.309158], [0.376628, 0.292969],
                     [0.352684, 0.273206]])
    with pytest.raises(ValueError):
        TwoMoments().add_optimizer_variables([tf.Variable(1.0)], ["a", "b"], initializer=["zeros"])


def test_a_build_that_sets_built_itself():
    # TF 2.21 takes ``self.built = True`` at the end of a build (convnp: AttributeError, a
    # property without a setter)
    class Flagged(MomentumSGD):
        def build(self, var_list):
            super().build(var_list)
            self.built = True

    _, losses, _ = _fit(Flagged(0.1))
    assert losses == pytest.approx([0.716663, 0.535238, 0.515495], abs=1e-5)
