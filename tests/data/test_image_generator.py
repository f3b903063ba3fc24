"""ImageDataGenerator: transforms and standardization against Keras' own outputs (fixture made
by tests/fixtures/make_image_generator.py), the iterators' contract and model.fit with them."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from convnp.data.image_generator import ImageDataGenerator

FIXTURE = Path(__file__).parents[1] / "fixtures" / "image_generator.npz"
KEYS = ("theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal", "flip_vertical",
        "channel_shift_intensity", "brightness")


@pytest.fixture(scope="module")
def keras_outputs():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _params(vector) -> dict:
    params = {}
    for key, value in zip(KEYS, vector):
        if np.isnan(value):
            continue
        params[key] = bool(value) if key.startswith("flip") else float(value)
    return params


CASES = ["rotate", "shift", "shear", "zoom", "affine_nearest", "affine_reflect", "affine_wrap",
         "affine_constant", "affine_order0", "big_reflect", "big_wrap", "flips", "hflip",
         "channel_shift", "brightness", "brightness_up", "all"]


def test_fixture_lists_the_cases_tested(keras_outputs):
    assert list(keras_outputs["cases"]) == CASES


@pytest.mark.parametrize("case", CASES)
def test_apply_transform_matches_keras(keras_outputs, case):
    params = _params(keras_outputs[f"params/{case}"])
    if "brightness" in params:
        pytest.importorskip("PIL")
    gen = ImageDataGenerator(**json.loads(str(keras_outputs[f"kwargs/{case}"])))
    image = keras_outputs["in/image"]
    before = image.copy()
    got = gen.apply_transform(image, params)
    np.testing.assert_array_equal(image, before)  # the input is not modified
    assert got.shape == image.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, keras_outputs[f"out/{case}"], rtol=0, atol=2e-3)


def test_identity_parameters_leave_the_image_as_is(keras_outputs):
    image = keras_outputs["in/image"]
    got = ImageDataGenerator().apply_transform(image, {})
    np.testing.assert_array_equal(got, image)
    assert got is not image


STD_CASES = ["featurewise", "center_only", "samplewise", "rescale_featurewise", "zca"]


@pytest.mark.parametrize("case", STD_CASES)
def test_fit_and_standardize_match_keras(keras_outputs, case):
    assert list(keras_outputs["std_cases"]) == STD_CASES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zca_whitening turning featurewise_center on
        gen = ImageDataGenerator(**json.loads(str(keras_outputs[f"std_kwargs/{case}"])))
    batch = keras_outputs["in/batch"]
    gen.fit(batch)
    for stat in ("mean", "std"):
        expected = keras_outputs[f"std_{stat}/{case}"]
        value = getattr(gen, stat)
        if np.isnan(expected).all():
            assert value is None
        else:
            assert value.shape == (1, 1, 3)
            np.testing.assert_allclose(value.reshape(-1), expected, rtol=1e-5)
    got = gen.standardize(batch.copy())
    np.testing.assert_allclose(got, keras_outputs[f"std_out/{case}"], rtol=1e-4, atol=1e-4)


def test_standardize_works_in_place_on_floats_like_keras():
    gen = ImageDataGenerator(rescale=0.5, preprocessing_function=lambda a: a + 1)
    x = np.full((2, 3, 3), 4.0, np.float32)
    out = gen.standardize(x)
    np.testing.assert_array_equal(out, np.full((2, 3, 3), 2.5))
    ints = np.full((2, 3, 1), 4, np.uint8)
    assert gen.standardize(ints).dtype == np.float32 and ints[0, 0, 0] == 4


def test_standardize_before_fit_warns():
    gen = ImageDataGenerator(featurewise_center=True)
    with pytest.warns(UserWarning, match="fit"):
        gen.standardize(np.ones((2, 2, 3), np.float32))


def test_random_transform_is_seeded_and_draws_within_ranges():
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.2, height_shift_range=3,
                             shear_range=5, zoom_range=(0.9, 1.1), channel_shift_range=10,
                             horizontal_flip=True)
    a = gen.get_random_transform((20, 10, 3), seed=5)
    assert a == gen.get_random_transform((20, 10, 3), seed=5)
    draws = [gen.get_random_transform((20, 10, 3), seed=s) for s in range(200)]
    assert all(abs(d["theta"]) <= 30 and abs(d["shear"]) <= 5 for d in draws)
    assert all(abs(d["ty"]) <= 0.2 * 10 for d in draws)  # width: a fraction of the width
    assert {abs(int(d["tx"])) for d in draws} == {0, 1, 2}  # an int: whole pixels below 3
    assert all(0.9 <= d["zx"] <= 1.1 and 0.9 <= d["zy"] <= 1.1 for d in draws)
    assert {d["flip_horizontal"] for d in draws} == {True, False}
    assert not any(d["flip_vertical"] for d in draws)
    x = np.random.default_rng(0).uniform(0, 255, (20, 10, 3)).astype(np.float32)
    np.testing.assert_array_equal(gen.random_transform(x, seed=3), gen.random_transform(x, seed=3))


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"fill_mode": "mirror"}, ValueError),
    ({"zoom_range": (1, 2, 3)}, ValueError),
    ({"zoom_range": "0.2"}, ValueError),
    ({"brightness_range": 0.5}, ValueError),
    ({"rotation_range": -5}, ValueError),
    ({"rotation_range": "20"}, TypeError),
    ({"width_shift_range": "0.1"}, ValueError),
    ({"validation_split": 1.0}, ValueError),
    ({"interpolation_order": 3}, ValueError),
    ({"data_format": "channels_first"}, ValueError),
    ({"preprocessing_function": 3}, TypeError),
    ({"dtype": "int32"}, ValueError),
    ({"horizontal_flip": "yes"}, TypeError),
])
def test_bad_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        ImageDataGenerator(**kwargs)


def test_zca_whitening_decorrelates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2, 2, 3)) @ rng.normal(size=(3, 3))
    with pytest.warns(UserWarning, match="featurewise_center"):
        gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-9, dtype="float64")
    gen.fit(x)
    white = gen.standardize(x.copy()).reshape(200, -1)
    # Keras centres per channel, then whitens the second moments of the flattened images
    np.testing.assert_allclose(white.T @ white / 200, np.eye(12), atol=1e-6)


# -- flow --------------------------------------------------------------------------------------


def _arrays(n=10):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (n, 6, 5, 3)).astype(np.uint8), np.arange(n)


def test_flow_batches_cover_the_data_once_per_epoch():
    x, y = _arrays()
    it = ImageDataGenerator(rescale=1 / 255).flow(x, y, batch_size=4, seed=0)
    assert len(it) == 3 and it.n == 10
    seen = []
    for i in range(len(it)):
        xb, yb = it[i]
        assert xb.dtype == np.float32
        np.testing.assert_allclose(xb, x[yb] / np.float32(255), rtol=1e-6)
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    it.on_epoch_end()
    again = np.concatenate([it[i][1] for i in range(len(it))])
    assert sorted(again.tolist()) == list(range(10)) and again.tolist() != seen
    with pytest.raises(IndexError):
        it[3]


def test_flow_without_shuffle_next_and_reset():
    x, y = _arrays()
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert [next(it)[1].tolist() for _ in range(4)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]
    it.reset()
    assert it.next()[1].tolist() == [0, 1, 2, 3]


def test_flow_sample_weight_x_only_and_extra_inputs():
    x, y = _arrays()
    gen = ImageDataGenerator()
    w = np.linspace(0, 1, 10)
    xb, yb, wb = gen.flow(x, y, sample_weight=w, batch_size=5, shuffle=False)[1]
    np.testing.assert_array_equal(wb, w[5:])
    np.testing.assert_array_equal(yb, y[5:])
    np.testing.assert_array_equal(xb, x[5:].astype(np.float32))
    only = gen.flow(x, batch_size=5, shuffle=False)[0]
    assert isinstance(only, np.ndarray) and only.shape == (5, 6, 5, 3)
    extra = np.arange(10) * 2
    (images, other), _ = gen.flow((x, extra), y, batch_size=5, shuffle=False)[0]
    np.testing.assert_array_equal(other, extra[:5])
    assert images.shape == (5, 6, 5, 3)


def test_flow_seeded_augmentation_repeats():
    x, y = _arrays()
    gen = ImageDataGenerator(rotation_range=40, zoom_range=0.3, horizontal_flip=True)
    a = gen.flow(x, y, batch_size=4, seed=7)[0]
    b = gen.flow(x, y, batch_size=4, seed=7)[0]
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], x[a[1]].astype(np.float32))


def test_flow_validation_split_takes_the_first_part():
    x, y = _arrays()
    y = np.arange(10) % 2
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert val.n == 3 and train.n == 7
    np.testing.assert_array_equal(val[0][0], x[:3].astype(np.float32))
    np.testing.assert_array_equal(train[0][0], x[3:].astype(np.float32))
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.sort(y), subset="training")
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator().flow(x, y, subset="training")


@pytest.mark.parametrize(("args", "kwargs", "error"), [
    ((np.zeros((4, 5, 5)),), {}, ValueError),
    ((np.zeros((4, 5, 5, 3)), np.zeros(3)), {}, ValueError),
    ((np.zeros((4, 5, 5, 3)),), {"batch_size": 0}, ValueError),
    ((np.zeros((4, 5, 5, 3)),), {"subset": "test"}, ValueError),
    ((np.zeros((4, 5, 5, 3)),), {"seed": 1.5}, TypeError),
    ((np.zeros((4, 5, 5, 3)),), {"save_to_dir": 3}, TypeError),
])
def test_flow_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        ImageDataGenerator(validation_split=0.5).flow(*args, **kwargs)



def test_model_fit_reads_flow_batches():
    import convnp as tf

    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (24, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((8, 8, 1)),
                                 tf.keras.layers.Conv2D(2, 3, activation="relu"),
                                 tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    gen = tf.keras.preprocessing.image.ImageDataGenerator(horizontal_flip=True,
                                                          rotation_range=10)
    history = model.fit(gen.flow(x, y, batch_size=8, seed=0), epochs=2, verbose=0,
                        validation_data=gen.flow(x, y, batch_size=12, shuffle=False))
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history
    # more steps than the flow's 3 batches: the epoch ends short with Keras 3's warning
    with pytest.warns(UserWarning, match="ran out of data after 3 of 5 steps"):
        history = model.fit(gen.flow(x, y, batch_size=8), steps_per_epoch=5, epochs=1,
                            verbose=0)
    assert np.isfinite(history.history["loss"][0])


# -- flow_from_directory ------------------------------------------------------------------------


@pytest.fixture()
def image_tree(tmp_path):
    """dogs: 3 files (one in a sub-folder), cats: 2, birds: 2; sizes differ from the target."""
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2)
    layout = {"dogs": ["b.png", "a.jpg", "sub/c.png"], "cats": ["z.png", "y.bmp"],
              "birds": ["p.png", "q.png"]}
    for folder, names in layout.items():
        for name in names:
            path = tmp_path / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (7 + len(name), 9, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(path)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    return tmp_path


def _expected_pixels(path, size, resample, mode="RGB"):
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert(mode).resize((size[1], size[0]), resample=resample)
        return np.asarray(img, dtype=np.float32).reshape(size[0], size[1], -1)


def test_flow_from_directory_lists_like_keras(image_tree, capsys):
    it = ImageDataGenerator().flow_from_directory(image_tree, target_size=(6, 5),
                                                  batch_size=3, shuffle=False)
    assert "Found 7 images belonging to 3 classes." in capsys.readouterr().out
    assert it.class_indices == {"birds": 0, "cats": 1, "dogs": 2}
    assert it.filenames == ["birds/p.png", "birds/q.png", "cats/y.bmp", "cats/z.png",
                            "dogs/a.jpg", "dogs/b.png", "dogs/sub/c.png"]
    np.testing.assert_array_equal(it.classes, [0, 0, 1, 1, 2, 2, 2])
    assert it.classes.dtype == np.int32 and it.samples == 7 and len(it) == 3
    assert it.image_shape == (6, 5, 3) and it.num_classes == 3


def test_flow_from_directory_batches_hold_the_pillow_images(image_tree):
    from PIL import Image

    it = ImageDataGenerator().flow_from_directory(
        image_tree, target_size=(6, 5), batch_size=4, shuffle=False, interpolation="bilinear")
    xb, yb = it[1]
    assert xb.shape == (3, 6, 5, 3) and xb.dtype == np.float32
    np.testing.assert_array_equal(yb, np.eye(3, dtype=np.float32)[[2, 2, 2]])
    for k, name in enumerate(it.filenames[4:]):
        np.testing.assert_array_equal(
            xb[k], _expected_pixels(image_tree / name, (6, 5), Image.Resampling.BILINEAR))


@pytest.mark.parametrize("class_mode", ["binary", "sparse", "input", None])
def test_flow_from_directory_class_modes(image_tree, class_mode):
    gen = ImageDataGenerator(rescale=1 / 255)
    it = gen.flow_from_directory(image_tree, target_size=(4, 4), color_mode="grayscale",
                                 classes=["dogs", "cats"], class_mode=class_mode,
                                 batch_size=5, shuffle=False)
    assert it.class_indices == {"dogs": 0, "cats": 1}
    batch = it[0]
    if class_mode is None:
        assert batch.shape == (5, 4, 4, 1)
        return
    xb, yb = batch
    assert xb.shape == (5, 4, 4, 1) and 0 <= xb.min() and xb.max() <= 1
    if class_mode == "input":
        np.testing.assert_array_equal(yb, xb)
    else:
        np.testing.assert_array_equal(yb, [0, 0, 0, 1, 1])
        assert yb.dtype == np.float32


def test_flow_from_directory_validation_split_per_class(image_tree):
    gen = ImageDataGenerator(validation_split=0.5)
    val = gen.flow_from_directory(image_tree, target_size=(4, 4), subset="validation",
                                  shuffle=False)
    train = gen.flow_from_directory(image_tree, target_size=(4, 4), subset="training",
                                    shuffle=False)
    # Keras: the first int(0.5 * n) files of each class folder are the validation subset
    assert val.filenames == ["birds/p.png", "cats/y.bmp", "dogs/a.jpg"]
    assert train.filenames == ["birds/q.png", "cats/z.png", "dogs/b.png", "dogs/sub/c.png"]


def test_flow_from_directory_shuffled_seeded_and_keep_aspect_ratio(image_tree):
    from PIL import Image

    gen = ImageDataGenerator()
    a = gen.flow_from_directory(image_tree, target_size=(3, 6), batch_size=7, seed=4,
                                class_mode="sparse", keep_aspect_ratio=True)
    b = gen.flow_from_directory(image_tree, target_size=(3, 6), batch_size=7, seed=4,
                                class_mode="sparse", keep_aspect_ratio=True)
    (xa, ya), (xb, yb) = a[0], b[0]
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert sorted(ya.tolist()) == [0, 0, 1, 1, 2, 2, 2]
    with Image.open(image_tree / "birds" / "p.png") as img:  # 12 x 9 -> crop 4 x 9 -> 3 x 6
        crop = img.convert("RGB").crop((0, 4, 9, 8)).resize((6, 3), Image.Resampling.NEAREST)
    expected = np.asarray(crop, dtype=np.float32)
    assert any(np.array_equal(expected, xa[i]) for i in range(7))


def test_flow_from_directory_bad_arguments(image_tree, tmp_path):
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(image_tree, class_mode="int")
    with pytest.raises(ValueError, match="color_mode"):
        gen.flow_from_directory(image_tree, color_mode="cmyk")
    with pytest.raises(ValueError, match="2 class"):
        gen.flow_from_directory(image_tree, class_mode="binary")
    with pytest.raises(ValueError, match="interpolation"):
        gen.flow_from_directory(image_tree, interpolation="cubic")
    with pytest.raises(ValueError, match="image_size|positive"):
        gen.flow_from_directory(image_tree, target_size=(0, 4))
    with pytest.raises(ValueError, match="not sub-folders"):
        gen.flow_from_directory(image_tree, classes=["fish"])
    with pytest.raises(FileNotFoundError):
        gen.flow_from_directory(tmp_path / "nowhere")


def test_flow_from_directory_corrupt_file_is_named(image_tree):
    (image_tree / "cats" / "bad.png").write_bytes(b"not a png at all")
    it = ImageDataGenerator().flow_from_directory(image_tree, target_size=(4, 4), batch_size=8,
                                                  shuffle=False)
    with pytest.raises(ValueError, match="bad.png"):
        it[0]


def test_model_fit_from_directory(image_tree):
    import convnp as tf

    tf.keras.utils.set_random_seed(0)
    gen = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255, zoom_range=0.2,
                                                          validation_split=0.5)
    train = gen.flow_from_directory(image_tree, target_size=(8, 8), batch_size=2, seed=1,
                                    subset="training")
    val = gen.flow_from_directory(image_tree, target_size=(8, 8), batch_size=2,
                                  subset="validation")
    model = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(val, verbose=0).shape == (val.samples, 3)
