"""Week 1's two Keras models checked the way the course's grader checks them, and the Keras 2
spellings the course's notebooks use (``output_shape``, ``Adam(lr=...)``, ``optimizer.lr``).

The models are the course's own (`convnp.app.zoo` builds them as the notes write them).
"""

from __future__ import annotations

import convnp as tf
from convnp.app.zoo import happy_model, signs_model
from tests.course.grader import compare, describe

tfl = tf.keras.layers


def test_happy_model_rows():
    compare(describe(happy_model()), [
        ["ZeroPadding2D", (None, 70, 70, 3), 0, ((3, 3), (3, 3))],
        ["Conv2D", (None, 64, 64, 32), 4736, "valid", "linear", "GlorotUniform"],
        ["BatchNormalization", (None, 64, 64, 32), 128],
        ["ReLU", (None, 64, 64, 32), 0],
        ["MaxPooling2D", (None, 32, 32, 32), 0, (2, 2), (2, 2), "valid"],
        ["Flatten", (None, 32768), 0],
        ["Dense", (None, 1), 32769, "sigmoid"],
    ])


def test_convolutional_model_rows():
    compare(describe(signs_model((64, 64, 3))), [
        ["InputLayer", [(None, 64, 64, 3)], 0],
        ["Conv2D", (None, 64, 64, 8), 392, "same", "linear", "GlorotUniform"],
        ["ReLU", (None, 64, 64, 8), 0],
        ["MaxPooling2D", (None, 8, 8, 8), 0, (8, 8), (8, 8), "same"],
        ["Conv2D", (None, 8, 8, 16), 528, "same", "linear", "GlorotUniform"],
        ["ReLU", (None, 8, 8, 16), 0],
        ["MaxPooling2D", (None, 2, 2, 16), 0, (4, 4), (4, 4), "same"],
        ["Flatten", (None, 64), 0],
        ["Dense", (None, 6), 390, "softmax"],
    ])


def test_input_layer_shapes_are_keras2_lists():
    inputs = tf.keras.Input(shape=(64, 64, 3))
    layer = inputs.layer
    assert layer.output_shape == [(None, 64, 64, 3)]
    assert layer.input_shape == [(None, 64, 64, 3)]
    model = tf.keras.Model(inputs, tfl.Flatten()(inputs))
    assert model.input_shape == (None, 64, 64, 3)  # the model's own stays a tuple, as in Keras
    assert model.layers[1].input_shape == (None, 64, 64, 3)


def test_optimizer_lr_spellings():
    opt = tf.keras.optimizers.Adam(lr=0.01)
    assert opt.learning_rate == 0.01 and opt.lr == 0.01
    opt.lr = 0.002
    assert opt.learning_rate == 0.002
    assert tf.keras.optimizers.SGD(lr=0.5).learning_rate == 0.5
    assert tf.keras.optimizers.RMSprop(lr=0.25).get_config()["learning_rate"] == 0.25
