"""keras.ops.image.extract_patches (keras.io's MLP-Mixer / ViT ``Patches`` layers): values,
gradient, a KerasTensor call in a model and its Keras 3 file entry.

Expected values printed by Keras 3.15.1 on TensorFlow 2.21 for ``x = arange(40).reshape(1, 4,
5, 2)`` (Keras computes the patches as a convolution with an identity kernel)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

ops = tf.keras.ops
X = np.arange(40, dtype="float32").reshape(1, 4, 5, 2)

SIZE_2 = [[[[0, 1, 2, 3, 10, 11, 12, 13], [4, 5, 6, 7, 14, 15, 16, 17]],
           [[20, 21, 22, 23, 30, 31, 32, 33], [24, 25, 26, 27, 34, 35, 36, 37]]]]
SAME_3x2_STRIDES_2x3 = [[[[0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23],
                          [6, 7, 8, 9, 16, 17, 18, 19, 26, 27, 28, 29]],
                         [[20, 21, 22, 23, 30, 31, 32, 33, 0, 0, 0, 0],
                          [26, 27, 28, 29, 36, 37, 38, 39, 0, 0, 0, 0]]]]
ONE_IMAGE_DILATED = [[[0, 1, 4, 5, 20, 21, 24, 25], [2, 3, 6, 7, 22, 23, 26, 27],
                      [4, 5, 8, 9, 24, 25, 28, 29]],
                     [[10, 11, 14, 15, 30, 31, 34, 35], [12, 13, 16, 17, 32, 33, 36, 37],
                      [14, 15, 18, 19, 34, 35, 38, 39]]]


def test_values_as_keras():
    assert np.asarray(ops.image.extract_patches(X, 2)).tolist() == SIZE_2
    same = ops.image.extract_patches(X, (3, 2), strides=(2, 3), padding="same")
    assert np.asarray(same).tolist() == SAME_3x2_STRIDES_2x3
    one = ops.image.extract_patches(X[0], 2, strides=1, dilation_rate=2)
    assert np.asarray(one).tolist() == ONE_IMAGE_DILATED


def test_gradient_counts_how_often_each_pixel_is_taken():
    x = tf.Variable(X)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(ops.image.extract_patches(x, 2, strides=1))
    grad = np.asarray(tape.gradient(total, x))[0, :, :, 0]
    rows = np.array([1, 2, 2, 1])[:, None]
    cols = np.array([1, 2, 2, 2, 1])[None, :]
    np.testing.assert_array_equal(grad, rows * cols)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="padding"):
        ops.image.extract_patches(X, 2, padding="full")
    with pytest.raises(ValueError, match="size"):
        ops.image.extract_patches(X, 0)
    with pytest.raises(ValueError, match="rank"):
        ops.image.extract_patches(X[0, 0], 2)


def test_on_a_keras_tensor_in_a_model_and_its_file_entry(tmp_path):
    pytest.importorskip("h5py")
    keras = tf.keras
    inp = keras.Input((4, 5, 2))
    patches = ops.image.extract_patches(inp, 2)
    assert tuple(patches.shape) == (None, 2, 2, 8)
    model = keras.Model(inp, patches)
    assert np.asarray(model.predict(X, verbose=0)).tolist() == SIZE_2
    model.save(tmp_path / "p.keras")
    with zipfile.ZipFile(tmp_path / "p.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][1]
    # Keras 3.15 writes: module keras.src.ops.image, class ExtractPatches, size [2, 2]
    assert (entry["module"], entry["class_name"]) == ("keras.src.ops.image", "ExtractPatches")
    assert entry["config"]["size"] in (2, [2, 2])
    loaded = keras.models.load_model(tmp_path / "p.keras")
    assert np.asarray(loaded.predict(X, verbose=0)).tolist() == SIZE_2
