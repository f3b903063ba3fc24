"""One peer measurement with Keras-style code: ``python worker_keras.py BACKEND MODEL EPOCHS``.

BACKEND is ``convnp`` or ``tensorflow``: the very same model code runs under
``import convnp as tf`` and under real TensorFlow, which is the point of convnp. This file is
run as a standalone script (a TensorFlow venv need not have convnp installed), so it imports
nothing from convnp unless BACKEND is convnp. Prints one JSON object.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time

import numpy as np

# model -> (images, classes, batch size), the sizes of the course's training sets
SIZES = {"happy": (600, 2, 16), "signs": (1080, 6, 64)}


def synthetic_data(model: str, seed: int = 0):
    """Random images and labels of the course's shapes (same bytes for every peer)."""
    n, classes, _ = SIZES[model]
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64, 64, 3), dtype=np.float32)
    labels = rng.integers(0, classes, n)
    if classes == 2:
        y = labels.astype(np.float32).reshape(n, 1)
    else:
        y = np.eye(classes, dtype=np.float32)[labels]
    return x, y


def build(tf, model: str):
    tfl = tf.keras.layers
    if model == "happy":
        net = tf.keras.Sequential([
            tfl.Input(shape=(64, 64, 3)),
            tfl.ZeroPadding2D(padding=3),
            tfl.Conv2D(filters=32, kernel_size=7, strides=1),
            tfl.BatchNormalization(axis=3),
            tfl.ReLU(),
            tfl.MaxPool2D(),
            tfl.Flatten(),
            tfl.Dense(units=1, activation="sigmoid"),
        ])
        net.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return net
    inputs = tf.keras.Input(shape=(64, 64, 3))
    z = tfl.Conv2D(filters=8, kernel_size=4, strides=1, padding="same")(inputs)
    z = tfl.MaxPool2D(pool_size=(8, 8), strides=8, padding="same")(tfl.ReLU()(z))
    z = tfl.Conv2D(filters=16, kernel_size=2, strides=1, padding="same")(z)
    z = tfl.MaxPool2D(pool_size=(4, 4), strides=4, padding="same")(tfl.ReLU()(z))
    outputs = tfl.Dense(units=6, activation="softmax")(tfl.Flatten()(z))
    net = tf.keras.Model(inputs=inputs, outputs=outputs)
    net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return net


def epoch_timer(tf, epoch_times: list[float]) -> type:
    """A Keras callback class of ``tf`` appending each epoch's wall time to ``epoch_times``."""

    class EpochTimer(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_times.append(time.perf_counter() - self.t0)

    return EpochTimer


def measure(backend: str, model: str, epochs: int) -> dict:
    start = time.perf_counter()
    tf = importlib.import_module("convnp" if backend == "convnp" else "tensorflow")
    import_seconds = time.perf_counter() - start
    tf.keras.utils.set_random_seed(0)
    x, y = synthetic_data(model)
    _, _, batch_size = SIZES[model]
    net = build(tf, model)

    epoch_times: list[float] = []
    EpochTimer = epoch_timer(tf, epoch_times)

    # One extra epoch: the first one pays for warm-up (and graph tracing in TensorFlow).
    net.fit(x, y, batch_size=batch_size, epochs=epochs + 1, verbose=0,
            callbacks=[EpochTimer()])
    # The peak-RSS run (epochs == 0: one training epoch) measures training alone.
    predict_times = []
    for _ in range(3 if epochs else 0):
        t0 = time.perf_counter()
        net.predict(x, batch_size=32, verbose=0)
        predict_times.append(time.perf_counter() - t0)
    return record(backend, model, getattr(tf, "__version__", "?"), epoch_times, predict_times,
                  import_seconds)


def record(framework: str, model: str, version: str, epoch_times: list[float],
           predict_times: list[float], import_seconds: float) -> dict:
    """One worker's JSON result (every peer's worker prints the same fields): the first
    epoch is the warm-up, left out of the median; peak RSS is this process's so far."""
    n, _, batch_size = SIZES[model]
    timed = epoch_times[1:]
    return {
        "framework": framework, "model": model, "images": n, "batch_size": batch_size,
        "version": version, "epoch_seconds": timed, "first_epoch_seconds": epoch_times[0],
        "epoch_median_s": float(np.median(timed)) if timed else None,
        "predict_median_s": float(np.median(predict_times)) if predict_times else None,
        "import_in_worker_s": import_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    backend, model, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(measure(backend, model, epochs)))
