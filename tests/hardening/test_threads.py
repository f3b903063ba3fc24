"""predict from another thread while fit runs on the same model (issue 16, defect 4).

Training steps and inference passes are serialized by a per-model lock: predict sees the
weights between two steps, never a half-done step (whose output layer runs with its
activation bypassed), and fit never sees predict's caches.
"""

from __future__ import annotations

import threading

import numpy as np

import convnp.layers as L
from convnp.models import Sequential


def test_predict_while_fit_runs_in_another_thread():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 1)).astype("f4")
    y = rng.integers(0, 6, 64)
    model = Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
                        L.BatchNormalization(), L.Flatten(), L.Dense(6, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    errors: list[BaseException] = []

    def train():
        try:
            model.fit(x, y, epochs=5, batch_size=4, verbose=0)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=train)
    thread.start()
    sums = []
    while thread.is_alive():
        sums.append(model.predict(x[:8], batch_size=4, verbose=0).sum(axis=1))
        sums.append(model.predict_on_batch(x[:3]).sum(axis=1))
        sums.append(np.asarray(model(x[:2])).sum(axis=1))
    thread.join()
    assert not errors, errors
    assert len(sums) > 3
    np.testing.assert_allclose(np.concatenate(sums), 1.0, rtol=1e-4)


def test_overlapping_parallel_regions_restore_blas_once():
    # two threads that both saw BLAS at 4 threads and both limit it: whichever ends last,
    # BLAS must end at 4, never stuck at 1
    from convnp.ops import threads as _threads

    class FakeBlas:
        def __init__(self):
            self.num_threads = 4

    class FakeLimiter:
        def __init__(self, lib):
            self.lib, self.saved = lib, lib.num_threads
            lib.num_threads = 1

        def restore_original_limits(self):
            self.lib.num_threads = self.saved

    class FakeController:
        def __init__(self):
            self.lib = FakeBlas()
            self.lib_controllers = [self.lib]

        def limit(self, limits):
            assert limits == 1
            return FakeLimiter(self.lib)

    controller = FakeController()
    _threads._hold_blas(controller)   # thread A
    _threads._hold_blas(controller)   # thread B, before A ends
    _threads._release_blas()          # A ends
    assert controller.lib.num_threads == 1  # B still runs with BLAS held
    _threads._release_blas()          # B ends
    assert controller.lib.num_threads == 4
