"""Segmentation masks that are not whole numbers, as keras.io's DeepLabV3+ makes them (its
masks are resized bilinearly, so a pixel between classes 1 and 2 reads 1.5): TensorFlow
casts them to integers, truncating toward zero.

Every expected value is TensorFlow 2.21's for the same program (run side by side).
"""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _masks_and_logits():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    labels = np.clip(rng.random((2, 4, 4, 1)) * 3.2, 0, 2.99).astype("float32")
    labels[0, 0, 0, 0] = -0.5  # truncates to class 0 too
    return labels, logits


def test_sparse_crossentropy_truncates_float_labels():
    labels, logits = _masks_and_logits()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    # TensorFlow 2.21
    assert float(loss(labels, logits)) == pytest.approx(1.38835, abs=1e-5)
    np.testing.assert_allclose(
        np.asarray(keras.losses.sparse_categorical_crossentropy(labels, logits,
                                                                from_logits=True))[0, 0],
        [0.18849, 1.15018, 0.52953, 3.74376], atol=1e-5)
    ignoring = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    assert float(ignoring(np.where(labels > 2.5, 2.0, labels), logits)) == \
        pytest.approx(1.30203, abs=1e-5)
    probabilities = np.array([[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(
        keras.losses.sparse_categorical_crossentropy(np.array([1.7, 2.2]), probabilities),
        [0.51083, 0.51083], atol=1e-5)
    with pytest.raises(ValueError):  # no cast reads NaN
        loss(np.full((2, 4, 4, 1), np.nan, "float32"), logits)
    with pytest.raises(ValueError):  # 3.5 reads class 3, beyond 3 classes
        loss(np.full((2, 4, 4, 1), 3.5, "float32"), logits)


def test_compiled_model_on_float_masks():
    labels, logits = _masks_and_logits()
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Activation("linear")(inputs))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", keras.metrics.SparseCategoricalAccuracy(name="sca")])
    # TensorFlow 2.21: the accuracies compare the float labels as they are
    np.testing.assert_allclose(model.evaluate(logits, labels, verbose=0), [1.38835, 0.0, 0.0],
                               atol=1e-5)


def test_accuracy_compares_in_the_predictions_dtype():
    m = keras.metrics.Accuracy()
    m.update_state(np.array([1.7, 2.2]), np.array([1, 2]))
    assert float(m.result()) == 1.0  # TensorFlow 2.21: the targets are cast to int first
    m = keras.metrics.Accuracy()
    m.update_state(np.array([1, 2]), np.array([1.0, 2.5]))
    assert float(m.result()) == 0.5


def test_class_weight_with_per_pixel_labels_is_a_type_error():
    rng = np.random.default_rng(0)
    x = rng.random((4, 4, 4, 3)).astype("float32")
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy")
    # TensorFlow 2.21 raises a TypeError too (class_weight weighs a sample by its one class)
    for y in (rng.integers(0, 3, (4, 4, 4, 1)), rng.integers(0, 3, (4, 4, 4))):
        with pytest.raises(TypeError, match="sample_weight of shape \\(4, 4, 4\\)"):
            model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 3.0}, epochs=1, verbose=0)
