"""``optimizer.iterations`` and ``optimizer.variables`` as Keras 3's variables, and the
"Optimizer params" line of `Model.summary()`. Expected values: TensorFlow 2.21 / Keras 3.15."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _small(optimizer):
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    model.compile(optimizer, "mse")
    return model


def _fit(model, epochs=1, batch_size=4):
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0,
              epochs=epochs, batch_size=batch_size)


def test_iterations_is_an_int64_variable():
    keras.backend.clear_session()  # the optimizer's automatic name is "adam" again
    opt = keras.optimizers.Adam(0.01)
    it = opt.iterations
    # Keras 3.15: int64, numpy() np.int64(0), path "adam/iteration", not trainable, shape ()
    assert it.dtype == np.int64 and it.shape == () and not it.trainable
    assert isinstance(it.numpy(), np.int64) and it.numpy() == 0
    assert it.path == "adam/iteration" and it.name == "iteration"
    assert int(it) == 0 and float(it) == 0.0 and int(np.asarray(it)) == 0
    assert np.asarray(it.value).dtype == np.int64
    # comparisons and arithmetic give tensors, as TensorFlow's (bool for ==, int64 for %)
    even = it % 2 == 0
    assert even.dtype == tf.bool and bool(even)
    assert (it % 2).dtype == tf.int64 and int(it + 1) == 1 and int(3 - it) == 3
    assert bool(it >= 0) and not bool(it > 0)
    with pytest.raises(TypeError):
        hash(it)  # Keras: unhashable type: 'Variable'


def test_iterations_counts_updates_and_is_the_same_live_object():
    model = _small(keras.optimizers.Adam(0.01))
    it = model.optimizer.iterations
    _fit(model, epochs=2, batch_size=2)
    assert it is model.optimizer.iterations and it.numpy() == 4  # Keras: 4
    it.assign(10)
    assert model.optimizer.iterations.numpy() == 10
    it.assign_add(1)
    assert int(model.optimizer.iterations) == 11
    assert model.optimizer.get_state()["iterations"] == 11
    assert int(tf.cond(it % 2 == 0, lambda: 1, lambda: 2)) == 2  # Keras: 2
    model.optimizer.iterations = 3  # a number assigned to the attribute sets the count
    assert it.numpy() == 3
    with pytest.raises(TypeError, match="integer"):
        model.optimizer.iterations = 2.5
    with pytest.raises(ValueError, match=">= 0"):
        model.optimizer.iterations = -1


def test_assigned_iterations_drive_adam_bias_correction_and_schedules():
    # the step Adam corrects with comes from the variable: assign(5) then one update equals
    # restoring a state whose count is 5
    grads = [np.full((2,), 0.5, np.float32)]
    a, b = tf.Variable(np.ones(2, np.float32)), tf.Variable(np.ones(2, np.float32))
    opt_a, opt_b = keras.optimizers.Adam(0.1), keras.optimizers.Adam(0.1)
    opt_a.build([a])
    opt_a.iterations.assign(5)
    opt_b.set_state({"iterations": np.int64(5)})
    opt_a.apply(grads, [a])
    opt_b.apply(grads, [b])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(opt_a.iterations) == 6
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    opt = keras.optimizers.SGD(schedule)
    opt.iterations.assign(10)
    assert float(opt.learning_rate) == pytest.approx(0.05)


def test_custom_train_step_reads_iterations_as_python_and_graph_condition():
    seen = []

    class Accumulating(keras.Model):
        """Applies the summed gradients of every 2 batches (gradient accumulation)."""

        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1, kernel_initializer="ones", name="dense")
            self.batches = 0
            self.pending = None

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(x) - y))
            grads = tape.gradient(loss, self.trainable_variables)
            self.pending = grads if self.pending is None else [
                p + g for p, g in zip(self.pending, grads)]
            self.batches += 1
            if self.batches % 2 == 0:
                self.optimizer.apply_gradients(zip(self.pending, self.trainable_variables))
                self.pending = None
            # Keras code reads the step both ways
            if self.optimizer.iterations % 2 == 0:
                seen.append(("even", int(self.optimizer.iterations)))
            seen.append(int(tf.cond(self.optimizer.iterations > 0, lambda: 1, lambda: 0)))
            return {"loss": loss}

    keras.backend.clear_session()
    model = Accumulating()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(np.ones((8, 1), np.float32), np.zeros((8, 1), np.float32), batch_size=2,
              epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations) == 2  # 4 batches, an update every 2
    assert seen == [("even", 0), 0, 1, 1, ("even", 2), 1]


def test_optimizer_variables_as_keras_lists_them():
    # Keras 3.15, Adam on Dense(2) over 3 inputs, before the first step:
    # [adam/iteration int64 (), adam/learning_rate float32 ()]
    model = _small(keras.optimizers.Adam(0.01))
    opt = model.optimizer
    assert [(v.path, str(v.dtype), tuple(v.shape)) for v in opt.variables] == [
        ("adam/iteration", "int64", ()), ("adam/learning_rate", "float32", ())]
    _fit(model)
    # after fit (the slot names follow the weights' paths, which start with the Sequential's
    # name: adam/sequential_d_kernel_momentum, as TF 2.21)
    assert [(v.path, str(v.dtype), tuple(v.shape)) for v in opt.variables] == [
        ("adam/iteration", "int64", ()), ("adam/learning_rate", "float32", ()),
        ("adam/sequential_d_kernel_momentum", "float32", (3, 2)),
        ("adam/sequential_d_kernel_velocity", "float32", (3, 2)),
        ("adam/sequential_d_bias_momentum", "float32", (2,)),
        ("adam/sequential_d_bias_velocity", "float32", (2,))]
    variables = opt.variables
    assert variables[0] is opt.iterations
    # the slots are live: another step shows in the same objects; assign writes the slot
    before = variables[2].numpy()
    _fit(model)
    assert not np.array_equal(before, variables[2].numpy())
    np.testing.assert_array_equal(variables[2].numpy(), opt.get_state()["momentum/0"])
    variables[5].assign(np.full((2,), 0.25, np.float32))
    np.testing.assert_array_equal(opt.get_state()["velocity/1"], [0.25, 0.25])
    variables[1].assign(0.5)
    assert float(opt.learning_rate) == 0.5 and variables[1].numpy() == np.float32(0.5)


def _slot_names(names):
    """A slot's name starts with its weight's path, here the Sequential's name (TF 2.21)."""
    return [f"sequential_{name}" if name.startswith("d_") else name for name in names]


@pytest.mark.parametrize("make, names", [
    # Keras 3.15's variable names after one fit, without the model's name that starts
    # each slot's (sequential_d_kernel_momentum: `_slot_names` adds it)
    (lambda: keras.optimizers.SGD(0.1), ["iteration", "learning_rate"]),
    (lambda: keras.optimizers.SGD(0.1, momentum=0.9),
     ["iteration", "learning_rate", "d_kernel_momentum", "d_bias_momentum"]),
    (lambda: keras.optimizers.Nadam(),
     ["iteration", "learning_rate", "d_kernel_momentum", "d_kernel_velocity",
      "d_bias_momentum", "d_bias_velocity", "variable"]),
    (lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
     ["iteration", "learning_rate", "d_kernel_velocity", "d_bias_velocity",
      "d_kernel_momentum", "d_bias_momentum", "d_kernel_average_gradient",
      "d_bias_average_gradient"]),
    (lambda: keras.optimizers.Ftrl(),
     ["iteration", "learning_rate", "d_kernel_accumulator", "d_kernel_linear",
      "d_bias_accumulator", "d_bias_linear"]),
    (lambda: keras.optimizers.Adam(amsgrad=True),
     ["iteration", "learning_rate", "d_kernel_momentum", "d_kernel_velocity",
      "d_bias_momentum", "d_bias_velocity", "d_kernel_velocity_hat", "d_bias_velocity_hat"]),
])
def test_optimizer_variables_order_per_optimizer(make, names):
    model = _small(make())
    _fit(model)
    assert [v.name for v in model.optimizer.variables] == _slot_names(names)
    assert all(str(v.dtype) == ("int64" if i == 0 else "float32")
               for i, v in enumerate(model.optimizer.variables))


def _optimizer_line(model):
    lines = []
    model.summary(print_fn=lines.append)
    return [line for line in lines if line.startswith(" Optimizer params")]


def test_schedule_has_no_learning_rate_variable_nor_summary_count():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    model = _small(keras.optimizers.Adam(schedule))
    _fit(model)
    assert [v.name for v in model.optimizer.variables] == _slot_names([
        "iteration", "d_kernel_momentum", "d_kernel_velocity", "d_bias_momentum",
        "d_bias_velocity"])
    # Keras 3.15 prints " Optimizer params: 17 (72.00 B)" with the schedule, and
    # " Optimizer params: 18 (76.00 B)" with a number as the rate
    assert _optimizer_line(model) == [" Optimizer params: 17 (72.00 B)"]
    model = _small(keras.optimizers.Adam(0.01))
    _fit(model)
    assert _optimizer_line(model) == [" Optimizer params: 18 (76.00 B)"]


def test_scalar_variable_numpy_is_a_numpy_scalar():
    # TensorFlow: tf.Variable(1.5).numpy() is np.float32(1.5); arrays stay copies
    v = tf.Variable(1.5)
    assert isinstance(v.numpy(), np.float32) and v.numpy() == np.float32(1.5)
    w = tf.Variable([1.0, 2.0])
    out = w.numpy()
    out[0] = 9.0
    assert w.numpy().tolist() == [1.0, 2.0]
