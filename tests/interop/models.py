"""Models shared by the interop tests, built from convnp layers."""

from __future__ import annotations

import numpy as np

import convnp.layers as L
from convnp.models import Input, Model, Sequential


def randomize(model, seed: int = 0) -> None:
    """Random weights everywhere, with BatchNorm statistics far from 0/1 (variance > 0)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = [(rng.standard_normal(w.shape) * 0.4).astype(np.float32) for w in weights]
        if type(layer).__name__ == "BatchNormalization":
            new[-1] = (np.abs(new[-1]) + 0.3).astype(np.float32)
        layer.set_weights(new)


def happy_model():
    """The course's happyModel (Sequential, 64x64x3 -> 1)."""
    return Sequential([
        L.ZeroPadding2D(padding=3, input_shape=(64, 64, 3)),
        L.Conv2D(32, 7, strides=1),
        L.BatchNormalization(axis=3),
        L.ReLU(),
        L.MaxPool2D(),
        L.Flatten(),
        L.Dense(1, activation="sigmoid"),
    ])


def signs_model():
    """The course's convolutional_model((64, 64, 3)) (functional, 6 classes)."""
    inputs = Input(shape=(64, 64, 3))
    z1 = L.Conv2D(8, 4, strides=1, padding="same")(inputs)
    a1 = L.ReLU()(z1)
    p1 = L.MaxPool2D(pool_size=(8, 8), strides=8, padding="same")(a1)
    z2 = L.Conv2D(16, 2, strides=1, padding="same")(p1)
    a2 = L.ReLU()(z2)
    p2 = L.MaxPool2D(pool_size=(4, 4), strides=4, padding="same")(a2)
    outputs = L.Dense(6, activation="softmax")(L.Flatten()(p2))
    return Model(inputs=inputs, outputs=outputs)


def branchy_model():
    """Functional, with two layers of one class whose creation order differs from Keras's
    layer order (so weight-file keys must follow Keras's depth rule)."""
    inputs = Input(shape=(10, 9, 3))
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="made_first")(inputs)
    b = L.Conv2D(5, 3, strides=2, padding="same", name="b1")(inputs)
    b = L.BatchNormalization(name="bn")(b)
    b = L.ReLU(negative_slope=0.1, name="leaky")(b)
    b = L.ZeroPadding2D(((0, 0), (0, 1)), name="zp")(L.Conv2D(4, 1, name="b2")(b))
    a = L.ZeroPadding2D(((0, 0), (0, 1)), name="zpa")(L.MaxPooling2D(2, padding="same")(a))
    s = L.Concatenate(name="cat")([a, b])
    g = L.GlobalAveragePooling2D()(s)
    f = L.Flatten()(L.AveragePooling2D(2, padding="same")(s))
    h = L.Dropout(0.3)(L.Concatenate()([g, f]))
    out = L.Dense(5, activation="softmax")(L.Dense(7, activation="tanh")(h))
    model = Model(inputs, out, name="branchy")
    randomize(model)
    return model
