"""Week 2: the course's ResNet-50, written as its notebook writes it, checked as its grader does.

The grader calls ``identity_block`` eagerly on a NumPy batch (with a constant initializer) and
compares a summary of the result; it lists the model's layers with ``output_shape`` and
parameter counts and compares them row by row with the instructor's list. The rows here come
from real Keras building the same code (``tests/fixtures/make_course_resnet.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from tests.course.grader import describe
from tests.course.resnet_course import ResNet50, convolutional_block, identity_block

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "course_resnet_rows.npz"
constant = tf.keras.initializers.constant


def grader_batch():
    return np.concatenate([np.full((1, 4, 4, 3), v) for v in (-1.0, 1.0, 3.0)]).astype(np.float32)


def corners(result):
    # first and last image rows, channels averaged: what the grader compares, read the way it
    # reads them (an eager result's .numpy())
    return result.numpy()[:, (0, -1), :, :].mean(axis=3)


def test_identity_block_eager_inference_values():
    A3 = identity_block(grader_batch(), f=2, filters=[4, 4, 3],
                        initializer=lambda seed=0: constant(value=1), training=False)
    assert isinstance(A3, tf.Tensor) and type(A3.numpy()) is np.ndarray
    assert tuple(A3.shape) == (3, 4, 4, 3)
    assert np.all(A3.numpy() >= 0)
    expected = [[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                [[192.71236, 192.71236, 192.71236, 96.85619],
                 [96.85619, 96.85619, 96.85619, 48.9281]],
                [[578.1371, 578.1371, 578.1371, 290.56854],
                 [290.56854, 290.56854, 290.56854, 146.78427]]]
    np.testing.assert_allclose(corners(A3), expected, atol=1e-4)


def test_identity_block_eager_training_values():
    A4 = identity_block(grader_batch(), f=3, filters=[3, 3, 3],
                        initializer=lambda seed=7: constant(value=1), training=True)
    expected = [[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                [[0.37394285] * 4, [0.37394285] * 4],
                [[3.2379014, 4.1394243, 4.1394243, 3.2379014],
                 [3.2379014, 4.1394243, 4.1394243, 3.2379014]]]
    np.testing.assert_allclose(corners(A4), expected, atol=1e-5)


def test_convolutional_block_eager_shape():
    A = convolutional_block(grader_batch(), f=2, filters=[2, 4, 6], training=False)
    assert tuple(tf.shape(A).numpy()) == (3, 2, 2, 6) and np.all(A.numpy() >= 0)


@pytest.fixture(scope="module")
def resnet():
    tf.keras.utils.set_random_seed(0)
    return ResNet50(input_shape=(64, 64, 3), classes=6)


def test_resnet50_rows_match_keras(resnet):
    z = np.load(FIXTURE, allow_pickle=False)
    rows = describe(resnet)
    assert resnet.count_params() == int(z["total"]) == 23_600_006
    assert len(rows) == len(z["classes"]) == 177
    for i, row in enumerate(rows):
        name, shape, params, *extra = row
        if name == "InputLayer":
            assert shape == [(None, 64, 64, 3)]  # Keras 2's one-item list; Keras 3 has no attribute
            shape = shape[0]
        keras_row = (z["classes"][i], z["shapes"][i], int(z["params"][i]), z["extras"][i])
        assert (name, repr(shape), params, repr(tuple(extra)) if extra else "") == keras_row, i


def test_resnet50_blocks_fix_training_mode(resnet):
    # The blocks pass training=True to their BatchNormalization calls (the notebook's default),
    # which fixes those calls in training mode, as Keras does; the stem's BN follows the model.
    fixed = [lay for lay in resnet.layers if isinstance(lay, tf.keras.layers.BatchNormalization)]
    assert getattr(fixed[0], "_fixed_training", None) is None
    assert all(lay._fixed_training is True for lay in fixed[1:])
    assert len(fixed) == 53


def small_resnet(classes=3):
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((16, 16, 3))
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = convolutional_block(x, f=3, filters=[4, 4, 16], s=1)
    x = identity_block(x, 3, [4, 4, 16])
    x = convolutional_block(x, f=3, filters=[8, 8, 32], s=2)
    x = tf.keras.layers.Flatten()(tf.keras.layers.AveragePooling2D((2, 2))(x))
    outputs = tf.keras.layers.Dense(classes, activation="softmax")(x)
    return tf.keras.Model(inputs, outputs)


def test_course_blocks_train_and_round_trip(tmp_path):
    model = small_resnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((12, 16, 16, 3), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    # predictions of fixed-training BN depend on the batch (batch statistics), as in Keras
    full = model.predict(x, batch_size=12, verbose=0)
    halves = model.predict(x, batch_size=6, verbose=0)
    assert not np.allclose(full, halves)
    path = tmp_path / "blocks.convnp"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, batch_size=12, verbose=0), full, atol=1e-5)
