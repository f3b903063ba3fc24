"""Patch and position blocks of Keras ports (ViT's PatchEncoder, EANet's PatchEmbedding,
Involution's patches): ids and indices counted from the end as TF 2.21 (Keras 3.15) reads
them. Each expected value below is what TF 2.21 gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


def _table():
    table = L.Embedding(5, 2)
    table.build((None,))
    table.set_weights([np.arange(10, dtype="float32").reshape(5, 2)])
    return table


def test_embedding_negative_ids_count_from_the_end():
    # TF 2.21: Embedding(5, 2) gives row 4 for id -1 and row 0 for id -5 (convnp refused
    # them with a ValueError)
    np.testing.assert_array_equal(np.asarray(_table()(np.array([-1, -5]))),
                                  [[8.0, 9.0], [0.0, 1.0]])


def test_embedding_negative_ids_train_the_rows_they_read():
    # the gradient of row 4 gathers what id -1 read
    table = _table()
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(table(np.array([-1, 4, 0])))
    grad = np.asarray(tape.gradient(total, table.embeddings))
    np.testing.assert_array_equal(grad[:, 0], [1.0, 0.0, 0.0, 0.0, 2.0])


@pytest.mark.parametrize("ids", [[5], [-6]])
def test_embedding_ids_beyond_the_table_are_invalid_argument(ids):
    # TF 2.21: InvalidArgumentError from the gather
    with pytest.raises(tf.errors.InvalidArgumentError):
        _table()(np.array(ids))


def test_ops_take_negative_indices_count_from_the_end():
    # TF 2.21: keras.ops.take(arange(5), [-1]) is [4.0]; along an axis too
    np.testing.assert_array_equal(np.asarray(keras.ops.take(np.arange(5.0), np.array([-1]))),
                                  [4.0])
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(keras.ops.take(x, [-1, 0], axis=1)),
                                  [[2.0, 0.0], [5.0, 3.0]])
    v = tf.Variable(np.arange(3.0, dtype="float32"))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(keras.ops.take(v, [-1, -1]))
    np.testing.assert_array_equal(np.asarray(tape.gradient(total, v)), [0.0, 0.0, 2.0])


def test_tf_gather_still_refuses_negative_indices():
    # TF 2.21: tf.gather itself does not wrap (InvalidArgumentError)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.gather(np.arange(5.0), np.array([-1]))


class PatchEncoder(L.Layer):
    """keras.io's ViT PatchEncoder: a projection plus a position embedding of tf.range."""

    def __init__(self, num_patches, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = num_patches
        self.projection_dim = projection_dim
        self.projection = L.Dense(projection_dim)
        self.position_embedding = L.Embedding(num_patches, projection_dim)

    def call(self, patch):
        positions = tf.expand_dims(tf.range(start=0, limit=self.num_patches, delta=1), axis=0)
        return self.projection(patch) + self.position_embedding(positions)

    def get_config(self):
        return {**super().get_config(), "num_patches": self.num_patches,
                "projection_dim": self.projection_dim}


def test_patch_encoder_on_extracted_patches_round_trips(tmp_path):
    # TF 2.21: (2, 8, 8, 3) images -> 16 patches of 12 values; 12*4+4 + 16*4 parameters;
    # the .keras file gives back the same outputs
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    patches = tf.image.extract_patches(images, [1, 2, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1],
                                       "VALID")
    x = np.asarray(tf.reshape(patches, (2, -1, patches.shape[-1])))
    assert x.shape == (2, 16, 12)
    inp = keras.Input((16, 12))
    model = keras.Model(inp, PatchEncoder(16, 4)(inp))
    assert model.count_params() == 12 * 4 + 4 + 16 * 4
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras",
                                    custom_objects={"PatchEncoder": PatchEncoder})
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)


@pytest.mark.parametrize("sizes, padding", [([3, 3], "VALID"), ([1, 2, 2, 1], "FULL")])
def test_extract_patches_bad_arguments_are_invalid_argument(sizes, padding):
    # TF 2.21: InvalidArgumentError for sizes that are not [1, rows, cols, 1] and for a
    # padding other than SAME/VALID (convnp: a plain ValueError)
    images = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.extract_patches(images, sizes, [1, 1, 1, 1], [1, 1, 1, 1], padding)
