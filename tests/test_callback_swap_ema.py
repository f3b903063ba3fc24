"""keras.callbacks.SwapEMAWeights: validation, evaluate and predict with the moving averages of
the weights, as Keras 3.15 (validation losses of make_optimizer_family.py's fit runs), the
weights swapped back afterwards, ``swap_on_epoch`` for ModelCheckpoint, and its errors."""

import numpy as np
import pytest

import convnp as tf
from tests.optimizer_family import Z
from tests.test_optimizer_ema import check_fit, fit_model

O = tf.keras.optimizers
CB = tf.keras.callbacks

FIT = {
    "adam_ema_swap": lambda: O.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.7),
    "sgd_ema_overwrite_swap": lambda: O.SGD(learning_rate=0.1, momentum=0.5, use_ema=True,
                                            ema_momentum=0.6, ema_overwrite_frequency=4),
}


@pytest.mark.parametrize("case", sorted(FIT))
def test_validation_uses_the_averages_as_keras(case):
    model, history = fit_model(FIT[case], [CB.SwapEMAWeights()])
    check_fit(case, model, history)
    # the same run without the callback: the same weights, other validation losses
    unswapped = case.replace("_swap", "")
    if f"fit/{unswapped}/val_loss" in Z:
        assert not np.allclose(history.history["val_loss"], Z[f"fit/{unswapped}/val_loss"])


def _trained(swap=None):
    rng = np.random.default_rng(4)
    x, y = rng.random((12, 3)).astype("f4"), rng.random((12, 1)).astype("f4")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=O.SGD(0.5, use_ema=True, ema_momentum=0.5), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[swap] if swap is not None else None)
    return model, x, y


def test_evaluate_and_predict_swap_and_swap_back():
    swap = CB.SwapEMAWeights()
    model, x, y = _trained(swap)
    # move the weights away from their averages (fit ended with them equal)
    model.train_on_batch(x, y)
    weights = model.get_weights()
    averages = [model.optimizer.get_state()[f"average/{i}"] for i in range(2)]
    assert not np.allclose(weights[0], averages[0])
    with_averages = model.predict(x, verbose=0)
    model.set_weights(averages)
    expected = model.predict(x, verbose=0)
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(x, verbose=0, callbacks=[swap]), expected,
                               rtol=1e-6)
    assert not np.allclose(with_averages, expected)
    for a, b in zip(model.get_weights(), weights):  # back (Keras 3.15 leaves them swapped)
        np.testing.assert_array_equal(a, b)
    loss = model.evaluate(x, y, verbose=0, callbacks=[swap])
    model.set_weights(averages)
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    model.set_weights(weights)
    for i, average in enumerate(averages):  # the averages are untouched by the swaps
        np.testing.assert_array_equal(model.optimizer.get_state()[f"average/{i}"], average)


def test_swap_on_epoch_lets_checkpoints_save_the_averages(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(5)
    x, y = rng.random((12, 3)).astype("f4"), rng.random((12, 1)).astype("f4")
    seen = []

    class Record(CB.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.get_weights(),
                         [self.model.optimizer.get_state()[f"average/{i}"] for i in range(2)]))

        def on_epoch_begin(self, epoch, logs=None):
            seen.append((self.model.get_weights(), None))

    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=O.Adam(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    model.fit(x, y, batch_size=4, epochs=3, verbose=0,
              callbacks=[CB.SwapEMAWeights(swap_on_epoch=True), Record()])
    # at each epoch's end the model holds the averages and the averages the raw weights;
    # the next epoch starts from the raw weights again
    for epoch in range(2):
        end_weights, end_averages = seen[2 * epoch + 1]
        start_next, _ = seen[2 * epoch + 2]
        assert not np.allclose(end_weights[0], end_averages[0])
        for a, s in zip(end_averages, start_next):
            np.testing.assert_array_equal(a, s)
    # after the last epoch the averages stay in the model, and fit's
    # finalize_variable_values leaves them there
    final_weights, final_averages = seen[-1]
    for w, f, a in zip(model.get_weights(), final_weights, final_averages):
        np.testing.assert_array_equal(w, f)
        np.testing.assert_array_equal(a, f)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(model.optimizer.get_state()[f"average/{i}"], w)


def test_needs_an_optimizer_with_ema():
    rng = np.random.default_rng(6)
    x, y = rng.random((4, 3)).astype("f4"), rng.random((4, 1)).astype("f4")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(x, y, verbose=0, validation_data=(x, y),
                  callbacks=[CB.SwapEMAWeights()])
    with pytest.raises(TypeError, match="swap_on_epoch"):
        CB.SwapEMAWeights(swap_on_epoch="yes")
    assert "SwapEMAWeights" in CB.__all__
