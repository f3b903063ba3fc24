"""InceptionResNetV2 and its `CustomScaleLayer` against Keras 3.15
(``tests/fixtures/make_inception_resnet_v2.py``): every layer's name, class, output shape and
inputs, the parameter counts, the predictions of seeded weights, and the weight files Keras
writes (Keras 3 ``.weights.h5``, Keras 2 ``.h5``, ``.keras``) rebuilt from their recorded
layout, since the real ones (54M numbers) are too big to commit."""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import applications as apps
from convnp.applications import inception_resnet_v2
from tests.applications.keras_weight_files import (
    check_keras3_layout,
    check_layers_match_keras,
    seeded_arrays,
    write_keras2_h5,
    write_keras3_weights,
)
from tests.layers.harness import check_gradients, check_layer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from seeded_weights import seed_model

SPECS = {  # as make_inception_resnet_v2.SPECS
    "top": {"input_shape": (75, 75, 3), "classes": 3, "classifier_activation": None},
    "notop": {"input_shape": (96, 80, 3), "include_top": False, "pooling": "avg"},
}


@pytest.fixture(scope="module")
def keras_record():
    return np.load(FIXTURES / "inception_resnet_v2.npz", allow_pickle=False)


@pytest.fixture(scope="module")
def keras_files():
    with gzip.open(FIXTURES / "inception_resnet_v2_files.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def seeded(keras_record):
    """The ``top`` build with the seeded weights Keras's model had (seeded from Keras's layer
    names, since automatic names depend on what was built before)."""
    model = apps.InceptionResNetV2(weights=None, **SPECS["top"])
    seed_model(model, keras_record["top/names"])
    return model


def _keras_input(keras_record):
    return inception_resnet_v2.preprocess_input(keras_record["x/75"])


# -- the layer ------------------------------------------------------------------------------


def test_custom_scale_layer_computes_shortcut_plus_scaled_residual():
    layer = tf.keras.layers.CustomScaleLayer(0.17)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 2.0, np.float32)
    out = np.asarray(layer([a, b]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, a + b * np.float32(0.17))
    config = layer.get_config()
    assert config["scale"] == 0.17 and set(config) >= {"name", "trainable", "dtype"}
    assert type(tf.keras.layers.CustomScaleLayer.from_config(config)).__name__ == \
        "CustomScaleLayer"
    check_layer(tf.keras.layers.CustomScaleLayer, {"scale": 0.17}, [(2, 3), (2, 3)], (2, 3), 0)


@pytest.mark.parametrize("shapes", [[(2, 4), (2, 4)], [(2, 3, 3, 4), (2, 3, 3, 4)],
                                    [(2, 3, 4), (2, 1, 4)]])
def test_custom_scale_layer_gradients(shapes):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s) for s in shapes]
    check_gradients(tf.keras.layers.CustomScaleLayer(0.3, dtype="float64"), xs)


def test_custom_scale_layer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="scale must be a finite number, got 'x'"):
        tf.keras.layers.CustomScaleLayer("x")
    with pytest.raises(ValueError, match="scale must be a finite number"):
        tf.keras.layers.CustomScaleLayer(float("nan"))
    with pytest.raises(ValueError, match="takes exactly 2 inputs, got 3"):
        tf.keras.layers.CustomScaleLayer(0.1)([np.ones((1, 2))] * 3)
    with pytest.raises(ValueError, match="one shape"):
        tf.keras.layers.CustomScaleLayer(0.1)([np.ones((1, 2)), np.ones((1, 3))])


# -- the model ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["top", pytest.param("notop", marks=pytest.mark.slow)])
def test_architecture_matches_keras(key, keras_record, seeded):
    model = seeded if key == "top" else apps.InceptionResNetV2(weights=None, **SPECS[key])
    assert model.name == str(keras_record[f"{key}/model_name"]) == "inception_resnet_v2"
    check_layers_match_keras(model, keras_record, key)
    scales = [layer.scale for layer in model.layers if type(layer).__name__ == "CustomScaleLayer"]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]


@pytest.mark.slow
@pytest.mark.parametrize("size", [299, 150])
def test_parameter_counts_and_output_shapes_of_larger_builds(size, keras_record):
    for top in (True, False):
        key = f"{size}/{'top' if top else 'notop'}"
        model = apps.InceptionResNetV2(weights=None, input_shape=(size, size, 3),
                                       include_top=top)
        assert [model.count_params(), len(model.layers)] == list(keras_record[f"params/{key}"])
        assert str(model.output_shape) == str(keras_record[f"output_shape/{key}"])


def test_default_input_is_299_and_any_size_without_top():
    assert inception_resnet_v2.WEIGHTS_FILE.startswith("inception_resnet_v2_weights")
    model = apps.InceptionResNetV2(weights=None, include_top=False, pooling="max")
    assert model.input_shape == (None, None, None, 3) and model.output_shape == (None, 1536)
    assert model.layers[-1].name.startswith("global_max_pooling2d")


def test_predictions_match_keras(seeded, keras_record):
    np.testing.assert_allclose(seeded.predict(_keras_input(keras_record), verbose=0),
                               keras_record["top/logits"], atol=1e-4)


# -- Keras's weight files, rebuilt from their recorded layout ---------------------------------


def test_a_keras3_weights_file_loads_and_predicts_as_keras(tmp_path, seeded, keras_record,
                                                           keras_files):
    pytest.importorskip("h5py")
    path = tmp_path / "keras.weights.h5"
    arrays = seeded_arrays(seeded, keras_record["top/names"])
    write_keras3_weights(path, keras_files["keras3"], arrays, keras_files["sums"]["keras3"])
    model = apps.InceptionResNetV2(weights=path, **SPECS["top"])
    np.testing.assert_allclose(model.predict(_keras_input(keras_record), verbose=0),
                               keras_record["top/logits"], atol=1e-4)


def test_convnp_writes_the_keras3_weights_layout(tmp_path, seeded, keras_files):
    pytest.importorskip("h5py")
    path = tmp_path / "convnp.weights.h5"
    seeded.save_weights(path)
    check_keras3_layout(path, keras_files["keras3"], keras_files["sums"]["keras3"])


def test_a_keras2_h5_weights_file_loads_and_predicts_as_keras(tmp_path, seeded, keras_record,
                                                              keras_files):
    pytest.importorskip("h5py")
    layout, sums = keras_files["legacy"], keras_files["sums"]["legacy"]
    arrays = seeded_arrays(seeded, keras_record["top/names"])
    path = tmp_path / "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
    write_keras2_h5(path, layout, arrays, sums)
    model = apps.InceptionResNetV2(weights=path, **SPECS["top"])
    np.testing.assert_allclose(model.predict(_keras_input(keras_record), verbose=0),
                               keras_record["top/logits"], atol=1e-4)


def test_a_keras_file_loads_with_its_custom_scale_layers(tmp_path, seeded, keras_record,
                                                         keras_files):
    pytest.importorskip("h5py")
    weights = tmp_path / "model.weights.h5"
    write_keras3_weights(weights, keras_files["keras3"], seeded_arrays(seeded, keras_record["top/names"]),
                          keras_files["sums"]["keras3"])
    path = tmp_path / "keras_written.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(keras_files["metadata"]))
        archive.writestr("config.json", json.dumps(keras_files["config"]))
        archive.write(weights, "model.weights.h5")
    model = tf.keras.models.load_model(path)
    scales = [layer for layer in model.layers if type(layer).__name__ == "CustomScaleLayer"]
    assert len(scales) == 40 and scales[0].name == "custom_scale_layer"
    np.testing.assert_allclose(model.predict(_keras_input(keras_record), verbose=0),
                               keras_record["top/logits"], atol=1e-4)
    # and convnp writes them back where Keras keeps the class
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        entries = json.loads(archive.read("config.json"))["config"]["layers"]
    ours = next(e for e in entries if e["class_name"] == "CustomScaleLayer")
    theirs = next(e for e in keras_files["config"]["config"]["layers"]
                  if e["class_name"] == "CustomScaleLayer")
    for key in ("module", "class_name", "registered_name", "build_config"):
        assert ours[key] == theirs[key], key
    assert ours["config"]["scale"] == theirs["config"]["scale"] == 0.17


# -- arguments and the module -----------------------------------------------------------------


def test_keras_namespace_preprocessing_and_labels():
    ka = tf.keras.applications
    assert ka.InceptionResNetV2 is apps.InceptionResNetV2
    assert ka.inception_resnet_v2.InceptionResNetV2 is apps.InceptionResNetV2
    x = np.array([[[[0.0, 127.5, 255.0]]]], dtype=np.float32)
    np.testing.assert_allclose(inception_resnet_v2.preprocess_input(x), [[[[-1, 0, 1]]]])
    table = {"0": ["n0", "zero"], "1": ["n1", "one"]}
    assert inception_resnet_v2.decode_predictions(np.array([[0.2, 0.8]]), top=1,
                                                  class_index=table) == [[("n1", "one", 0.8)]]


def test_arguments_are_checked_as_keras_before_building():
    with pytest.raises(ValueError, match="at least 75x75"):
        apps.InceptionResNetV2(input_shape=(74, 75, 3), weights=None)
    with pytest.raises(ValueError, match="downloads nothing.*inception_resnet_v2_weights_tf_"
                                         "dim_ordering_tf_kernels_notop.h5"):
        apps.InceptionResNetV2(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match="inception_resnet_v2_weights_tf_dim_ordering_tf_"
                                         r"kernels\.h5"):
        apps.InceptionResNetV2(weights="imagenet")
    with pytest.raises(ValueError, match="does not exist"):
        apps.InceptionResNetV2(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        apps.InceptionResNetV2(include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="static `input_shape`"):
        apps.InceptionResNetV2(input_shape=(None, None, 3))
    inputs = tf.keras.Input((80, 80, 3))
    model = apps.InceptionResNetV2(input_tensor=inputs, include_top=False, weights=None)
    assert model.inputs[0] is inputs and model.output_shape == (None, 1, 1, 1536)


@pytest.mark.slow
def test_a_training_step_reaches_every_trainable_weight():
    tf.keras.utils.set_random_seed(3)
    model = apps.InceptionResNetV2(input_shape=(75, 75, 3), classes=3, weights=None)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (2, 75, 75, 3)).astype(np.float32)
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(x, np.array([0, 2])))
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]


def test_custom_scale_layer_exports_to_onnx():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.interop.models import randomize
    from tests.io.test_onnx_walk import agree

    inputs = tf.keras.Input((6, 6, 4))
    branch = tf.keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = tf.keras.layers.CustomScaleLayer(0.17)([inputs, branch])
    flat = tf.keras.layers.Flatten()(x)
    out = tf.keras.layers.CustomScaleLayer(0.5)([flat, tf.keras.layers.Dense(144)(flat)])
    model = tf.keras.Model(inputs, out)
    randomize(model, 4)
    x = np.random.default_rng(1).standard_normal((3, 6, 6, 4)).astype(np.float32)
    agree(model, x)
