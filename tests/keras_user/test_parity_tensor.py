"""Tensor creation and arithmetic as notebooks write them, checked against TensorFlow 2.21.

Every expected value, dtype and exception type below is what TensorFlow 2.21 gives for the
same call (run side by side with convnp while writing these tests).
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf


def _values(t):
    return np.asarray(t).tolist()


# ----------------------------------------------------------------------------- creation


@pytest.mark.parametrize("make, values", [
    (lambda: tf.constant(2**31), 2**31),
    (lambda: tf.constant([1, 2**40]), [1, 2**40]),
    (lambda: tf.convert_to_tensor(2**40), 2**40),
    (lambda: tf.fill([1], 2**40), [2**40]),
    (lambda: tf.range(2**40, 2**40 + 2), [2**40, 2**40 + 1]),
    (lambda: tf.Variable(2**40).read_value(), 2**40),
])
def test_python_ints_beyond_int32_are_int64(make, values):
    # TF 2.21: int64, the value kept (convnp wrapped 2**31 around to -2**31, 2**40 to 0)
    t = make()
    assert t.dtype == tf.int64
    assert _values(t) == values


def test_small_python_ints_stay_int32():
    assert tf.constant(-2**31).dtype == tf.int32
    assert tf.constant([1, 2]).dtype == tf.int32
    assert tf.range(5).dtype == tf.int32
    assert tf.range(tf.constant(5)).dtype == tf.int32
    assert tf.Variable(3).dtype == tf.int32


@pytest.mark.parametrize("make", [
    lambda: tf.constant(1.5, dtype=tf.int32),
    lambda: tf.constant(2.0, dtype=tf.int32),
    lambda: tf.constant([1.0, 2.5], dtype=tf.int32),
    lambda: tf.constant(1, dtype=tf.bool),
    lambda: tf.convert_to_tensor(1.5, dtype=tf.int32),
])
def test_python_values_a_dtype_cannot_hold_are_refused(make):
    # TF 2.21: TypeError instead of truncating
    with pytest.raises(TypeError, match="tf.cast"):
        make()


def test_conversions_tensorflow_allows():
    assert _values(tf.constant(np.array([1.5]), dtype=tf.int32)) == [1]  # NumPy: cast
    assert _values(tf.constant(1, dtype=tf.float32)) == 1.0
    assert _values(tf.constant(True, dtype=tf.int32)) == 1
    assert _values(tf.cast(1.5, tf.int32)) == 1


def test_python_float_beyond_float32_is_refused():
    with pytest.raises(ValueError, match="float32"):  # TF 2.21: ValueError
        tf.constant(1e40)
    assert tf.constant(1e40, dtype=tf.float64).dtype == tf.float64


def test_linspace_of_ints_is_float64():
    t = tf.linspace(0, 4, 3)  # TF 2.21: float64 [0, 2, 4]
    assert t.dtype == tf.float64 and _values(t) == [0.0, 2.0, 4.0]
    assert tf.linspace(0., 1., 3).dtype == tf.float32


def test_one_hot_takes_the_dtype_of_on_and_off_values():
    t = tf.one_hot([0, -1], 3, on_value=5, off_value=1)  # TF 2.21: int32
    assert t.dtype == tf.int32 and _values(t) == [[5, 1, 1], [1, 1, 1]]
    assert tf.one_hot([0], 2, on_value=5).dtype == tf.int32
    assert tf.one_hot([0], 2, on_value=tf.constant(2, tf.int64)).dtype == tf.int64
    assert tf.one_hot([0], 2, on_value=5.).dtype == tf.float32
    assert tf.one_hot([0], 2, on_value=5, dtype=tf.float32).dtype == tf.float32
    assert tf.one_hot([0], 2).dtype == tf.float32
    with pytest.raises(TypeError):  # TF 2.21: TypeError for int32 on, float32 off
        tf.one_hot([0], 2, on_value=5, off_value=0.)


# ----------------------------------------------------------------------------- ops


def test_where_numbers_take_the_tensors_dtype():
    x = tf.constant([1., 2.])
    # TF 2.21: float32 for each (convnp gave float64)
    assert tf.where([True, False], x, 0).dtype == tf.float32
    assert tf.where([True, False], 1., x).dtype == tf.float32
    assert tf.where([True, False], x, np.zeros(2)).dtype == tf.float32
    assert tf.where([True, False], tf.constant([1, 2]), 7).dtype == tf.int32
    assert tf.where([True, False], tf.constant([1., 2.], tf.float64), 0.5).dtype == tf.float64
    assert _values(tf.where([True, False], x, 0)) == [1.0, 0.0]


def test_where_gradient_with_a_number_branch():
    v = tf.Variable([1., 2.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.where([True, False], v * 3., 0))
    assert _values(tape.gradient(y, v)) == [3.0, 0.0]


@pytest.mark.parametrize("reduce, axis, expected", [
    (tf.reduce_max, None, -np.inf), (tf.reduce_min, None, np.inf),
])
def test_max_and_min_of_nothing_are_the_identity(reduce, axis, expected):
    t = reduce(tf.zeros((0,)), axis=axis)  # TF 2.21: -inf / inf, float32
    assert t.dtype == tf.float32 and float(t) == expected


def test_max_and_min_of_nothing_per_axis_and_for_ints():
    assert _values(tf.reduce_min(tf.zeros((0, 2)), axis=0)) == [np.inf, np.inf]
    assert int(tf.reduce_max(tf.zeros((0,), tf.int32))) == -2**31  # TF 2.21: int32 min
    assert float(tf.reduce_max(tf.constant([1., 5.]))) == 5.0


def test_tile_needs_one_multiple_per_axis():
    # TF 2.21: InvalidArgumentError (convnp let NumPy pad the rank: shape (2, 4))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.tile(tf.constant([1, 2]), [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.tile(tf.constant([1, 2]), [-1])
    assert _values(tf.tile(tf.constant([1, 2]), [2])) == [1, 2, 1, 2]


@pytest.mark.parametrize("kwargs, expected", [
    ({"exclusive": True}, [0., 1., 3.]),
    ({"reverse": True}, [6., 5., 3.]),
    ({"exclusive": True, "reverse": True}, [5., 3., 0.]),
    ({}, [1., 3., 6.]),
])
def test_cumsum_exclusive_and_reverse(kwargs, expected):
    t = tf.math.cumsum(tf.constant([1., 2., 3.]), **kwargs)  # TF 2.21's values
    assert t.dtype == tf.float32 and _values(t) == expected


def test_cumsum_gradients_and_integer_rows():
    assert _values(tf.cumsum(tf.constant([[1, 2, 3]]), axis=1, reverse=True)) == [[6, 5, 3]]
    assert tf.cumsum(tf.constant([[1, 2, 3]]), axis=-1).dtype == tf.int32
    v = tf.Variable([1., 2., 3.])
    weights = tf.constant([1., 10., 100.])
    for kwargs, expected in [({"exclusive": True}, [110., 100., 0.]),
                             ({"reverse": True}, [1., 11., 111.]),
                             ({"exclusive": True, "reverse": True}, [0., 1., 11.])]:
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.cumsum(v, **kwargs) * weights)
        assert _values(tape.gradient(y, v)) == expected  # TF 2.21's gradients


# ----------------------------------------------------------------------------- operators


@pytest.mark.parametrize("make, dtype, values", [
    (lambda: tf.constant([1., 2.]) + [1., 1.], tf.float32, [2., 3.]),
    (lambda: [1., 1.] + tf.constant([1., 2.]), tf.float32, [2., 3.]),
    (lambda: tf.constant([1., 2.]) * [2, 3], tf.float32, [2., 6.]),
    (lambda: tf.constant([1, 2]) + [1, 1], tf.int32, [2, 3]),
    (lambda: tf.constant([1., 2.]) + (1., 1.), tf.float32, [2., 3.]),
    (lambda: tf.constant([1., 2.], tf.float16) + [1., 1.], tf.float16, [2., 3.]),
    (lambda: tf.Variable([1., 2.]) - [1., 1.], tf.float32, [0., 1.]),
])
def test_python_lists_take_the_tensors_dtype(make, dtype, values):
    t = make()  # TF 2.21: the tensor's dtype (convnp gave float64 / int64)
    assert t.dtype == dtype and _values(t) == values


def test_list_operand_gradient():
    v = tf.Variable([1., 2.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * [2., 3.])
    g = tape.gradient(y, v)
    assert g.dtype == tf.float32 and _values(g) == [2., 3.]


def test_comparing_a_tensor_with_none():
    t = tf.constant([1., 2.])
    assert (t == None) is False  # TF 2.21: the Python bool False
    assert (t != None) is True
    assert _values(t == 2.) == [False, True]
    assert _values(t != tf.constant([1., 0.])) == [False, True]


# ----------------------------------------------------------------------------- Variable


def test_variable_refuses_float_values_for_an_int_variable():
    v = tf.Variable([1, 2])
    with pytest.raises(TypeError):  # TF 2.21: TypeError (convnp truncated to [1, 2])
        v.assign([1.5, 2.5])
    with pytest.raises(TypeError):
        v.assign_add(np.array([0.5, 0.5]))
    assert _values(v) == [1, 2]
    v.assign([3, 4])
    assert _values(v) == [3, 4]
    w = tf.Variable([1., 2.])
    w.assign([1, 2])  # ints into a float variable are fine in TF 2.21
    assert _values(w) == [1., 2.]


def test_variable_assign_read_value_false_and_device():
    v = tf.Variable(1.)
    assert v.assign(2., read_value=False) is None  # TF 2.21: None
    assert v.assign_add(1., read_value=False) is None
    assert v.assign_sub(0.5, read_value=False) is None
    assert float(v) == 2.5
    assert v.assign(1.) is v
    assert isinstance(v.device, str) and "CPU" in v.device


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call", [
    lambda: tf.constant([1., 2., 3.]) + tf.constant([1., 2.]),
    lambda: tf.constant([[1., 2.]]) @ tf.constant([[1., 2.]]),
    lambda: tf.matmul(tf.constant([1., 2.]), tf.constant([1., 2.])),
    lambda: tf.constant([2, 2]) ** -1,
    lambda: tf.concat([tf.zeros((2, 3)), tf.zeros((2, 2))], 0),
    lambda: tf.stack([tf.zeros((2,)), tf.zeros((3,))]),
    lambda: tf.split(tf.zeros((2, 3)), 2, axis=1),
    lambda: tf.split(tf.zeros((2, 3)), [1, 1], axis=1),
    lambda: tf.expand_dims(tf.zeros((2, 3)), 5),
    lambda: tf.squeeze(tf.zeros((1, 2, 1)), axis=1),
    lambda: tf.reduce_sum(tf.zeros((2, 3)), axis=2),
    lambda: tf.reduce_mean(tf.zeros((2, 3)), axis=-3),
    lambda: tf.reduce_max(tf.zeros((2, 3)), axis=[0, 2]),
    lambda: tf.reduce_any(tf.zeros((2, 3)) > 0, axis=2),
])
def test_shape_errors_are_invalid_argument_errors(call):
    # TF 2.21: tf.errors.InvalidArgumentError (convnp raised ValueError, AxisError); it
    # stays a ValueError, so `except ValueError` keeps working too
    with pytest.raises(tf.errors.InvalidArgumentError):
        call()
    assert issubclass(tf.errors.InvalidArgumentError, ValueError)


def test_comparing_tensors_whose_shapes_do_not_broadcast():
    a, b = tf.constant([1., 2., 3.]), tf.constant([1., 2.])
    eq, ne = a == b, a != b  # TF 2.21: scalar bool tensors False / True
    assert eq.dtype == tf.bool and eq.shape == () and not bool(eq)
    assert ne.shape == () and bool(ne)


def test_non_trainable_variables_of_models_and_layers():
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3),
                                 tf.keras.layers.BatchNormalization()])
    # TF 2.21 (Keras 3): the moving statistics (convnp had no such attribute)
    assert [v.name for v in model.non_trainable_variables] == ["moving_mean",
                                                               "moving_variance"]
    assert [v.name for v in model.layers[1].non_trainable_variables] == ["moving_mean",
                                                                         "moving_variance"]
    assert model.layers[0].non_trainable_variables == []


# ----------------------------------------------------------------------------- Variable reads


def test_tensors_read_from_a_variable_are_snapshots():
    v = tf.Variable([1., 2.])
    reads = {"v[0]": v[0], "v[:]": v[:], "identity": tf.identity(v),
             "convert_to_tensor": tf.convert_to_tensor(v), "reshape": tf.reshape(v, [2, 1]),
             "squeeze": tf.squeeze(v), "transpose": tf.transpose(v),
             "expand_dims": tf.expand_dims(v, 0)}
    v.assign([5., 6.])
    # TF 2.21: each keeps the values read (convnp's viewed the variable and changed with it)
    for name, t in reads.items():
        assert sorted(np.asarray(t).reshape(-1).tolist()) in ([1.], [1., 2.]), name


def test_weights_copied_before_training_keep_their_values():
    layer = tf.keras.layers.Dense(1, kernel_initializer="ones")
    layer(tf.constant([[1., 1.]]))
    before = tf.identity(layer.kernel)
    optimizer = tf.keras.optimizers.SGD(0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([[1., 1.]])))
    optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_variables),
                                  layer.trainable_variables))
    assert _values(before) == [[1.], [1.]]
    assert _values(layer.kernel) == [[0.5], [0.5]]


def test_sliced_variable_assign():
    v = tf.Variable([1., 2., 3.])
    assert v[0].assign(9.) is v  # TF 2.21: returns the variable
    v[1:].assign([7., 8.])
    assert _values(v) == [9., 7., 8.]
    v[1:].assign(0.5)
    assert _values(v) == [9., 0.5, 0.5]
    m = tf.Variable([[1, 2], [3, 4]])
    m[:, 1].assign([0, 0])
    m[tf.constant(1)].assign([5, 5])
    assert _values(m) == [[1, 0], [5, 5]]
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21: shape mismatch
        m[0].assign([1, 2, 3])
    with pytest.raises(TypeError):  # TF 2.21: floats into an int variable
        m[0].assign([1.5, 2.5])
    assert _values(m[0] + 1) == [2, 1]
    w = tf.Variable([1., 2.])
    with tf.GradientTape() as tape:
        y = w[0] * 3.
    assert _values(tape.gradient(y, w)) == [3., 0.]


def test_printing_scalars_and_adding_shapes():
    # TF 2.21's print(t) text for 0-d tensors: the NumPy scalar ("3.0", not "3.")
    assert str(tf.constant(3.)) == "tf.Tensor(3.0, shape=(), dtype=float32)"
    assert str(tf.constant(0.1)) == "tf.Tensor(0.1, shape=(), dtype=float32)"
    assert str(tf.constant(3)) == "tf.Tensor(3, shape=(), dtype=int32)"
    assert str(tf.constant([1., 2.])) == "tf.Tensor([1. 2.], shape=(2,), dtype=float32)"
    shape = tf.TensorShape([None]) + tf.TensorShape([3])  # TF 2.21: a TensorShape
    assert isinstance(shape, tf.TensorShape) and shape.as_list() == [None, 3]
    assert (tf.constant([[1]]).shape + [2]).as_list() == [1, 1, 2]
