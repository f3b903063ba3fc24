"""TensorFlow's own initializer spellings (tf.random_normal_initializer, ...) and the
tf.initializers namespace, as TF 2.21 has them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import convnp as tf
from convnp import initializers


def test_tf_initializer_names_are_the_keras_classes():
    init = tf.random_normal_initializer(0., 0.02)
    assert isinstance(init, initializers.RandomNormal)
    # TF 2.21: get_config() == {'mean': 0.0, 'stddev': 0.02, 'seed': None}
    assert init.get_config() == {"mean": 0.0, "stddev": 0.02, "seed": None}
    # TF 2.21: {'minval': -0.05, 'maxval': 0.05, 'seed': None}
    assert tf.random_uniform_initializer().get_config() == {
        "minval": -0.05, "maxval": 0.05, "seed": None}
    assert np.all(tf.zeros_initializer()((2, 3)) == 0)
    assert np.all(tf.ones_initializer()((2,)) == 1)
    assert np.all(tf.constant_initializer(0.5)((3,)) == 0.5)
    seeded = tf.random_normal_initializer(1.0, 0.5, seed=3)
    np.testing.assert_array_equal(seeded((4, 4)), seeded((4, 4)))
    w = tf.random_normal_initializer(0., 0.02)((200, 100))
    assert w.dtype == np.float32
    assert abs(float(w.std()) - 0.02) < 0.002
    assert not hasattr(tf, "glorot_uniform_initializer")  # TF 2.21 has none either


def test_tf_initializers_namespace():
    assert tf.initializers.RandomNormal is initializers.RandomNormal
    assert tf.initializers.GlorotUniform is tf.keras.initializers.GlorotUniform
    assert tf.initializers.glorot_uniform is initializers.GlorotUniform
    assert isinstance(tf.initializers.get("he_normal"), initializers.HeNormal)


def test_initializers_is_lazy_on_a_fresh_import():
    code = ("import convnp as tf; assert tf.initializers.Zeros()((2,)).sum() == 0; "
            "assert tf.zeros_initializer is tf.initializers.Zeros; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"


def test_constant_initializer_takes_lists():
    # TF 2.21: tf.constant_initializer([1., 2., 3., 4.])((2, 2)) == [[1., 2.], [3., 4.]]
    np.testing.assert_array_equal(tf.constant_initializer([1., 2., 3., 4.])((2, 2)),
                                  [[1., 2.], [3., 4.]])
    # Keras 3.15: Constant([1., 2.])((2, 2)) == [[1., 2.], [1., 2.]] (broadcast)
    np.testing.assert_array_equal(initializers.Constant([1., 2.])((2, 2)), [[1., 2.], [1., 2.]])
    assert initializers.Constant([1., 2.]).get_config() == {"value": [1.0, 2.0]}
    with pytest.raises(ValueError, match="neither broadcasts"):
        initializers.Constant([1., 2., 3.])((2, 2))
    with pytest.raises(TypeError, match="number"):
        initializers.Constant(["a"])


def test_conv2d_transpose_with_tf_tutorial_initializer():
    layer = tf.keras.layers.Conv2DTranspose(
        4, 3, strides=2, padding="same", use_bias=False,
        kernel_initializer=tf.random_normal_initializer(0., 0.02))
    out = layer(np.zeros((1, 8, 8, 3), np.float32))
    assert tuple(out.shape) == (1, 16, 16, 4)
    assert abs(float(np.std(layer.kernel.numpy())) - 0.02) < 0.01
    assert layer.get_config()["kernel_initializer"]["class_name"] == "RandomNormal"


def test_as_tensorflow_serves_initializers():
    from convnp import compat
    if "tensorflow" in sys.modules:
        pytest.skip("a real TensorFlow is imported")
    try:
        compat.as_tensorflow()
        import tensorflow
        from tensorflow.initializers import RandomNormal
        assert RandomNormal is initializers.RandomNormal
        assert tensorflow.random_normal_initializer is initializers.RandomNormal
    finally:
        compat.restore()


def test_fills_make_integer_and_bool_arrays():
    # TF 2.21 / Keras 3.15: zeros [0 0] int32, ones [1 1] int64, Constant(3) [3 3] int32,
    # ones bool [True True]; the random ones refuse integer dtypes
    zeros = tf.zeros_initializer()((2,), dtype=tf.int32)
    assert zeros.dtype == np.int32 and zeros.tolist() == [0, 0]
    assert tf.ones_initializer()((2,), dtype="int64").tolist() == [1, 1]
    assert tf.constant_initializer(3)((2,), dtype="int32").tolist() == [3, 3]
    assert tf.ones_initializer()((2,), dtype=tf.bool).tolist() == [True, True]
    with pytest.raises(TypeError, match="floating"):
        tf.random_normal_initializer()((2,), dtype=tf.int32)
    with pytest.raises(TypeError, match="numeric or bool"):
        tf.zeros_initializer()((2,), dtype=tf.string)


def test_tf_guide_layer_weights():
    # TensorFlow's guide: tf.Variable(initial_value=w_init(shape=..., dtype="float32"))
    w_init = tf.random_normal_initializer()
    w = tf.Variable(initial_value=w_init(shape=(4, 2), dtype="float32"), trainable=True)
    b = tf.Variable(initial_value=tf.zeros_initializer()(shape=(2,), dtype="float32"))
    out = tf.matmul(np.ones((1, 4), np.float32), w) + b
    assert tuple(out.shape) == (1, 2) and out.dtype == np.float32
