"""convnp.plot pictures: each writes a PNG of the expected size that is not blank."""

from __future__ import annotations

import os

import numpy as np
import pytest

import convnp as tf
from convnp import plot

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")
tfl = tf.keras.layers


def _model(classes=3, channels=3):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tfl.Conv2D(6, 3, padding="same", activation="relu", input_shape=(16, 16, channels)),
        tfl.MaxPooling2D(2),
        tfl.Conv2D(8, 3, padding="same"),
        tfl.BatchNormalization(),
        tfl.ReLU(),
        tfl.GlobalAveragePooling2D(),
        tfl.Dense(classes, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _image(seed=0, channels=3):
    rng = np.random.default_rng(seed)
    img = np.zeros((16, 16, channels), dtype=np.float32)
    img[4:12, 4:12] = 1.0  # a bright square, so maps have structure
    return img + 0.1 * rng.random(img.shape, dtype=np.float32)


def _check_png(path, size=None):
    assert os.path.exists(path)
    with Image.open(path) as im:
        assert im.format == "PNG"
        if size is not None:
            assert im.size == size
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.var() > 50.0, "the picture is blank"
    assert [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")] == []


def test_filters_rgb_first_layer_and_grey_deeper_layer(tmp_path):
    model = _model()
    fig = plot.filters(model, save=tmp_path / "f.png", dpi=50)
    _check_png(tmp_path / "f.png", tuple(round(v * 50) for v in fig.get_size_inches()))
    plot.filters(model, layer=2, save=tmp_path / "f2.png")
    _check_png(tmp_path / "f2.png")
    images, rgb = plot.tiles.filter_images(model.layers[2].get_weights()[0])
    assert not rgb and images.shape == (8, 3, 3)
    with pytest.raises(ValueError, match="no 4-D conv kernel"):
        plot.filters(model, layer=1)


def test_feature_maps(tmp_path):
    model = _model()
    plot.feature_maps(model, _image(), max_maps=4, save=tmp_path / "m.png")
    _check_png(tmp_path / "m.png")
    plot.feature_maps(model, _image(), layers=[2],
                      save=tmp_path / "m2.png")
    _check_png(tmp_path / "m2.png")
    with pytest.raises(ValueError, match="not feature maps"):
        plot.feature_maps(model, _image(), layers=[-1])
    with pytest.raises(ValueError, match="one image"):
        plot.feature_maps(model, np.stack([_image(), _image(1)]))


def test_saliency_and_gradcam_pictures_and_values(tmp_path):
    model = _model()
    _fig, values = plot.saliency(model, _image(), save=tmp_path / "s.png", return_values=True)
    assert values.shape == (16, 16) and values.max() > 0
    _check_png(tmp_path / "s.png", (900, 340))
    _fig, cam = plot.gradcam(model, _image(), class_index=1, save=tmp_path / "g.png",
                            return_values=True)
    assert cam.shape == (16, 16) and (cam >= 0).all()
    _check_png(tmp_path / "g.png", (900, 340))
    assert plot.gradcam(model, _image()) is not None  # figure only by default


def test_grey_images_and_sigmoid_models(tmp_path):
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([
        tfl.Conv2D(4, 3, input_shape=(16, 16, 1)), tfl.ReLU(), tfl.Flatten(),
        tfl.Dense(1, activation="sigmoid")])
    _, _cam = plot.gradcam(model, _image(channels=1), save=tmp_path / "g.png",
                          return_values=True)
    _check_png(tmp_path / "g.png")
    plot.filters(model, save=tmp_path / "f.png")
    _check_png(tmp_path / "f.png")


def test_confusion_matrix_and_misclassified(tmp_path):
    model = _model()
    x = np.stack([_image(i) for i in range(9)])
    y = np.eye(3)[np.arange(9) % 3]
    _fig, counts = plot.confusion_matrix(model, x, y, class_names=["a", "b", "c"],
                                        save=tmp_path / "cm.png", return_values=True)
    assert counts.sum() == 9 and counts.shape == (3, 3)
    assert counts.sum(axis=1).tolist() == [3, 3, 3]
    _check_png(tmp_path / "cm.png")
    plot.misclassified(model, x, np.arange(9) % 3, save=tmp_path / "mis.png")
    _check_png(tmp_path / "mis.png")
    with pytest.raises(ValueError, match="as many labels as images"):
        plot.confusion_matrix(model, x, y[:3])


def test_resnet_style_model_with_a_residual_add(tmp_path):
    tf.keras.utils.set_random_seed(2)
    inputs = tf.keras.Input((16, 16, 3))
    x = tfl.Conv2D(8, 3, padding="same", name="stem")(inputs)
    shortcut = x
    x = tfl.BatchNormalization()(x)
    x = tfl.ReLU()(x)
    x = tfl.Conv2D(8, 3, padding="same", name="block_conv")(x)
    x = tfl.Add()([x, shortcut])
    x = tfl.ReLU()(x)
    x = tfl.GlobalAveragePooling2D()(x)
    outputs = tfl.Dense(4, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs)
    _, cam = plot.gradcam(model, _image(), save=tmp_path / "g.png", return_values=True)
    assert cam.shape == (16, 16)
    _check_png(tmp_path / "g.png")
    plot.feature_maps(model, _image(), save=tmp_path / "m.png")
    _check_png(tmp_path / "m.png")
