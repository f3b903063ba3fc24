"""SparseCategoricalCrossentropy(ignore_class=...): a segmentation mask's void pixels (255 here)
add nothing to the loss or its gradient, and the mean is over the other pixels, as in Keras 3.
KERAS is what ``run(tf, keras)`` below, unchanged, gives under TensorFlow 2.21 / Keras 3.15.1
(``import tensorflow as tf, keras``; TF_ENABLE_ONEDNN_OPTS=0)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp

KERAS = {"fit": [1.1020270586013794, 1.0952067375183105], "evaluate": 1.0830360651016235,
         "weighted": 1.3724507093429565,
         "none": [0.0, 0.0, 1.139919400215149, 1.0760235786437988, 1.0721395015716553, 0.0,
                  0.0, 1.119385004043579],
         "logits": 1.0830360651016235}
KERAS["function"] = KERAS["none"]



def run(tf, keras):
    rng = np.random.default_rng(0)
    x = rng.random((6, 5, 5, 2), dtype=np.float32)
    y = rng.integers(0, 3, (6, 5, 5, 1)).astype("int32")
    y[:, :2, :2] = 255  # void pixels
    inputs = keras.Input((5, 5, 2))
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.set_weights([np.linspace(-0.5, 0.5, 54, dtype=np.float32).reshape(3, 3, 2, 3),
                       np.array([0.1, 0.0, -0.1], np.float32)])
    loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=255)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
    history = model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    p = model.predict(x, verbose=0)
    out = {"fit": history.history["loss"], "evaluate": model.evaluate(x, y, verbose=0),
           "weighted": float(loss(y, p, sample_weight=np.linspace(0.5, 2.0, 150, dtype=np.float32).reshape(6, 5, 5))),
           "none": np.asarray(keras.losses.SparseCategoricalCrossentropy(
               ignore_class=255, reduction="none")(y[:1], p[:1])).ravel()[:8].tolist(),
           "function": np.asarray(keras.losses.sparse_categorical_crossentropy(
               y[:1], p[:1], ignore_class=255)).ravel()[:8].tolist(),
           "logits": float(keras.losses.SparseCategoricalCrossentropy(
               from_logits=True, ignore_class=255)(y, np.log(p)))}
    return out


def test_ignore_class_matches_keras():
    got = run(convnp, convnp.keras)
    for key, expected in KERAS.items():
        np.testing.assert_allclose(got[key], expected, rtol=2e-6, atol=1e-7, err_msg=key)


def test_ignore_class_checks_and_config():
    loss = convnp.keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    assert loss.get_config()["ignore_class"] == -1
    again = convnp.keras.losses.SparseCategoricalCrossentropy.from_config(loss.get_config())
    assert again.ignore_class == -1
    p = np.full((2, 3), 1 / 3, np.float32)
    assert float(loss(np.array([-1, -1]), p)) == 0.0  # every target ignored: zero, no NaN
    with pytest.raises(TypeError, match="ignore_class"):
        convnp.keras.losses.SparseCategoricalCrossentropy(ignore_class=1.5)
    with pytest.raises(ValueError, match="labels must lie"):
        convnp.keras.losses.SparseCategoricalCrossentropy(ignore_class=255)(np.array([3]),
                                                                           p[:1])
