"""ONNX export of the recurrent layers with ONNX's own operators (RNN, LSTM, GRU):
SimpleRNN, LSTM, GRU, RNN of built-in cells (stacked too), Bidirectional; with
return_sequences, return_state, go_backwards, initial states. Each agrees with `predict` in
onnxruntime (1e-5 absolute); masks, stateful layers, users' cells and activations ONNX's
operators lack are refused by name before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export, export_bytes
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of

ATOL = 1e-5


def agree(model, xs, opset: int = 17):
    return check(model, xs, opset, atol=ATOL)


def sequences(shape=(7, 4), seed=1, batch=3):
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)


def one(build, shape=(7, 4), seed=0):
    inputs = Input(shape=shape)
    model = Model(inputs, build(inputs))
    randomize(model, seed)
    return model


CASES = {
    "simple_rnn": lambda i: L.SimpleRNN(5)(i),
    "simple_rnn_relu_sequences_backwards": lambda i: L.SimpleRNN(
        3, activation="relu", return_sequences=True, go_backwards=True)(i),
    "simple_rnn_linear_state": lambda i: L.SimpleRNN(3, activation=None, use_bias=False,
                                                     return_state=True)(i),
    "lstm": lambda i: L.LSTM(4)(i),
    "lstm_sequences_states": lambda i: L.LSTM(3, return_sequences=True, return_state=True)(i),
    "lstm_backwards": lambda i: L.LSTM(3, go_backwards=True)(i),
    "lstm_backwards_sequences": lambda i: L.LSTM(3, go_backwards=True,
                                                 return_sequences=True)(i),
    "lstm_activations": lambda i: L.LSTM(3, activation="softsign",
                                         recurrent_activation="hard_sigmoid")(i),
    "lstm_relu_no_bias": lambda i: L.LSTM(3, activation="relu", use_bias=False,
                                          unit_forget_bias=False)(i),
    "gru": lambda i: L.GRU(4)(i),
    "gru_reset_before": lambda i: L.GRU(3, reset_after=False, return_sequences=True)(i),
    "gru_backwards_states_no_bias": lambda i: L.GRU(3, use_bias=False, go_backwards=True,
                                                    return_state=True)(i),
    "gru_elu_softplus": lambda i: L.GRU(3, activation="elu",
                                        recurrent_activation="softplus")(i),
    "rnn_of_cell": lambda i: L.RNN(L.GRUCell(3, reset_after=False))(i),
    "rnn_stacked_states": lambda i: L.RNN([L.LSTMCell(3), L.GRUCell(2), L.SimpleRNNCell(4)],
                                          return_state=True)(i),
    "rnn_stacked_backwards": lambda i: L.RNN([L.SimpleRNNCell(3), L.LSTMCell(2)],
                                             return_sequences=True, go_backwards=True)(i),
    "stacked_layers": lambda i: L.Dense(2)(L.GRU(3)(L.LSTM(4, return_sequences=True)(i))),
    "after_conv1d": lambda i: L.LSTM(3)(L.MaxPooling1D()(L.Conv1D(4, 3, padding="same")(i))),
    "bidirectional_lstm": lambda i: L.Bidirectional(L.LSTM(3))(i),
    "bidirectional_lstm_sequences": lambda i: L.Bidirectional(
        L.LSTM(3, return_sequences=True))(i),
    "bidirectional_gru_sum_states": lambda i: L.Bidirectional(
        L.GRU(3, return_sequences=True, return_state=True), merge_mode="sum")(i),
    "bidirectional_simple_rnn_none": lambda i: L.Bidirectional(
        L.SimpleRNN(3, return_sequences=True), merge_mode=None)(i),
    "bidirectional_ave": lambda i: L.Bidirectional(L.GRU(2, reset_after=False),
                                                   merge_mode="ave")(i),
    "bidirectional_other_backward_layer": lambda i: L.Bidirectional(
        L.LSTM(3, return_sequences=True),
        backward_layer=L.GRU(2, return_sequences=True, go_backwards=True))(i),
    "bidirectional_other_backward_states": lambda i: L.Bidirectional(
        L.LSTM(3, return_state=True),
        backward_layer=L.GRU(2, return_state=True, go_backwards=True))(i),
    "bidirectional_swapped_directions": lambda i: L.Bidirectional(
        L.LSTM(3, return_sequences=True, go_backwards=True),
        backward_layer=L.LSTM(3, return_sequences=True), merge_mode="mul")(i),
    "bidirectional_stacked_cells": lambda i: L.Bidirectional(
        L.RNN([L.LSTMCell(2), L.LSTMCell(3)], return_sequences=True))(i),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_recurrent_layers_export_and_agree(case):
    agree(one(CASES[case]), sequences())


@pytest.mark.parametrize("opset", [13, 15, 17, 21])
def test_opsets_and_unknown_steps(opset):
    model = one(lambda i: L.Bidirectional(L.LSTM(3, return_sequences=True))(
        L.GRU(4, return_sequences=True, go_backwards=True)(i)), shape=(None, 4))
    for steps in (1, 5, 9):
        agree(model, sequences((steps, 4), seed=steps), opset)


def test_operators_used():
    proto = agree(one(lambda i: L.Concatenate()([
        L.SimpleRNN(2)(i), L.LSTM(2)(i), L.GRU(2)(i), L.Bidirectional(L.LSTM(2))(i)])),
        sequences())
    found = ops_of(proto)
    assert found.count("LSTM") == 2 and found.count("GRU") == 1 and found.count("RNN") == 1
    directions = [a.s for n in proto.graph.node if n.op_type == "LSTM" for a in n.attribute
                  if a.name == "direction"]
    assert directions == [b"forward", b"bidirectional"]


def test_encoder_decoder_with_initial_states():
    """The seq2seq pattern: the decoder LSTM starts from the encoder's final states."""
    source, target = Input((6, 4), name="source"), Input((5, 3), name="target")
    _, h, c = L.LSTM(8, return_state=True)(source)
    decoded = L.LSTM(8, return_sequences=True)(target, initial_state=[h, c])
    gru_state = L.Dense(4, activation="tanh")(h)
    other = L.GRU(4)(target, initial_state=gru_state)
    both = L.Bidirectional(L.SimpleRNN(2))(target, initial_state=[gru_state[:, :2],
                                                                  gru_state[:, 2:]])
    model = Model([source, target], [L.Dense(3, activation="softmax")(decoded), other, both])
    randomize(model, 4)
    agree(model, [sequences((6, 4), 5), sequences((5, 3), 6)])


def test_embedding_then_lstm_classifier():
    inputs = Input((9,), dtype="int32")
    y = L.Bidirectional(L.LSTM(4))(L.Embedding(20, 6)(inputs))
    model = Model(inputs, L.Dense(1, activation="sigmoid")(y))
    randomize(model, 6)
    agree(model, np.random.default_rng(7).integers(0, 20, (4, 9)).astype("int32"))


class Doubling(L.Layer):
    state_size = 3

    def call(self, inputs, states):
        return inputs[:, :3] * 2 + states[0], [states[0]]


@pytest.mark.parametrize("build, message", [
    (lambda i: L.LSTM(3, name="rnn")(L.Masking()(i)), "'rnn' of type LSTM.*takes a mask"),
    (lambda i: L.Bidirectional(L.GRU(3), name="rnn")(L.Embedding(9, 4, mask_zero=True)(
        i[:, :, 0])), "'rnn' of type Bidirectional.*takes a mask"),
    (lambda i: L.LSTM(3, name="rnn")(i, mask=tf.keras.ops.greater(i[:, :, 0], 0.0)),
     "'rnn' of type LSTM.*takes a mask"),
    (lambda i: L.GRU(3, activation="gelu", name="rnn")(i),
     "'rnn' of type GRU.*activation 'gelu'"),
    (lambda i: L.RNN(Doubling(), name="rnn")(i), "'rnn' of type RNN.*Doubling"),
])
def test_refused_by_name_before_writing(build, message, tmp_path):
    inputs = Input((5, 4))
    model = Model(inputs, build(inputs))
    target = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=message):
        export(model, target)
    assert not target.exists()


def test_stateful_is_refused():
    inputs = Input(batch_shape=(2, 5, 4))
    model = Model(inputs, L.LSTM(3, stateful=True, name="carry")(inputs))
    with pytest.raises(ValueError, match="'carry' of type LSTM.*stateful"):
        export_bytes(model)
