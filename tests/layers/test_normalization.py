"""BatchNormalization: Keras 3 semantics, gradients in both modes, any axis, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.layers import BatchNormalization
from tests.layers.harness import check_gradients, check_layer


@pytest.mark.parametrize("kwargs, n_trainable", [
    ({}, 2), ({"axis": 3}, 2), ({"center": False}, 1), ({"scale": False}, 1),
    ({"center": False, "scale": False}, 0),
])
def test_check_layer(kwargs, n_trainable):
    check_layer(BatchNormalization, kwargs, (4, 3, 2, 5), (4, 3, 2, 5), n_trainable, 2)


def test_weight_order_and_names():
    layer = BatchNormalization()
    layer.build((None, 4, 4, 3))
    assert [v.name for v in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.trainable for v in layer.weights] == [True, True, False, False]
    assert all(v.shape == (3,) for v in layer.weights)


def test_training_uses_batch_stats_and_updates_moving_stats_with_biased_variance():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 3, 3, 2)) * [2.0, 0.5] + [1.0, -3.0]).astype("float32")
    layer = BatchNormalization(momentum=0.9)
    y = layer(x, training=True)
    x64 = x.astype(np.float64).reshape(-1, 2)
    mean, var = x64.mean(axis=0), x64.var(axis=0)  # biased variance, as Keras 3
    expected = (x64 - mean) / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(y.reshape(-1, 2), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.value, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.value, 0.9 + 0.1 * var, rtol=1e-5)


def test_inference_uses_moving_stats_and_leaves_them_alone():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 2, 3)).astype("float32")
    layer = BatchNormalization()
    layer.build((None, 2, 2, 3))
    layer.set_weights([np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0]),
                       np.array([0.5, -0.5, 0.0]), np.array([4.0, 1.0, 0.25])])
    y = layer(x, training=False)
    expected = (x - [0.5, -0.5, 0.0]) / np.sqrt(np.array([4.0, 1.0, 0.25]) + 1e-3) \
        * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.value, [0.5, -0.5, 0.0])
    np.testing.assert_array_equal(layer.moving_variance.value, [4.0, 1.0, 0.25])


def test_frozen_layer_runs_in_inference_mode_even_when_training():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 2, 2, 3)).astype("float32") + 5
    layer = BatchNormalization(trainable=False)
    y = layer(x, training=True)
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.value, 0)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


@pytest.mark.parametrize("kwargs", [{}, {"center": False}, {"scale": False}, {"axis": 1},
                                    {"axis": 2}])
@pytest.mark.parametrize("training", [True, False])
def test_gradients(kwargs, training):
    rng = np.random.default_rng(3)
    layer = BatchNormalization(dtype="float64", **kwargs)
    layer.build((None, 3, 4, 2))
    # Non-trivial weights so every term of the formulas is exercised.
    values = [rng.uniform(0.5, 1.5, v.shape) if v.name != "beta" and v.name != "moving_mean"
              else rng.standard_normal(v.shape) for v in layer.weights]
    layer.set_weights(values)
    x = rng.standard_normal((3, 3, 4, 2)) * 2 + 1
    check_gradients(layer, x, training=training)


def test_dense_features_rank_2():
    rng = np.random.default_rng(4)
    layer = BatchNormalization(dtype="float64")
    check_gradients(layer, rng.standard_normal((6, 4)), training=True)
    check_layer(BatchNormalization, {}, (6, 4), (6, 4), 2, 2)


def test_any_axis_matches_channels_last():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 2, 5))
    last = BatchNormalization(dtype="float64")
    first = BatchNormalization(axis=1, dtype="float64")
    y_last = last(x, training=True)
    y_first = first(np.moveaxis(x, 3, 1), training=True)
    np.testing.assert_allclose(np.moveaxis(y_first, 1, 3), y_last, rtol=1e-12)
    dy = rng.standard_normal(y_last.shape)
    dx_last = last.backward(dy)
    dx_first = first.backward(np.moveaxis(dy, 3, 1))
    np.testing.assert_allclose(np.moveaxis(dx_first, 1, 3), dx_last, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(first.gamma.grad, last.gamma.grad, rtol=1e-12)


def test_input_and_gradient_not_modified():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 2, 3)).astype("float32")
    dy = rng.standard_normal(x.shape).astype("float32")
    saved = x.copy(), dy.copy()
    layer = BatchNormalization()
    layer(x, training=True)
    layer.backward(dy)
    np.testing.assert_array_equal(x, saved[0])
    np.testing.assert_array_equal(dy, saved[1])


@pytest.mark.parametrize("kwargs, error", [
    ({"axis": 1.5}, TypeError),
    ({"momentum": 1.5}, ValueError),
    ({"epsilon": 0.0}, ValueError),
    ({"gamma_initializer": "onez"}, ValueError),
    ({"beta_regularizer": "nope"}, ValueError),
    ({"gamma_constraint": 3}, TypeError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        BatchNormalization(**kwargs)


@pytest.mark.parametrize("axis", [0, 4, -5])
def test_bad_axis_for_input(axis):
    with pytest.raises(ValueError, match="axis"):
        BatchNormalization(axis=axis)(np.ones((2, 3, 3, 1), dtype="float32"))


def test_skips_input_gradient_when_told():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 3, 2)).astype("float32")
    dy = rng.standard_normal(x.shape).astype("float32")
    layer = BatchNormalization()
    layer(x, training=True)
    layer.backward(dy)
    grads = layer.gamma.grad.copy(), layer.beta.grad.copy()
    layer.needs_input_gradient = False
    layer(x, training=True)
    assert layer.backward(dy) is None
    np.testing.assert_allclose(layer.gamma.grad, grads[0], rtol=1e-6)
    np.testing.assert_allclose(layer.beta.grad, grads[1], rtol=1e-6)


def test_large_offset_stays_accurate():
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((8, 8, 8, 3)) + 100.0).astype("float32")
    y = BatchNormalization()(x, training=True)
    x64 = x.astype(np.float64).reshape(-1, 3)
    expected = (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-3)
    np.testing.assert_allclose(y.reshape(-1, 3), expected, atol=5e-5)


def test_built_layer_checks_rank_and_features_only():
    layer = BatchNormalization()
    layer(np.ones((2, 4, 4, 3), dtype="float32"))
    assert layer(np.ones((1, 7, 5, 3), dtype="float32")).shape == (1, 7, 5, 3)
    with pytest.raises(ValueError, match="3 features"):
        layer(np.ones((2, 4, 4, 2), dtype="float32"))
    with pytest.raises(ValueError, match="rank 4"):
        layer(np.ones((2, 3), dtype="float32"))


def test_batch_of_one_on_a_1x1_map_gives_beta_exactly_as_tensorflow():
    # pix2pix's bottleneck (batch 1, 1x1 map): x equals its batch mean, and TensorFlow's
    # x * inv + (beta - mean * inv) gives beta exactly, so the ReLU after it has slope 0.
    # TensorFlow 2.21 / Keras 3.15.1 on this model: every BN gradient 0, the Dense bias's 1,
    # and beta still 0 after one SGD(1.0) step of fit.
    import convnp as tf

    K = tf.keras
    inp = K.Input((1, 1, 3))
    x = K.layers.BatchNormalization()(inp)
    x = K.layers.ReLU()(x)
    x = K.layers.Flatten()(x)
    m = K.Model(inp, K.layers.Dense(1, kernel_initializer="ones")(x))
    xi = tf.constant(np.array([[[[0.1257302, -0.13210486, 0.6404226]]]], "float32"))
    assert np.asarray(m.layers[1](xi, training=True)).tolist() == [[[[0.0, 0.0, 0.0]]]]
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(m(xi, training=True))
    grads = [np.asarray(g).ravel().tolist() for g in tape.gradient(total, m.trainable_variables)]
    assert grads == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0]]
    m.compile(optimizer=K.optimizers.SGD(1.0), loss="mse")
    m.fit(xi, np.ones((1, 1)), verbose=0)
    assert m.layers[1].get_weights()[1].tolist() == [0.0, 0.0, 0.0]


def _bottleneck_model():
    # pix2pix's U-Net bottleneck at batch size 1: BatchNormalization on a 1x1 map sees one
    # value per channel, so its output is exactly beta (0), and everything up to the next
    # rectifier gets no gradient
    import convnp as tf

    keras = tf.keras
    keras.utils.set_random_seed(5)
    init = keras.initializers.RandomNormal(0.0, 0.02)
    return keras.Sequential([
        keras.Input((4, 4, 3)),
        keras.layers.Conv2D(8, 4, strides=4, kernel_initializer=init, use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(8, 4, strides=2, padding="same", use_bias=False,
                                     kernel_initializer=init),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.Flatten(), keras.layers.Dense(1)])


def test_one_value_per_channel_gives_beta_and_no_gradient_as_tensorflow():
    # TensorFlow 2.21 (the pix2pix tutorial with batch size 1, probed by hand): the gradients
    # of the bottleneck's conv kernel, its BN gamma/beta, the next transposed conv and its BN
    # are all exactly 0, so its Adam steps leave them alone
    import convnp as tf

    model = _bottleneck_model()
    x = np.random.default_rng(1).uniform(-1, 1, (1, 4, 4, 3)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - 1.0))
    grads = tape.gradient(loss, model.trainable_variables)
    for v, g in zip(model.trainable_variables[:6], grads[:6]):
        assert not np.any(np.asarray(g)), v.name
    assert np.any(np.asarray(grads[-1]))  # the Dense bias still learns
    model.compile(tf.keras.optimizers.Adam(2e-4, beta_1=0.5), "mse")
    before = [np.array(v) for v in model.trainable_variables[:6]]
    model.train_on_batch(x, np.ones((1, 1), "float32"))
    for b, v in zip(before, model.trainable_variables[:6]):
        np.testing.assert_array_equal(np.asarray(v), b)
