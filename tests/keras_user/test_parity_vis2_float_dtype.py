"""Python's ``float`` as a dtype is float32, TensorFlow's default float, not NumPy's float64.

Saliency recipes wrap the image as ``tf.Variable(x, dtype=float)`` before taking gradients;
TF 2.21 makes that a float32 variable (and ``tf.cast(x, float)``, ``keras.layers.Dense(...,
dtype=float)``, ``initializer(shape, dtype=float)`` float32 too). The expected dtypes below are
TF 2.21's."""

import numpy as np

import convnp as tf
from convnp import keras


def test_as_dtype_and_tensor_functions_read_float_as_float32():
    assert tf.as_dtype(float) == tf.float32
    assert tf.dtypes.as_dtype(float).name == "float32"
    assert tf.as_dtype("float") == tf.float32 and tf.as_dtype("double") == tf.float64
    assert tf.cast(tf.constant([1]), "float").dtype == tf.float32
    assert tf.constant(np.ones(2), dtype=float).dtype == tf.float32
    assert tf.cast(tf.constant([1, 2]), float).dtype == tf.float32
    assert tf.zeros(3, dtype=float).dtype == tf.float32
    assert tf.range(3, dtype=float).dtype == tf.float32
    assert tf.random.normal((2,), dtype=float).dtype == tf.float32
    assert tf.one_hot([1], 3, dtype=float).dtype == tf.float32
    assert tf.TensorSpec((None,), float).dtype == tf.float32
    assert keras.ops.ones((2,), dtype=float).dtype == tf.float32
    assert keras.ops.cast([1, 2], float).dtype == tf.float32


def test_variable_of_float_is_float32_and_its_gradient_too():
    x = np.random.default_rng(0).random((1, 4, 4, 3))  # float64, as NumPy makes it
    images = tf.Variable(x, dtype=float)
    assert images.dtype == tf.float32
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    with tf.GradientTape() as tape:
        pred = model(images, training=False)
        loss = pred[0][1]
    grads = tape.gradient(loss, images)
    assert grads.dtype == tf.float32 and grads.shape == (1, 4, 4, 3)
    saliency = np.max(tf.math.abs(grads), axis=3)[0]
    assert saliency.dtype == np.float32 and saliency.shape == (4, 4)


def test_layers_and_initializers_given_float_are_float32():
    dense = keras.layers.Dense(2, dtype=float)
    dense.build((None, 3))
    assert dense.compute_dtype == "float32" and dense.kernel.dtype == tf.float32
    assert keras.initializers.GlorotUniform(seed=1)((2, 2), dtype=float).dtype == tf.float32
    assert keras.initializers.Zeros()((2, 2), dtype=float).dtype == tf.float32
    assert tf.zeros_initializer()((2,), dtype=float).dtype == tf.float32
