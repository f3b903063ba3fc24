"""TimeDistributed over a BatchNormalization in training: Keras 3 calls the inner layer once
per step, so each step is normalized with its own batch statistics and the moving statistics
move once per step (a CNN over video frames with batch norm inside TimeDistributed).

Expected values: TensorFlow 2.21 running the same program (weights and data from NumPy's
generator)."""

import numpy as np

import convnp as tf

keras = tf.keras

EXPECTED = {
    "y": [-0.03553999960422516, 0.01844000071287155, 0.03553999960422516, -0.01844000071287155],
    "moving_mean": [-1.1884000301361084, -0.07873000204563141],
    "moving_variance": [24.10240936279297, 15.63521957397461],
    "dx_first": [0.018959999084472656, 0.002570000011473894, 0.014170000329613686, -0.0053900000639259815, 0.013330000452697277, -0.003389999968931079, 0.015490000136196613, -0.003530000103637576],
    "dkernel_first": [-0.012369999662041664, 0.07004000246524811, 0.03466000035405159, -0.17007000744342804, 0.015049999579787254, -0.060759998857975006, 0.04909000173211098, -0.28439000248908997],
    "dgamma": [0.02078999951481819, 0.04239000007510185],
    "dbeta": [-1.5083999633789062, -1.235949993133545],
    "inference": [0.15951000154018402, 0.00674000009894371, 0.044110000133514404, 0.005940000060945749],
}


def test_batch_norm_inside_time_distributed_uses_each_steps_statistics():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(2, 3, 4, 4, 2))
         * np.array([1, 2, 3]).reshape(1, 3, 1, 1, 1)).astype("float32")
    inp = keras.Input((3, 4, 4, 2))
    h = keras.layers.TimeDistributed(keras.layers.Conv2D(2, 3, padding="same",
                                                         use_bias=False))(inp)
    bn_layer = keras.layers.TimeDistributed(keras.layers.BatchNormalization(momentum=0.5))
    out = keras.layers.GlobalAveragePooling3D()(bn_layer(h))
    model = keras.Model(inp, out)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") if i == 0 else w
                       for i, w in enumerate(model.get_weights())])
    c = rng.normal(size=(2, 2)).astype("float32")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model(xt, training=True)
        loss = tf.reduce_sum(y * c)
    grads = tape.gradient(loss, [xt] + model.trainable_variables)
    model(xt, training=True)  # a second training call moves the statistics again

    def close(found, key):
        np.testing.assert_allclose(np.ravel(found), EXPECTED[key], rtol=1e-4, atol=2e-5,
                                   err_msg=key)

    close(y, "y")
    close(bn_layer.layer.moving_mean.numpy(), "moving_mean")
    close(bn_layer.layer.moving_variance.numpy(), "moving_variance")
    close(np.ravel(grads[0])[:8], "dx_first")
    close(np.ravel(grads[1])[:8], "dkernel_first")
    close(grads[2], "dgamma")
    close(grads[3], "dbeta")
    close(model(xt, training=False), "inference")


def test_time_distributed_without_batch_norm_keeps_the_folded_batch():
    # a layer that treats examples independently gives the same values either way
    tf.keras.utils.set_random_seed(0)
    layer = keras.layers.TimeDistributed(keras.layers.Dense(3))
    x = np.random.default_rng(1).normal(size=(2, 4, 5)).astype("float32")
    y = np.asarray(layer(x, training=True))
    for t in range(4):
        np.testing.assert_allclose(y[:, t], np.asarray(layer.layer(x[:, t])), rtol=1e-6)
