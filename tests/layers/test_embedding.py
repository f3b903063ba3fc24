"""`Embedding`: ids to table rows, the table's gradient (repeated ids add up), integer
`Input`s, a Vision Transformer's position embedding inside a user's layer, and Keras 3.15's
numbers through fit (tests/fixtures/make_embedding.py)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture

keras = tf.keras
layers = keras.layers


def test_rows_and_the_gradient_of_repeated_ids():
    table = layers.Embedding(10, 4)
    ids = np.array([[1, 2, 3], [4, 1, 9]])
    out = table(ids)
    assert out.shape == (2, 3, 4) and out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), table.embeddings.numpy()[ids])
    weights = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(table(ids) * weights)
    grad = tape.gradient(total, table.embeddings).numpy()
    np.testing.assert_array_equal(grad[1], weights[0, 0] + weights[1, 1])  # id 1 twice
    np.testing.assert_array_equal(grad[0], 0)
    assert float(np.abs(table.embeddings.numpy()).max()) <= 0.05  # Keras's "uniform"


def test_refusals():
    table = layers.Embedding(10, 4)
    # TF 2.21: ids count from the end down to -input_dim (test_parity_blocks_patches.py);
    # beyond either end, gather's InvalidArgumentError (a ValueError)
    with pytest.raises(ValueError, match=r"id 10 is not in \[-10, 10\)"):
        table(np.array([[10]]))
    with pytest.raises(ValueError, match="id -11"):
        table(np.array([[-11]]))
    with pytest.raises(TypeError, match="mask_zero"):
        layers.Embedding(10, 4, mask_zero="yes")
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 4)


def test_position_embedding_in_a_users_layer_trains():
    """keras.io's Vision Transformer PatchEncoder: projection plus a position embedding of
    ``ops.arange(num_patches)``."""

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches, dim, **kwargs):
            super().__init__(**kwargs)
            self.num_patches = num_patches
            self.projection = layers.Dense(dim)
            self.position_embedding = layers.Embedding(num_patches, dim)

        def call(self, patch):
            positions = keras.ops.expand_dims(keras.ops.arange(0, self.num_patches, 1), 0)
            return self.projection(patch) + self.position_embedding(positions)

    keras.utils.set_random_seed(1)
    patches = keras.Input((16, 12))
    encoder = PatchEncoder(16, 8)
    model = keras.Model(patches, layers.Dense(2)(layers.GlobalAveragePooling1D()(
        encoder(patches))))
    model.compile("adam", "mse")
    before = encoder.position_embedding.embeddings.numpy().copy()
    model.fit(np.random.default_rng(1).random((4, 16, 12)).astype(np.float32),
              np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(before, encoder.position_embedding.embeddings.numpy())


def test_keras_written_embedding_model_trains_as_keras(tmp_path):
    pytest.importorskip("h5py")
    expected = load_fixture("embedding_expected.npz")
    model = keras.models.load_model(FIXTURES / "embedding.keras")
    assert model.inputs[0].dtype == "int32"
    ids = expected["ids"]
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected["before"], rtol=1e-6)
    history = model.fit(ids, expected["y"], epochs=2, batch_size=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["history/loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected["after"], rtol=1e-5,
                               atol=1e-6)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    assert again.get_config()["layers"][0]["config"]["dtype"] == "int32"
    np.testing.assert_array_equal(again.predict(ids, verbose=0), model.predict(ids, verbose=0))
