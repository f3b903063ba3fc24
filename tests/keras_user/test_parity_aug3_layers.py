"""Keras 3's image augmentation layers, what does not depend on their random draws: the
arguments taken or refused (and the exception's type), configs, shapes and dtypes.

The expected values below were read from TensorFlow 2.21 (Keras 3.15) running the same
calls."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

layers = tf.keras.layers


def _images(shape=(2, 8, 8, 3)):
    return (np.random.default_rng(0).random(shape) * 255).astype("float32")


@pytest.mark.parametrize("factor", ["a", (0.1, 0.2), None])
def test_random_grayscale_refuses_a_factor_that_is_not_a_number_with_a_type_error(factor):
    # TF 2.21: TypeError (Keras compares the factor with 0 and 1); convnp gave ValueError
    with pytest.raises(TypeError, match="factor"):
        layers.RandomGrayscale(factor=factor)
    with pytest.raises(ValueError, match="factor"):
        layers.RandomGrayscale(factor=1.5)


def test_random_invert_keeps_its_factor_as_the_range_drawn_from():
    # TF 2.21: get_config()["factor"] is (0, f) for a number f, a pair sorted; convnp kept f
    # and refused a pair in decreasing order
    assert tuple(layers.RandomInvert().get_config()["factor"]) == (0.0, 1.0)
    assert tuple(layers.RandomInvert(factor=0.5).get_config()["factor"]) == (0.0, 0.5)
    layer = layers.RandomInvert(factor=(0.5, 0.1))
    assert tuple(layer.get_config()["factor"]) == (0.1, 0.5)
    again = layers.RandomInvert.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    x = _images()
    # a fixed probability of 1 inverts every image, 0 none
    np.testing.assert_allclose(layers.RandomInvert(factor=(1.0, 1.0))(x), 255 - x)
    np.testing.assert_array_equal(layers.RandomInvert(factor=0.0)(x), x)


@pytest.mark.parametrize("name, arguments", [
    ("RandomRotation", {"factor": 0.1}), ("RandomZoom", {"height_factor": 0.1}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1}),
    ("RandomShear", {"x_factor": 0.1}), ("RandomPerspective", {}),
    ("RandomElasticTransform", {}), ("RandAugment", {}), ("AugMix", {}),
])
@pytest.mark.parametrize("interpolation", ["bicubic", "cubic", "BILINEAR"])
def test_resampling_layers_refuse_other_interpolations_with_not_implemented_error(
        name, arguments, interpolation):
    # TF 2.21: NotImplementedError when constructed; convnp's ValueError is kept as well
    for error in (NotImplementedError, ValueError):
        with pytest.raises(error, match="interpolation"):
            getattr(layers, name)(interpolation=interpolation, **arguments)


@pytest.mark.parametrize("name", ["RandomHeight", "RandomWidth"])
@pytest.mark.parametrize("interpolation", ["bicubic", "area", "lanczos3"])
def test_random_height_and_width_take_the_resize_interpolations(name, interpolation):
    # TF 2.21: constructed and called; convnp refused all but bilinear and nearest
    layer = getattr(layers, name)(factor=0.2, interpolation=interpolation, seed=1)
    assert layer.get_config()["interpolation"] == interpolation
    out = layer(_images((1, 6, 6, 1)))
    assert out.dtype == "float32" and out.shape[0] == 1 and out.shape[3] == 1
    with pytest.raises(ValueError, match="interpolation"):
        getattr(layers, name)(factor=0.2, interpolation="cubic")  # TF 2.21: ValueError


def test_pipeline_is_built_once_called_on_data():
    # TF 2.21: built is False before the first call, True after (its layers too); convnp's
    # pipeline stayed unbuilt, so count_params() refused
    pipeline = layers.Pipeline([layers.RandomFlip("horizontal"), layers.RandomInvert(0.0),
                                layers.AutoContrast()])
    assert not pipeline.built
    out = pipeline(_images())
    assert out.shape == (2, 8, 8, 3)
    assert pipeline.built and all(layer.built for layer in pipeline.layers)
    assert pipeline.weights == [] and pipeline.count_params() == 0
    assert pipeline.get_config()["name"] == pipeline.name


def test_random_height_and_width_are_written_as_tf_keras_legacy_layers(tmp_path):
    # TF 2.21: tf.keras.layers.RandomHeight/RandomWidth are Keras 3's legacy layers, written
    # with module "keras._legacy.layers", no registered name and no data_format; Keras could
    # not read convnp's "keras.layers" entry (ValueError: not a KerasSaveable subclass)
    import json
    import zipfile

    inputs = tf.keras.Input((8, 8, 3))
    x = layers.RandomHeight(0.1, interpolation="bicubic")(inputs)
    x = layers.RandomWidth(0.2)(x)
    x = layers.Resizing(8, 8)(x)
    outputs = layers.Dense(1)(layers.GlobalAveragePooling2D()(x))
    model = tf.keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    entries = {e["class_name"]: e for e in config["config"]["layers"]}
    for name in ("RandomHeight", "RandomWidth"):
        assert entries[name]["module"] == "keras._legacy.layers"
        assert entries[name]["registered_name"] is None
        assert "data_format" not in entries[name]["config"]
    assert entries["RandomHeight"]["config"]["interpolation"] == "bicubic"
    again = tf.keras.models.load_model(path)
    x = _images()
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras_files_marking_every_augmentation_call_training_still_predict_in_inference(
        tmp_path):
    # Keras 3.15 writes {"training": True} in the inbound node of every call of an image
    # augmentation layer, and TF 2.21's predict runs them in inference all the same; convnp
    # read it as a call fixed to training for the layers outside preprocessing.py
    # (RandomColorJitter, MixUp, RandAugment, Pipeline, RandomHeight...), which then
    # augmented in predict
    import json
    import zipfile

    inputs = tf.keras.Input((8, 8, 3))
    x = layers.Pipeline([layers.RandAugment(value_range=(0, 255)),
                         layers.RandomInvert(0.5)])(inputs)
    for layer in (layers.RandomColorJitter(brightness_factor=0.2), layers.RandomGrayscale(0.5),
                  layers.RandomErasing(), layers.RandomElasticTransform(), layers.MixUp(),
                  layers.CutMix(), layers.RandomBrightness(0.2), layers.RandomHeight(0.2),
                  layers.Resizing(8, 8), layers.RandomFlip()):
        x = layer(x)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(x))
    model = tf.keras.Model(inputs, outputs)
    source, target = tmp_path / "convnp.keras", tmp_path / "as_keras.keras"
    model.save(source)
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    for entry in config["config"]["layers"]:
        if entry["class_name"] not in ("InputLayer", "Resizing", "GlobalAveragePooling2D",
                                       "Dense"):
            for node in entry["inbound_nodes"]:
                node["kwargs"] = {"training": True}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    loaded = tf.keras.models.load_model(target)
    images = _images()
    expected = model.predict(images, verbose=0)
    for _ in range(2):
        np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-5,
                                   atol=1e-5)


def test_greyscale_images_go_through_grayscale_degeneration_randaugment_and_augmix():
    # TF 2.21: one-channel images pass RandomGrayscale unchanged and RandomColorDegeneration
    # (their grey is themselves), so RandAugment and AugMix, which pick the latter, take
    # MNIST-like images on every call; convnp refused them (RandAugment about 1 call in 3)
    grey = _images((4, 6, 6, 1))
    np.testing.assert_array_equal(layers.RandomGrayscale(factor=1.0)(grey), grey)
    np.testing.assert_allclose(layers.RandomColorDegeneration(factor=1.0)(grey), grey,
                               rtol=1e-6)
    for layer in (layers.RandAugment(seed=1), layers.AugMix(seed=1)):
        for _ in range(12):
            out = layer(grey)
            assert out.shape == (4, 6, 6, 1) and out.dtype == "float32"
    for name in ("RandomGrayscale", "RandomColorDegeneration"):
        with pytest.raises(ValueError):  # TF 2.21: ValueError for 4 channels
            getattr(layers, name)(factor=0.5)(_images((1, 4, 4, 4)))


#: TF 2.21: these layers change pixel values only, and pass a dict's bounding boxes and
#: segmentation masks through unchanged
PIXEL_ONLY = [
    ("RandomInvert", {}), ("RandomColorJitter", {"brightness_factor": 0.2}),
    ("Solarization", {}), ("AutoContrast", {}), ("RandomPosterization", {"factor": 4}),
    ("RandomSharpness", {"factor": 0.3}), ("RandomGaussianBlur", {}),
    ("RandomContrast", {"factor": 0.2}), ("RandomBrightness", {"factor": 0.2}),
    ("Equalization", {}), ("RandomErasing", {}), ("RandomColorDegeneration", {"factor": 0.2}),
    ("RandomHue", {"factor": 0.2}), ("RandomSaturation", {"factor": 0.2}),
]


def _boxes():
    return {"boxes": np.array([[[0, 0, 4, 4], [2, 2, 6, 6]], [[1, 1, 3, 3], [0, 0, 0, 0]]],
                              "float32"),
            "labels": np.array([[1, 2], [3, -1]], "int32")}


@pytest.mark.parametrize("name, arguments", PIXEL_ONLY)
def test_pixel_only_layers_pass_bounding_boxes_and_masks_through(name, arguments):
    # TF 2.21: bounding_box_format is an argument of every image preprocessing layer (in the
    # config when given), boxes need it, masks do not; convnp refused the argument and both
    # keys
    layer = getattr(layers, name)(bounding_box_format="xyxy", **arguments)
    config = layer.get_config()
    assert config["bounding_box_format"] == "xyxy"
    assert getattr(layers, name).from_config(config).bounding_box_format == "xyxy"
    assert "bounding_box_format" not in getattr(layers, name)(**arguments).get_config()
    x, boxes = _images(), _boxes()
    masks = np.zeros((2, 8, 8, 1), "float32")
    out = layer({"images": x, "bounding_boxes": boxes, "labels": np.eye(2, dtype="float32")})
    assert sorted(out) == ["bounding_boxes", "images", "labels"]
    assert sorted(out["bounding_boxes"]) == ["boxes", "labels"]
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], boxes["boxes"])
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], boxes["labels"])
    assert out["images"].shape == (2, 8, 8, 3)
    out = getattr(layers, name)(**arguments)({"images": x, "segmentation_masks": masks})
    np.testing.assert_array_equal(out["segmentation_masks"], masks)
    with pytest.raises(ValueError, match="bounding_box_format"):  # TF 2.21: ValueError
        getattr(layers, name)(**arguments)({"images": x, "bounding_boxes": boxes})
    with pytest.raises(ValueError):  # TF 2.21: ValueError without "labels"
        layer({"images": x, "bounding_boxes": {"boxes": boxes["boxes"]}})


def test_bounding_box_format_is_taken_by_the_moving_layers_and_refused_by_rescaling():
    # TF 2.21: every image preprocessing layer takes the argument (RandomFlip, MixUp,
    # RandAugment, Resizing...); Rescaling refuses it with ValueError
    for name, arguments in [("RandomFlip", {}), ("RandomRotation", {"factor": 0.1}),
                            ("MixUp", {}), ("CutMix", {}), ("RandAugment", {}),
                            ("AugMix", {}), ("Resizing", {"height": 4, "width": 4})]:
        layer = getattr(layers, name)(bounding_box_format="xyxy", **arguments)
        assert layer.get_config()["bounding_box_format"] == "xyxy"
    with pytest.raises(ValueError):
        layers.Rescaling(1.0, bounding_box_format="xyxy")


def test_keras_files_with_a_bounding_box_format_load(tmp_path):
    # TF 2.21 writes bounding_box_format in the layer's config when given; convnp refused
    # such a file ("unknown config key 'bounding_box_format'")
    inputs = tf.keras.Input((8, 8, 3))
    x = layers.RandomInvert(bounding_box_format="xyxy")(inputs)
    x = layers.RandomFlip(bounding_box_format="yxyx")(x)
    model = tf.keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling2D()(x)))
    model.save(tmp_path / "boxes.keras")
    again = tf.keras.models.load_model(tmp_path / "boxes.keras")
    assert [layer.bounding_box_format for layer in again.layers[1:3]] == ["xyxy", "yxyx"]
