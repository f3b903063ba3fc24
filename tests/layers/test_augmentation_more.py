"""Keras 3.15's `ContrastLimitedAdaptiveHistogramEqualization` (augmentation_color.py),
`RandomElasticTransform` (augmentation_geometry.py) and `AugMix` (augmentation_rand.py):
Keras parity on tests/fixtures/xaug_more.npz (CLAHE as called; the elastic transform given
the noise Keras drew; AugMix given its weights and chains), the Keras-written
xaug_more.keras, training-only behaviour, seeds, single images, tf.data, gradients, configs
and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.layers.augmentation_color import ContrastLimitedAdaptiveHistogramEqualization
from convnp.layers.augmentation_geometry import RandomElasticTransform
from convnp.layers.augmentation_rand import AugMix
from convnp.ops import image as image_ops
from convnp.ops import reference
from tests.helpers import load_fixture
from tests.layers.harness import check_gradients, check_keras_written_model
from tests.layers.test_augmentation_color import check_in_model, images

CLAHE = ContrastLimitedAdaptiveHistogramEqualization
Z = load_fixture("xaug_more.npz")


def config_of(name):
    return json.loads(str(Z[f"{name}/config"]))


# -- CLAHE ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["clahe_default", "clahe_padded", "clahe_unit",
                                  "clahe_noclip", "clahe_range", "clahe_single"])
def test_clahe_matches_keras(name):
    layer = CLAHE(**config_of(name))
    x = Z[f"{name}/x"]
    for training in (True, False):  # Keras applies it at inference too
        y = np.asarray(layer(x, training=training))
        assert y.dtype == np.float32 and y.shape == x.shape
        np.testing.assert_allclose(y, Z[f"{name}/y"], rtol=1e-6, atol=1e-4)


def test_clahe_behaviour():
    x = images((2, 16, 16, 3), top=100.0) + 50  # low contrast: CLAHE spreads it
    y = np.asarray(CLAHE(tile_grid_size=(2, 2))(x))
    assert np.ptp(y) > np.ptp(x) and y.min() >= 0 and y.max() <= 255
    # a constant image: one full bin in each 4x4 tile; without a limit its table value is
    # 255 (Keras' cdf minimum is the first bin's, 0 here); a limit of 4 * 16 / 256 = 0.25
    # spreads the other 15.75 counts over the 256 bins
    flat = np.full((1, 8, 8, 1), 90.0, "float32")
    np.testing.assert_array_equal(CLAHE(clip_limit=0, tile_grid_size=(2, 2))(flat), 255)
    spread = 15.75 / 256
    expected = (91 * spread + 0.25 - spread) * 255 / (16 - spread)
    np.testing.assert_allclose(CLAHE(tile_grid_size=(2, 2))(flat), expected, rtol=1e-5)
    # a tighter limit keeps the image closer to itself
    strong = np.abs(np.asarray(CLAHE(clip_limit=0.0, tile_grid_size=(2, 2))(x)) - x).mean()
    weak = np.abs(np.asarray(CLAHE(clip_limit=1.0, tile_grid_size=(2, 2))(x)) - x).mean()
    assert weak < strong
    assert CLAHE(dtype="float64")(x.astype("float64")).dtype == np.float64
    layer = CLAHE()
    layer(x)
    with pytest.raises(LookupError, match="no gradient"):
        layer.backward(np.ones_like(x))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"clip_limit": -1.0}, ValueError, "clip_limit"),
    ({"clip_limit": "a"}, (TypeError, ValueError), "clip_limit"),
    ({"tile_grid_size": 8}, ValueError, "tile_grid_size"),
    ({"tile_grid_size": (0, 2)}, ValueError, "tile_grid_size"),
    ({"tile_grid_size": (2.0, 2)}, ValueError, "tile_grid_size"),
    ({"value_range": (1, 0)}, ValueError, "value_range"),
    ({"data_format": "channels_first"}, ValueError, "channels"),
])
def test_clahe_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CLAHE(**kwargs)


# -- RandomElasticTransform ------------------------------------------------------------------


ELASTIC_CASES = ["elastic_default", "elastic_constant", "elastic_nearest", "elastic_wrap",
                 "elastic_small"]


@pytest.mark.parametrize("name", ELASTIC_CASES)
def test_elastic_matches_keras_given_its_noise(name):
    config = config_of(name)
    transformation = {key.split("/")[-1]: Z[key] for key in Z if key.startswith(f"{name}/t/")}
    y, _ = RandomElasticTransform(**config).apply(Z[f"{name}/x"], transformation)
    assert y.dtype == np.float32
    top = config.get("value_range", [0, 255])[1]
    np.testing.assert_allclose(y, Z[f"{name}/y"], rtol=1e-5, atol=2e-6 * top)


@pytest.mark.parametrize("fill_mode", image_ops.TAP_FILL_MODES)
@pytest.mark.parametrize("interpolation", image_ops.INTERPOLATIONS)
def test_tap_plan_matches_the_reference_loops(fill_mode, interpolation):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 5, 6, 2))
    rows = rng.uniform(-9, 14, (2, 5, 6))
    cols = rng.uniform(-9, 15, (2, 5, 6))
    rows[0, 0, :4] = [-0.5, 4.5, 2.5, -1.5]  # rounding ties (nearest rounds half to even)
    plan = image_ops.tap_plan(x.shape, cols.reshape(2, -1), rows.reshape(2, -1),
                              interpolation, fill_mode)
    y = image_ops.affine_apply(x, plan, fill_value=3.0)
    for i in range(2):
        np.testing.assert_allclose(y[i], reference.map_coordinates(
            x[i], rows[i], cols[i], interpolation, fill_mode, 3.0), rtol=1e-12, atol=1e-12)


def test_elastic_structure():
    x = images((3, 24, 24, 3))
    layer = RandomElasticTransform(seed=4)
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x))
    assert y.shape == x.shape and y.dtype == np.float32
    assert 0 <= y.min() and y.max() <= 255 and not np.array_equal(y, x)
    np.testing.assert_array_equal(RandomElasticTransform(seed=4)(x), y)  # seeded: repeats
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(9)
        runs.append(np.asarray(RandomElasticTransform()(x)))
    np.testing.assert_array_equal(*runs)
    # factor or scale 0: nothing moves (Keras draws no transformation)
    for kwargs in ({"factor": 0.0}, {"scale": 0.0}):
        np.testing.assert_array_equal(RandomElasticTransform(**kwargs)(x), x)
    # a single image goes through as a batch of one
    assert np.asarray(RandomElasticTransform(seed=1)(x[0])).shape == x[0].shape
    # always applied at a fixed strength: a smooth field of the expected size
    layer = RandomElasticTransform(factor=(1.0, 1.0), scale=(1.0, 1.0), seed=2)
    t = layer.draw((64, 40, 40, 1))
    assert t["apply_transform"].all() and t["distortion_factor"] == 1.0
    dx, dy = layer.displacement((64, 40, 40, 1), t)
    assert abs(dx.mean()) < 0.1 and abs(dy.mean()) < 0.1
    # sigma = 2 px: the blur keeps about 1 / (2 sqrt(pi) sigma) of the noise's spread,
    # alpha = 4: a spread of about alpha * sigma / (2 sqrt(pi) sigma) = 1.13 px
    assert 0.8 < dx.std() < 1.4 and 0.8 < dy.std() < 1.4
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.1  # independent fields
    neighbours = np.corrcoef(dx[:, :, :-1].ravel(), dx[:, :, 1:].ravel())[0, 1]
    assert neighbours > 0.8  # smooth


def test_elastic_applies_per_image_and_clips():
    x = images((2, 12, 12, 1))
    layer = RandomElasticTransform(value_range=(20, 200), fill_mode="constant",
                                   fill_value=500.0)
    t = layer.draw(x.shape)
    t["apply_transform"] = np.array([False, True])
    t["noise_x"] = t["noise_x"] * 40  # far outside: fill_value, clipped to the range
    y, _ = layer.apply(x, t)
    np.testing.assert_array_equal(y[0], np.clip(x[0], 20, 200))
    assert y[1].max() == 200 and y.min() >= 20


@pytest.mark.parametrize("kwargs", [{}, {"interpolation": "nearest", "fill_mode": "wrap"},
                                    {"fill_mode": "constant", "fill_value": 1.0}])
def test_elastic_gradients(kwargs):
    layer = RandomElasticTransform(factor=0.9, value_range=(-3, 3), dtype="float64", **kwargs)
    x = np.random.default_rng(5).uniform(-2, 2, (2, 20, 21, 2))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(13))


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.5}, "factor"), ({"factor": -0.2}, "factor"), ({"scale": (0.2, 2)}, "scale"),
    ({"interpolation": "bicubic"}, "interpolation"), ({"fill_mode": "edge"}, "fill_mode"),
    ({"value_range": (0, 0)}, "value_range"), ({"fill_value": "a"}, "fill_value"),
])
def test_elastic_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        RandomElasticTransform(**kwargs)


# -- AugMix -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["augmix_given", "augmix_empty"])
def test_augmix_matches_keras_given_its_chains(name):
    transformation = {"chain_mixing_weights": Z[f"{name}/weights"],
                      "weight_sample": Z[f"{name}/weight_sample"],
                      "chains": json.loads(str(Z[f"{name}/chains"]))}
    y, _ = AugMix(**config_of(name)).apply(Z[f"{name}/x"], transformation)
    np.testing.assert_allclose(y, Z[f"{name}/y"], rtol=1e-5, atol=1e-4)


def test_augmix_structure():
    x = images((4, 10, 10, 3))
    layer = AugMix(seed=3)
    np.testing.assert_array_equal(layer(x, training=False), x)
    outputs = [np.asarray(layer(x)) for _ in range(3)]
    assert all(y.dtype == np.float32 and y.shape == x.shape and 0 <= y.min()
               and y.max() <= 255 for y in outputs)
    assert not all(np.array_equal(y, x) for y in outputs)
    np.testing.assert_array_equal(AugMix(seed=3)(x), outputs[0])
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(6)
        runs.append(np.asarray(AugMix(all_ops=False)(x)))
    np.testing.assert_array_equal(*runs)
    # no operation in the chains: every chain is the image, so is the mixture
    np.testing.assert_allclose(AugMix(chain_depth=0)(x), x, rtol=1e-6, atol=1e-4)
    unit = np.asarray(AugMix(value_range=(0, 1), seed=2)(x / 255))
    assert 0 <= unit.min() and unit.max() <= 1
    assert np.asarray(AugMix(seed=1)(x[0])).shape == x[0].shape
    t = AugMix(num_chains=4, chain_depth=5, all_ops=False, seed=0).draw()
    np.testing.assert_allclose(t["chain_mixing_weights"].sum(), 1.0)
    assert len(t["chain_mixing_weights"]) == len(t["chains"]) == 4
    assert 0 <= t["weight_sample"] <= 1 and all(len(chain) <= 5 for chain in t["chains"])
    assert {name for chain in t["chains"] for name in chain} <= set(AugMix(all_ops=False)._ops)
    assert len(AugMix(all_ops=False)._ops) == 7 and len(AugMix()._ops) == 11


@pytest.mark.parametrize("chains", [[["random_shear", "random_brightness"], []],
                                    [["random_rotation"], ["random_contrast",
                                                           "random_sharpness"]]])
def test_augmix_gradients(chains):
    layer = AugMix(num_chains=2, value_range=(-3, 3), dtype="float64")
    layer.draw = lambda: {"chain_mixing_weights": np.array([0.3, 0.7]),
                          "weight_sample": 0.4, "chains": chains}
    x = np.random.default_rng(7).uniform(-2.5, 2.5, (2, 6, 7, 3))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(19))


def test_augmix_no_gradient_through_equalization():
    layer = AugMix()
    layer.draw = lambda: {"chain_mixing_weights": np.array([0.5, 0.5, 0.0]),
                          "weight_sample": 0.5, "chains": [["equalization"], [], []]}
    layer(images())
    with pytest.raises(LookupError, match="no gradient"):
        layer.backward(np.ones((3, 5, 6, 3), "float32"))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_chains": 0}, ValueError, "num_chains"), ({"chain_depth": -1}, ValueError,
                                                    "chain_depth"),
    ({"chain_depth": 1.5}, ValueError, "chain_depth"), ({"factor": 1.2}, ValueError, "factor"),
    ({"alpha": 0.0}, ValueError, "alpha"), ({"all_ops": "yes"}, TypeError, "all_ops"),
    ({"interpolation": "area"}, ValueError, "interpolation"),
    ({"value_range": (255, 0)}, ValueError, "value_range"),
])
def test_augmix_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AugMix(**kwargs)


def test_augmix_unknown_operation_refused():
    layer = AugMix(all_ops=False)
    with pytest.raises(ValueError, match="random_brightness"):
        layer.apply(images(), {"chain_mixing_weights": [1.0], "weight_sample": 0.5,
                               "chains": [["random_brightness"]]})


# -- all three ------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, keras_config", [
    (CLAHE(), {"value_range": [0, 255], "clip_limit": 4.0, "tile_grid_size": [8, 8],
               "data_format": "channels_last"}),
    (RandomElasticTransform(), {"factor": [0, 1.0], "scale": [0, 1.0],
                                "interpolation": "bilinear", "fill_mode": "reflect",
                                "fill_value": 0.0, "value_range": [0, 255], "seed": None,
                                "data_format": "channels_last"}),
    (AugMix(), {"value_range": [0, 255], "num_chains": 3, "chain_depth": 3,
                "factor": [0, 0.3], "alpha": 1.0, "all_ops": True,
                "interpolation": "bilinear", "seed": None, "data_format": "channels_last"}),
])
def test_configs_as_keras_writes_them(layer, keras_config):
    """The keys and values of Keras 3.15's get_config() (printed by Keras for the defaults),
    besides name, trainable and dtype; the config rebuilds the layer."""
    config = json.loads(json.dumps(layer.get_config()))
    assert {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")} == \
        keras_config
    clone = type(layer).from_config(config)
    assert json.dumps(clone.get_config()) == json.dumps(config)
    assert type(tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))) is type(layer)


def test_keras_written_file(tmp_path):
    model = check_keras_written_model("xaug_more", tmp_path)
    assert [type(layer).__name__ for layer in model.layers[:3]] == [
        "ContrastLimitedAdaptiveHistogramEqualization", "RandomElasticTransform", "AugMix"]
    assert model.layers[1].seed == 3 and model.layers[2].all_ops is False


def test_fit_predict_and_files(tmp_path):
    tf.keras.utils.set_random_seed(1)
    L = tf.keras.layers
    # predict skips the training-only layers; CLAHE runs in both modes
    check_in_model([L.RandomElasticTransform(), L.AugMix(),
                    L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))],
                   tmp_path, training_only=2, size=8)


def test_in_a_dataset_pipeline():
    x = images((6, 12, 12, 3))
    elastic, augmix = RandomElasticTransform(seed=1), AugMix(seed=2)
    clahe = CLAHE(tile_grid_size=(3, 3))
    dataset = tf.data.Dataset.from_tensor_slices(x).map(elastic).map(augmix).batch(3).map(
        clahe)
    batches = [np.asarray(batch) for batch in dataset]
    assert [b.shape for b in batches] == [(3, 12, 12, 3)] * 2
    assert all(0 <= b.min() and b.max() <= 255 for b in batches)


@pytest.mark.parametrize("make", [
    lambda: CLAHE(tile_grid_size=(2, 2)), lambda: RandomElasticTransform(seed=3),
    lambda: AugMix(seed=3), lambda: tf.keras.layers.RandomFlip(seed=3),
    lambda: tf.keras.layers.RandomBrightness(0.3, seed=3),
    lambda: tf.keras.layers.AutoContrast(), lambda: tf.keras.layers.Resizing(4, 5)])
def test_dict_inputs(make):
    """Keras 3's data-pipeline form: the images as the array call gives them, the labels
    kept (only MixUp and CutMix mix them)."""
    x = images((3, 8, 8, 3))
    labels = np.eye(3, dtype="float32")
    out = make()({"images": x, "labels": labels})
    assert sorted(out) == ["images", "labels"]
    np.testing.assert_array_equal(np.asarray(out["images"]), np.asarray(make()(x)))
    # as a tensor, equal, as TF 2.21 gives it back
    np.testing.assert_array_equal(out["labels"], labels)
    assert out["labels"].dtype == "float32" and hasattr(out["labels"], "numpy")
    single = make()({"images": x[0]})
    np.testing.assert_array_equal(np.asarray(single["images"]), np.asarray(make()(x[0])))
    kept = make()({"images": x, "labels": labels}, training=False)
    np.testing.assert_array_equal(np.asarray(kept["images"]),
                                  np.asarray(make()(x, training=False)))
    with pytest.raises(ValueError, match="bounding boxes"):
        make()({"images": x, "bounding_boxes": {"boxes": np.zeros((3, 1, 4))}})
    with pytest.raises(ValueError, match="'images'"):
        make()({"labels": labels})


def test_dicts_in_a_dataset_pipeline():
    x = images((6, 10, 10, 3))
    y = np.arange(6)
    augment = tf.keras.Sequential([RandomElasticTransform(seed=1), AugMix(seed=2)])
    dataset = tf.data.Dataset.from_tensor_slices({"images": x, "labels": y}).batch(3).map(
        RandomElasticTransform(seed=1)).map(AugMix(seed=2))
    batches = list(dataset)
    assert [sorted(b) for b in batches] == [["images", "labels"]] * 2
    np.testing.assert_array_equal(np.concatenate([np.asarray(b["labels"]) for b in batches]), y)
    first = np.asarray(augment(x[:3]))
    np.testing.assert_array_equal(np.asarray(batches[0]["images"]), first)
