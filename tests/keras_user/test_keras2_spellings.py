"""Keras 2 spellings later tutorials still use: ``decay=`` on every optimizer, the
``optimizers.legacy`` / ``optimizers.experimental`` submodules, and ``convnp.keras`` paths
importable as ``keras``'s are (``from convnp.keras.applications.mobilenet_v2 import ...``)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import convnp as tf
from convnp import optimizers
from convnp.variables import Variable


def _steps(opt, n=4, seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(3, 2)).astype(np.float32)
    grads = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(n)]
    var = Variable(w0.copy(), name="w")
    for g in grads:
        opt.apply_gradients([(g, var)])
    return w0, grads, var.value


def test_sgd_decay_divides_each_update_by_one_plus_decay_times_iterations():
    lr, decay, momentum = 0.1, 0.5, 0.9
    w0, grads, got = _steps(tf.keras.optimizers.SGD(lr=lr, decay=decay, momentum=momentum,
                                                    nesterov=True))
    w, m = w0.astype(np.float64), np.zeros_like(w0, dtype=np.float64)
    for t, g in enumerate(grads):  # Keras 2: the rate of update t is lr / (1 + decay * t)
        rate = lr / (1 + decay * t)
        m = momentum * m - rate * g
        w = w + momentum * m - rate * g
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adam_decay_and_what_callbacks_read():
    lr, decay = 0.01, 0.25
    opt = tf.keras.optimizers.Adam(learning_rate=lr, decay=decay)
    w0, grads, got = _steps(opt)
    w = w0.astype(np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        alpha = lr / (1 + decay * t) * np.sqrt(1 - 0.999 ** (t + 1)) / (1 - 0.9 ** (t + 1))
        w = w - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    # learning_rate stays the base rate, as Keras 2's `lr`: what ReduceLROnPlateau reads and sets
    assert float(opt.learning_rate) == pytest.approx(lr)
    opt.learning_rate = 0.001
    assert float(opt.learning_rate) == pytest.approx(0.001)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert again.decay == decay and float(again.learning_rate) == pytest.approx(0.001)


def test_decay_zero_keeps_the_keras3_config_and_bad_decay_is_refused():
    assert "decay" not in tf.keras.optimizers.Adam().get_config()
    with pytest.raises(ValueError, match="decay"):
        tf.keras.optimizers.SGD(decay=-1.0)


def _fitted_weights(opt, n=32, features=4, seed=1):
    """The weights of a Dense(1) after 2 epochs of fit with ``opt`` (batches of 8, in order)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = rng.normal(size=(n, 1)).astype(np.float32)
    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential([tf.keras.Input((features,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model.get_weights()


def test_decay_in_fit_matches_keras2_rule():
    with_decay = _fitted_weights(tf.keras.optimizers.SGD(lr=0.1, decay=1.0))
    without = _fitted_weights(tf.keras.optimizers.SGD(lr=0.1))
    assert not np.allclose(with_decay[0], without[0])  # the decay did act in fit


def test_legacy_and_experimental_optimizer_modules():
    from convnp.keras.optimizers.experimental import AdamW
    from convnp.keras.optimizers.legacy import Adam, RMSprop
    from convnp.keras.optimizers.schedules import ExponentialDecay

    assert Adam is tf.keras.optimizers.Adam is tf.keras.optimizers.legacy.Adam
    assert RMSprop is tf.keras.optimizers.RMSprop
    assert AdamW is tf.keras.optimizers.experimental.AdamW is tf.keras.optimizers.AdamW
    assert ExponentialDecay is tf.keras.optimizers.schedules.ExponentialDecay
    assert Adam(lr=0.5, decay=0.1).decay == 0.1


@pytest.mark.parametrize("family", ["mobilenet_v2", "resnet50", "vgg16", "imagenet_utils",
                                    "efficientnet", "inception_v3"])
def test_applications_submodules_are_importable_by_path(family):
    by_path = importlib.import_module(f"convnp.keras.applications.{family}")
    assert by_path is importlib.import_module(f"convnp.applications.{family}")
    assert by_path is getattr(tf.keras.applications, family)
    assert hasattr(by_path, "preprocess_input") or hasattr(by_path, "decode_predictions")


def test_decoding_bytes_that_are_no_image_is_a_value_error():
    pytest.importorskip("PIL")
    with pytest.raises(ValueError, match="decode_png: expected the bytes of a PNG"):
        tf.io.decode_png(b"not an image")
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    data = tf.io.encode_png(image)
    np.testing.assert_array_equal(tf.io.decode_png(data).numpy(), image)
    with pytest.raises(tf.errors.InvalidArgumentError, match="decode_jpeg"):
        tf.io.decode_jpeg(bytes(data)[:20])


@pytest.mark.parametrize("method", ["apply_gradients", "apply"])
def test_fit_goes_through_an_overridden_optimizer_method(method):
    """keras.io's Gradient Centralization subclasses an optimizer and changes the gradients
    in apply_gradients (Keras 3: or apply); fit must use it (before: fit bypassed both)."""
    calls = []

    class Doubled(tf.keras.optimizers.SGD):
        def apply_gradients(self, grads_and_vars):
            calls.append("apply_gradients")
            return super().apply_gradients([(2 * g, v) for g, v in grads_and_vars])

    class DoubledApply(tf.keras.optimizers.SGD):
        def apply(self, grads, trainable_variables=None):
            calls.append("apply")
            return super().apply([2 * g for g in grads], trainable_variables)

    custom = Doubled(0.05) if method == "apply_gradients" else DoubledApply(0.05)
    got = _fitted_weights(custom, n=16, features=3, seed=5)
    assert calls == [method] * 4  # 2 epochs of 2 batches
    for a, b in zip(got, _fitted_weights(tf.keras.optimizers.SGD(0.1), n=16, features=3,
                                         seed=5)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
