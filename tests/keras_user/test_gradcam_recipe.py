"""keras.io's Grad-CAM recipe, as written there: a model returning a conv's output and the
prediction made from it, the gradient of a class score w.r.t. that conv output, and
``model.layers[-1].activation = None`` to work on logits."""

import numpy as np
import pytest

import convnp as tf
from convnp import keras


def small_net(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="last_conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(pooled))


def test_gradient_wrt_an_intermediate_output_of_a_two_output_model():
    model = small_net()
    model.layers[-1].activation = None  # keras.io: "Remove last layer's softmax"
    assert model.layers[-1].activation.name == "linear"
    assert model.layers[-1].get_config()["activation"] == "linear"
    grad_model = keras.models.Model(model.inputs, [model.get_layer("last_conv").output,
                                                   model.output])
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        conv_out, preds = grad_model(x)
        pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, conv_out)
    assert grads is not None and grads.shape == conv_out.shape
    # logits = GAP(conv) @ W + b: d logit_k / d conv[n, i, j, c] = W[c, k] / 36
    kernel = model.get_layer("head").kernel.numpy()
    expected = np.broadcast_to(kernel[:, int(pred_index)] / 36.0, (2, 6, 6, 4))
    np.testing.assert_allclose(grads.numpy(), expected, rtol=1e-5)
    # the logits equal the plain model's output without the softmax
    np.testing.assert_allclose(preds.numpy(), model.predict(x, verbose=0), rtol=1e-6)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = conv_out[0] @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    assert heatmap.shape == (6, 6)


def test_the_recorded_calls_train_like_fit():
    model = small_net(1)
    twin = small_net(1)
    x = np.random.default_rng(2).random((4, 8, 8, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    two_outputs = keras.Model(model.inputs, [model.get_layer("last_conv").output,
                                             model.output])
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        _, probs = two_outputs(x, training=True)
        loss = loss_fn(y, probs)
    grads = tape.gradient(loss, model.trainable_variables)
    with tf.GradientTape() as tape:
        loss_twin = loss_fn(y, twin(x, training=True))
    grads_twin = tape.gradient(loss_twin, twin.trainable_variables)
    assert float(loss) == pytest.approx(float(loss_twin), rel=1e-6)
    for a, b in zip(grads, grads_twin):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
