"""Graph features: several inputs and outputs (compile with lists/dicts, loss_weights,
per-output metrics, Keras's log names), shared layers (siamese towers, gradients summed
over the calls), Layer.input/output feature extractors, output_names/input_names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from tests.helpers import check_training_gradients

FIXTURE = Path(__file__).parents[1] / "fixtures" / "training_parity.npz"
L = tf.keras.layers


def _two_output_model():
    a = tf.keras.Input((6, 6, 1), name="img")
    b = tf.keras.Input((3,), name="meta")
    h = L.Conv2D(3, 3, activation="relu", name="conv")(a)
    h = L.Flatten(name="flat")(h)
    h = L.Concatenate(name="cat")([h, b])
    o1 = L.Dense(3, activation="softmax", name="out1")(h)
    o2 = L.Dense(1, activation="sigmoid", name="out2")(h)
    return tf.keras.Model([a, b], [o1, o2])


def test_two_output_history_matches_keras():
    z = np.load(FIXTURE, allow_pickle=False)
    model = _two_output_model()
    for layer in model.layers:
        n = len(layer.weights)
        if n:
            layer.set_weights([z[f"two_output/w_init/{layer.name}/{i}"] for i in range(n)])
    model.compile(tf.keras.optimizers.Adam(0.01),
                  loss={"out1": "sparse_categorical_crossentropy",
                        "out2": "binary_crossentropy"},
                  loss_weights={"out1": 1.0, "out2": 0.5},
                  metrics={"out1": ["accuracy"], "out2": ["accuracy", tf.keras.metrics.AUC()]})
    x_img, x_meta = z["two_output/x_img"], z["two_output/x_meta"]
    y1, y2 = z["two_output/y1"], z["two_output/y2"]
    val = ([x_img[:8], x_meta[:8]], [y1[:8], y2[:8]])
    history = model.fit({"img": x_img, "meta": x_meta}, {"out1": y1, "out2": y2}, epochs=2,
                        batch_size=8, shuffle=False, verbose=0, validation_data=val)
    assert sorted(history.history) == sorted(str(k) for k in z["two_output/history_keys"])
    for key, values in history.history.items():
        # float32 arithmetic in both, summed in different orders: measured max |diff| 1.2e-7
        np.testing.assert_allclose(values, z[f"two_output/history/{key}"], atol=1e-6,
                                   err_msg=key)
    result = model.evaluate([x_img, x_meta], [y1, y2], verbose=0, batch_size=8)
    np.testing.assert_allclose(result, z["two_output/eval"], atol=1e-4)
    assert model.metrics_names == [str(k) for k in z["two_output/eval_dict_names"]][:1] + [
        "out1_loss", "out2_loss", "out1_accuracy", "out2_accuracy", "out2_auc"]
    p1, p2 = model.predict([x_img, x_meta], verbose=0)
    np.testing.assert_allclose(p1, z["two_output/pred1"], atol=1e-4)
    np.testing.assert_allclose(p2, z["two_output/pred2"], atol=1e-4)


def test_loss_forms_and_names():
    model = _two_output_model()
    assert model.output_names == ["out1", "out2"] and model.input_names == ["img", "meta"]
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(6, 6, 6, 1)), rng.normal(size=(6, 3))]
    y = [rng.integers(0, 3, 6), rng.integers(0, 2, 6)]
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
                  loss_weights=[2.0, 0.0], metrics=[["accuracy"], []])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    # a dict in Keras 3's order (sorted); the list form keeps evaluate's order
    assert list(logs) == ["loss", "out1_accuracy", "out1_loss", "out2_loss"]
    assert logs["loss"] == pytest.approx(2 * logs["out1_loss"], rel=1e-6)
    # an output left out of the loss dict is not trained on and needs no target
    # (metrics=[]: a compile without `metrics` keeps the earlier ones, as in Keras 3)
    model.compile("sgd", loss={"out2": "binary_crossentropy"}, metrics=[])
    logs = model.evaluate(x, {"out2": y[1]}, verbose=0, return_dict=True)
    assert list(logs) == ["loss"]
    with pytest.raises(ValueError, match="outputs of the model"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(ValueError, match="missing"):
        model.compile("sgd", loss="mse")
        model.fit(x, {"out1": y[0]}, verbose=0)


def _siamese(seed=0, dtype="float32"):
    tf.keras.utils.set_random_seed(seed)
    i = tf.keras.Input((5, 5, 1), dtype=dtype)
    t = L.Conv2D(2, 3, activation="tanh", dtype=dtype)(i)
    t = L.Flatten(dtype=dtype)(t)
    t = L.Dense(3, activation="tanh", dtype=dtype)(t)
    tower = tf.keras.Model(i, t, name="tower")
    a = tf.keras.Input((5, 5, 1), name="a", dtype=dtype)
    b = tf.keras.Input((5, 5, 1), name="b", dtype=dtype)
    shared = L.Dense(3, name="shared", dtype=dtype)  # a plain layer shared too
    ea, eb = shared(tower(a)), shared(tower(b))
    out = L.Dense(1, activation="sigmoid", name="score", dtype=dtype)(
        L.Concatenate(dtype=dtype)([ea, eb]))
    return tf.keras.Model([a, b], out), tower, shared


def test_siamese_gradient_is_the_sum_over_calls():
    model, _, _ = _siamese(dtype="float64")
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(4, 5, 5, 1)), rng.normal(size=(4, 5, 5, 1))]
    y = rng.integers(0, 2, size=(4, 1)).astype(np.float64)
    model.compile("sgd", "binary_crossentropy")
    # tower conv + dense, shared dense, score: 8 variables, each once
    assert check_training_gradients(model, x, y, atol=1e-7) == 8


def test_siamese_trains_and_round_trips():
    model, _, shared = _siamese()
    assert [lay.name for lay in model.layers].count("tower") == 1
    assert len(shared.inbound_nodes) == 2
    assert shared.get_output_at(1) is not shared.output
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(32, 5, 5, 1)), rng.normal(size=(32, 5, 5, 1))
    y = (np.sum(xa, axis=(1, 2, 3)) > np.sum(xb, axis=(1, 2, 3))).astype("float32")
    model.compile(tf.keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit([xa, xb], y, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    again = tf.keras.Model.from_config(model.get_config())
    assert len(again.weights) == len(model.weights)
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict([xa, xb], verbose=0),
                               model.predict([xa, xb], verbose=0), atol=1e-6)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("shared[1][0]" in line or "tower[1][0]" in line for line in lines)


def test_feature_extractor_from_layer_outputs():
    model = _two_output_model()
    extractor = tf.keras.Model(model.input, [lay.output for lay in model.layers])
    rng = np.random.default_rng(3)
    x = [rng.normal(size=(2, 6, 6, 1)), rng.normal(size=(2, 3))]
    features = extractor.predict(x, verbose=0)
    assert len(features) == len(model.layers)
    conv = tf.keras.Model(model.input, model.get_layer("conv").output)
    index = [lay.name for lay in model.layers].index("conv")
    np.testing.assert_allclose(conv.predict(x, verbose=0), features[index], atol=1e-6)
    assert model.get_layer("cat").input[1] is model.inputs[1]
    with pytest.raises(AttributeError, match="never been called"):
        _ = L.Dense(2).output


def test_compiled_multi_output_model_file_resumes_training(tmp_path):
    model = _two_output_model()
    model.compile(tf.keras.optimizers.Nadam(0.01),
                  loss={"out1": tf.keras.losses.SparseCategoricalCrossentropy(),
                        "out2": "binary_crossentropy"},
                  loss_weights={"out1": 1.0, "out2": 0.3}, metrics={"out1": ["accuracy"]})
    rng = np.random.default_rng(4)
    x = [rng.normal(size=(16, 6, 6, 1)), rng.normal(size=(16, 3))]
    y = [rng.integers(0, 3, 16), rng.integers(0, 2, 16)]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.convnp")
    again = tf.keras.models.load_model(tmp_path / "m.convnp")
    h1 = model.fit(x, y, epochs=1, verbose=0, shuffle=False).history
    h2 = again.fit(x, y, epochs=1, verbose=0, shuffle=False).history
    assert h1 == h2 and list(h1) == ["loss", "out1_accuracy", "out1_loss", "out2_loss"]
