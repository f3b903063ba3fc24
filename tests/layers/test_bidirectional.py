"""Bidirectional: against Keras 3.15 (the ``bi_*`` cases of
``tests/fixtures/make_recurrent.py``), float64 central differences, configs, bad arguments,
masks, files and training."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.layers import GRU, LSTM, Bidirectional, SimpleRNN
from tests.layers.test_recurrent import Z, fd_check, keras_case, outputs_of

CASES = sorted({k.split("/")[0] for k in Z if k.startswith("bi_")})


def test_every_merge_mode_is_covered():
    modes = {json.loads(str(Z[f"{c}/config"]))["merge_mode"] for c in CASES}
    assert modes == {"concat", "sum", "mul", "ave", None}


@pytest.mark.parametrize("name", CASES)
def test_outputs_and_gradients_match_keras(name):
    layer, kwargs = keras_case(name, Bidirectional)
    expected = outputs_of(name)
    x = tf.constant(Z[f"{name}/x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, **kwargs)
        outs = out if isinstance(out, list) else [out]
        total = sum(tf.reduce_sum(o * Z[f"{name}/dy/{i}"]) for i, o in enumerate(outs))
    assert len(outs) == len(expected)
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    grads = tape.gradient(total, [x, *layer.weights])
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, Z[f"{name}/grad/{i}"], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} gradient {i}")
    # and through backward, as a model's graph runs it
    layer(Z[f"{name}/x"], **kwargs)
    dys = [Z[f"{name}/dy/{i}"] for i in range(len(outs))]
    dx = layer.backward(dys if isinstance(out, list) else dys[0])
    np.testing.assert_allclose(dx, Z[f"{name}/grad/0"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_config_is_keras_config(name):
    keras_config = json.loads(str(Z[f"{name}/config"]))
    layer, _ = keras_case(name, Bidirectional)
    ours = layer.get_config()
    assert set(ours) == set(keras_config)
    assert ours["merge_mode"] == keras_config["merge_mode"]
    for key in ("layer", "backward_layer"):
        assert ours[key]["class_name"] == keras_config[key]["class_name"]
        assert ours[key]["config"]["name"] == keras_config[key]["config"]["name"]
        for option in ("go_backwards", "return_sequences", "zero_output_for_mask", "units"):
            assert ours[key]["config"][option] == keras_config[key]["config"][option]
    again = Bidirectional.from_config(json.loads(json.dumps(ours)))
    assert again.get_config() == ours


def test_layers_are_made_as_keras_makes_them():
    layer = Bidirectional(LSTM(3, name="encoder", return_sequences=True))
    assert layer.forward_layer.name == "forward_encoder"
    assert layer.backward_layer.name == "backward_encoder"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert layer.forward_layer.zero_output_for_mask  # with return_sequences
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.shape for w in layer.weights] == [(5, 12), (3, 12), (12,)] * 2
    assert layer.compute_output_shape((None, 4, 5)) == (None, 4, 6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_gradients_against_central_differences(merge_mode):
    rng = np.random.default_rng(8)
    layer = Bidirectional(GRU(2, return_sequences=True, dtype="float64",
                              bias_initializer="random_normal"),
                          merge_mode=merge_mode, dtype="float64")
    mask = np.array([[True, True, False, True], [True, False, True, True]])
    fd_check(layer, rng.standard_normal((2, 4, 3)), {"mask": mask})


def test_initial_states_and_return_state():
    rng = np.random.default_rng(9)
    layer = Bidirectional(LSTM(2, return_state=True, dtype="float64"), dtype="float64")
    initial = [rng.standard_normal((2, 2)) for _ in range(4)]
    out = layer(rng.standard_normal((2, 3, 3)), initial_state=initial)
    assert [o.shape for o in out] == [(2, 4)] + [(2, 2)] * 4
    fd_check(layer, rng.standard_normal((2, 3, 3)), {"initial_state": initial})


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: Bidirectional(keras.layers.Dense(3)), TypeError, "recurrent"),
    (lambda: Bidirectional(LSTM(3), merge_mode="max"), ValueError, "merge_mode"),
    (lambda: Bidirectional(LSTM(3), backward_layer=GRU(3)), ValueError, "go_backwards"),
    (lambda: Bidirectional(LSTM(3), backward_layer=GRU(3, go_backwards=True,
                                                       return_sequences=True)),
     ValueError, "return_sequences"),
    (lambda: Bidirectional(LSTM(3), weights=[np.zeros(3)]), ValueError, "weights"),
])
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_masked_bidirectional_model_saves_both_ways_and_fits(tmp_path):
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    inp = keras.Input((6, 3))
    h = keras.layers.Masking()(inp)
    h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(h)
    h = keras.layers.Bidirectional(keras.layers.GRU(3), merge_mode="sum")(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    y = rng.integers(0, 2, 32)
    x = rng.standard_normal((32, 6, 3)).astype("float32")
    x[:, :, 0] += 1.5 * y[:, None]
    x[::3, 4:] = 0.0  # padded
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-6, atol=1e-7)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy")
    losses = model.fit(x, y, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_simple_rnn_both_ways_by_hand():
    """concat of the forward layer's outputs and the backward layer's, turned around."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    layer = Bidirectional(SimpleRNN(2, return_sequences=True))
    y = np.asarray(layer(x))
    forward = np.asarray(layer.forward_layer(x))
    backward = np.asarray(layer.backward_layer(x))[:, ::-1]
    np.testing.assert_allclose(y, np.concatenate([forward, backward], axis=-1), rtol=1e-6)


def test_stateful_bidirectional_resets_both_layers():
    layer = Bidirectional(GRU(2, stateful=True))
    x = np.ones((2, 3, 1), "float32")
    first = np.asarray(layer(x))
    assert not np.allclose(layer(x), first)
    layer.reset_states()
    np.testing.assert_allclose(layer(x), first, rtol=1e-6)
