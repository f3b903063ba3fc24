"""SimpleRNN, LSTM, GRU, the cells, RNN and Masking: against Keras 3.15 (fixtures of
``tests/fixtures/make_recurrent.py``), float64 central differences, configs, bad arguments,
masks in models, files both ways and training."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.layers import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    Masking,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)
from tests.helpers import FIXTURES, load_fixture, numerical_gradient, rel_error
from tests.layers.harness import check_layer

Z = load_fixture("recurrent.npz")

#: the fixture's cases of this module (``bi_*`` are Bidirectional's) and their classes
CASES = {
    "simple_rnn": SimpleRNN, "simple_rnn_seq_state": SimpleRNN, "simple_rnn_mask": SimpleRNN,
    "lstm": LSTM, "lstm_seq_state_back": LSTM, "lstm_options": LSTM, "lstm_mask": LSTM,
    "lstm_mask_back": LSTM, "lstm_initial": LSTM, "gru": GRU, "gru_seq_state": GRU,
    "gru_reset_before": GRU, "gru_mask": GRU, "gru_initial": GRU, "rnn_lstm_cell": RNN,
    "rnn_stacked": RNN, "rnn_gru_cell_mask": RNN,
}


def keras_case(name: str, cls=None):
    """The fixture's layer, made from the config Keras wrote, its weights set; and the
    call's keyword arguments (mask, initial states)."""
    from convnp.io.keras_format import _make_layer  # as a .keras file's entry is read

    cls = cls or CASES[name]
    layer = _make_layer(cls.__name__, json.loads(str(Z[f"{name}/config"])))
    kwargs = {}
    if f"{name}/mask" in Z:
        kwargs["mask"] = Z[f"{name}/mask"]
    initial = [Z[k] for k in sorted(k for k in Z if k.startswith(f"{name}/h"))]
    if initial:
        kwargs["initial_state"] = initial
    layer(Z[f"{name}/x"], **kwargs)
    count = len([k for k in Z if k.startswith(f"{name}/w/")])
    assert len(layer.weights) == count
    layer.set_weights([Z[f"{name}/w/{i}"] for i in range(count)])
    return layer, kwargs


def outputs_of(name: str) -> list:
    return [Z[f"{name}/out/{i}"] for i in range(len([k for k in Z
                                                      if k.startswith(f"{name}/out/")]))]


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_and_tape_gradients_match_keras(name):
    layer, kwargs = keras_case(name)
    expected = outputs_of(name)
    assert np.abs(expected[0]).max() > 0.01  # a case that can fail
    x = tf.constant(Z[f"{name}/x"])
    initial = [tf.constant(h) for h in kwargs.get("initial_state", [])]
    if initial:
        kwargs["initial_state"] = initial
    with tf.GradientTape() as tape:
        tape.watch([x, *initial])
        out = layer(x, **kwargs)
        outs = out if isinstance(out, list) else [out]
        total = sum(tf.reduce_sum(o * Z[f"{name}/dy/{i}"]) for i, o in enumerate(outs))
    assert len(outs) == len(expected)
    for got, want in zip(outs, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    grads = tape.gradient(total, [x, *initial, *layer.weights])
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, Z[f"{name}/grad/{i}"], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} gradient {i}")


@pytest.mark.parametrize("name", ["lstm", "gru_seq_state", "lstm_mask_back",
                                  "simple_rnn_mask", "rnn_stacked"])
def test_backward_as_fit_runs_it_matches_keras(name):
    """``layer.backward`` (what a model's graph calls) gives Keras's gradients too."""
    layer, kwargs = keras_case(name)
    out = layer(Z[f"{name}/x"], **kwargs)
    dys = [Z[f"{name}/dy/{i}"] for i in range(len(out) if isinstance(out, list) else 1)]
    dx = layer.backward(dys if isinstance(out, list) else dys[0])
    np.testing.assert_allclose(dx, Z[f"{name}/grad/0"], rtol=1e-4, atol=1e-5)
    for i, variable in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(variable.grad, Z[f"{name}/grad/{i + 1}"], rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_is_keras_config(name):
    """Same keys as Keras's config and the same plain values (initializers and the dtype
    policy may be written as names)."""
    keras_config = json.loads(str(Z[f"{name}/config"]))
    layer, _ = keras_case(name)
    ours = layer.get_config()
    assert set(ours) == set(keras_config)

    def plain(config):
        return {k: v for k, v in config.items()
                if not isinstance(v, dict) and k not in ("name", "dtype", "cells")}

    assert plain(ours) == plain(keras_config)
    json.dumps(ours)
    again = type(layer).from_config(ours)
    assert again.get_config() == ours


def test_weights_are_named_and_shaped_as_keras():
    lstm = LSTM(4)
    lstm(np.zeros((2, 3, 5), dtype="float32"))
    assert [v.name for v in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [v.shape for v in lstm.weights] == [(5, 16), (4, 16), (16,)]
    # unit_forget_bias: the forget gate's bias starts at one
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), np.r_[np.zeros(4), np.ones(4),
                                                                np.zeros(8)])
    gru = GRU(3)
    gru(np.zeros((1, 2, 5), dtype="float32"))
    assert [v.shape for v in gru.weights] == [(5, 9), (3, 9), (2, 9)]
    gru_before = GRU(3, reset_after=False)
    gru_before(np.zeros((1, 2, 5), dtype="float32"))
    assert gru_before.weights[2].shape == (9,)
    rnn = SimpleRNN(2, use_bias=False)
    rnn(np.zeros((1, 2, 5), dtype="float32"))
    assert [v.shape for v in rnn.weights] == [(5, 2), (2, 2)]
    # the recurrent kernel is orthogonal by default
    r = lstm.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(r @ r.T, np.eye(4), atol=1e-5)
    assert lstm.units == 4 and gru.reset_after is True and rnn.use_bias is False


# -- float64 central differences ------------------------------------------------------------


def fd_check(layer, x, kwargs=None, tol=1e-6, seed=0):
    """Compare the tape's gradients of ``sum(out_k * dy_k)`` with central differences, for
    the input, the initial states and every weight (float64)."""
    kwargs = dict(kwargs or {})
    rng = np.random.default_rng(seed)
    initial = kwargs.pop("initial_state", [])

    def forward():
        out = layer(x, initial_state=initial or None, **kwargs)
        return out if isinstance(out, list) else [out]

    outs = forward()
    dys = [rng.standard_normal(o.shape) for o in outs]

    def total():
        return np.array(sum(np.sum(np.asarray(o) * d) for o, d in zip(forward(), dys)))

    xt = tf.constant(x)
    ht = [tf.constant(h) for h in initial]
    with tf.GradientTape() as tape:
        tape.watch([xt, *ht])
        out = layer(xt, initial_state=ht or None, **kwargs)
        out = out if isinstance(out, list) else [out]
        loss = sum(tf.reduce_sum(o * d) for o, d in zip(out, dys))
    grads = tape.gradient(loss, [xt, *ht, *layer.trainable_weights])
    arrays = [x, *initial, *[v.value for v in layer.trainable_weights]]
    for array, grad in zip(arrays, grads):
        numeric = numerical_gradient(total, array, np.ones(()))
        assert rel_error(np.asarray(grad), numeric) < tol


@pytest.mark.parametrize("make", [
    lambda: SimpleRNN(3, return_sequences=True, dtype="float64"),
    lambda: LSTM(3, return_state=True, dtype="float64"),
    lambda: LSTM(2, go_backwards=True, return_sequences=True, activation="relu",
                 dtype="float64", bias_initializer="random_normal"),
    lambda: GRU(3, return_sequences=True, dtype="float64", bias_initializer="random_normal"),
    lambda: GRU(2, reset_after=False, return_state=True, dtype="float64",
                bias_initializer="random_normal"),
    lambda: RNN([SimpleRNNCell(2, dtype="float64"), LSTMCell(2, dtype="float64")],
                return_sequences=True, dtype="float64"),
], ids=["simple_rnn", "lstm", "lstm_back_relu", "gru", "gru_reset_before", "stacked"])
def test_gradients_against_central_differences(make):
    rng = np.random.default_rng(3)
    fd_check(make(), rng.standard_normal((2, 4, 3)))


def test_gradients_with_mask_and_initial_states():
    rng = np.random.default_rng(4)
    layer = LSTM(3, return_sequences=True, return_state=True, dtype="float64")
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    initial = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    fd_check(layer, rng.standard_normal((2, 4, 3)), {"mask": mask, "initial_state": initial})


def test_gradients_with_dropout_and_a_fixed_draw():
    """Dropout in training (its draw made the same each call by reseeding) differentiates
    as the function it is."""
    rng = np.random.default_rng(5)
    layer = GRU(3, dropout=0.3, recurrent_dropout=0.4, seed=2, return_sequences=True,
                dtype="float64")
    x = rng.standard_normal((2, 4, 3))
    layer(x)

    class Reseeded:
        def __call__(self, *args, **kwargs):
            layer.cell._generator = np.random.default_rng(9)
            return layer(*args, training=True, **kwargs)

    reseeded = Reseeded()
    reseeded.trainable_weights = layer.trainable_weights
    fd_check(reseeded, x)
    inference = layer(x)
    assert not np.allclose(reseeded(x), inference)
    np.testing.assert_array_equal(reseeded(x), reseeded(x))


def test_dropout_masks_are_shared_over_steps():
    """One input mask per sequence (Keras 3): a constant sequence's inputs are dropped at
    the same features at every step, so a SimpleRNN without recurrence (zero recurrent
    kernel) outputs the same at every step."""
    layer = SimpleRNN(4, dropout=0.5, return_sequences=True, seed=1,
                      recurrent_initializer="zeros")
    x = np.ones((3, 5, 6), dtype="float32")
    y = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y, np.repeat(y[:, :1], 5, axis=1), rtol=1e-6)
    assert not np.allclose(y, layer(x))


# -- masks -----------------------------------------------------------------------------------


def test_masking_layer_values_gradient_and_mask():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], dtype="float32")
    layer = Masking()
    y = layer(x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(y._keras_mask, [[True, False, True]])
    other = Masking(mask_value=3.0)
    z = np.array([[[3.0, 3.0], [3.0, 1.0]]], dtype="float32")
    np.testing.assert_array_equal(other(z), [[[0.0, 0.0], [3.0, 1.0]]])
    np.testing.assert_array_equal(other.backward(np.ones((1, 2, 2), "float32")),
                                  [[[0.0, 0.0], [1.0, 1.0]]])
    check_layer(Masking, {"mask_value": 0.5}, (2, 4, 3), (2, 4, 3), 0)
    assert Masking(1.0).get_config()["mask_value"] == 1.0
    with pytest.raises(ValueError, match="mask_value"):
        Masking(float("nan"))


def test_masking_feeds_the_recurrent_layers_as_an_explicit_mask():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    x[0, 3:] = 0.0
    lstm = LSTM(4, return_sequences=True)
    masked = lstm(Masking()(x))  # eager: the mask rides on the tensor
    explicit = lstm(x, mask=np.any(x != 0, axis=-1))
    np.testing.assert_allclose(masked, explicit)
    assert not np.allclose(explicit, lstm(x))
    # masked steps repeat the last kept output
    np.testing.assert_array_equal(explicit[0, 3], explicit[0, 2])


def test_mask_propagates_in_a_functional_model_as_keras_records_it():
    inp = keras.Input((5, 3))
    h = keras.layers.Masking()(inp)
    h = keras.layers.LSTM(4, return_sequences=True)(h)
    h = keras.layers.Dropout(0.2)(h)  # hands the mask on
    out = keras.layers.GRU(2)(h)
    model = keras.Model(inp, out)
    # Keras 3's layers: the mask is made by the ops not_equal and any
    assert [type(layer).__name__ for layer in model.layers][:4] == [
        "InputLayer", "TFOpLambda", "Masking", "TFOpLambda"]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 3)).astype("float32")
    x[1, 2:] = 0.0
    mask = np.any(x != 0, axis=-1)
    lstm, gru = model.layers[4], model.layers[6]
    expected = gru(lstm(x, mask=mask), mask=mask)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    # a layer that does not take masks stops it (with Keras's warning)
    with pytest.warns(UserWarning, match="does not support masking"):
        assert keras.layers.Flatten()(h)._keras_mask is None
    # return_sequences=False returns no mask
    assert out._keras_mask is None


def test_keras_file_with_masks_a_video_branch_and_bidirectional_predicts_as_keras(tmp_path):
    """Masking -> LSTM -> GRU; TimeDistributed(Conv2D) -> SimpleRNN; Embedding(mask_zero)
    -> Bidirectional LSTM -> Bidirectional GRU, written by Keras 3.15."""
    expected = load_fixture("recurrent_expected.npz")
    xs = [expected["x_seq"], expected["x_video"], expected["x_ids"]]
    model = keras.models.load_model(FIXTURES / "recurrent.keras")
    ys = model.predict(xs, verbose=0)
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y, expected[f"y/{i}"], rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    for y, z in zip(again.predict(xs, verbose=0), ys):
        np.testing.assert_allclose(y, z, rtol=1e-6, atol=1e-7)
    model.save(tmp_path / "m.convnp")
    for y, z in zip(keras.models.load_model(tmp_path / "m.convnp").predict(xs, verbose=0),
                    ys):
        np.testing.assert_allclose(y, z, rtol=1e-6, atol=1e-7)


def test_written_keras_file_calls_the_rnn_with_its_mask_as_keras_does(tmp_path):
    import zipfile

    inp = keras.Input((4, 2))
    out = keras.layers.SimpleRNN(3, name="rnn")(keras.layers.Masking(name="masking")(inp))
    keras.Model(inp, out).save(tmp_path / "m.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    entries = {e["name"]: e for e in config["config"]["layers"]}
    node = entries["rnn"]["inbound_nodes"][0]
    assert node["args"][0]["config"]["keras_history"][0] == "masking"
    assert entries["rnn"]["build_config"] == {"input_shape": [None, 4, 2]}
    mask_source = node["kwargs"]["mask"]["config"]["keras_history"][0]
    assert entries[mask_source]["class_name"] == "Any"


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: LSTM(0), ValueError, "units"),
    (lambda: GRU(3, dropout=1.5), ValueError, "dropout"),
    (lambda: SimpleRNN(3, recurrent_dropout=-0.1), ValueError, "recurrent_dropout"),
    (lambda: LSTM(3, stateful="no"), TypeError, "stateful"),
    (lambda: GRU(3, use_cudnn="yes"), ValueError, "use_cudnn"),
    (lambda: LSTM(3, return_sequences="yes"), TypeError, "return_sequences"),
    (lambda: LSTM(3, activation="nope"), ValueError, "nope"),
    (lambda: RNN(keras.layers.Dense(3)), TypeError, "cell"),
    (lambda: StackedRNNCells([]), TypeError, "cells"),
    (lambda: LSTM(3, seed="a"), TypeError, "seed"),
    (lambda: LSTM(3, nonsense=1), TypeError, "nonsense"),
])
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_calls_are_refused():
    layer = LSTM(3)
    with pytest.raises(ValueError, match="rank 3"):
        layer(np.zeros((2, 3), dtype="float32"))
    x = np.zeros((2, 4, 5), dtype="float32")
    with pytest.raises(ValueError, match="2 states"):
        layer(x, initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match="initial state 1"):
        layer(x, initial_state=[np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match="mask"):
        layer(x, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="features"):
        layer(np.zeros((2, 4, 6), dtype="float32"))
    layer(np.zeros((2, 7, 5), dtype="float32"))  # another length is fine, as in Keras


def test_cells_called_directly_as_keras_cells():
    cell = LSTMCell(3)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    h, states = cell(x, [np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")])
    assert h.shape == (2, 3) and len(states) == 2
    np.testing.assert_array_equal(h, states[0])
    gru = GRUCell(2)
    out, state = gru(x, np.zeros((2, 2), "float32"))
    np.testing.assert_array_equal(out, state)
    assert cell.state_size == [3, 3] and gru.state_size == 2
    assert SimpleRNNCell(5).output_size == 5


def test_symbolic_shapes_and_unknown_lengths():
    inp = keras.Input((None, 3))
    out, h, c = keras.layers.LSTM(4, return_sequences=True, return_state=True)(inp)
    assert out.shape == (None, None, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    model = keras.Model(inp, [out, h, c])
    ys = model.predict(np.ones((2, 6, 3), "float32"), verbose=0)
    assert [y.shape for y in ys] == [(2, 6, 4), (2, 4), (2, 4)]
    np.testing.assert_allclose(ys[0][:, -1], ys[1])


# -- training ----------------------------------------------------------------------------------


def test_cnn_rnn_video_model_fits_and_its_loss_falls():
    """keras.io's CNN-RNN shape: a TimeDistributed CNN's features of each frame, then an
    LSTM and a GRU, then a classifier."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    n, frames = 24, 4
    y = rng.integers(0, 2, n)
    x = rng.random((n, frames, 8, 8, 1)).astype("float32") * 0.2
    x[y == 1, :, 2:6, 2:6] += 0.8  # a bright square in class 1's frames
    inp = keras.Input((frames, 8, 8, 1))
    h = keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3, activation="relu"))(inp)
    h = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D())(h)
    h = keras.layers.LSTM(6, return_sequences=True)(h)
    h = keras.layers.GRU(4)(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]


def test_keras_io_masked_sequence_model_fits():
    """keras.io's video classifier head: a boolean mask Input given to the first GRU, which
    hands it to the second."""
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    frames = keras.Input((5, 6))
    mask = keras.Input((5,), dtype="bool")
    h = keras.layers.GRU(8, return_sequences=True)(frames, mask=mask)
    h = keras.layers.GRU(4)(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model([frames, mask], out)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy")
    y = rng.integers(0, 3, 30)
    x = rng.standard_normal((30, 5, 6)).astype("float32")
    x[np.arange(30), :, 0] += 2 * y[:, None]
    m = np.ones((30, 5), bool)
    m[::2, 3:] = False
    losses = model.fit([x, m], y, epochs=6, batch_size=10, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    # the mask matters: padded steps changed do not change the prediction
    x2 = x.copy()
    x2[::2, 3:] = 100.0
    np.testing.assert_allclose(model.predict([x2, m], verbose=0),
                               model.predict([x, m], verbose=0), rtol=1e-5, atol=1e-6)


def test_embedding_mask_zero_masks_the_padding_ids():
    ids = np.array([[3, 1, 0, 0], [2, 0, 4, 5]])
    table = keras.layers.Embedding(6, 3, mask_zero=True)
    rows = table(ids)
    np.testing.assert_array_equal(rows._keras_mask, ids != 0)
    lstm = LSTM(2, return_sequences=True)
    np.testing.assert_allclose(lstm(rows), lstm(np.asarray(rows), mask=ids != 0))
    assert table.get_config()["mask_zero"] is True
    # in a model: Keras 3's not_equal op makes the mask
    inp = keras.Input((4,), dtype="int32")
    out = keras.layers.GRU(2)(keras.layers.Embedding(6, 3, mask_zero=True)(inp))
    model = keras.Model(inp, out)
    assert "TFOpLambda" in [type(layer).__name__ for layer in model.layers]
    changed = ids.copy()
    changed[0, 2:] = 0
    np.testing.assert_allclose(model.predict(ids, verbose=0)[1:],
                               model.predict(changed, verbose=0)[1:])
    assert keras.layers.Embedding(6, 3)(inp)._keras_mask is None


def test_sequential_with_masks_lists_only_its_layers(tmp_path, capsys):
    """A Sequential's mask ops stay out of its summary and its files, as in Keras (which
    lists a Sequential's layers only, and makes the masks again when it loads one)."""
    import zipfile

    L = keras.layers
    model = keras.Sequential([keras.Input((4,)), L.Embedding(20, 8, mask_zero=True),
                              L.SimpleRNN(4), L.Dense(1)])
    model.summary()
    printed = capsys.readouterr().out
    assert "TFOpLambda" not in printed and "not_equal" not in printed
    model.save(tmp_path / "s.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "s.keras").read("config.json"))
    assert [e["class_name"] for e in config["config"]["layers"]] == [
        "InputLayer", "Embedding", "SimpleRNN", "Dense"]
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    again = keras.models.load_model(tmp_path / "s.keras")
    np.testing.assert_allclose(again.predict(ids, verbose=0), model.predict(ids, verbose=0))
    rnn, dense = model.layers[1], model.layers[2]
    table = model.layers[0]
    expected = dense(rnn(table(ids), mask=ids != 0))
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-6)


class MinimalRNNCell(keras.layers.Layer):
    """The cell of Keras's RNN docstring, as a user writes it."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        output = keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(
            states[0], self.recurrent_kernel)
        return output, [output]


def test_a_users_cell_runs_in_rnn_and_trains():
    layer = RNN(MinimalRNNCell(4), return_sequences=True)
    x = np.random.default_rng(11).random((2, 3, 5)).astype("float32")
    y = np.asarray(layer(x))
    cell = layer.cell
    h = np.zeros((2, 4), "float32")
    for t in range(3):
        h = x[:, t] @ cell.kernel.numpy() + h @ cell.recurrent_kernel.numpy()
        np.testing.assert_allclose(y[:, t], h, rtol=1e-5)
    assert [v.name for v in layer.weights] == ["kernel", "recurrent_kernel"]
    fd_check(RNN(MinimalRNNCell(3, dtype="float64"), return_state=True, dtype="float64"),
             np.random.default_rng(12).standard_normal((2, 4, 3)))
    keras.utils.set_random_seed(2)
    inp = keras.Input((None, 5))
    model = keras.Model(inp, keras.layers.Dense(1)(RNN(MinimalRNNCell(8))(inp)))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    xs = np.random.default_rng(13).random((16, 6, 5)).astype("float32")
    losses = model.fit(xs, xs.sum((1, 2))[:, None] / 10, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    with pytest.raises(TypeError, match="state_size"):
        RNN(keras.layers.Dense(3))


def test_encoder_states_start_the_decoder(tmp_path):
    """keras.io's character-level seq2seq: the encoder LSTM's final states are the decoder
    LSTM's initial states; training moves the encoder's weights too."""
    keras.utils.set_random_seed(1)
    L = keras.layers
    encoder_in, decoder_in = keras.Input((None, 6)), keras.Input((None, 7))
    encoder = L.LSTM(8, return_state=True)
    _, h, c = encoder(encoder_in)
    decoded = L.LSTM(8, return_sequences=True)(decoder_in, initial_state=[h, c])
    model = keras.Model([encoder_in, decoder_in], L.Dense(7, activation="softmax")(decoded))
    rng = np.random.default_rng(1)
    e = rng.random((20, 5, 6)).astype("float32")
    d = np.eye(7, dtype="float32")[rng.integers(0, 7, (20, 4))]
    kernel = encoder.cell.kernel.numpy().copy()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    model.fit([e, d], d, epochs=2, verbose=0)
    assert not np.allclose(encoder.cell.kernel.numpy(), kernel)
    model.save(tmp_path / "s2s.keras")
    again = keras.models.load_model(tmp_path / "s2s.keras")
    np.testing.assert_allclose(again.predict([e, d], verbose=0),
                               model.predict([e, d], verbose=0), rtol=1e-6, atol=1e-7)


def test_keras_legacy_h5_file_with_recurrent_layers_loads():
    expected = load_fixture("recurrent_legacy_expected.npz")
    model = keras.models.load_model(FIXTURES / "recurrent_legacy.h5")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               rtol=1e-5, atol=1e-6)


def test_keras_2_time_major_is_read_at_false_only():
    from convnp.io.keras_format import _make_layer

    assert _make_layer("LSTM", {"units": 2, "time_major": False}).units == 2
    with pytest.raises(ValueError, match="time_major"):
        _make_layer("GRU", {"units": 2, "time_major": True})


def test_stateful_layers_carry_their_states_from_call_to_call():
    rng = np.random.default_rng(14)
    x1, x2 = (rng.standard_normal((2, 3, 4)).astype("float32") for _ in range(2))
    layer = LSTM(3, stateful=True, return_state=True)
    out1, h1, c1 = layer(x1)
    assert [v.name for v in layer.states] == ["rnn_state", "rnn_state"]
    assert len(layer.weights) == 3  # the states are not weights (as in Keras)
    out2 = layer(x2)[0]
    plain = LSTM(3, return_state=True)
    plain(x1)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(plain(x1)[0], out1, rtol=1e-6)
    np.testing.assert_allclose(plain(x2, initial_state=[h1, c1])[0], out2, rtol=1e-6)
    layer.reset_states()
    np.testing.assert_allclose(layer(x1)[0], out1, rtol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        layer(rng.standard_normal((3, 3, 4)).astype("float32"))
    with pytest.raises(ValueError, match="static"):
        GRU(2, stateful=True)(keras.Input((3, 4)))
    assert LSTM.from_config(layer.get_config()).stateful is True


def test_stateful_model_predicts_from_where_it_stopped_and_trains():
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 1)),
                              keras.layers.GRU(4, stateful=True), keras.layers.Dense(1)])
    x = np.ones((2, 3, 1), "float32")
    first = model.predict(x, verbose=0)
    assert not np.allclose(model.predict(x, verbose=0), first)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.layers[0].reset_states()
    series = np.sin(np.arange(24, dtype="float32") / 3).reshape(2, 4, 3, 1)
    targets = series[:, :, -1, 0] + 0.5
    losses = []
    for _ in range(8):  # a stateful loop, as the tutorials train them
        for step in range(4):
            losses.append(model.train_on_batch(series[:, step], targets[:, step:step + 1]))
        model.layers[0].reset_states()
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])
    assert np.abs(model.layers[0].states[0].numpy()).sum() == 0  # just reset


def test_mask_passes_through_time_distributed_as_in_keras():
    inp = keras.Input((5, 3))
    h = keras.layers.Masking()(inp)
    h = keras.layers.TimeDistributed(keras.layers.Dense(4), name="frames")(h)
    out = keras.layers.LSTM(2, name="lstm")(h)
    model = keras.Model(inp, out)
    x = np.random.default_rng(15).standard_normal((2, 5, 3)).astype("float32")
    x[0, 3:] = 0.0
    dense, lstm = model.get_layer("frames"), model.get_layer("lstm")
    expected = lstm(dense(x), mask=np.any(x != 0, axis=-1))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-7)
