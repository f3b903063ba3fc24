"""Model structure: the functional graph, Sequential building, weights, layers, config."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


@pytest.fixture(autouse=True)
def fresh_names():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)


def branching_model():
    inp = tf.keras.Input(shape=(6, 6, 2), name="image")
    a = tfl.Conv2D(3, 3, padding="same")(inp)
    b = tfl.Conv2D(3, 1)(inp)
    s = tfl.Add()([a, b])
    c = tfl.Concatenate()([tfl.ReLU()(s), a])
    out = tfl.Dense(2, activation="softmax")(tfl.Flatten()(c))
    return tf.keras.Model(inputs=inp, outputs=out, name="branchy")


# ------------------------------------------------------------------------------ functional graph


def test_functional_layers_in_topological_order():
    model = branching_model()
    names = [layer.name for layer in model.layers]
    assert names[0] == "image" and names[-1] == "dense"
    for later, earlier in [("add", "conv2d"), ("add", "conv2d_1"), ("concatenate", "re_lu"),
                           ("flatten", "concatenate")]:
        assert names.index(earlier) < names.index(later)
    assert type(model.layers[0]).__name__ == "InputLayer"
    assert model.input_shape == (None, 6, 6, 2) and model.output_shape == (None, 2)
    assert model.name == "branchy"


def test_layer_called_twice_in_a_chain_is_one_layer_with_two_calls():
    inp = tf.keras.Input(shape=(4,))
    dense = tfl.Dense(4)
    model = tf.keras.Model(inp, dense(dense(inp)))
    assert [type(lay).__name__ for lay in model.layers] == ["InputLayer", "Dense"]
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    w, b = dense.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), (x @ w + b) @ w + b, rtol=1e-5)


def test_disconnected_graph_is_refused():
    inp = tf.keras.Input(shape=(4,))
    other = tf.keras.Input(shape=(4,), name="other")
    out = tfl.Add()([tfl.Dense(2)(inp), tfl.Dense(2)(other)])
    with pytest.raises(ValueError, match="disconnected.*other"):
        tf.keras.Model(inp, out)
    with pytest.raises(TypeError, match="KerasTensor"):
        tf.keras.Model(np.zeros((1, 4)), out)


def test_multi_input_model_predicts_and_calls():
    a = tf.keras.Input(shape=(3,))
    b = tf.keras.Input(shape=(3,))
    out = tfl.Dense(1)(tfl.Concatenate()([a, b]))
    model = tf.keras.Model([a, b], out)
    xa, xb = np.ones((5, 3)), np.zeros((5, 3))
    p = model.predict([xa, xb], verbose=0)
    assert p.shape == (5, 1)
    np.testing.assert_allclose(model([xa, xb]), p)


def test_multi_output_model_one_loss_serves_every_output():
    inp = tf.keras.Input(shape=(3,))
    model = tf.keras.Model(inp, [tfl.Dense(1, name="a")(inp), tfl.Dense(2, name="b")(inp)])
    assert [o.shape for o in model.predict_on_batch(np.ones((2, 3)))] == [(2, 1), (2, 2)]
    model.compile(optimizer="adam", loss="mse")
    logs = model.evaluate(np.ones((2, 3)), [np.zeros((2, 1)), np.zeros((2, 2))], verbose=0,
                          return_dict=True)
    assert list(logs) == ["a_loss", "b_loss", "loss"]  # sorted, as Keras 3 gives them
    assert logs["loss"] == pytest.approx(logs["a_loss"] + logs["b_loss"], rel=1e-6)


def test_model_as_a_layer_checks_its_input_shape():
    # a model with several outputs is a layer too (tests/models/test_multi_output_calls.py)
    with pytest.raises(ValueError, match=r"\(None, 3\)"):
        branching_model()(tf.keras.Input(shape=(3,)))


# ------------------------------------------------------------------------------ Sequential


def test_sequential_builds_from_input_shape_input_layer_or_data():
    a = tf.keras.Sequential([tfl.Dense(3, input_shape=(4,)), tfl.Dense(1)])
    assert a.built and a.output_shape == (None, 1)
    assert [type(layer).__name__ for layer in a.layers] == ["Dense", "Dense"]

    b = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tfl.Dense(2)])
    assert b.built and b.input_shape == (None, 4)
    c = tf.keras.Sequential([tfl.InputLayer(shape=(4,)), tfl.Dense(2)])
    assert c.built and len(c.layers) == 1

    d = tf.keras.Sequential([tfl.Dense(2)])
    assert not d.built and d.layers[0].built is False
    assert d.predict(np.ones((3, 5)), verbose=0).shape == (3, 2)
    assert d.built and d.input_shape == (None, 5)

    e = tf.keras.Sequential([tfl.Dense(2)])
    e.build((None, 7))
    assert e.count_params() == 16


def test_sequential_add_and_pop():
    model = tf.keras.Sequential(name="stack")
    model.add(tfl.Dense(3, input_shape=(4,)))
    model.add(tfl.ReLU())
    model.add(tfl.Dense(2))
    assert model.output_shape == (None, 2) and model.name == "stack"
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 3)
    with pytest.raises(ValueError):
        model.add(tfl.Conv2D(2, 3))  # a 2-D input cannot feed a conv
    assert len(model.layers) == 2  # the failed add left the model as it was
    with pytest.raises(TypeError):
        model.add("dense")
    with pytest.raises(ValueError, match="first layer"):
        model.add(tfl.InputLayer(shape=(3,)))
    with pytest.raises(NotImplementedError):
        model.add(model.layers[0])


def test_auto_names_and_clear_session():
    first = tf.keras.Sequential([tfl.Dense(1, input_shape=(2,))])
    second = tf.keras.Sequential([tfl.Dense(1, input_shape=(2,))])
    assert (first.name, second.name) == ("sequential", "sequential_1")
    assert second.layers[0].name == "dense_1"
    tf.keras.backend.clear_session()
    again = tf.keras.Sequential([tfl.Dense(1, input_shape=(2,))])
    assert again.name == "sequential" and again.layers[0].name == "dense"


# ------------------------------------------------------------------------------ weights


def test_weights_lists_and_get_layer():
    model = tf.keras.Sequential([
        tfl.Conv2D(2, 3, input_shape=(5, 5, 1)),
        tfl.BatchNormalization(),
        tfl.Flatten(),
        tfl.Dense(1),
    ])
    names = [v.name for v in model.weights]
    assert names == ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                     "kernel", "bias"]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    assert model.get_layer("batch_normalization") is model.layers[1]
    assert model.get_layer(index=-1) is model.layers[3]
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")
    with pytest.raises(ValueError):
        model.get_layer(index=10)


def test_set_weights_round_trip_and_validation():
    model = branching_model()
    weights = [np.full_like(w, i) for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="has 6 weight arrays, got 5"):
        model.set_weights(weights[:-1])
    bad = list(weights)
    bad[0] = np.zeros((1, 1))
    with pytest.raises(ValueError, match="shape"):
        model.set_weights(bad)
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])  # nothing written


# ------------------------------------------------------------------------------ config


def test_functional_config_round_trip():
    model = branching_model()
    config = json.loads(json.dumps(model.get_config()))
    add = next(entry for entry in config["layers"] if entry["class_name"] == "Add")
    assert add["inbound_nodes"] == ["conv2d", "conv2d_1"]
    assert config["input_layers"] == [["image", 0, 0]]
    assert config["output_layers"] == [["dense", 0, 0]]
    tf.keras.backend.clear_session()
    clone = tf.keras.Model.from_config(config)
    assert [lay.name for lay in clone.layers] == [lay.name for lay in model.layers]
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2))
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_sequential_config_round_trip():
    model = tf.keras.Sequential([
        tfl.ZeroPadding2D(padding=1, input_shape=(4, 4, 1)),
        tfl.Conv2D(2, 3),
        tfl.BatchNormalization(axis=3),
        tfl.Flatten(),
        tfl.Dense(1, activation="sigmoid"),
    ])
    config = json.loads(json.dumps(model.get_config()))
    assert config["layers"][0]["class_name"] == "InputLayer"
    tf.keras.backend.clear_session()
    clone = tf.keras.Sequential.from_config(config)
    assert clone.built and clone.output_shape == (None, 1)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 1))
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    assert tf.keras.models.clone_model(model).count_params() == model.count_params()


def test_save_and_load_through_model_methods(tmp_path):
    model = branching_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.convnp")
    loaded = tf.keras.models.load_model(tmp_path / "m.convnp")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    model.save_weights(tmp_path / "w.weights.npz")
    fresh = tf.keras.Model.from_config(model.get_config())
    fresh.load_weights(tmp_path / "w.weights.npz")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    assert json.loads(model.to_json())["class_name"] == "Functional"


def test_a_model_used_as_a_layer():
    base = tf.keras.Sequential([
        tfl.Conv2D(3, 3, input_shape=(6, 6, 2)),
        tfl.BatchNormalization(),
        tfl.ReLU(),
    ], name="base")
    base.trainable = False
    inp = tf.keras.Input(shape=(6, 6, 2))
    x = base(inp, training=False)
    out = tfl.Dense(1, activation="sigmoid")(tfl.Flatten()(x))
    model = tf.keras.Model(inp, out)
    assert [type(lay).__name__ for lay in model.layers] == ["InputLayer", "Sequential",
                                                            "Flatten", "Dense"]
    assert model.count_params() == base.count_params() + 16 * 3 + 1
    assert len(model.trainable_weights) == 2  # only the head trains
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert any("base (Sequential)" in line for line in lines)

    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(8, 6, 6, 2)).astype(np.float32)
    ys = (rng.random((8, 1)) > 0.5).astype(np.float32)
    frozen = base.get_weights()
    model.fit(xs, ys, epochs=2, batch_size=4, verbose=0)
    # frozen and in inference mode: not even BN's moving statistics move
    for a, b in zip(frozen, base.get_weights()):
        np.testing.assert_array_equal(a, b)

    base.trainable = True
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(xs, ys, epochs=1, batch_size=4, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(frozen, base.get_weights()))

    config = json.loads(json.dumps(model.get_config()))
    clone = tf.keras.Model.from_config(config)
    assert clone.layers[1]._fixed_training is False  # still called with training=False
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(xs, verbose=0), model.predict(xs, verbose=0),
                               rtol=1e-6)


def test_multi_input_model_trains_from_arrays_and_datasets():
    a = tf.keras.Input(shape=(3,))
    b = tf.keras.Input(shape=(2,))
    out = tfl.Dense(1, activation="sigmoid")(tfl.Concatenate()([tfl.Dense(4)(a), b]))
    model = tf.keras.Model([a, b], out)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(20, 3)).astype(np.float32)
    xb = rng.normal(size=(20, 2)).astype(np.float32)
    y = (xa[:, :1] > 0).astype(np.float32)
    tf.keras.utils.set_random_seed(0)
    h1 = model.fit([xa, xb], y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)
    assert set(h1.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    ds = tf.data.Dataset.from_tensor_slices(((xa, xb), y)).batch(8)
    loss, _acc = model.evaluate(ds, verbose=0)
    assert loss == pytest.approx(model.evaluate([xa, xb], y, batch_size=8, verbose=0)[0],
                                 rel=1e-6)
    model.fit(ds, epochs=1, verbose=0)
    assert model.predict(ds, verbose=0).shape == (20, 1)
    assert model.train_on_batch([xa, xb], y)[0] > 0
    with pytest.raises(ValueError, match="2 input"):
        model.predict(xa, verbose=0)


def test_list_data_for_a_single_input_model():
    model = tf.keras.Sequential([tfl.Dense(1, input_shape=(2,))])
    assert model.predict([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], verbose=0).shape == (3, 1)
