"""Preprocessing layers and image helpers as Keras users call them, with TensorFlow 2.21's
answers written in (each value, dtype and exception type below is what TF 2.21 gave for the
same call)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers

# a 3 x 4 one-channel image whose resized values fall on halves (rounding shows)
_U8 = (np.arange(12) * 21 % 256).astype(np.uint8).reshape(1, 3, 4, 1)


def test_resizing_keeps_an_integer_dtype_rounding_half_to_even():
    out = L.Resizing(2, 3)(_U8)
    # TF 2.21: float32 values 24.5 52.5 80.5 / 150.5 178.5 206.5, given back as uint8
    assert np.asarray(out).dtype == np.uint8
    assert np.asarray(out)[0, :, :, 0].tolist() == [[24, 52, 80], [150, 178, 206]]
    floats = L.Resizing(2, 3)(_U8.astype(np.float32))
    assert np.asarray(floats).dtype == np.float32
    assert np.asarray(floats)[0, 0, :, 0].tolist() == [24.5, 52.5, 80.5]
    assert np.asarray(L.Resizing(2, 3)(_U8.astype(np.int32))).dtype == np.int32
    assert np.asarray(L.Resizing(2, 3)(_U8.astype(np.float64))).dtype == np.float32


def test_resizing_bicubic_clips_into_the_integer_range():
    # TF 2.21: the bicubic overshoot -8.01 becomes 0 in uint8
    out = np.asarray(L.Resizing(5, 7, interpolation="bicubic")(_U8))
    assert out.dtype == np.uint8
    assert out[0, 0, :, 0].tolist() == [0, 0, 13, 25, 37, 51, 58]
    assert out[0, 4, :, 0].tolist() == [173, 180, 194, 206, 218, 232, 239]


_X = (np.arange(48) * 21 % 256).astype(np.float32).reshape(1, 6, 8, 1)

# TF 2.21: Resizing(3, 5, interpolation=..., antialias=...)(_X), the first row
_FIRST_ROWS = {
    ("bicubic", False): [88.66, 124.14, 166.21, 50.33, 91.28],
    ("bicubic", True): [86.97, 125.96, 160.64, 94.19, 107.92],
    ("area", False): [91.88, 123.38, 157.5, 79.62, 95.12],
    ("area", True): [91.88, 123.38, 157.5, 79.62, 95.12],
    ("lanczos3", False): [90.56, 122.59, 171.66, 40.8, 86.15],
    ("lanczos5", True): [80.09, 126.76, 162.68, 101.01, 115.41],
    ("bilinear", True): [92.02, 123.87, 152.36, 100.59, 112.12],
    ("nearest", True): [168.0, 210.0, 252.0, 17.0, 59.0],
}


@pytest.mark.parametrize("interpolation,antialias", sorted(_FIRST_ROWS))
def test_resizing_takes_keras_3s_interpolations_and_antialias(interpolation, antialias):
    layer = L.Resizing(3, 5, interpolation=interpolation, antialias=antialias)
    out = np.asarray(layer(_X))
    assert out.shape == (1, 3, 5, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, :, 0], _FIRST_ROWS[interpolation, antialias],
                               atol=0.02)
    config = layer.get_config()
    assert (config["interpolation"], config["antialias"]) == (interpolation, antialias)
    assert L.Resizing.from_config(config).antialias == antialias


def test_resizing_refuses_what_keras_3_refuses():
    # TF 2.21: 'gaussian' and 'mitchellcubic' are ValueErrors in Resizing (tf.image.resize
    # has them, the layer does not)
    for name in ("gaussian", "mitchellcubic", "foo"):
        with pytest.raises(ValueError, match="interpolation"):
            L.Resizing(3, 5, interpolation=name)


def test_resizing_bicubic_after_the_aspect_crop():
    out = np.asarray(L.Resizing(3, 5, interpolation="bicubic", crop_to_aspect_ratio=True)(_X))
    # TF 2.21's first row
    np.testing.assert_allclose(out[0, 0, :, 0], [161.22, 198.85, 246.6, 30.06, 74.7],
                               atol=0.02)


def test_resizing_bicubic_trains_in_a_model():
    model = tf.keras.Sequential([tf.keras.Input((6, 8, 1)),
                                 L.Resizing(3, 4, interpolation="bicubic", antialias=True),
                                 L.Flatten(), L.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(_X / 255, np.ones(1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# ----------------------------------------------------------------------------- image helpers


def test_img_to_array_and_array_to_img_channels_first():
    pytest.importorskip("PIL")
    a = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    img = tf.keras.utils.array_to_img(a, data_format="channels_first")
    # TF 2.21: a 4 x 2 RGB image, channels read from the first axis
    assert (img.size, img.mode) == ((4, 2), "RGB")
    assert np.asarray(img)[0].tolist() == [[0, 88, 177], [11, 99, 188], [22, 110, 199],
                                           [33, 121, 210]]
    back = tf.keras.utils.img_to_array(img, data_format="channels_first")
    assert back.shape == (3, 2, 4)
    assert back[:, 0].tolist() == [[0, 11, 22, 33], [88, 99, 110, 121], [177, 188, 199, 210]]
    with pytest.raises(ValueError):
        tf.keras.utils.img_to_array(img, data_format="nchw")


def test_load_img_of_a_missing_file_is_file_not_found(tmp_path):
    pytest.importorskip("PIL")
    # TF 2.21: FileNotFoundError (Keras opens the file with Python's open)
    with pytest.raises(FileNotFoundError):
        tf.keras.utils.load_img(tmp_path / "missing.png")


# ----------------------------------------------------------------------------- image folders


@pytest.fixture
def two_class_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ramp = (np.arange(24) * 10 % 256).astype(np.uint8).reshape(4, 6)
    Image.fromarray(ramp).save(tmp_path / "a" / "x.png")
    Image.fromarray(255 - ramp).save(tmp_path / "b" / "y.png")
    return tmp_path


# TF 2.21: image_dataset_from_directory(image_size=(3, 5), interpolation=...,
# color_mode="grayscale", batch_size=None, shuffle=False), the first image
_FOLDER_RESIZE = {
    "bicubic": [[6.75, 19.18, 31.18, 43.19, 55.62], [90.57, 103.0, 115.0, 127.0, 139.43],
                [174.38, 186.81, 198.82, 210.82, 223.25]],
    "area": [[16.67, 28.33, 40.0, 51.67, 63.33], [91.67, 103.33, 115.0, 126.67, 138.33],
             [166.67, 178.33, 190.0, 201.67, 213.33]],
    "mitchellcubic": [[10.7, 22.55, 34.55, 46.55, 58.4], [91.15, 103.0, 115.0, 127.0, 138.85],
                      [171.6, 183.45, 195.45, 207.45, 219.3]],
}


@pytest.mark.parametrize("interpolation", sorted(_FOLDER_RESIZE))
def test_image_folder_takes_tf_image_resizes_methods(two_class_folder, interpolation):
    ds = tf.keras.utils.image_dataset_from_directory(
        two_class_folder, image_size=(3, 5), interpolation=interpolation, shuffle=False,
        verbose=False, batch_size=None, color_mode="grayscale")
    image = next(iter(ds))[0].numpy()[:, :, 0]
    np.testing.assert_allclose(image, _FOLDER_RESIZE[interpolation], atol=0.02)


def test_image_folder_channels_first_and_an_int_size(two_class_folder):
    ds = tf.keras.utils.image_dataset_from_directory(
        two_class_folder, image_size=3, shuffle=False, verbose=False, batch_size=2,
        data_format="channels_first")
    # TF 2.21: batches (2, 3, 3, 3) channels first, spec (None, 3, 3, 3); pixel [1, :, 0, 0]
    # of the second (inverted) image is 240 in every channel
    x, _ = next(iter(ds))
    assert x.shape == (2, 3, 3, 3) and tuple(ds.element_spec[0].shape) == (None, 3, 3, 3)
    np.testing.assert_allclose(x.numpy()[1, :, 0, 0], [240.0, 240.0, 240.0], atol=0.02)
    with pytest.raises(ValueError):
        tf.keras.utils.image_dataset_from_directory(two_class_folder, data_format="nchw")
    with pytest.raises(ValueError, match="interpolation"):
        tf.keras.utils.image_dataset_from_directory(two_class_folder, interpolation="foo")


# ----------------------------------------------------------------------------- adapt


def test_normalization_adapts_on_the_features_of_a_labelled_dataset():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    train_ds = tf.data.Dataset.from_tensor_slices((x, np.arange(4))).batch(2)
    norm = L.Normalization()
    norm.adapt(train_ds)  # the labels are not features
    # TF 2.21: mean [[9, 10, 11, 12, 13, 14]], variance of the columns
    assert np.asarray(norm.mean).tolist() == [[9.0, 10.0, 11.0, 12.0, 13.0, 14.0]]
    np.testing.assert_allclose(np.asarray(norm.variance), np.full((1, 6), 45.0))
    triple = L.Normalization()
    triple.adapt(tf.data.Dataset.from_tensor_slices(
        (np.ones((4, 3)), np.ones((4, 3)) * 3, np.ones(4))).batch(2))
    assert np.asarray(triple.mean).tolist() == [[1.0, 1.0, 1.0]]


def test_structured_data_tutorial_columns():
    # TensorFlow's "Classify structured data" tutorial: dict(df) columns (a text column is an
    # object array of str), a Normalization(axis=None) adapted on one column's batches and
    # called on Input(shape=(1,)), a StringLookup + CategoryEncoding; TF 2.21 trains it
    n = 12
    features = {"age": np.arange(n) + 30,
                "thal": np.array(["fixed", "normal", "reversible"] * 4, dtype=object),
                "w": np.linspace(0, 1, n)}
    ds = tf.data.Dataset.from_tensor_slices((features, np.arange(n) % 2)).batch(4)
    first, _ = next(iter(ds))
    assert first["thal"].numpy().tolist() == ["fixed", "normal", "reversible", "fixed"]
    norm = L.Normalization(axis=None)
    norm.adapt(ds.map(lambda x, y: x["w"]))
    lookup = L.StringLookup(max_tokens=5)
    lookup.adapt(ds.map(lambda x, y: x["thal"]))
    encode = L.CategoryEncoding(num_tokens=lookup.vocabulary_size())
    w_in = tf.keras.Input(shape=(1,), name="w")
    thal_in = tf.keras.Input(shape=(1,), name="thal", dtype="string")
    joined = L.concatenate([norm(w_in), encode(lookup(thal_in))])
    model = tf.keras.Model([w_in, thal_in], L.Dense(1)(joined))
    assert tuple(model.output_shape) == (None, 1)
    model.compile("adam", tf.keras.losses.BinaryCrossentropy(from_logits=True))
    history = model.fit(ds.map(lambda x, y: ({"w": x["w"], "thal": x["thal"]}, y)),
                        epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # one mean for all values: the input keeps its shape whatever rank adapt saw
    np.testing.assert_allclose(np.asarray(norm(np.array([[0.5]]))), [[0.0]], atol=1e-6)


def test_object_arrays_of_other_values_are_value_errors():
    # TF 2.21: ValueError "Failed to convert a NumPy array to a Tensor"
    with pytest.raises(ValueError):
        tf.data.Dataset.from_tensor_slices(np.array(["a", 1], dtype=object))
