"""Per-pixel losses for segmentation outputs ``(N, H, W, C)`` with labels ``(N, H, W)`` or
``(N, H, W, 1)``: the value is the mean over every pixel (Keras's sum_over_batch_size divides
by the number of per-pixel terms), the gradient is that mean's, and fit/evaluate accept them."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import losses


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _numeric_grad(f, z, h=1e-6):
    g = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        old = z[i]
        z[i] = old + h
        up = f(z)
        z[i] = old - h
        down = f(z)
        z[i] = old
        g[i] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("label_shape", ["nhw", "nhw1"])
def test_sparse_crossentropy_per_pixel_value_and_gradient(label_shape):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 3, 4, 5))
    labels = rng.integers(0, 5, size=(2, 3, 4))
    y = labels[..., None] if label_shape == "nhw1" else labels
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = -np.mean(np.take_along_axis(_log_softmax(z), labels[..., None], -1))
    assert loss(y, z) == pytest.approx(expected, rel=1e-12)
    assert loss.per_sample(y, z).shape == (2, 3, 4)
    np.testing.assert_allclose(loss.gradient(y, z), _numeric_grad(lambda a: loss(y, a), z),
                               atol=1e-8)
    # one weight per image, (2,) or (2, 1, 1), scales all its pixels (Keras 3.15 refuses
    # (2,): "Incompatible shapes: [2,3,4] vs. [2]"; tf.keras 2 spread it, as here); a (4,) one
    # weighs the last axis, broadcast as Keras does
    per_pixel = -np.take_along_axis(_log_softmax(z), labels[..., None], -1)[..., 0]
    w = np.array([1.0, 3.0])
    for per_image in (w, w.reshape(2, 1, 1)):
        assert loss(y, z, sample_weight=per_image) == pytest.approx(
            np.sum(per_pixel * w[:, None, None]) / per_pixel.size)
    with pytest.raises(ValueError, match=r"sample_weight shape \(3,\) does not match "
                                         r"the per-sample loss shape \(2, 3, 4\)"):
        loss(y, z, sample_weight=np.ones(3))
    columns = np.arange(4.0)
    assert loss(y, z, sample_weight=columns) == pytest.approx(
        np.sum(per_pixel * columns) / per_pixel.size)


def test_binary_and_categorical_crossentropy_per_pixel():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, size=(2, 3, 4, 1))
    mask = rng.integers(0, 2, size=(2, 3, 4)).astype(float)
    bce = losses.BinaryCrossentropy()
    expected = -np.mean(mask * np.log(p[..., 0]) + (1 - mask) * np.log(1 - p[..., 0]))
    assert bce(mask, p) == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(bce.gradient(mask, p), _numeric_grad(lambda a: bce(mask, a), p),
                               atol=1e-7)
    z = rng.normal(size=(2, 3, 4, 3))
    onehot = np.eye(3)[rng.integers(0, 3, size=(2, 3, 4))]
    cce = losses.CategoricalCrossentropy(from_logits=True)
    assert cce(onehot, z) == pytest.approx(-np.mean(np.sum(onehot * _log_softmax(z), -1)))


def test_segmentation_model_trains_per_pixel_with_mean_iou():
    tf.keras.backend.clear_session()  # metric names as in a fresh session (Keras numbers them)
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6, 6, 2)).astype("float32")
    labels = (x[..., 0] > 0).astype("int64") + (x[..., 1] > 1).astype("int64")
    inputs = tf.keras.Input((6, 6, 2))
    h = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    outputs = tf.keras.layers.Conv2D(3, 1)(h)
    model = tf.keras.Model(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(0.02),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", tf.keras.metrics.MeanIoU(3, sparse_y_pred=False)])
    history = model.fit(x, labels[..., None], epochs=15, batch_size=4, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "mean_io_u"}
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["mean_io_u"][-1] > history.history["mean_io_u"][0]
    _, acc, iou = model.evaluate(x, labels, verbose=0)
    pred = np.argmax(model.predict(x, verbose=0), -1)
    assert acc == pytest.approx(np.mean(pred == labels), abs=1e-6)
    m = tf.keras.metrics.MeanIoU(3)
    m.update_state(labels, pred)
    assert iou == pytest.approx(m.result(), abs=1e-6)
