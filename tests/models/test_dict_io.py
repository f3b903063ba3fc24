"""Functional models made with ``inputs={...}`` and ``outputs={...}``: data, losses, metrics
and predictions by key, as Keras 3 does (``tests/fixtures/dict_io.keras`` was written by
Keras, ``make_dict_io_keras.py``)."""

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def two_by_two(seed=0):
    tf.keras.utils.set_random_seed(seed)
    img = tf.keras.Input((4,), name="a")
    meta = tf.keras.Input((3,), name="b_in")
    joined = tf.keras.layers.Concatenate()([img, meta])
    score = tf.keras.layers.Dense(1, name="score")(joined)
    cls = tf.keras.layers.Dense(2, activation="softmax", name="cls")(joined)
    return tf.keras.Model({"meta": meta, "img": img}, {"value": score, "label": cls})


def data(n=16):
    rng = np.random.default_rng(1)
    x = {"img": rng.random((n, 4)).astype(np.float32),
         "meta": rng.random((n, 3)).astype(np.float32)}
    y = {"value": rng.random((n, 1)).astype(np.float32), "label": rng.integers(0, 2, n)}
    return x, y


def compiled(seed=0):
    model = two_by_two(seed)
    model.compile("adam", loss={"value": "mse", "label": "sparse_categorical_crossentropy"},
                  metrics={"label": "accuracy"})
    return model


def test_structure_names_and_outputs_by_key():
    model = compiled()
    x, y = data()
    assert model.input_names == ["img", "meta"]  # sorted keys, as Keras flattens a dict
    assert model.output_names == ["cls", "score"]  # the layers, as in Keras
    assert sorted(model.output) == ["label", "value"] and sorted(model.input) == ["img", "meta"]
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert sorted(history.history) == ["label_accuracy", "label_loss", "loss", "value_loss"]
    predicted = model.predict(x, verbose=0)
    assert set(predicted) == {"label", "value"} and predicted["value"].shape == (16, 1)
    called = model(x)
    np.testing.assert_allclose(called["label"].numpy(), predicted["label"], rtol=1e-6)
    # a list in key order is the same input
    listed = model.predict([x["img"], x["meta"]], verbose=0)
    np.testing.assert_array_equal(listed["value"], predicted["value"])
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    logs = model.evaluate(dataset, verbose=0, return_dict=True)
    assert logs == pytest.approx(model.evaluate(x, y, verbose=0, return_dict=True), rel=1e-5)


def test_gradients_through_a_dict_output():
    model = two_by_two()
    x, _ = data(4)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = tf.reduce_mean(out["value"])
    grads = tape.gradient(loss, model.trainable_variables)
    by_layer = {}
    for variable, grad in zip(model.trainable_variables, grads):
        by_layer.setdefault(variable.path.split("/")[0], []).append(grad)
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in by_layer["score"])
    # the "label" head does not reach the loss: no gradient, as TensorFlow says it
    assert all(g is None or not np.any(np.asarray(g)) for g in by_layer["cls"])


@pytest.mark.parametrize("suffix", [".convnp", ".keras"])
def test_saved_and_loaded_with_the_keys(tmp_path, suffix):
    if suffix == ".keras":
        pytest.importorskip("h5py")
    model = compiled()
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    config = model.get_config()
    assert config["output_layers"] == {"label": ["cls", 0, 0], "value": ["score", 0, 0]}
    again = tf.keras.Model.from_config(config)
    assert sorted(again.output) == ["label", "value"]
    model.save(tmp_path / f"m{suffix}")
    loaded = tf.keras.models.load_model(tmp_path / f"m{suffix}")
    for key, value in model.predict(x, verbose=0).items():
        np.testing.assert_allclose(loaded.predict(x, verbose=0)[key], value, rtol=1e-6)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True), rel=1e-6)


def test_a_keras_written_dict_model_predicts_and_evaluates_as_keras():
    pytest.importorskip("h5py")
    with np.load(FIXTURES / "dict_io_expected.npz", allow_pickle=False) as z:
        expected = {k: z[k] for k in z.files}
    model = tf.keras.models.load_model(FIXTURES / "dict_io.keras")
    x = {"img": expected["x/img"], "meta": expected["x/meta"]}
    y = {"value": expected["y/value"], "label": expected["y/label"]}
    predicted = model.predict(x, verbose=0)
    for key in ("label", "value"):
        np.testing.assert_allclose(predicted[key], expected[f"pred/{key}"], rtol=1e-5,
                                   atol=1e-6)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == list(expected["eval_keys"])
    np.testing.assert_allclose([logs[k] for k in sorted(logs)], expected["eval"], rtol=1e-5)
    history = model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    assert sorted(history.history) == list(expected["history_keys"])


def test_bad_dict_ends_and_bad_keys_in_data():
    inp = tf.keras.Input((2,))
    out = tf.keras.layers.Dense(1)(inp)
    with pytest.raises(TypeError, match="keys must be strings"):
        tf.keras.Model({1: inp}, out)
    with pytest.raises(ValueError, match="empty dict"):
        tf.keras.Model(inp, {})
    model = compiled()
    x, y = data(4)
    with pytest.raises(ValueError, match="missing"):
        model.predict({"img": x["img"]}, verbose=0)
    with pytest.raises(ValueError, match="keys"):
        model.fit(x, {"score": y["value"], "label": y["label"]}, verbose=0)
