"""``tf.function`` as notebooks use it, checked against TensorFlow 2.21: results are
tensors (a body returning Python numbers or NumPy arrays included), ``input_signature``
converts and checks the arguments, ``python_function`` is the undecorated function, and
methods bind. Expected values and exception types are TensorFlow 2.21's."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

C = tf.constant


@tf.function
def scale(a, b=2):
    return a * b


def test_results_are_tensors():
    out = scale(2.5)  # TF 2.21: a float32 tensor, not the Python float 5.0
    assert tf.is_tensor(out) and out.dtype == tf.float32 and out.numpy() == 5.0
    out = scale(np.ones(2))  # a float64 tensor (convnp gave a plain ndarray)
    assert tf.is_tensor(out) and out.dtype == tf.float64
    assert scale(C([1., 2.]), b=C(3.)).numpy().tolist() == [3., 6.]


def test_structures_of_results():
    @tf.function
    def many(x):
        return {"a": x, "b": [1.0, (2, None)], "n": np.float32(1)}

    out = many(C(1.))
    assert list(out) == ["a", "b", "n"]
    assert out["b"][0].dtype == tf.float32 and out["b"][1][0].dtype == tf.int32
    assert out["b"][1][1] is None and out["n"].dtype == tf.float32

    @tf.function
    def best(x):
        return tf.math.top_k(x, 1)

    assert best(C([1., 3.])).values.numpy().tolist() == [3.]  # the namedtuple survives


@tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
def total(a):
    return tf.reduce_sum(a)


def test_input_signature_converts_python_and_numpy_values():
    assert float(total([1., 2.])) == 3.0
    assert float(total([1, 2])) == 3.0  # Python ints become float32, as in TF 2.21
    assert float(total(np.ones(2))) == 2.0  # a float64 array is converted too
    assert float(total(a=C([1.]))) == 1.0


@pytest.mark.parametrize("call", [
    lambda: total(C([1, 2])),  # a tensor of another dtype
    lambda: total(C([[1., 2.]])),  # another rank
    lambda: total(C([1.]), C([2.])),  # too many arguments
])
def test_input_signature_refuses_mismatches(call):
    with pytest.raises(TypeError):  # TF 2.21: TypeError
        call()


def test_python_function_and_options():
    assert scale.python_function(2., 3.) == 6.0  # the plain Python result
    assert scale.__name__ == "scale"
    assert float(tf.function(lambda x: x + 1)(1)) == 2
    assert float(tf.function(jit_compile=True, reduce_retracing=True)(scale)(1.)) == 2.0
    with pytest.raises(TypeError):
        tf.function(scale, foo=1)
    with pytest.raises(TypeError):
        tf.function(input_signature=[(None,)])(scale)


def test_methods_and_gradients():
    class Doubler(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(1, kernel_initializer="ones")

        @tf.function
        def call(self, x):
            return self.dense(x)

    model = Doubler()
    assert model(C([[1., 2.]])).numpy().tolist() == [[3.]]
    v = tf.Variable(2.)

    @tf.function
    def loss():
        return v * v

    with tf.GradientTape() as tape:
        y = loss()
    assert float(tape.gradient(y, v)) == 4.0
