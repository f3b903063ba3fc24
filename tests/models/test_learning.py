"""The course models learn on the course test files (slow: run with ``-m slow``).

Only the two course *test* files are available (150 Happy House and 120 SIGNS images), so each
is split in order: the first part trains, the rest is held out. Numbers are means over three
seeds so one unlucky initialisation does not decide the test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import convnp as tf
from convnp.zoo import happy_model as happyModel
from convnp.zoo import signs_model as convolutional_model

tfl = tf.keras.layers
SEEDS = (0, 1, 2)


def _load(path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "r") as f:
        x = np.asarray(f["test_set_x"][:])
        labels = np.asarray(f["test_set_y"][:]).astype(np.int64)
    return (x / 255.0).astype(np.float32), labels


@pytest.mark.slow
def test_happy_model_learns(happy_h5):
    x, labels = _load(happy_h5)
    y = labels.reshape(-1, 1).astype(np.float32)
    n_train = len(x) * 2 // 3
    train_acc, held_acc, epoch_times = [], [], []
    for seed in SEEDS:
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(seed)
        model = happyModel()
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(x[:n_train], y[:n_train], epochs=10, batch_size=16, verbose=0)
        epoch_times.append((time.perf_counter() - start) / 10)
        train_acc.append(history.history["accuracy"][-1])
        held_acc.append(model.evaluate(x[n_train:], y[n_train:], verbose=0)[1])
    print(f"happy: train acc {np.round(train_acc, 3)}, held-out acc {np.round(held_acc, 3)}, "
          f"{np.mean(epoch_times):.2f} s/epoch for {n_train} images")
    assert np.mean(train_acc) >= 0.85
    assert np.mean(held_acc) >= 0.6


@pytest.mark.slow
def test_signs_model_learns_from_a_dataset(signs_h5):
    x, labels = _load(signs_h5)
    y = np.eye(6, dtype=np.float32)[labels]
    n_train = 80
    final_losses, val_acc, epoch_times = [], [], []
    for seed in SEEDS:
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(seed)
        train_dataset = tf.data.Dataset.from_tensor_slices((x[:n_train], y[:n_train])).batch(64)
        test_dataset = tf.data.Dataset.from_tensor_slices((x[n_train:], y[n_train:])).batch(64)
        model = convolutional_model((64, 64, 3))
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(train_dataset, epochs=100, validation_data=test_dataset, verbose=0)
        epoch_times.append((time.perf_counter() - start) / 100)
        final_losses.append(history.history["loss"][-1])
        val_acc.append(history.history["val_accuracy"][-1])
        assert history.history["loss"][-1] < history.history["loss"][0]
    print(f"signs: final train loss {np.round(final_losses, 3)}, held-out acc "
          f"{np.round(val_acc, 3)}, {np.mean(epoch_times) * 1000:.0f} ms/epoch")
    assert np.mean(final_losses) <= 1.65
