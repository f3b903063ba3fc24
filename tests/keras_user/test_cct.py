"""A compact version of keras.io's "Compact Convolutional Transformers" program run by convnp:
a convolutional tokenizer (a user layer holding a Sequential), learned positions, transformer
blocks (MultiHeadAttention, LayerNormalization, GELU MLP) with a StochasticDepth user layer on
each residual branch, and sequence pooling with softmax weights (keras.ops on KerasTensors).

Keras 3.15's file of the same program (tests/fixtures/make_cct.py) loads, predicts and trains
two epochs with AdamW and label smoothing as in Keras; the program written here with real
stochastic depth, dropout and augmentation trains, saves and loads."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture

keras = tf.keras
layers = keras.layers
ops = keras.ops


@keras.saving.register_keras_serializable(package="cct")
class ConvTokenizer(layers.Layer):
    """Conv (no bias, ReLU) + zero padding + max pooling per stage; the map's positions
    become the tokens."""

    def __init__(self, channels=(8, 16), **kwargs):
        super().__init__(**kwargs)
        self.channels = list(channels)
        self.stages = keras.Sequential()
        for width in self.channels:
            self.stages.add(layers.Conv2D(width, 3, 1, padding="valid", use_bias=False,
                                          activation="relu", kernel_initializer="he_normal"))
            self.stages.add(layers.ZeroPadding2D(1))
            self.stages.add(layers.MaxPooling2D(3, 2, "same"))

    def call(self, images):
        maps = self.stages(images)
        size = ops.shape(maps)
        return ops.reshape(maps, (-1, size[1] * size[2], size[-1]))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="cct")
class AddPositions(layers.Layer):
    """Adds a learned vector per token position."""

    def __init__(self, length, dim, **kwargs):
        super().__init__(**kwargs)
        self.length, self.dim = length, dim
        self.table = layers.Embedding(length, dim)

    def call(self, tokens):
        return tokens + self.table(ops.arange(self.length))

    def get_config(self):
        return {**super().get_config(), "length": self.length, "dim": self.dim}


@keras.saving.register_keras_serializable(package="cct")
class StochasticDepth(layers.Layer):
    """In training, keeps each example's residual branch with probability 1 - drop_prob
    (scaled by its inverse), else zeros it."""

    def __init__(self, drop_prob, **kwargs):
        super().__init__(**kwargs)
        self.drop_prob = drop_prob
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1 - self.drop_prob
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + keras.random.uniform(shape, 0, 1, seed=self.seed_generator))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "drop_prob": self.drop_prob}


def cct(image_size=16, classes=4, dim=16, heads=2, blocks=2, depth_rate=0.1, dropout=0.1,
        augment=True):
    images = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(1 / 255)(images)
    if augment:
        x = layers.RandomCrop(image_size, image_size)(x)
        x = layers.RandomFlip("horizontal")(x)
    tokens = ConvTokenizer((8, dim))(x)
    tokens = AddPositions(tokens.shape[1], dim)(tokens)
    for rate in np.linspace(0, depth_rate, blocks):
        y = layers.LayerNormalization(epsilon=1e-5)(tokens)
        y = layers.MultiHeadAttention(num_heads=heads, key_dim=dim, dropout=dropout)(y, y)
        tokens = layers.Add()([StochasticDepth(float(rate))(y), tokens])
        y = layers.LayerNormalization(epsilon=1e-5)(tokens)
        for units in (dim * 2, dim):
            y = layers.Dense(units, activation="gelu")(y)
            y = layers.Dropout(dropout)(y)
        tokens = layers.Add()([StochasticDepth(float(rate))(y), tokens])
    sequence = layers.LayerNormalization(epsilon=1e-5)(tokens)
    weights = ops.softmax(layers.Dense(1)(sequence), axis=1)
    pooled = ops.squeeze(ops.matmul(ops.transpose(weights, (0, 2, 1)), sequence), -2)
    return keras.Model(images, layers.Dense(classes)(pooled))


@pytest.fixture(scope="module")
def expected():
    return load_fixture("cct_expected.npz")


def test_keras_written_cct_predicts_and_trains_as_keras(expected, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "cct.keras")
    x, y = expected["x"], expected["y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["before"], rtol=1e-4,
                               atol=1e-5)
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["history/loss"], rtol=1e-4)
    np.testing.assert_allclose(history.history["accuracy"], expected["history/accuracy"])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["after"], rtol=1e-3,
                               atol=1e-4)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_the_program_trains_with_stochastic_depth_dropout_and_augmentation(tmp_path):
    keras.utils.set_random_seed(3)
    model = cct(depth_rate=0.5)
    model.compile(keras.optimizers.AdamW(learning_rate=0.003, weight_decay=0.0001),
                  keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                           keras.metrics.TopKCategoricalAccuracy(2, name="top-2-accuracy")])
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (24, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 4, 24)
    x[np.arange(24), :, :, labels % 3] = 255.0  # a learnable signal: a full channel
    y = np.eye(4, dtype="float32")[labels]
    history = model.fit(x, y, epochs=6, batch_size=8, validation_split=0.25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) >= {"loss", "accuracy", "top-2-accuracy", "val_loss"}
    # stochastic depth: in training some examples lose the branch, at inference none do
    depth = next(lay for lay in model.layers if isinstance(lay, StochasticDepth)
                 and lay.drop_prob > 0)
    branch = np.ones((64, 16, 16), "float32")  # (a built layer takes its first shape)
    kept = depth(branch, training=True).numpy()
    assert {0.0, 1 / (1 - depth.drop_prob)} >= set(np.unique(kept).tolist())
    assert 0 < (kept[:, 0, 0] == 0).mean() < 1
    np.testing.assert_array_equal(depth(branch, training=False).numpy(), branch)
    model.evaluate(x, y, verbose=0)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"cct.{suffix}")
        again = keras.models.load_model(tmp_path / f"cct.{suffix}")
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
