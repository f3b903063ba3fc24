"""Keras 2's one-image helpers in ``tf.keras.preprocessing.image`` (apply_affine_transform,
the random_* transforms, channel and brightness shifts, smart_resize, save_img), which
TensorFlow 2.21 still exports. The expected values are TF 2.21's (or, for the affine
resampling, Keras' own outputs in tests/fixtures/image_generator.npz)."""

import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf

image_api = tf.keras.preprocessing.image
FIXTURE = Path(__file__).parents[1] / "fixtures" / "image_generator.npz"
AFFINE_CASES = ["rotate", "shift", "shear", "zoom", "affine_nearest", "affine_reflect",
                "affine_wrap", "affine_constant", "affine_order0", "big_reflect", "big_wrap"]
KEYS = ("theta", "tx", "ty", "shear", "zx", "zy")


def test_the_module_has_tf_names():
    # dir(tf.keras.preprocessing.image) in TF 2.21, public names
    names = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
             "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift",
             "array_to_img", "img_to_array", "load_img", "random_brightness",
             "random_channel_shift", "random_rotation", "random_shear", "random_shift",
             "random_zoom", "save_img", "smart_resize"]
    assert [n for n in names if not hasattr(image_api, n)] == []


@pytest.fixture(scope="module")
def keras_outputs():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", AFFINE_CASES)
def test_apply_affine_transform_matches_keras(keras_outputs, case):
    params = {k: float(v) for k, v in zip(KEYS, keras_outputs[f"params/{case}"])
              if not np.isnan(v)}
    kwargs = json.loads(str(keras_outputs[f"kwargs/{case}"]))
    options = {"fill_mode": kwargs.get("fill_mode", "nearest"), "cval": kwargs.get("cval", 0.0),
               "order": kwargs.get("interpolation_order", 1)}
    image = keras_outputs["in/image"]
    expected = keras_outputs[f"out/{case}"]
    # channels last, with the axes given (what ImageDataGenerator passes)
    got = image_api.apply_affine_transform(image, **params, row_axis=0, col_axis=1,
                                           channel_axis=2, **options)
    assert got.shape == image.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)
    # the defaults are channels first (row_axis=1, col_axis=2, channel_axis=0)
    first = image_api.apply_affine_transform(image.transpose(2, 0, 1), **params, **options)
    np.testing.assert_allclose(first, expected.transpose(2, 0, 1), rtol=0, atol=2e-3)


def test_apply_affine_transform_identity_and_integers():
    x = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert image_api.apply_affine_transform(x) is x  # nothing to do: x itself, as Keras
    moved = image_api.apply_affine_transform(x, tx=1)
    assert moved.dtype == np.uint8 and moved.shape == x.shape
    np.testing.assert_array_equal(moved[:, :, :3], x[:, :, 1:])  # tx moves the columns


@pytest.mark.parametrize("axes, error", [((0, 0, 2), ValueError), ((0, 1, 3), ValueError),
                                         ((0, 2, 1), ValueError)])
def test_apply_affine_transform_refuses_bad_axes(axes, error):
    x = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(error):
        image_api.apply_affine_transform(x, theta=10, row_axis=axes[0], col_axis=axes[1],
                                         channel_axis=axes[2])
    with pytest.raises(ValueError):
        image_api.apply_affine_transform(x[0], theta=10)


def test_channel_shift_values_and_dtypes():
    x = np.arange(40, dtype=np.float32).reshape(5, 4, 2)
    got = image_api.apply_channel_shift(x, 5.0, channel_axis=2)
    assert got.dtype == np.float32 and got.shape == (5, 4, 2)
    np.testing.assert_array_equal(got, np.clip(x + 5, 0, 39))
    # TF 2.21: a float shift of a uint8 image comes out float64; a negative one clips at the min
    assert image_api.apply_channel_shift(x.astype(np.uint8), 5.0, channel_axis=2).dtype \
        == np.float64
    assert float(image_api.apply_channel_shift(x.astype(np.float64), -3, 2).sum()) == 666.0


def test_random_functions_follow_numpys_global_seed():
    x = np.arange(48, dtype=np.float32).reshape(4, 4, 3)
    np.random.seed(5)
    assert image_api.random_channel_shift(x, 10.0, channel_axis=2)[0, 0].tolist() == [0, 0, 0]
    # TF 2.21 draws once, from NumPy's legacy global state
    assert np.random.uniform() == pytest.approx(0.8707323061773764)
    np.random.seed(5)
    got = image_api.random_brightness(x, (0.2, 0.9))
    assert got.dtype == np.float32
    assert got[..., 0].tolist() == [[0, 5, 11, 17], [23, 28, 34, 40], [46, 51, 57, 63],
                                    [69, 74, 80, 86]]
    np.random.seed(1)
    for fn, arg in [(image_api.random_rotation, 20), (image_api.random_shear, 10),
                    (image_api.random_zoom, (0.8, 1.2))]:
        assert fn(x, arg, row_axis=0, col_axis=1, channel_axis=2).shape == x.shape
    assert image_api.random_shift(x.transpose(2, 0, 1), 0.2, 0.2).shape == (3, 4, 4)


def test_random_ranges_must_be_pairs():
    x = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError):
        image_api.random_brightness(x, (0.5,))
    with pytest.raises(ValueError):
        image_api.random_zoom(x, (0.5,))
    with pytest.raises(TypeError):  # TF: len() of a float
        image_api.random_zoom(x, 0.5)


def test_brightness_shift_scales():
    pytest.importorskip("PIL")
    x = np.arange(48, dtype=np.float32).reshape(4, 4, 3)
    # scale=True (default) stretches onto 0..255 first; scale=False keeps the range
    assert float(image_api.apply_brightness_shift(x, 1.5).sum()) == 8084.0
    assert float(image_api.apply_brightness_shift(x, 1.5, scale=False).sum()) == 1680.0
    out = image_api.apply_brightness_shift(x * 10 - 50, 0.5, scale=False)
    np.testing.assert_allclose(out[0, :, 1], [-46.314, -31.569, -16.824, -0.235], atol=1e-3)


def test_smart_resize_values_and_dtypes():
    x = np.arange(20, dtype=np.float32).reshape(5, 4, 1)
    got = image_api.smart_resize(x, (3, 3))
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == (3, 3, 1)
    np.testing.assert_allclose(got[..., 0], [[0.8333, 2.1667, 3.5], [6.1667, 7.5, 8.8333],
                                             [11.5, 12.8333, 14.1667]], atol=1e-3)
    np.testing.assert_allclose(image_api.smart_resize(x, (2, 6))[0, :, 0],
                               [8.0, 8.5, 9.1667, 9.8333, 10.5, 11.0], atol=1e-3)
    np.testing.assert_allclose(image_api.smart_resize(x, (3, 3), interpolation="bicubic")[0, :, 0],
                               [0.5154, 1.9123, 3.3092], atol=1e-3)
    # TF 2.21: float64 and integer images come out float32, except with "nearest"
    assert image_api.smart_resize(x.astype(np.float64), (3, 3)).dtype == np.float32
    assert image_api.smart_resize(x.astype(np.uint8), (3, 3)).dtype == np.float32
    nearest = image_api.smart_resize(x.astype(np.uint8), (3, 3), interpolation="nearest")
    assert nearest.dtype == np.uint8
    assert nearest[..., 0].tolist() == [[0, 2, 3], [8, 10, 11], [12, 14, 15]]
    batch = image_api.smart_resize(np.stack([x, x]), (3, 3))
    assert batch.shape == (2, 3, 3, 1)
    first = image_api.smart_resize(x.transpose(2, 0, 1), (3, 3), data_format="channels_first")
    np.testing.assert_allclose(first[0], got[..., 0])
    # anything but a NumPy array gives a tensor
    assert isinstance(image_api.smart_resize(x.tolist(), (3, 3)), tf.Tensor)
    assert isinstance(image_api.smart_resize(tf.constant(x), (3, 3)), tf.Tensor)


def test_smart_resize_refuses_bad_arguments():
    x = np.zeros((5, 4, 2), np.float32)
    with pytest.raises(ValueError):
        image_api.smart_resize(x, (3,))
    with pytest.raises(ValueError):
        image_api.smart_resize(x[0], (3, 3))
    with pytest.raises(TypeError):
        image_api.smart_resize(x, (3, 3), foo=1)


def test_save_img_is_exported(tmp_path):
    pytest.importorskip("PIL")
    x = np.arange(48, dtype=np.float32).reshape(4, 4, 3)
    image_api.save_img(tmp_path / "a.png", x)
    back = image_api.img_to_array(image_api.load_img(tmp_path / "a.png"))
    assert back.shape == (4, 4, 3) and back.max() == 255.0


def test_flow_save_to_dir_writes_the_augmented_images(tmp_path):
    pytest.importorskip("PIL")
    # TF 2.21 writes <prefix>_<sample index>_<random>.<format> per image of each batch read
    x = np.random.default_rng(0).uniform(0, 255, (5, 6, 5, 3)).astype(np.float32)
    gen = image_api.ImageDataGenerator()
    it = gen.flow(x, np.arange(5), batch_size=2, shuffle=False, save_to_dir=str(tmp_path),
                  save_prefix="aug", save_format="jpeg")
    it[0], it[2]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split("_")[:2] for n in names] == [["aug", "0"], ["aug", "1"], ["aug", "4"]]
    assert all(n.endswith(".jpeg") for n in names)
    with pytest.raises(FileNotFoundError):  # a missing folder fails when a batch is written
        gen.flow(x, save_to_dir=str(tmp_path / "nope"))[0]


def test_flow_from_directory_save_to_dir(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    (tmp_path / "src" / "c").mkdir(parents=True)
    for i in range(3):
        pil.fromarray(np.full((4, 4, 3), i * 50, np.uint8)).save(tmp_path / "src" / "c" / f"{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    it = image_api.ImageDataGenerator().flow_from_directory(
        str(tmp_path / "src"), target_size=(4, 4), batch_size=2, shuffle=False,
        save_to_dir=out)
    it[0]
    names = sorted(p.name for p in out.iterdir())
    assert [n.split("_")[1] for n in names] == ["0", "1"]
    assert all(n.startswith("_") and n.endswith(".png") for n in names)


class _Tens(image_api.Iterator):
    """A user's iterator written as for Keras: only the batch hook."""

    def __init__(self, n):
        super().__init__(n, batch_size=3, shuffle=False, seed=None, workers=1)

    def _get_batches_of_transformed_samples(self, index_array):
        return np.asarray(index_array) * 10, np.asarray(index_array)


def test_a_users_iterator_subclass_works():
    # TF 2.21: indexing, next() (wrapping around) and fit all read the hook
    it = _Tens(7)
    assert len(it) == 3
    assert [a.tolist() for a in it[1]] == [[30, 40, 50], [3, 4, 5]]
    seen = [next(it)[1].tolist() for _ in range(4)]
    assert seen == [[0, 1, 2], [3, 4, 5], [6], [0, 1, 2]]
    model = tf.keras.Sequential([tf.keras.Input(()), tf.keras.layers.Reshape((1,)),
                                 tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert list(model.fit(_Tens(7), epochs=1, verbose=0).history) == ["loss"]
    assert image_api.Iterator.white_list_formats == ("png", "jpg", "jpeg", "bmp", "ppm", "tif",
                                                     "tiff")
    # the built-in iterators answer the hook too
    flow = image_api.ImageDataGenerator().flow(np.ones((4, 3, 3, 1)), np.arange(4),
                                               shuffle=False)
    x, y = flow._get_batches_of_transformed_samples([2, 3])
    assert x.shape == (2, 3, 3, 1) and y.tolist() == [2, 3]


def test_iterators_take_kerass_data_format_argument():
    # TF 2.21's NumpyArrayIterator(x, y, generator, batch_size, shuffle, sample_weight, seed,
    # data_format, save_to_dir, ...); convnp works channels last only
    x = np.ones((4, 3, 3, 1))
    gen = image_api.ImageDataGenerator()
    it = image_api.NumpyArrayIterator(x, None, gen, 2, False, None, None, "channels_last")
    assert it[0].shape == (2, 3, 3, 1)
    with pytest.raises(ValueError):
        image_api.NumpyArrayIterator(x, None, gen, data_format="channels_first")


def test_apply_affine_transform_integers_and_swapped_axes():
    # Keras' recipe with scipy.ndimage.affine_transform (what TF 2.21 runs): an integer
    # image keeps its dtype, rounded; row_axis after col_axis reads the layout as given
    x = np.arange(20, dtype=np.uint8).reshape(4, 5, 1) * 12
    got = image_api.apply_affine_transform(x, theta=33, ty=1.6, row_axis=0, col_axis=1,
                                           channel_axis=2, fill_mode="constant", cval=9)
    assert got.dtype == np.uint8
    assert got[..., 0].tolist() == [[56, 99, 142, 185, 9], [9, 143, 186, 9, 9],
                                    [9, 9, 9, 9, 9], [9, 9, 9, 9, 9]]
    cols_first = np.arange(12, dtype=np.float32).reshape(1, 3, 4).transpose(0, 2, 1).copy()
    got = image_api.apply_affine_transform(cols_first, theta=20, tx=1.1, ty=0.4, row_axis=2,
                                           col_axis=1, channel_axis=0)
    np.testing.assert_allclose(got[0], [[3.4724, 6.8891, 8.7862], [5.7801, 9.1969, 9.7258],
                                        [7.7383, 11.0, 10.6655], [9.1064, 11.0, 11.0]],
                               atol=1e-4)
