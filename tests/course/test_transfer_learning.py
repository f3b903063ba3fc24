"""Transfer learning as Keras does it (the course's week-2 MobileNetV2 notebook, on a small base):
a model used as a layer, frozen, then partly unfrozen and fine-tuned, History continued with
``initial_epoch``; frozen BatchNormalization stays in inference mode."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def small_base():
    inputs = tf.keras.Input((12, 12, 3))
    x = tfl.Conv2D(4, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = tfl.BatchNormalization(name="stem_bn")(x)
    x = tfl.ReLU(name="stem_relu")(x)
    x = tfl.Conv2D(8, 3, strides=2, padding="same", name="block_conv")(x)
    x = tfl.BatchNormalization(name="block_bn")(x)
    x = tfl.ReLU(name="block_relu")(x)
    return tf.keras.Model(inputs, x, name="base")


def data(n=24):
    rng = np.random.default_rng(3)
    x = rng.random((n, 12, 12, 3), dtype=np.float32)
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.float32)
    return x, y[:, None]


def counts(model):
    out = io.StringIO()
    with redirect_stdout(out):
        model.summary()
    text = out.getvalue()
    trainable = int(text.split("Trainable params:")[1].split()[0].replace(",", ""))
    frozen = int(text.split("Non-trainable params:")[1].split()[0].replace(",", ""))
    return trainable, frozen


@pytest.fixture
def frozen_setup():
    tf.keras.utils.set_random_seed(0)
    base = small_base()
    base.trainable = False
    inputs = tf.keras.Input((12, 12, 3))
    x = base(inputs, training=False)
    x = tfl.GlobalAveragePooling2D()(x)
    x = tfl.Dropout(0.2)(x)
    outputs = tfl.Dense(1)(x)
    model = tf.keras.Model(inputs, outputs)
    return base, model


def test_frozen_base_does_not_move_and_head_trains(frozen_setup):
    base, model = frozen_setup
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    base_before = base.get_weights()
    head_before = model.layers[-1].get_weights()
    assert counts(model) == (9, sum(w.size for w in base_before))
    x, y = data()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert history.epoch == [0, 1]
    for a, b in zip(base_before, base.get_weights()):  # moving statistics included
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b)
               for a, b in zip(head_before, model.layers[-1].get_weights()))


def test_fine_tune_last_layers_and_continue_history(frozen_setup):
    base, model = frozen_setup
    model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = data()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)

    base.trainable = True
    fine_tune_at = 4  # input, stem conv, stem BN, stem ReLU stay frozen
    for layer in base.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(optimizer=tf.keras.optimizers.RMSprop(lr=1e-4),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    stem = [w.copy() for w in base.get_layer("stem_conv").get_weights()
            + base.get_layer("stem_bn").get_weights()]
    block = base.get_layer("block_conv").get_weights()
    block_bn_stats = base.get_layer("block_bn").get_weights()[2:]
    # trainable: block conv 3*3*4*8 + 8, block BN gamma/beta 16, head 9; frozen: stem conv 108,
    # stem BN 16, and the block BN's moving statistics 16
    assert counts(model) == (296 + 16 + 9, 108 + 16 + 16)

    fine = model.fit(x, y, epochs=4, initial_epoch=history.epoch[-1], batch_size=8, verbose=0)
    assert fine.epoch == [1, 2, 3] and len(fine.history["loss"]) == 3
    after = base.get_layer("stem_conv").get_weights() + base.get_layer("stem_bn").get_weights()
    for a, b in zip(stem, after):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(block[0], base.get_layer("block_conv").get_weights()[0])
    # the base was called with training=False: its BN keeps its moving statistics even now
    for a, b in zip(block_bn_stats, base.get_layer("block_bn").get_weights()[2:]):
        np.testing.assert_array_equal(a, b)


def test_frozen_batchnorm_is_in_inference_mode_even_when_training():
    bn = tfl.BatchNormalization()
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 2, 2, 3)).astype(np.float32)
    bn.trainable = False
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))
