"""Grad-CAM over a Sequential base inside a bigger model, as transfer-learning tutorials write
it: ``Model(model.inputs, [model.get_layer("base").output, model.output])``. In TF 2.21
(Keras 3) a Sequential's ``output`` / ``input`` are those of its first call as a layer on
symbolic tensors, so this model is connected; its own tensors stay ``outputs`` / ``inputs``.
A Functional base answers with its own tensors there (and the model is disconnected, a
ValueError in both)."""

import numpy as np
import pytest

import convnp as tf
from convnp import keras


def _model(base):
    inputs = keras.Input((8, 8, 3))
    scaled = keras.layers.Rescaling(1 / 255.0)(inputs)
    features = base(scaled)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(3, activation="softmax")(pooled)
    return keras.Model(inputs, outputs), inputs, scaled, features


def _sequential_base():
    return keras.Sequential([keras.Input((8, 8, 3)),
                             keras.layers.Conv2D(4, 3, activation="relu", name="inner_conv")],
                            name="base")


def test_sequential_output_is_its_first_symbolic_call():
    keras.utils.set_random_seed(0)
    base = _sequential_base()
    model, _, scaled, features = _model(base)
    assert base.output is features and base.input is scaled
    assert base.outputs[0] is not features  # its own tensors
    assert base.outputs[0].shape == (None, 6, 6, 4)
    # a second call does not change them (the first call's, as Keras)
    base(keras.Input((8, 8, 3)))
    assert base.output is features
    grad_model = keras.Model(model.inputs, [model.get_layer("base").output, model.output])
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    with tf.GradientTape() as tape:
        conv_out, preds = grad_model(x)
        class_channel = preds[:, 1]
    grads = tape.gradient(class_channel, conv_out)
    assert conv_out.shape == (2, 6, 6, 4) and grads.shape == (2, 6, 6, 4)
    np.testing.assert_allclose(conv_out.numpy(), base(x / 255.0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(preds.numpy(), model.predict(x, verbose=0), rtol=1e-5)
    # the gradient through GAP + Dense: W[:, 1] spread over the 36 positions, times the
    # softmax's derivative for class 1
    p = preds.numpy()
    kernel = model.layers[-1].kernel.numpy()
    d_logits = p[:, 1:2] * (np.eye(3)[1] - p)  # d p_1 / d logits
    expected = (d_logits @ kernel.T)[:, None, None, :] / 36.0
    np.testing.assert_allclose(grads.numpy(), np.broadcast_to(expected, grads.shape),
                               rtol=1e-4, atol=1e-7)


def test_functional_base_keeps_its_own_output():
    inner_inputs = keras.Input((8, 8, 3))
    base = keras.Model(inner_inputs, keras.layers.Conv2D(4, 3, name="inner_conv")(inner_inputs),
                       name="base")
    model, _, _, features = _model(base)
    assert base.output is not features and base.input is inner_inputs
    with pytest.raises(ValueError):
        keras.Model(model.inputs, [model.get_layer("base").output, model.output])


def test_uncalled_sequential_keeps_its_own_tensors():
    # Keras 3 raises AttributeError here; convnp answers as Keras 2 did (kept on purpose)
    seq = _sequential_base()
    assert seq.output is seq.outputs[0] and seq.input is seq.inputs[0]
    seq(np.zeros((1, 8, 8, 3), "float32"))  # an eager call makes no symbolic call
    assert seq.output is seq.outputs[0]
