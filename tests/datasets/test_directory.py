"""tf.keras.utils.image_dataset_from_directory and load_img / img_to_array / array_to_img."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.ops import reference

Image = pytest.importorskip("PIL.Image")

from tests.datasets.test_folder import save  # after the Pillow skip


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """alpaca: 6 PNGs 12x10 (value = 10 * index), one in a sub-folder; not_alpaca: 4 PNGs
    8x8 (value 200 + index); plus a text file and a hidden folder, both ignored."""
    root = tmp_path / "dataset"
    for i in range(6):
        where = root / "alpaca" / ("nested" if i == 5 else "") / f"a{i}.png"
        save(where, np.full((12, 10, 3), 10 * i, np.uint8))
    for i in range(4):
        save(root / "not_alpaca" / f"n{i}.png", np.full((8, 8, 3), 200 + i, np.uint8))
    (root / "alpaca" / "readme.txt").write_text("not an image")
    (root / ".cache").mkdir()
    return root


def collect(dataset):
    xs, ys = [], []
    for x, y in dataset:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ys)


def test_course_call_split_and_values(tree, capsys):
    kwargs = {"shuffle": True, "batch_size": 4, "image_size": (6, 5),
              "validation_split": 0.2, "seed": 42}
    train = tf.keras.preprocessing.image_dataset_from_directory(tree, subset="training",
                                                                **kwargs)
    val = tf.keras.utils.image_dataset_from_directory(tree, subset="validation", **kwargs)
    out = capsys.readouterr().out
    assert "Found 10 files belonging to 2 classes." in out
    assert "Using 8 files for training." in out and "Using 2 files for validation." in out
    assert train.class_names == ["alpaca", "not_alpaca"]
    x, y = collect(train)
    xv, yv = collect(val)
    assert x.shape == (8, 6, 5, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert xv.shape == (2, 6, 5, 3)
    assert sorted(train.file_paths + val.file_paths) == sorted(
        str(p) for p in tree.rglob("*.png"))
    assert not set(train.file_paths) & set(val.file_paths)
    # values stay in [0, 255] and each label matches its image's class (constant images)
    for image, label in zip(np.concatenate([x, xv]), np.concatenate([y, yv])):
        assert (image[0, 0, 0] > 150) == bool(label)
        np.testing.assert_allclose(image, image[0, 0, 0], rtol=1e-5)
    batches = [np.asarray(b[0]).shape[0] for b in train]
    assert batches == [4, 4]


def test_same_seed_same_split_and_keras_file_order(tree):
    a = tf.keras.utils.image_dataset_from_directory(tree, validation_split=0.3, subset="both",
                                                    seed=3, image_size=(4, 4), verbose=False)
    b = tf.keras.utils.image_dataset_from_directory(tree, validation_split=0.3,
                                                    subset="validation", seed=3,
                                                    image_size=(4, 4), verbose=False)
    assert a[1].file_paths == b.file_paths
    # Keras permutes the sorted file list with NumPy's RandomState(seed)
    listed = sorted(str(p) for p in (tree / "alpaca").rglob("*.png")) + sorted(
        str(p) for p in (tree / "not_alpaca").glob("*.png"))
    order = np.random.RandomState(3).permutation(10)
    assert a[0].file_paths + a[1].file_paths == [listed[i] for i in order]


def test_resize_is_tf_image_resize(tree):
    ds = tf.keras.utils.image_dataset_from_directory(
        tree, shuffle=False, image_size=(5, 7), batch_size=None, verbose=False,
        class_names=["not_alpaca"])
    first, label = next(iter(ds))
    raw = np.asarray(Image.open(tree / "not_alpaca" / "n0.png"), dtype=np.float64)[None]
    np.testing.assert_allclose(first, reference.resize_bilinear(raw, 5, 7)[0], atol=1e-4)
    assert int(label) == 0


@pytest.mark.parametrize("label_mode, shape, dtype", [
    ("categorical", (10, 2), np.float32), ("binary", (10, 1), np.float32),
    ("int", (10,), np.int32),
])
def test_label_modes(tree, label_mode, shape, dtype):
    ds = tf.keras.utils.image_dataset_from_directory(tree, label_mode=label_mode,
                                                     image_size=(4, 4), verbose=False)
    _, y = collect(ds)
    assert y.shape == shape and y.dtype == dtype


def test_no_labels_color_modes_and_crop(tree):
    ds = tf.keras.utils.image_dataset_from_directory(tree, labels=None, image_size=(4, 4),
                                                     color_mode="grayscale", verbose=False,
                                                     crop_to_aspect_ratio=True)
    batches = list(ds)
    assert np.asarray(batches[0]).shape == (10, 4, 4, 1)
    ds = tf.keras.utils.image_dataset_from_directory(tree, image_size=(4, 4),
                                                     color_mode="rgba", verbose=False)
    assert np.asarray(next(iter(ds))[0]).shape[-1] == 4


def test_corrupt_files_are_skipped_with_a_warning(tree):
    bad = tree / "alpaca" / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    with pytest.warns(UserWarning, match="broken.jpg"):
        ds = tf.keras.utils.image_dataset_from_directory(tree, image_size=(4, 4),
                                                         verbose=False)
    x, _ = collect(ds)
    assert x.shape[0] == 10 and str(bad) not in ds.file_paths


@pytest.mark.parametrize("kwargs, error, match", [
    ({"validation_split": 0.2, "subset": "training"}, ValueError, "seed"),
    ({"validation_split": 0.2}, ValueError, "subset"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, ValueError,
     "validation_split"),
    ({"label_mode": "sparse"}, ValueError, "label_mode"),
    ({"color_mode": "cmyk"}, ValueError, "color_mode"),
    ({"image_size": (0, 4)}, ValueError, "image_size"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"labels": [0, 1]}, ValueError, "labels"),
    ({"class_names": ["llama"]}, ValueError, "llama"),
    ({"interpolation": "cubic"}, ValueError, "interpolation"),
    ({"pad_to_aspect_ratio": True, "crop_to_aspect_ratio": True}, ValueError, "only one of"),
])
def test_bad_arguments(tree, kwargs, error, match):
    with pytest.raises(error, match=match):
        tf.keras.utils.image_dataset_from_directory(tree, verbose=False, **kwargs)


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        tf.keras.utils.image_dataset_from_directory(tmp_path / "nope")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no image files"):
        tf.keras.utils.image_dataset_from_directory(tmp_path / "empty", verbose=False)
    (tmp_path / "three" / "a").mkdir(parents=True)
    save(tmp_path / "three" / "a" / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="binary"):
        tf.keras.utils.image_dataset_from_directory(tmp_path / "three", label_mode="binary",
                                                    verbose=False)


def test_label_list_and_keras_walk_order(tree):
    # Keras's listing (shared with the text and audio loaders): folders in sorted order of
    # their path strings, so alpaca/b.png comes before alpaca/a/x.png; hidden files inside a
    # class are listed; labels=[...] gives one label per file in that order
    save(tree / "alpaca" / "a" / "x.png", np.full((4, 4, 3), 77, np.uint8))
    save(tree / "alpaca" / "b.png", np.full((4, 4, 3), 78, np.uint8))
    save(tree / "alpaca" / ".h.png", np.full((4, 4, 3), 79, np.uint8))
    ds = tf.keras.utils.image_dataset_from_directory(tree, shuffle=False, image_size=(4, 4),
                                                     verbose=False)
    names = [str(Path(p).relative_to(tree)) for p in ds.file_paths]
    assert names[:9] == ["alpaca/.h.png", "alpaca/a0.png", "alpaca/a1.png", "alpaca/a2.png",
                         "alpaca/a3.png", "alpaca/a4.png", "alpaca/b.png", "alpaca/a/x.png",
                         "alpaca/nested/a5.png"]
    labels = [i % 3 for i in range(13)]
    listed = tf.keras.utils.image_dataset_from_directory(tree, labels=labels, shuffle=False,
                                                         image_size=(4, 4), verbose=False)
    assert listed.class_names == ["0", "1", "2"]
    np.testing.assert_array_equal(collect(listed)[1], labels)


def test_load_img_img_to_array_array_to_img(tree):
    path = tree / "alpaca" / "a3.png"
    img = tf.keras.preprocessing.image.load_img(path, target_size=(6, 4))
    assert img.size == (4, 6)
    x = tf.keras.utils.img_to_array(img)
    assert x.shape == (6, 4, 3) and x.dtype == np.float32 and x.max() == 30
    gray = tf.keras.utils.img_to_array(tf.keras.utils.load_img(path, color_mode="grayscale"))
    assert gray.shape == (12, 10, 1)
    back = tf.keras.utils.array_to_img(np.linspace(0, 1, 24).reshape(2, 4, 3))
    assert back.size == (4, 2) and np.asarray(back).max() == 255
    with pytest.raises(ValueError, match="channels"):
        tf.keras.utils.array_to_img(np.zeros((2, 2, 2)))


def test_training_on_a_directory_dataset(tree):
    tf.keras.utils.set_random_seed(0)
    ds = tf.keras.utils.image_dataset_from_directory(tree, image_size=(8, 8), batch_size=4,
                                                     seed=1, verbose=False)
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)), tf.keras.layers.Rescaling(1 / 255),
        tf.keras.layers.RandomFlip("horizontal"), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_pad_to_aspect_ratio_is_keras_resize_with_pad(tree):
    # Keras 3.15.1's TensorFlow loader on the same 12x10 image of 10s: resized to fit
    # (tf.image.resize_with_pad), the last column left as zero padding
    ds = tf.keras.utils.image_dataset_from_directory(
        tree, shuffle=False, image_size=(4, 4), batch_size=None, verbose=False,
        pad_to_aspect_ratio=True, class_names=["alpaca"])
    images = [np.asarray(x) for x, _ in ds]
    assert images[1][..., 0].tolist() == [[10.0, 10.0, 10.0, 0.0]] * 4
