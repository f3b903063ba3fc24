"""TF 2.x's Grad-CAM recipe (still in many tutorials) makes its gradient model with the inputs
inside a list: ``Model([model.inputs], [conv.output, model.output])``. TF 2.21 (Keras 3)
flattens such inputs: ``input`` comes back as ``[[tensor]]`` and the model takes the image
bare, in a list or nested the same way. convnp refused the nested list (TypeError)."""

import numpy as np

import convnp as tf
from convnp import keras


def _net():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="last_conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))


def test_grad_model_with_nested_inputs():
    model = _net()
    grad_model = keras.models.Model([model.inputs], [model.get_layer("last_conv").output,
                                                     model.output])
    assert isinstance(grad_model.input, list) and isinstance(grad_model.input[0], list)
    assert grad_model.input[0][0] is model.inputs[0]
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    for data in (x, [x], [[x]]):
        conv_out, preds = grad_model(data)
        assert conv_out.shape == (2, 6, 6, 4)
        np.testing.assert_allclose(preds.numpy(), expected, rtol=1e-6)
        conv_np, preds_np = grad_model.predict(data, verbose=0)
        assert conv_np.shape == (2, 6, 6, 4)
        np.testing.assert_allclose(preds_np, expected, rtol=1e-6)
    with tf.GradientTape() as tape:
        conv_out, preds = grad_model(x)
        class_channel = preds[:, tf.argmax(preds[0])]
    grads = tape.gradient(class_channel, conv_out)
    assert grads is not None and grads.shape == (2, 6, 6, 4)
    heatmap = tf.squeeze(conv_out[0] @ tf.reduce_mean(grads, axis=(0, 1, 2))[..., tf.newaxis])
    assert heatmap.shape == (6, 6)


def test_two_nested_inputs():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
    model = keras.Model([[a, b]], out)
    assert model.input == [[a, b]]
    xa, xb = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    flat = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(model.predict([[xa, xb]], verbose=0), flat)
    assert model([[xa, xb]]).shape == (4, 1)
