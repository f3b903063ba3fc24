"""Regularizers and constraints on weights other than ``kernel`` and ``bias``.

Keras takes ``depthwise_*`` and ``pointwise_*`` regularizers and constraints on the depthwise
and separable convs, ``beta_*``/``gamma_*`` on BatchNormalization, LayerNormalization and
GroupNormalization, ``alpha_*`` on PReLU (convnp refused them before). A penalty joins
``model.losses`` and fit's loss with its gradient; a constraint projects its weight after
every optimizer update. Expected values are TF 2.21's (same initial weights).
"""

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers
RNG = np.random.default_rng(7)


def _image_model(layer, shape=(6, 6, 3)):
    return tf.keras.Sequential([tf.keras.Input(shape), layer])


def _sum_squares(variable):
    return float(np.sum(np.square(variable.numpy(), dtype=np.float64)))


@pytest.mark.parametrize("make, shape", [
    (lambda reg: L.DepthwiseConv2D(3, depthwise_regularizer=reg), (6, 6, 3)),
    (lambda reg: L.DepthwiseConv1D(3, depthwise_regularizer=reg), (7, 3)),
])
def test_depthwise_regularizer_joins_losses_and_its_gradient(make, shape):
    layer = make(tf.keras.regularizers.l2(0.01))
    model = _image_model(layer, shape)
    (penalty,) = model.losses
    np.testing.assert_allclose(float(penalty), 0.01 * _sum_squares(layer.kernel), rtol=1e-5)
    with tf.GradientTape() as tape:
        total = tf.add_n(model.losses)
    (grad,) = tape.gradient(total, [layer.kernel])
    np.testing.assert_allclose(grad, 0.02 * layer.kernel.numpy(), rtol=1e-5)


@pytest.mark.parametrize("make, shape", [
    (lambda **kw: L.SeparableConv2D(4, 3, **kw), (6, 6, 3)),
    (lambda **kw: L.SeparableConv1D(4, 3, **kw), (7, 3)),
])
def test_separable_regularizers_on_both_kernels(make, shape):
    layer = make(depthwise_regularizer=tf.keras.regularizers.l2(0.01),
                 pointwise_regularizer=tf.keras.regularizers.l1(0.1))
    model = _image_model(layer, shape)
    expected = (0.01 * _sum_squares(layer.depthwise_kernel)
                + 0.1 * float(np.abs(layer.pointwise_kernel.numpy()).sum()))
    np.testing.assert_allclose(float(tf.add_n(model.losses)), expected, rtol=1e-5)
    assert len(model.losses) == 2  # one penalty per kernel, none counted twice


def test_fit_applies_the_penalty_gradients():
    # The targets are the model's own predictions: the data loss has no gradient, so one SGD
    # step moves each kernel by the penalty's gradient alone: k - lr * 2 * 0.01 * k.
    layer = L.SeparableConv2D(4, 3, depthwise_regularizer=tf.keras.regularizers.l2(0.01),
                              pointwise_regularizer=tf.keras.regularizers.l2(0.01))
    model = _image_model(layer)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="mse")
    x = RNG.standard_normal((4, 6, 6, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    before = [layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()]
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for old, new in zip(before, [layer.depthwise_kernel, layer.pointwise_kernel]):
        np.testing.assert_allclose(new.numpy(), old * (1 - 0.5 * 0.02), rtol=1e-5, atol=1e-7)
    penalty = 0.01 * sum(float(np.sum(np.square(k, dtype=np.float64))) for k in before)
    np.testing.assert_allclose(history.history["loss"][0], penalty, rtol=1e-4)


def test_constraints_project_the_kernels_after_each_update():
    layer = L.SeparableConv2D(4, 3, depthwise_constraint="non_neg",
                              pointwise_constraint=tf.keras.constraints.MaxNorm(0.5))
    model = _image_model(layer)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    x = RNG.standard_normal((8, 6, 6, 3)).astype("float32")
    model.fit(x, RNG.standard_normal((8, 4, 4, 4)).astype("float32"), epochs=1, verbose=0)
    assert layer.depthwise_kernel.numpy().min() >= 0
    # MaxNorm's norm runs over all axes but the last (Keras's default axis=0 on a 4-D
    # pointwise kernel (1, 1, in, out) is the kernel height; the norm of each 1x1 column).
    norms = np.sqrt(np.sum(np.square(layer.pointwise_kernel.numpy()), axis=0))
    assert norms.max() <= 0.5 + 1e-6
    dw = L.DepthwiseConv2D(3, depthwise_constraint="non_neg")
    model = _image_model(dw)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, RNG.standard_normal((8, 4, 4, 3)).astype("float32"), epochs=1, verbose=0)
    assert dw.kernel.numpy().min() >= 0


def test_config_and_saved_model_keep_them(tmp_path):
    layer = L.SeparableConv2D(4, 3, depthwise_regularizer=tf.keras.regularizers.l2(0.01),
                              pointwise_regularizer="l1", depthwise_constraint="non_neg",
                              pointwise_constraint=tf.keras.constraints.MaxNorm(2.0),
                              name="sep")
    config = layer.get_config()
    assert config["depthwise_regularizer"]["class_name"] == "L2"
    assert config["pointwise_regularizer"]["class_name"] == "L1"
    assert config["depthwise_constraint"]["class_name"] == "NonNeg"
    assert config["pointwise_constraint"]["config"]["max_value"] == 2.0
    again = L.SeparableConv2D.from_config(config)
    assert again.get_config() == config
    model = _image_model(layer)
    path = tmp_path / "sep.keras"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(float(tf.add_n(loaded.losses)), float(tf.add_n(model.losses)),
                               rtol=1e-6)
    loaded_config = loaded.get_layer("sep").get_config()
    for key in ("depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
                "pointwise_constraint"):
        assert loaded_config[key] == config[key]
    dw_config = L.DepthwiseConv2D(3, depthwise_regularizer="l2",
                                  depthwise_constraint="non_neg").get_config()
    assert dw_config["depthwise_regularizer"]["class_name"] == "L2"
    assert dw_config["depthwise_constraint"]["class_name"] == "NonNeg"
    assert L.DepthwiseConv2D.from_config(dw_config).get_config() == dw_config


@pytest.mark.parametrize("make, shape", [
    (lambda: L.LSTM(3, kernel_regularizer=tf.keras.regularizers.l2(0.01)), (4, 2)),
    (lambda: L.GRU(3, kernel_regularizer=tf.keras.regularizers.l2(0.01)), (4, 2)),
    (lambda: L.ConvLSTM2D(2, 3, kernel_regularizer=tf.keras.regularizers.l2(0.01)),
     (3, 6, 6, 2)),
])
def test_a_recurrent_kernel_penalty_counts_once(make, shape):
    # TF 2.21: one entry in model.losses, 0.01 * sum(kernel ** 2) (convnp counted an LSTM's
    # twice: the cell's kernel_regularizer and its add_weight(regularizer=)).
    layer = make()
    model = tf.keras.Sequential([tf.keras.Input(shape), layer])
    kernel = next(v for v in layer.weights if v.name == "kernel")
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), 0.01 * _sum_squares(kernel), rtol=1e-5)


def test_normalization_and_prelu_penalties_as_tf():
    # TF 2.21 printed these losses for the same layers and initial values, in this order.
    R = tf.keras.regularizers
    cases = [
        (L.BatchNormalization(gamma_regularizer=R.l2(0.01), beta_regularizer=R.l1(0.1),
                              gamma_initializer=tf.keras.initializers.Constant(0.5),
                              beta_initializer="ones"), (4, 4, 3), [0.0075, 0.3]),
        (L.LayerNormalization(gamma_regularizer=R.l2(0.01)), (5,), [0.05]),
        (L.GroupNormalization(groups=2, beta_regularizer="l2", beta_initializer="ones"),
         (4, 4), [0.04]),
        (L.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.5),
                 alpha_regularizer=R.l2(0.01)), (3, 2), [0.015]),
    ]
    for layer, shape, expected in cases:
        model = tf.keras.Sequential([tf.keras.Input(shape), layer])
        np.testing.assert_allclose([float(v) for v in model.losses], expected, rtol=1e-5)
        config = layer.get_config()
        again = type(layer).from_config(config)
        assert again.get_config() == config


def test_normalization_constraints_follow_updates():
    bn = L.BatchNormalization(gamma_constraint="non_neg",
                              beta_constraint=tf.keras.constraints.MaxNorm(0.01))
    prelu = L.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.01),
                    alpha_constraint="non_neg")
    model = tf.keras.Sequential([tf.keras.Input((3,)), L.Dense(3), bn, prelu, L.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(1.0), loss="mse")
    x = RNG.standard_normal((16, 3)).astype("float32")
    model.fit(x, 100 * RNG.standard_normal((16, 1)).astype("float32"), epochs=2, verbose=0)
    assert bn.gamma.numpy().min() >= 0
    assert np.abs(bn.beta.numpy()).max() <= 0.01 + 1e-7
    assert prelu.alpha.numpy().min() >= 0
    assert not np.allclose(prelu.alpha.numpy(), 0.01)  # it did train


def test_gamma_penalty_gradient_in_fit():
    # Targets equal to the predictions: one SGD step moves gamma by the penalty's gradient
    # alone (the data loss and its gradient are zero).
    bn = L.BatchNormalization(gamma_regularizer=tf.keras.regularizers.l2(0.05),
                              gamma_initializer=tf.keras.initializers.Constant(2.0))
    model = tf.keras.Sequential([tf.keras.Input((4,)), bn])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    x = RNG.standard_normal((8, 4)).astype("float32")
    y = model(x, training=True).numpy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(bn.gamma.numpy(), 2.0 - 0.1 * 2 * 0.05 * 2.0, rtol=1e-5)


def test_synchronized_batch_norm_is_the_plain_one_on_one_device():
    # TF 2.21 on one device: BatchNormalization(synchronized=True) normalizes as the plain
    # layer does and keeps the flag in its config.
    x = RNG.standard_normal((4, 1, 1, 6)).astype("float32")
    synced, plain = L.BatchNormalization(synchronized=True), L.BatchNormalization()
    np.testing.assert_allclose(synced(x, training=True), plain(x, training=True), rtol=1e-6)
    config = synced.get_config()
    assert config["synchronized"] is True
    assert L.BatchNormalization.from_config(config).synchronized is True
