"""BatchNormalization + (Add +) ReLU run as one fused unit: values and gradients of
ResNet-style blocks match the layers as written (the plain path)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import config
from tests.helpers import assert_paths_agree, check_training_gradients, train_on_both_paths

tfl = tf.keras.layers


def _block(x, filters, dtype, conv_shortcut):
    """The course's ResNet identity block (or convolutional block), small."""
    kw = {"dtype": dtype}
    shortcut = x
    z = tfl.Conv2D(filters, 1, **kw)(x)
    z = tfl.Activation("relu", **kw)(tfl.BatchNormalization(axis=3, **kw)(z))
    z = tfl.Conv2D(filters, 3, padding="same", **kw)(z)
    z = tfl.ReLU(**kw)(tfl.BatchNormalization(axis=3, **kw)(z))
    z = tfl.BatchNormalization(axis=3, **kw)(tfl.Conv2D(filters, 1, **kw)(z))
    if conv_shortcut:
        shortcut = tfl.BatchNormalization(axis=3, **kw)(tfl.Conv2D(filters, 1, **kw)(shortcut))
    return tfl.Activation("relu", **kw)(tfl.Add(**kw)([z, shortcut]))


def _resnet(seed=0, dtype="float32", loss="categorical_crossentropy", small=False):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(3, 3, 3) if small else (6, 6, 3), dtype=dtype)
    z = _block(inputs, 2 if small else 4, dtype, conv_shortcut=True)
    if not small:
        z = _block(z, 4, dtype, conv_shortcut=False)
    z = tfl.Flatten(dtype=dtype)(z)
    outputs = tfl.Dense(3, activation="softmax", dtype=dtype)(z)
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss)
    return model


def _data(dtype=np.float32, seed=1, small=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 3, 3, 3) if small else (5, 6, 6, 3)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, len(x))]
    return x, y


def _kinds(model):
    return [type(n.layer).__name__ for n in model._graph.schedule]


def test_resnet_blocks_are_scheduled_as_fused_units():
    model = _resnet()
    kinds = _kinds(model)
    assert "Add" not in kinds
    assert kinds.count("BatchNormalization") == 1  # the conv shortcut's: the Add takes one
    assert kinds.count("BatchNormReLU") == 6
    assert "ReLU" not in kinds and "Activation" not in kinds
    # one unit per block takes the residual: the Add's other input
    adds = [n for n in model._graph.schedule if type(n.layer).__name__ == "BatchNormReLU"
            and n.layer.add is not None]
    assert len(adds) == 2 and all(n.multi and len(n.inputs) == 2 for n in adds)
    # what users see is unchanged
    assert sum(1 for layer in model.layers if isinstance(layer, tfl.BatchNormalization)) == 7


def test_fused_resnet_blocks_train_like_the_layers():
    x, y = _data()
    assert_paths_agree(train_on_both_paths(_resnet, x, y, steps=3))


def test_fused_resnet_gradients_match_central_differences():
    model = _resnet(dtype="float64", small=True)
    assert _kinds(model).count("BatchNormReLU") == 3
    x, y = _data(np.float64, small=True)
    assert check_training_gradients(model, x, y, atol=1e-6) == len(model.trainable_weights)


def test_frozen_batch_norm_and_inference_mode_sub_model_match_the_layers():
    x, y = _data()

    def build():
        tf.keras.utils.set_random_seed(0)
        base = tf.keras.Sequential([
            tfl.Input(shape=(6, 6, 3)),
            tfl.Conv2D(4, 3, padding="same"),
            tfl.BatchNormalization(),
            tfl.ReLU(),
            tfl.Conv2D(4, 3, padding="same"),
            tfl.BatchNormalization(),
            tfl.ReLU(),
        ], name="base")
        base.layers[4].trainable = False  # a frozen batch normalization
        inputs = tf.keras.Input(shape=(6, 6, 3))
        features = base(inputs, training=False)  # Keras: BN in inference mode, weights train
        outputs = tfl.Dense(3, activation="softmax")(tfl.Flatten()(features))
        model = tf.keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model, base

    runs = {}
    for plain in (False, True):
        model, base = build()
        if not plain:
            assert [type(n.layer).__name__ for n in base._graph.schedule] == [
                "Conv2D", "BatchNormReLU", "Conv2D", "BatchNormReLU"]
        with config.plain_path(plain):
            losses = [float(model.train_on_batch(x, y)) for _ in range(2)]
            runs[plain] = (losses, [v.grad.copy() for v in model.trainable_weights])
    np.testing.assert_allclose(runs[False][0], runs[True][0], rtol=1e-5)
    for a, b in zip(runs[False][1], runs[True][1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def _mobilenet_block(seed=0, dtype="float32"):
    """MobileNetV2's expansion (1x1 conv, BN, ReLU6), depthwise conv, BN, ReLU6, linear
    projection and its residual Add (no ReLU after it: that BN stays a layer)."""
    tf.keras.utils.set_random_seed(seed)
    kw = {"dtype": dtype}
    inputs = tf.keras.Input(shape=(4, 4, 3), dtype=dtype)
    z = tfl.ReLU(6.0, **kw)(tfl.BatchNormalization(**kw)(tfl.Conv2D(6, 1, **kw)(inputs)))
    z = tfl.DepthwiseConv2D(3, padding="same", **kw)(z)
    z = tfl.ReLU(6.0, **kw)(tfl.BatchNormalization(**kw)(z))
    z = tfl.BatchNormalization(**kw)(tfl.Conv2D(3, 1, **kw)(z))
    z = tfl.Add(**kw)([z, inputs])
    outputs = tfl.Dense(3, activation="softmax", **kw)(tfl.Flatten(**kw)(z))
    model = tf.keras.Model(inputs, outputs)
    for layer in model.layers:
        if isinstance(layer, tfl.BatchNormalization):
            layer.gamma.value[...] = 4.0  # so that some values pass the cap of 6
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_relu6_blocks_are_fused_and_train_like_the_layers():
    model = _mobilenet_block()
    assert _kinds(model).count("BatchNormReLU") == 2
    assert [n.layer.max_value for n in model._graph.schedule
            if type(n.layer).__name__ == "BatchNormReLU"] == [6.0, 6.0]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 4, 4, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 4)]
    assert_paths_agree(train_on_both_paths(_mobilenet_block, x, y, steps=2))
    model64 = _mobilenet_block(dtype="float64")
    assert check_training_gradients(model64, x[:2].astype(np.float64), y[:2].astype(np.float64), atol=1e-6) \
        == len(model64.trainable_weights)


@pytest.mark.parametrize("case", ["two_readers", "bn_is_output", "leaky_relu", "broadcast_add",
                                  "add_is_output"])
def test_chains_that_are_not_plain_bn_relu_are_left_alone(case):
    inputs = tf.keras.Input(shape=(4, 4, 2))
    bn = tfl.BatchNormalization()(inputs)
    if case == "two_readers":
        outputs = tfl.Add()([tfl.ReLU()(bn), bn])
    elif case == "bn_is_output":
        outputs = [bn, tfl.ReLU()(bn)]
    elif case == "leaky_relu":
        outputs = tfl.ReLU(negative_slope=0.1)(bn)
    elif case == "broadcast_add":
        side = tfl.Conv2D(2, 4)(inputs)  # (1, 1, 2): broadcasts over the block
        outputs = tfl.ReLU()(tfl.Add()([bn, side]))
    else:
        added = tfl.Add()([bn, inputs])
        outputs = [added, tfl.ReLU()(added)]
    model = tf.keras.Model(inputs, outputs)
    assert "BatchNormReLU" not in _kinds(model)
