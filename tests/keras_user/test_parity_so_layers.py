"""A gradient penalty through a critic with the layers that had no second-order rule:
Rescaling (a critic's first layer), PReLU, Multiply (a squeeze-and-excitation gate) and
Softmax. The expected numbers are TensorFlow 2.21's for the same weights and images."""

import numpy as np

import convnp as tf

L = tf.keras.layers

# TF 2.21's penalty and its gradients (conv2d/kernel, conv2d/bias, p_re_lu/alpha,
# dense/kernel, dense/bias)
TF_PENALTY = 0.9946659803390503
TF_GRADS = [
    [0.000544225, -0.000243856, -0.000306134, -4.38847e-05, -0.000328467, 0.000255396,
     -0.000454297, -0.000477932, -4.50061e-06, -0.00025063, -0.000180503, -0.000602908,
     0.000244697, -0.000169777, 0.00198806, -0.000600635, -0.000921233, 0.000429546,
     -4.23979e-05, -0.000621304, -0.000684809, 6.47876e-05, -0.000702054, 0.00166604,
     9.36397e-05, -0.000565464, 0.000110734],
    [-3.22029e-05, -7.11569e-06, -0.000271508],
    [0.00120713, -0.000423392, -0.000744028],
    [-7.05699e-05, -0.000138808, -0.000468831, -4.91841e-05, -0.000107977, -0.000374203,
     -8.68294e-05, -0.000149877, -0.000572205],
    [-0.000321458, -0.00043089, -0.0016903],
]


def _critic():
    tf.keras.backend.clear_session()
    inp = tf.keras.Input((4, 4, 1))
    h = L.Rescaling(1 / 127.5, offset=-1.0)(inp)
    h = L.Conv2D(3, 3, padding="same")(h)
    h = L.PReLU(shared_axes=[1, 2])(h)
    gate = L.Dense(3, activation="sigmoid")(L.GlobalAveragePooling2D(keepdims=True)(h))
    h = L.Multiply()([h, gate])
    h = L.Softmax()(h)
    model = tf.keras.Model(inp, L.Dense(1)(L.Flatten()(h)))
    rng = np.random.default_rng(21)
    images = rng.uniform(0, 255, size=(2, 4, 4, 1)).astype(np.float32)
    model.set_weights([np.round(rng.normal(0, 0.5, w.shape), 2).astype(np.float32)
                       for w in model.get_weights()])
    return model, images


def test_gradient_penalty_through_rescaling_prelu_multiply_softmax():
    model, images = _critic()
    x = tf.constant(images)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            t1.watch(x)
            score = model(x, training=True)
        g = t1.gradient(score, x)
        norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]))
        penalty = tf.reduce_mean((norm - 1.0) ** 2)
    grads = t2.gradient(penalty, model.trainable_weights)
    np.testing.assert_allclose(float(penalty), TF_PENALTY, rtol=1e-5)
    for got, want in zip(grads[:5], TF_GRADS):
        np.testing.assert_allclose(np.asarray(got).ravel(), want, rtol=2e-4, atol=2e-8)
    assert grads[-1] is None  # the last bias: no second-order term, None in TF too


def test_input_gradient_penalty_through_mish_hard_silu_log_sigmoid_dense_layers():
    """Dense layers with these fused activations had no second-order rule (TF 2.21's
    values; the draws run on across the three models, as in the program that made them)."""
    rng = np.random.default_rng(91)
    images = rng.normal(size=(3, 4)).astype(np.float32)
    expected = {  # penalty, and the first numbers of the kernel, bias, head kernel grads
        "mish": (9.13233, [[0.61481, 0.42152, 0.85315, 1.0362], [6.7489, 2.2577, -0.25692,
                 4.344], [11.984, 5.9727, -1.7568, 5.7621]]),
        "hard_silu": (4.03243, [[-0.75527, -0.87486, 1.6045, -0.063485], [0.6735, -0.13931,
                      0.80307, 0.0060494], [-5.9065, -0.2247, 2.6768, 0.14389]]),
        "log_sigmoid": (4.37647, [[-1.6133, -0.039212, -3.0441, -0.60896], [-1.6084,
                        -0.26318, -0.35303, 0.14403], [-1.8162, -3.6402, -2.9911, 0.16135]]),
    }
    for activation in ["mish", "softsign", "hard_silu", "log_sigmoid"]:
        tf.keras.backend.clear_session()
        model = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(5, activation=activation),
                                     L.Dense(1)])
        model.set_weights([np.round(rng.normal(0, 0.8, w.shape), 2).astype(np.float32)
                           for w in model.get_weights()])
        if activation not in expected:  # softsign: TF 2.21 has no second derivative
            continue
        x = tf.constant(images)
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                t1.watch(x)
                score = model(x)
            g = t1.gradient(score, x)
            penalty = tf.reduce_sum(tf.square(g))
        grads = t2.gradient(penalty, model.trainable_weights)
        value, firsts = expected[activation]
        np.testing.assert_allclose(float(penalty), value, rtol=1e-5)
        for got, want in zip(grads[:3], firsts):
            np.testing.assert_allclose(np.asarray(got).ravel()[:4], want, rtol=2e-4,
                                       atol=1e-5, err_msg=activation)
        assert grads[3] is None
