"""Zeros, not None, for the weights a gradient penalty reaches only through a ReLU's or a
LeakyReLU's input: TensorFlow's first-order gradient read that input, so differentiating
it again gives everything upstream a gradient (zeros where no second derivative reaches),
and None stays for what the gradient never read (the last layer's bias). A conditional
critic: its label branch, Dense -> Reshape -> Concatenate, feeds a LeakyReLU.

The expected numbers are TensorFlow 2.21's."""

import numpy as np

import convnp as tf

L = tf.keras.layers

# TF 2.21: the first six numbers of each gradient (None: TF's None)
TF_PENALTY = 9.612298965454102
TF_GRADS = {
    "dense/kernel": [0.0] * 6,
    "dense/bias": [0.0] * 6,
    "conv2d/kernel": [-0.467604, -4.17447, 0.0, 0.0, 5.15732, 1.14779],
    "conv2d/bias": [0.0, 0.0],
    "conv2d_1/kernel": [2.3585, 10.4091, -0.306827, -0.428505, -0.339158, -4.76718],
    "conv2d_1/bias": [0.0, 0.0],
    "dense_1/kernel": [0.0, -8.52211, -7.19262, -1.01082, 0.0, 1.68337],
    "dense_1/bias": None,
}


def _conditional_critic():
    tf.keras.backend.clear_session()
    rng = np.random.default_rng(31)
    images = rng.normal(size=(3, 4, 4, 1)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    image_in, label_in = tf.keras.Input((4, 4, 1)), tf.keras.Input((3,))
    label_map = L.Reshape((4, 4, 1))(L.Dense(16)(label_in))
    h = L.Concatenate()([image_in, label_map])
    h = L.LeakyReLU(0.2)(L.Conv2D(2, 3, padding="same")(h))
    h = L.Conv2D(2, 3, strides=2, padding="same", activation="relu")(h)
    model = tf.keras.Model([image_in, label_in], L.Dense(1)(L.Flatten()(h)))
    model.set_weights([np.round(rng.normal(0, 0.5, w.shape), 2).astype(np.float32)
                       for w in model.get_weights()])
    return model, images, labels


def test_penalty_gradients_are_zeros_upstream_of_a_relu_and_none_after():
    model, images, labels = _conditional_critic()
    x = tf.constant(images)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            t1.watch(x)
            score = model([x, tf.constant(labels)], training=True)
        g = t1.gradient(score, x)
        penalty = tf.reduce_sum(tf.square(g))
    grads = t2.gradient(penalty, model.trainable_weights)
    np.testing.assert_allclose(float(penalty), TF_PENALTY, rtol=1e-5)
    names = list(TF_GRADS)
    assert len(grads) == len(names)
    for name, got in zip(names, grads):
        want = TF_GRADS[name]
        if want is None:
            assert got is None, name
            continue
        assert got is not None, f"{name}: None where TF gives a gradient"
        np.testing.assert_allclose(np.asarray(got).ravel()[:6], want, rtol=1e-4, atol=1e-6,
                                   err_msg=name)
        if not any(want):
            assert not np.any(np.asarray(got)), name
