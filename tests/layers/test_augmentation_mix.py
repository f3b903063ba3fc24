"""MixUp and CutMix (layers/augmentation_mix.py): Keras parity of images and labels on given
transformations, the dict form, training-only behaviour, seeds, gradients, configs, refusals
and fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.layers.augmentation_geometry import erase_masks
from convnp.layers.augmentation_mix import CutMix, MixUp
from tests.layers.harness import check_gradients
from tests.layers.test_augmentation_color import FIXTURE, images


@pytest.mark.parametrize("name, cls", [("mixup_given", MixUp), ("cutmix_given", CutMix)])
def test_keras_parity(name, cls):
    with np.load(FIXTURE, allow_pickle=False) as z:
        x, labels = z[f"{name}/x"], z[f"{name}/labels"]
        expected, expected_labels = z[f"{name}/y"], z[f"{name}/y_labels"]
        transformation = {key.split("/")[-1]: z[key] for key in z.files
                          if key.startswith(f"{name}/t/")}
    layer = cls()
    y, _ = layer.apply(x, transformation)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(layer.mix_labels(labels, transformation), expected_labels,
                               rtol=1e-6)


def test_cutmix_label_weights_match_keras():
    with np.load(FIXTURE, allow_pickle=False) as z:
        shape, corners = tuple(z["erase_mask/shape"]), z["erase_mask/corners"].astype("f8")
        expected = z["cutmix_weights"]
    x0, x1, y0, y1 = corners.T
    weights = 1.0 - (x1 - x0) * (y1 - y0) / (shape[1] * shape[2])
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    assert erase_masks(shape, x0, x1, y0, y1).shape == (3, 7, 9, 1)


@pytest.mark.parametrize("cls, kwargs", [(MixUp, {}), (MixUp, {"alpha": 1.5}),
                                         (CutMix, {}), (CutMix, {"factor": 0.5})])
def test_images_and_dict_forms(cls, kwargs):
    x = images((6, 8, 8, 3))
    labels = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]
    layer = cls(**kwargs)
    np.testing.assert_array_equal(layer(x, training=False), x)
    tf.keras.utils.set_random_seed(3)
    y = np.asarray(layer(x))
    tf.keras.utils.set_random_seed(3)
    out = layer({"images": x, "labels": labels})
    assert sorted(out) == ["images", "labels"]
    np.testing.assert_array_equal(np.asarray(out["images"]), y)  # same draws both ways
    mixed = np.asarray(out["labels"])
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)
    assert mixed.shape == labels.shape and mixed.dtype == np.float32
    assert y.min() >= x.min() - 1e-3 and y.max() <= x.max() + 1e-3
    untouched = layer({"images": x, "labels": labels}, training=False)
    np.testing.assert_array_equal(np.asarray(untouched["labels"]), labels)
    np.testing.assert_array_equal(np.asarray(untouched["images"]), x)
    seeded = [np.asarray(cls(seed=4, **kwargs)(x)) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)
    config = json.loads(json.dumps(layer.get_config()))
    assert json.dumps(cls.from_config(config).get_config()) == json.dumps(layer.get_config())


def test_mixup_values():
    x = images((3, 2, 2, 1))
    layer = MixUp()
    y, _ = layer.apply(x, {"permutation_order": [1, 2, 0], "mix_weight": [1.0, 0.0, 0.25]})
    np.testing.assert_allclose(y, [x[0], x[2], 0.25 * x[2] + 0.75 * x[0]], rtol=1e-6)
    labels = layer.mix_labels(np.array([0, 1, 2]), {"permutation_order": [1, 2, 0],
                                                    "mix_weight": [1.0, 0.0, 0.25]})
    np.testing.assert_allclose(labels, [0.0, 2.0, 0.5])


def test_cutmix_pastes_rectangles():
    x = images((4, 8, 8, 3))
    tf.keras.utils.set_random_seed(1)
    out = CutMix((1.0, 1.0))({"images": x, "labels": np.eye(4, dtype="float32")})
    y, mixed = np.asarray(out["images"]), np.asarray(out["labels"])
    for i in range(4):
        changed = np.any(y[i] != x[i], axis=-1)
        if changed.any():
            rows, cols = np.nonzero(changed)
            box = np.zeros_like(changed)
            box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
            assert np.array_equal(box, changed)  # a rectangle
            # the pasted share is the label's, up to one partial row and column of pixels
            assert abs(changed.mean() - (1 - mixed[i, i])) <= 17 / 64


@pytest.mark.parametrize("layer", [MixUp(alpha=0.5, dtype="float64"),
                                   CutMix(dtype="float64")])
def test_gradients(layer):
    x = np.random.default_rng(6).standard_normal((4, 5, 6, 2))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(17))


@pytest.mark.parametrize("make, error, match", [
    (lambda: MixUp(alpha=0), ValueError, "alpha"),
    (lambda: MixUp(alpha="a"), (TypeError, ValueError), "alpha"),
    (lambda: CutMix(factor=2.0), ValueError, "factor"),
    (lambda: MixUp()({"labels": np.ones(2)}), ValueError, "images"),
    (lambda: MixUp()({"images": images((2, 3, 3, 1)), "bounding_boxes": {}}), ValueError,
     "bounding"),
    (lambda: CutMix()({"images": images((2, 3, 3, 1)), "labels": np.ones((3, 2))}),
     ValueError, "labels"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()



def test_dict_form_in_a_dataset_pipeline():
    x = images((8, 4, 4, 3))
    y = np.eye(2, dtype="float32")[[0, 1] * 4]
    mix = MixUp(seed=1)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).map(
        lambda a, b: mix({"images": a, "labels": b}))
    batches = list(dataset)
    assert len(batches) == 2 and batches[0]["images"].shape == (4, 4, 4, 3)
    np.testing.assert_allclose(np.asarray(batches[1]["labels"]).sum(axis=1), 1.0, rtol=1e-6)
