"""RandAugment (layers/augmentation_rand.py): Keras parity with its picks given, the picked
layers applied in order, training-only behaviour, seeds, gradients, config and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.layers.augmentation_rand import RandAugment
from tests.layers.harness import check_gradients
from tests.layers.test_augmentation_color import FIXTURE, images


def given_picks(layer, picks):
    layer.picks = lambda: np.asarray(picks)
    return layer


def test_keras_parity_with_given_picks():
    with np.load(FIXTURE, allow_pickle=False) as z:
        x, picks, expected = z["randaugment/x"], z["randaugment/picks"], z["randaugment/y"]
    y = np.asarray(given_picks(RandAugment(), picks)(x))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-3)


def test_picked_layers_run_in_order():
    x = images((2, 6, 6, 3))
    L = tf.keras.layers
    expected = L.Equalization()(L.AutoContrast()(x))
    np.testing.assert_allclose(given_picks(RandAugment(), [9, 10])(x), expected, rtol=1e-6)
    tf.keras.utils.set_random_seed(2)
    one = np.asarray(given_picks(RandAugment(factor=0.3), [4])(x))
    tf.keras.utils.set_random_seed(2)
    np.testing.assert_array_equal(one, L.RandomColorDegeneration((0.0, 0.3))(x))
    assert RandAugment(factor=0.3)._choices[7].factor == (1, 2)  # int(8 * 0.3) bits at most


def test_training_only_seeds_range_and_config():
    x = images((3, 8, 8, 3))
    layer = RandAugment()
    np.testing.assert_array_equal(layer(x, training=False), x)
    outputs = [np.asarray(layer(x)) for _ in range(4)]
    assert all(y.dtype == np.float32 and y.min() >= 0 and y.max() <= 255 + 1e-3
               for y in outputs)
    assert not all(np.array_equal(y, x) for y in outputs)
    np.testing.assert_array_equal(RandAugment(seed=5)(x), RandAugment(seed=5)(x))
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(6)
        runs.append(np.asarray(RandAugment(num_ops=3)(x)))
    np.testing.assert_array_equal(*runs)
    np.testing.assert_array_equal(RandAugment(num_ops=0)(x), x)
    config = json.loads(json.dumps(RandAugment(num_ops=3, factor=0.2, seed=1).get_config()))
    assert config["factor"] == [0.0, 0.2] and config["num_ops"] == 3
    clone = RandAugment.from_config(config)
    assert json.dumps(clone.get_config()) == json.dumps(config)
    assert type(tf.keras.layers.deserialize(tf.keras.layers.serialize(clone))) is RandAugment


@pytest.mark.parametrize("picks", [[0, 3], [1, 2], [4, 5], [6, 8], [9, 0]])
def test_gradients(picks):
    layer = given_picks(RandAugment(value_range=(-3, 3), factor=0.3, dtype="float64"), picks)
    x = np.random.default_rng(7).uniform(-2.5, 2.5, (2, 5, 6, 3))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(19))


def test_no_gradient_through_equalization():
    layer = given_picks(RandAugment(), [10, 0])
    layer(images())
    with pytest.raises(LookupError, match="no gradient"):
        layer.backward(np.ones((3, 5, 6, 3), "float32"))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_ops": -1}, "num_ops"), ({"num_ops": 1.5}, "num_ops"), ({"factor": 1.5}, "factor"),
    ({"interpolation": "area"}, "interpolation"), ({"value_range": (3, 1)}, "value_range"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandAugment(**kwargs)
