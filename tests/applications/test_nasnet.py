"""NASNetMobile and NASNetLarge against Keras 3.15 (``tests/fixtures/make_nasnet.py``): every
layer's name, class, output shape and inputs, the parameter counts of NASNetMobile at 224x224
and NASNetLarge at 331x331 (with and without the top), the predictions of seeded weights, and
the Keras 3 ``.weights.h5`` and Keras 2 ``.h5`` Keras writes: rebuilt from their recorded
layout (17 MB each: too big to commit), and a ``.weights.h5`` written by real Keras at test
time when ``CONVNP_KERAS_PYTHON`` is set."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import applications as apps
from convnp.applications import nasnet
from tests.applications.keras_weight_files import (
    check_keras3_layout,
    check_layers_match_keras,
    seeded_arrays,
    write_keras2_h5,
    write_keras3_weights,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from seeded_weights import seed_model

SPECS = {  # as make_nasnet.SPECS
    "mobile": ("NASNetMobile", {}),
    "large": ("NASNetLarge", {}),
    "mobile_notop": ("NASNetMobile", {"include_top": False}),
    "large_notop": ("NASNetLarge", {"include_top": False, "input_shape": (331, 331, 3)}),
    "small": ("NASNetMobile", {"include_top": False, "input_shape": (32, 32, 3),
                               "pooling": "avg"}),
}
KERAS_PYTHON = os.environ.get("CONVNP_KERAS_PYTHON")


def build(key):
    builder, kwargs = SPECS[key]
    return getattr(apps, builder)(weights=None, **kwargs)


@pytest.fixture(scope="module")
def keras_record():
    return np.load(FIXTURES / "nasnet.npz", allow_pickle=False)


@pytest.fixture(scope="module")
def keras_files():
    with gzip.open(FIXTURES / "nasnet_files.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def seeded(keras_record):
    """The ``small`` build with the seeded weights Keras's model had (seeded from Keras's
    layer names, since automatic names depend on what was built before)."""
    model = build("small")
    seed_model(model, keras_record["small/names"])
    return model


def _keras_input(keras_record):
    return nasnet.preprocess_input(keras_record["x/32"])


# -- the architecture -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["mobile", "small", "large"])
def test_architecture_matches_keras(key, keras_record):
    model = build(key)
    assert model.name == str(keras_record[f"{key}/model_name"])
    check_layers_match_keras(model, keras_record, key)
    assert [model.count_params(), len(model.layers)] == list(keras_record[f"{key}/counts"])
    assert str(model.output_shape) == str(keras_record[f"{key}/output_shape"])


@pytest.mark.parametrize("key", ["mobile_notop", "large_notop"])
def test_counts_and_output_shape_without_top(key, keras_record):
    model = build(key)
    assert [model.count_params(), len(model.layers)] == list(keras_record[f"{key}/counts"])
    assert str(model.output_shape) == str(keras_record[f"{key}/output_shape"])
    assert model.name == str(keras_record[f"{key}/model_name"])


def test_default_sizes_pooling_and_classes():
    mobile = apps.NASNetMobile(include_top=False, pooling="max", weights=None)
    # Keras's NASNetMobile keeps 224x224 without the top
    assert mobile.input_shape == (None, 224, 224, 3) and mobile.output_shape == (None, 1056)
    assert mobile.layers[-1].name.startswith("global_max_pooling2d")
    small = apps.NASNetMobile(input_shape=(40, 48, 3), classes=5, weights=None,
                              classifier_activation=None)
    assert small.output_shape == (None, 5)
    assert [type(layer).__name__ for layer in small.layers[-3:]] == \
        ["Activation", "GlobalAveragePooling2D", "Dense"]
    assert small.layers[-1].name == "predictions"
    assert small.layers[-1].get_config()["activation"] == "linear"
    avg = apps.NASNetMobile(input_shape=(33, 65, 3), include_top=False, pooling="avg",
                            weights=None)
    assert avg.output_shape == (None, 1056)
    assert avg.layers[-1].name.startswith("global_average_pooling2d")
    plain = apps.NASNetMobile(input_shape=(64, 64, 3), include_top=False, weights=None)
    assert plain.output_shape == (None, 2, 2, 1056)


# -- numbers ----------------------------------------------------------------------------------


def test_predictions_match_keras(seeded, keras_record):
    out = seeded.predict(_keras_input(keras_record), verbose=0)
    expected = keras_record["small/out"]
    assert np.abs(expected).max() > 1e-2  # the seeded net does not collapse to zeros
    np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)


def test_a_keras3_weights_file_loads_and_predicts_as_keras(tmp_path, seeded, keras_record,
                                                           keras_files):
    pytest.importorskip("h5py")
    path = tmp_path / "keras.weights.h5"
    arrays = seeded_arrays(seeded, keras_record["small/names"])
    write_keras3_weights(path, keras_files["keras3"], arrays, keras_files["sums"]["keras3"])
    model = apps.NASNetMobile(weights=path, **SPECS["small"][1])
    np.testing.assert_allclose(model.predict(_keras_input(keras_record), verbose=0),
                               keras_record["small/out"], atol=1e-4, rtol=1e-4)


def test_convnp_writes_the_keras3_weights_layout(tmp_path, seeded, keras_files):
    pytest.importorskip("h5py")
    path = tmp_path / "convnp.weights.h5"
    seeded.save_weights(path)
    check_keras3_layout(path, keras_files["keras3"], keras_files["sums"]["keras3"])


def test_a_keras2_h5_weights_file_loads_and_predicts_as_keras(tmp_path, seeded, keras_record,
                                                              keras_files):
    """The layout of the published NASNet weights (Keras 2's ``.h5``), matched layer by
    layer in order as Keras does."""
    pytest.importorskip("h5py")
    layout, sums = keras_files["legacy"], keras_files["sums"]["legacy"]
    arrays = seeded_arrays(seeded, keras_record["small/names"])
    path = tmp_path / "nasnet_mobile_no_top.h5"
    write_keras2_h5(path, layout, arrays, sums)
    model = apps.NASNetMobile(weights=path, **SPECS["small"][1])
    np.testing.assert_allclose(model.predict(_keras_input(keras_record), verbose=0),
                               keras_record["small/out"], atol=1e-4, rtol=1e-4)


# Run by the Keras interpreter: a NASNetMobile with Keras's own random initial weights (and
# random batch-normalization statistics) saves its .weights.h5 and its predictions.
KERAS_SIDE = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import numpy as np, keras
    out = sys.argv[1]
    keras.utils.set_random_seed(11)
    model = keras.applications.NASNetMobile(input_shape=(96, 96, 3), include_top=False,
                                            pooling="avg", weights=None)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.2, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
    x = rng.uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    x = keras.applications.nasnet.preprocess_input(x)
    model.save_weights(os.path.join(out, "nasnet_mobile_96.weights.h5"))
    np.savez(os.path.join(out, "expected.npz"), x=x, out=model.predict(x, verbose=0))
""")


@pytest.mark.slow
@pytest.mark.skipif(not KERAS_PYTHON, reason="set CONVNP_KERAS_PYTHON to a Python with Keras 3")
def test_a_weights_file_written_by_real_keras_loads_and_predicts_as_keras(tmp_path):
    pytest.importorskip("h5py")
    script = tmp_path / "keras_side.py"
    script.write_text(KERAS_SIDE)
    result = subprocess.run([KERAS_PYTHON, str(script), str(tmp_path)], capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = np.load(tmp_path / "expected.npz", allow_pickle=False)
    model = apps.NASNetMobile(input_shape=(96, 96, 3), include_top=False, pooling="avg",
                              weights=tmp_path / "nasnet_mobile_96.weights.h5")
    out = model.predict(expected["x"], verbose=0)
    assert np.abs(expected["out"]).max() > 1e-2
    np.testing.assert_allclose(out, expected["out"], atol=1e-4, rtol=1e-4)


# -- training ---------------------------------------------------------------------------------


def test_a_forward_pass_and_a_training_step_reach_every_trainable_weight():
    tf.keras.utils.set_random_seed(3)
    model = apps.NASNetMobile(input_shape=(32, 32, 3), classes=3, weights=None)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    x = nasnet.preprocess_input(x)
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    model.compile("adam", "sparse_categorical_crossentropy")
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(x, np.array([0, 2])))
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]


# -- arguments and the module -----------------------------------------------------------------


def test_keras_namespace_preprocessing_and_labels():
    ka = tf.keras.applications
    assert ka.NASNetMobile is apps.NASNetMobile and ka.NASNetLarge is apps.NASNetLarge
    assert ka.nasnet.NASNetMobile is apps.NASNetMobile
    assert ka.nasnet.NASNetLarge is apps.NASNetLarge
    from convnp.keras.applications import nasnet as keras_module
    assert keras_module is nasnet
    x = np.array([[[[0.0, 127.5, 255.0]]]], dtype=np.float32)
    np.testing.assert_allclose(nasnet.preprocess_input(x), [[[[-1, 0, 1]]]])
    table = {"0": ["n0", "zero"], "1": ["n1", "one"]}
    assert nasnet.decode_predictions(np.array([[0.2, 0.8]]), top=1,
                                     class_index=table) == [[("n1", "one", 0.8)]]


def test_arguments_are_checked_before_building():
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.NASNetMobile(input_shape=(31, 32, 3), weights=None)
    with pytest.raises(ValueError, match=r"downloads nothing.*nasnet_mobile_no_top\.h5"):
        apps.NASNetMobile(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match=r"downloads nothing.*'/path/to/nasnet_mobile\.h5'"):
        apps.NASNetMobile(weights="imagenet")
    with pytest.raises(ValueError, match=r"downloads nothing.*nasnet_large\.h5"):
        apps.NASNetLarge(weights="imagenet")
    with pytest.raises(ValueError, match=r"nasnet_large_no_top\.h5"):
        apps.NASNetLarge(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match="does not exist"):
        apps.NASNetLarge(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        apps.NASNetMobile(include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="classes must be a positive int"):
        apps.NASNetMobile(classes=0)
    with pytest.raises(ValueError, match=r"needs known rows and cols.*\(None, None, 3\)"):
        apps.NASNetLarge(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="needs known rows and cols"):
        apps.NASNetMobile(input_tensor=tf.keras.Input((None, 64, 3)), include_top=False)
    inputs = tf.keras.Input((64, 64, 3))
    model = apps.NASNetMobile(input_tensor=inputs, include_top=False, weights=None)
    assert model.inputs[0] is inputs and model.output_shape == (None, 2, 2, 1056)
