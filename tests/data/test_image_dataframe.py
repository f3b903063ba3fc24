"""ImageDataGenerator.flow_from_dataframe against Keras 3.15.1's own listings and batches
(fixture made by tests/fixtures/make_image_dataframe.py), its argument checks and model.fit
with it. pandas and Pillow are optional: without them the module is skipped."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from convnp.data.image_generator import ImageDataGenerator

pd = pytest.importorskip("pandas")
Image = pytest.importorskip("PIL.Image")

FIXTURE = Path(__file__).parents[1] / "fixtures" / "image_dataframe.npz"


@pytest.fixture(scope="module")
def keras_run():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture()
def root(tmp_path, keras_run):
    """The fixture's PNG files (and a text file) under ``tmp_path / "root"``."""
    folder = tmp_path / "root"
    for key, pixels in keras_run.items():
        if key.startswith("files/"):
            path = folder / key[len("files/"):]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
    (folder / "notes.txt").write_text("not an image")
    return folder


def _cases():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return [str(c) for c in z["cases"]]


def _flow(spec, root, **extra):
    flow = dict(spec["flow"], shuffle=False, **extra)
    flow.setdefault("directory", str(root))
    flow["target_size"] = tuple(flow["target_size"])
    frame = pd.DataFrame(spec["frame"])
    return ImageDataGenerator(**spec.get("gen", {})).flow_from_dataframe(frame, **flow)


def test_fixture_covers_every_class_mode(keras_run):
    modes = {json.loads(str(keras_run[f"spec/{c}"]))["flow"].get("class_mode", "categorical")
             for c in _cases()}
    assert modes == {"categorical", "binary", "sparse", "raw", "multi_output", "input", None}


@pytest.mark.parametrize("case", _cases())
def test_listing_and_batches_match_keras(case, keras_run, root, capsys, monkeypatch):
    spec = json.loads(str(keras_run[f"spec/{case}"]))
    meta = json.loads(str(keras_run[f"meta/{case}"]))
    if spec.get("chdir"):
        monkeypatch.chdir(root.parent)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        it = _flow(spec, root)
    assert capsys.readouterr().out.strip() == meta["printed"]
    assert [str(w.message) for w in caught if "invalid image" in str(w.message)] == \
        meta["warnings"]
    assert it.filenames == meta["filenames"] and it.samples == meta["samples"]
    assert getattr(it, "class_indices", None) == meta["class_indices"]
    if meta["classes"] is not None:
        assert it.classes == meta["classes"]
    if case == "not_validated":
        return
    n_batches = len({k.split("/")[2] for k in keras_run if k.startswith(f"x/{case}/")})
    assert len(it) == n_batches
    for i in range(n_batches):
        batch = it[i]
        if spec["flow"].get("class_mode", "categorical") is None:
            batch = (batch,)
        np.testing.assert_allclose(batch[0], keras_run[f"x/{case}/{i}"], rtol=0, atol=1e-4)
        assert batch[0].dtype == np.float32
        if f"y/{case}/{i}" in keras_run:
            expected = keras_run[f"y/{case}/{i}"]
            np.testing.assert_allclose(batch[1], expected, rtol=0, atol=1e-6)
            assert np.asarray(batch[1]).dtype == expected.dtype
        elif f"y/{case}/{i}/0" in keras_run:
            assert isinstance(batch[1], list) and len(batch[1]) == 2
            for k, part in enumerate(batch[1]):
                expected = keras_run[f"y/{case}/{i}/{k}"]
                np.testing.assert_array_equal(part, expected)
                assert part.dtype == expected.dtype
        else:
            assert len(batch) == 1
        if f"w/{case}/{i}" in keras_run:
            np.testing.assert_array_equal(batch[2], keras_run[f"w/{case}/{i}"])
        else:
            assert len(batch) <= 2


def test_not_validated_names_fail_when_read(keras_run, root):
    spec = json.loads(str(keras_run["spec/not_validated"]))
    it = _flow(spec, root, batch_size=3)
    with pytest.raises((ValueError, OSError), match="missing.png"):
        it[0]


def test_seeded_shuffle_repeats_and_covers_every_row(root):
    frame = pd.DataFrame({"filename": [f"img{i}.png" for i in range(8)],
                          "class": list("abababab")})
    gen = ImageDataGenerator(rotation_range=20)
    a = gen.flow_from_dataframe(frame, str(root), target_size=(3, 3), batch_size=3, seed=7)
    b = gen.flow_from_dataframe(frame, str(root), target_size=(3, 3), batch_size=3, seed=7)
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i][0], b[i][0])
    assert sorted(int(j) for j in a.index_array) == list(range(8))


def test_deprecated_arguments_warn_and_other_means_raw(root):
    frame = pd.DataFrame({"filename": ["img0.png", "img1.png"], "v": [1.0, 2.0]})
    gen = ImageDataGenerator()
    with pytest.warns(DeprecationWarning, match="raw"):
        it = gen.flow_from_dataframe(frame, str(root), y_col="v", class_mode="other",
                                     target_size=(2, 2), shuffle=False)
    assert it.class_mode == "raw"
    np.testing.assert_array_equal(it[0][1], [1.0, 2.0])
    for name in ("has_ext", "sort", "drop_duplicates"):
        with pytest.warns(DeprecationWarning, match=name):
            gen.flow_from_dataframe(frame, str(root), y_col="v", class_mode="raw",
                                    target_size=(2, 2), **{name: True})


@pytest.mark.parametrize("frame, kwargs, error, match", [
    ({"filename": ["img0.png"], "class": ["a"]}, {"class_mode": "int"}, ValueError, "class_mode"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"x_col": "path"}, ValueError, "x_col='path'"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"y_col": "label"}, ValueError,
     "y_col='label'"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"weight_col": "w"}, ValueError,
     "weight_col='w'"),
    ({"filename": [3], "class": ["a"]}, {}, TypeError, "must be strings"),
    ({"filename": ["img0.png"], "class": [1]}, {"class_mode": "sparse"}, TypeError,
     "must be strings"),
    ({"filename": ["img0.png"], "class": [1]}, {}, TypeError, "lists or tuples"),
    ({"filename": ["img0.png", "img1.png"], "class": ["a", "a"]}, {"class_mode": "binary"},
     ValueError, "exactly 2 classes, found 1"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"class_mode": "binary",
                                                  "classes": ["a", "b", "c"]},
     ValueError, "given 3"),
    ({"filename": ["img0.png"], "u": [1]}, {"class_mode": "multi_output", "y_col": "u"},
     TypeError, "list of columns"),
    ({"filename": ["img0.png"], "class": ["a"], "w": ["x"]}, {"weight_col": "w"}, TypeError,
     "numeric"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"subset": "validation"}, ValueError,
     "validation_split"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"save_to_dir": 3}, TypeError,
     "save_to_dir"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"color_mode": "cmyk"}, ValueError,
     "color_mode"),
    ({"filename": ["img0.png"], "class": ["a"]}, {"keep_aspect": True}, TypeError,
     "keep_aspect"),
])
def test_bad_arguments_are_refused(root, frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        ImageDataGenerator().flow_from_dataframe(pd.DataFrame(frame), str(root), **kwargs)


def test_a_dataframe_is_required():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        ImageDataGenerator().flow_from_dataframe({"filename": ["a.png"]})


def test_classes_with_an_unlabelled_mode_warn(root):
    frame = pd.DataFrame({"filename": ["img0.png"]})
    with pytest.warns(UserWarning, match="classes are ignored"):
        ImageDataGenerator().flow_from_dataframe(frame, str(root), class_mode="input",
                                                 classes=["a"], target_size=(2, 2))


def test_model_fit_reads_dataframe_batches(root):
    import convnp as tf

    tf.keras.utils.set_random_seed(0)
    names = sorted(os.path.relpath(p, root) for p in root.rglob("*.png"))
    frame = pd.DataFrame({"filename": names, "class": ["a", "b", "c"] * 3,
                          "w": np.linspace(0.5, 1.5, 9)})
    gen = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255, validation_split=0.3)
    train = gen.flow_from_dataframe(frame, str(root), target_size=(4, 4), batch_size=2,
                                    weight_col="w", subset="training", seed=1)
    val = gen.flow_from_dataframe(frame, str(root), target_size=(4, 4), batch_size=2,
                                  subset="validation")
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 3)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(val, verbose=0).shape == (val.samples, 3)
