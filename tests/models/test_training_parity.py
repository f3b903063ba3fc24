"""fit / evaluate / predict reproduce Keras 3 (TensorFlow backend) on the course models.

``tests/fixtures/keras_parity.npz`` holds a TensorFlow run (see make_keras_parity.py): initial
weights, two epochs of ``fit(x, y, epochs=2, batch_size=16, shuffle=False)`` on 32 course
images, the per-batch logs, the final weights, predictions and ``evaluate``. Starting from the
same weights, convnp must land on the same numbers. Tolerances follow KERAS_SEMANTICS.md §11
(how far float32 summation order alone moves them): the signs model matches to ~1e-6; the
happy model's conv bias feeds BatchNormalization, so its gradient is pure rounding noise that
Adam turns into ±lr steps, and its post-training values are compared loosely.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.zoo import happy_model, signs_model

tfl = tf.keras.layers
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_parity.npz"


class BatchLog(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.loss, self.accuracy = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.loss.append(logs["loss"])
        self.accuracy.append(logs["accuracy"])


@pytest.fixture(scope="module")
def keras_run():
    if not FIXTURE.is_file():
        pytest.skip(f"{FIXTURE} is absent")
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


# (tag, builder, loss, rtol for history/eval/predictions after training, weights rtol)
CASES = [
    ("happy", happy_model, "binary_crossentropy", 2e-3, 2e-2),
    ("signs", signs_model, "categorical_crossentropy", 1e-5, 1e-4),
]


@pytest.mark.parametrize("tag, build, loss, rtol, w_rtol", CASES)
def test_fit_matches_keras(keras_run, tag, build, loss, rtol, w_rtol):
    k = keras_run
    tf.keras.backend.clear_session()
    model = build()
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    n = int(k[f"{tag}/n_weights"])
    model.set_weights([k[f"{tag}/w_init/{i}"] for i in range(n)])
    assert model.count_params() == int(k[f"{tag}/trainable_count"]) + int(
        k[f"{tag}/non_trainable_count"])
    x = k[f"{tag}/x_uint8"].astype(np.float32) / np.float32(255.0)
    y = k[f"{tag}/y"]

    np.testing.assert_allclose(model.predict(x, batch_size=32, verbose=0),
                               k[f"{tag}/pred_init"], rtol=1e-5, atol=1e-6)

    log = BatchLog()
    history = model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0, callbacks=[log])
    # the first batch loss comes before any update: it must match tightly
    assert log.loss[0] == pytest.approx(k[f"{tag}/batch_logs/loss"][0], rel=1e-5)
    np.testing.assert_allclose(log.loss, k[f"{tag}/batch_logs/loss"], rtol=rtol)
    np.testing.assert_allclose(log.accuracy, k[f"{tag}/batch_logs/accuracy"])
    np.testing.assert_allclose(history.history["loss"], k[f"{tag}/history/loss"], rtol=rtol)
    np.testing.assert_allclose(history.history["accuracy"], k[f"{tag}/history/accuracy"])

    names = [str(s) for s in k[f"{tag}/w_names"]]
    for i, (name, w) in enumerate(zip(names, model.get_weights())):
        expected = k[f"{tag}/w_final/{i}"]
        if tag == "happy" and name.endswith("conv2d/bias"):
            # noise-driven (see module docstring): only its size is meaningful
            assert np.abs(w).max() <= 4 * 0.001 + 1e-6
            continue
        scale = np.abs(expected).max()
        np.testing.assert_allclose(w, expected, rtol=w_rtol, atol=w_rtol * scale, err_msg=name)

    np.testing.assert_allclose(model.predict(x, batch_size=32, verbose=0),
                               k[f"{tag}/pred_final"], rtol=rtol, atol=rtol * 1e-1)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=32, verbose=0), k[f"{tag}/eval"],
                               rtol=rtol)
