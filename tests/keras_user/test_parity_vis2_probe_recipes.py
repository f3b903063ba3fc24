"""convnp's own pictures (`convnp.plot.probe`) against the tutorials' recipes written in
tensor ops: Grad-CAM as keras.io computes it (gradient model, ``reduce_mean`` over the batch
and positions, ``conv_output @ pooled[..., newaxis]``, ReLU, ``tf.image.resize`` to the image),
saliency as ``reduce_max(abs(gradient), axis=-1)`` of the logit, and feature maps from a
multi-output model. The recipes' values were checked against TF 2.21 with the same weights
(they agree to 1e-7); the helpers must give the same numbers."""

import numpy as np

import convnp as tf
from convnp import keras
from convnp.plot import probe


def _residual_net():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inputs)
    y = keras.layers.Conv2D(4, 3, padding="same", name="c2")(x)
    y = keras.layers.BatchNormalization(name="bn")(y)
    x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    x = keras.layers.Conv2D(5, 3, activation="relu", name="c3")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="pred")(x))


def _gradcam_recipe(model, images):
    model.layers[-1].activation = None  # keras.io: work on the logits
    try:
        grad_model = keras.Model(model.inputs, [model.get_layer("c3").output, model.output])
        maps = []
        for image in images:
            with tf.GradientTape() as tape:
                conv_out, preds = grad_model(image[None])
                class_channel = preds[:, tf.argmax(preds[0])]
            grads = tape.gradient(class_channel, conv_out)
            pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
            heatmap = tf.maximum(tf.squeeze(conv_out[0] @ pooled[..., tf.newaxis]), 0)
            maps.append(tf.image.resize(heatmap[None, ..., None], (12, 12))[0, ..., 0])
        return np.stack(maps)
    finally:
        model.layers[-1].activation = keras.activations.get("softmax")


def test_gradcam_saliency_and_maps_agree_with_the_recipes():
    model = _residual_net()
    x = np.random.default_rng(11).uniform(0, 1, (3, 12, 12, 3)).astype("float32")
    cams, _ = probe.gradcam_values(model, x, "c3")
    np.testing.assert_allclose(cams, _gradcam_recipe(model, x), rtol=1e-4, atol=1e-7)

    logits = keras.Model(model.inputs, model.get_layer("pred").output)
    model.layers[-1].activation = None
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        scores = logits(xt)
        score = tf.gather(scores, tf.argmax(scores, axis=1), batch_dims=1)
    model.layers[-1].activation = keras.activations.get("softmax")
    recipe = tf.reduce_max(tf.abs(tape.gradient(score, xt)), axis=-1).numpy()
    saliency, classes = probe.saliency_values(model, x)
    np.testing.assert_allclose(saliency, recipe, rtol=1e-4, atol=1e-7)
    assert classes.tolist() == np.argmax(model.predict(x, verbose=0), axis=1).tolist()

    names = ("c1", "c2", "c3")
    maps = keras.Model(model.inputs, [model.get_layer(n).output for n in names]).predict(
        x, verbose=0)
    for ours, theirs in zip(probe.layer_outputs(model, x, [model.get_layer(n) for n in names]),
                            maps):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
