"""ONNX exporters of the sequence layers: `Embedding` (Gather), the recurrent layers
(`SimpleRNN`, `LSTM`, `GRU`, `RNN` of built-in cells, `Bidirectional`) on ONNX's RNN, LSTM and
GRU operators, and the checks of the calls that take masks (those layers and the attention
ones).

A mask (from `Masking`, ``Embedding(mask_zero=True)`` or ``mask=`` in the call) cannot be
exported: Keras's masked step keeps the states it had, wherever it sits in the sequence, while
ONNX's recurrent operators only take a length per sequence (``sequence_lens``), right-padded.
Such a call is refused by name, before the operations that compute the mask are looked at.
"""

from __future__ import annotations

import numpy as np

from convnp.io._onnx_graph import IDS, NCHW, PLAIN, Builder, Value, f32, refuse

#: the layers whose calls may carry masks, and the call arguments that hold them
MASKED_CALLS = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "MultiHeadAttention",
                "Attention", "AdditiveAttention")
_MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")


def call_arguments(node) -> dict:
    """The keyword arguments of a graph call beyond its input (`Slot`s for tensors)."""
    if node.template is None:
        return {}
    _, args, kwargs = node.template
    if args:
        raise refuse(node.layer, "it is called with positional arguments beyond its input")
    return dict(kwargs)


def check_call(b: Builder, node, graph) -> None:
    """Refuse a call that carries a mask (see the module docstring)."""
    masks = [name for name in _MASK_ARGUMENTS if name in call_arguments(node)]
    if masks:
        raise refuse(node.layer, f"its call takes a mask ({', '.join(masks)}: from Masking, "
                                 "Embedding(mask_zero=True) or mask=...), which ONNX's "
                                 "operators cannot follow (a masked step keeps its states "
                                 "anywhere in the sequence); export a model without the mask")


def embedding(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``Gather(embeddings, ids)`` (float ids cast to int64, as Keras casts them)."""
    table = b.constant(f"{layer.name}/embeddings", f32(layer.embeddings.value))
    y = b.node("Gather", [table, b.get(inputs[0], IDS)], layer.name, axis=0)
    return Value(out_shape, {PLAIN: y})


# -- recurrent layers: ONNX's RNN, LSTM and GRU operators ------------------------------------
#
# ONNX's operators take time-major sequences ``X (steps, batch, features)``, weights stacked
# per direction ``W (directions, gates * units, features)``, ``R (directions, gates * units,
# units)`` and ``B (directions, 2 * gates * units)`` (the input bias, then the recurrent one),
# and give ``Y (steps, directions, batch, units)`` (every step's output, in the input's order
# for either direction), ``Y_h`` and (LSTM) ``Y_c`` ``(directions, batch, units)``. Keras's
# kernels are ``(features, gates * units)``, so ``W`` is their transpose with the gate blocks
# in ONNX's order: LSTM's ``i, o, f, c`` from Keras's ``i, f, c, o``; GRU's ``z, r, h`` is
# Keras's ``z, r, n``. Keras's GRU with ``reset_after=True`` (two biases) is
# ``linear_before_reset=1``; with ``reset_after=False`` (one bias) ``linear_before_reset=0``.

_OPERATORS = {"SimpleRNNCell": "RNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}
_LSTM_GATES = (0, 3, 1, 2)  # ONNX's i, o, f, c as Keras's blocks i, f, c, o
#: Keras activation -> (ONNX activation, alpha, beta) (None: the operator's default)
_RNN_ACTIVATIONS = {
    "tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None), "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None), "linear": ("Affine", 1.0, 0.0),
    "elu": ("Elu", 1.0, None), "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
}
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "RNN")


def _cells(layer) -> list:
    """The built-in cells a recurrent layer runs, one after another at each step."""
    from convnp.layers.recurrent import StackedRNNCells

    def flat(cell) -> list:
        if isinstance(cell, StackedRNNCells):
            return [c for inner in cell.cells for c in flat(inner)]
        if type(cell).__name__ not in _OPERATORS:
            raise refuse(layer, f"its cell {type(cell).__name__} is not a built-in cell "
                                "(SimpleRNNCell, LSTMCell, GRUCell) with an ONNX operator")
        return [cell]

    return flat(layer.cell)


def _activation_name(activation) -> str:
    return getattr(activation, "name", None) or "linear"


def _cell_activations(layer, cell) -> list[str]:
    """The cell's activations in the operator's order (RNN: f; LSTM: f, g, h; GRU: f, g),
    as Keras names them; refused when ONNX's recurrent operators have no such function."""
    act = _activation_name(cell.activation)
    names = [act] if type(cell).__name__ == "SimpleRNNCell" else \
        [_activation_name(cell.recurrent_activation), act] + (
            [act] if type(cell).__name__ == "LSTMCell" else [])
    for name in names:
        if name not in _RNN_ACTIVATIONS:
            raise refuse(layer, f"activation {name!r} is not one of the functions ONNX's "
                                f"recurrent operators take ({', '.join(_RNN_ACTIVATIONS)})")
    return names


def _recurrent_arguments(node) -> list:
    """The tensors a recurrent call's ``initial_state`` names (`Slot`s), [] without."""
    from convnp.layers._slots import Slot

    kwargs = call_arguments(node)
    extra = set(kwargs) - {"initial_state", *_MASK_ARGUMENTS}
    if extra:
        raise refuse(node.layer, f"call arguments {sorted(extra)} have no ONNX form")
    given = kwargs.get("initial_state")
    if given is None:
        return []
    states = list(given) if isinstance(given, (list, tuple)) else [given]
    if not all(isinstance(s, Slot) for s in states):
        raise refuse(node.layer, "its initial states must be tensors of the model")
    return states


def check_recurrent(b: Builder, node, graph) -> None:
    """Refuse, before anything is built, what the recurrent exporters cannot write: a mask,
    a stateful layer, a user's cell, activations ONNX's operators lack."""
    check_call(b, node, graph)
    layer = node.layer
    _recurrent_arguments(node)
    inner = [layer.forward_layer, layer.backward_layer] if type(layer).__name__ == \
        "Bidirectional" else [layer]
    for rnn in inner:
        if type(rnn).__name__ not in RECURRENT:
            raise refuse(layer, f"the recurrent layer {type(rnn).__name__} has no ONNX form")
        if rnn.stateful:
            raise refuse(layer, "stateful=True carries states from call to call, which an "
                                "ONNX graph cannot")
        for cell in _cells(rnn):
            _cell_activations(layer, cell)


def _weights(cell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, R, B)`` of one direction, in ONNX's layout and gate order."""
    units = cell.units
    kind = type(cell).__name__
    kernel, recurrent = cell.kernel.value, cell.recurrent_kernel.value
    gates = {"SimpleRNNCell": 1, "LSTMCell": 4, "GRUCell": 3}[kind]
    if cell.bias is None:
        bias_in = bias_rec = np.zeros(gates * units, np.float32)
    elif kind == "GRUCell" and cell.reset_after:
        bias_in, bias_rec = cell.bias.value[0], cell.bias.value[1]
    else:
        bias_in, bias_rec = cell.bias.value, np.zeros(gates * units, np.float32)
    if kind == "LSTMCell":
        def order(m):
            blocks = np.split(m, 4, axis=-1)
            return np.concatenate([blocks[i] for i in _LSTM_GATES], axis=-1)
        kernel, recurrent = order(kernel), order(recurrent)
        bias_in, bias_rec = order(bias_in), order(bias_rec)
    return kernel.T, recurrent.T, np.concatenate([bias_in, bias_rec])


def _operator(b: Builder, cells: list, x: str, direction: str, initial: list[str],
              base: str) -> list[str]:
    """One ONNX RNN/LSTM/GRU node over time-major ``x``: one cell per direction (both of one
    kind and configuration); returns ``[Y, Y_h]`` (+ ``Y_c`` for LSTM)."""
    first = cells[0]
    kind = type(first).__name__
    op = _OPERATORS[kind]
    weights = [_weights(cell) for cell in cells]
    W, R, B = (b.constant(f"{base}/{label}", f32(np.stack([w[i] for w in weights])))
               for i, label in enumerate(("W", "R", "B")))
    names, alphas, betas = [], [], []
    for cell in cells:
        for act in _cell_activations(cell, cell):  # checked (by layer) before export
            name, alpha, beta = _RNN_ACTIVATIONS[act]
            names.append(name)
            alphas += [] if alpha is None else [alpha]
            betas += [] if beta is None else [beta]
    attrs = {"hidden_size": first.units, "direction": direction, "activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if op == "GRU":
        attrs["linear_before_reset"] = int(first.reset_after)
    args = [x, W, R, B, ""] + initial
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    return b.nodes_with_outputs(op, args, [f"{base}/{o}" for o in outputs], **attrs)


def _time_major(b: Builder, x: Value, base: str) -> str:
    """``(steps, batch, features)`` from whichever layout ``x`` has (one Transpose)."""
    layout, src = b.preferred(x)
    perm = [2, 0, 1] if layout == NCHW else [1, 0, 2]  # from (B, F, T) or (B, T, F)
    return b.node("Transpose", [src], f"{base}/time_major", perm=perm)


def _reverse_steps(b: Builder, x: str, axis: int, base: str) -> str:
    """``x`` with the steps (``axis``) in the other order: Slice with step -1."""
    return b.node("Slice", [x, b.ints(f"{base}/starts", [-1]),
                            b.ints(f"{base}/ends", [np.iinfo(np.int64).min]),
                            b.ints(f"{base}/axes", [axis]), b.ints(f"{base}/steps", [-1])],
                  base)


def _one_direction(b: Builder, rnn, x_tbf: str, initial: list[str], base: str
                   ) -> tuple[str, str, list[str]]:
    """Run the cells of a recurrent layer (stacked: one operator each) in its direction;
    return its time-major outputs ``(steps, batch, units)`` in the input's order, its last
    output ``(batch, units)`` and its final states (each ``(batch, units)``, Keras's order)."""
    cells = _cells(rnn)
    direction = "reverse" if rnn.go_backwards else "forward"
    states: list[str] = []
    y = x_tbf
    for index, cell in enumerate(cells):
        label = base if len(cells) == 1 else f"{base}/cell{index}"
        count = 2 if type(cell).__name__ == "LSTMCell" else 1
        own, initial = initial[:count], initial[count:]
        own = [b.node("Unsqueeze", [s, b.ints(f"{label}/state_axis{i}", [0])],
                      f"{label}/initial{i}") for i, s in enumerate(own)]
        outputs = _operator(b, [cell], y, direction, own, label)
        y = b.node("Squeeze", [outputs[0], b.ints(f"{label}/direction_axis", [1])],
                   f"{label}/sequence")
        final = [b.node("Squeeze", [s, b.ints(f"{label}/state_axis", [0])],
                        f"{label}/state{i}") for i, s in enumerate(outputs[1:])]
        states += final
    return y, final[0], states


def _batch_major(b: Builder, y_tbh: str, base: str) -> str:
    return b.node("Transpose", [y_tbh], base, perm=[1, 0, 2])


def _initial_states(b: Builder, inputs: list[Value], node) -> list[str]:
    return [b.get(inputs[slot.index], PLAIN) for slot in _recurrent_arguments(node)]


def recurrent(b: Builder, layer, inputs: list[Value], out_shape) -> Value | list[Value]:
    """SimpleRNN / LSTM / GRU / RNN of built-in cells: ONNX's operator per cell (``reverse``
    for ``go_backwards``, whose Keras outputs come in the order the steps were run)."""
    base = layer.name
    x_tbf = _time_major(b, inputs[0], base)
    y, last, states = _one_direction(b, layer, x_tbf, _initial_states(b, inputs, b.call), base)
    shapes = list(out_shape) if layer.return_state else [out_shape]
    if layer.return_sequences:
        if layer.go_backwards:
            y = _reverse_steps(b, y, 0, f"{base}/run_order")
        output = Value(shapes[0], {PLAIN: _batch_major(b, y, f"{base}/output")})
    else:
        output = Value(shapes[0], {PLAIN: last})
    if not layer.return_state:
        return output
    return [output] + [Value(shape, {PLAIN: s}) for shape, s in zip(shapes[1:], states)]


def _same_configuration(forward, backward) -> bool:
    """Whether one ONNX operator can run both layers (``direction="bidirectional"``): one
    built-in cell each, of one class and configuration, the backward one going backwards."""
    if forward.go_backwards or not backward.go_backwards:
        return False
    cells = [_cells(forward), _cells(backward)]
    if any(len(c) != 1 for c in cells):
        return False
    (f,), (r,) = cells
    keys = ("units", "use_bias", "reset_after")
    return type(f) is type(r) and all(getattr(f, k, None) == getattr(r, k, None)
                                      for k in keys) and _cell_activations(
        forward, f) == _cell_activations(backward, r)


def _merge(b: Builder, mode: str, a: str, c: str, base: str) -> str:
    if mode == "concat":
        return b.node("Concat", [a, c], base, axis=-1)
    if mode == "ave":
        total = b.node("Add", [a, c], f"{base}/sum")
        return b.node("Mul", [total, b.scalar(f"{base}/half", 0.5)], base)
    return b.node({"sum": "Add", "mul": "Mul"}[mode], [a, c], base)


def bidirectional(b: Builder, layer, inputs: list[Value], out_shape) -> Value | list[Value]:
    """One ``direction="bidirectional"`` operator when both layers fit it (Keras's usual
    forward copy and backward copy), else each layer's own operators; the outputs merged as
    Keras merges them (the backward sequence back in the input's order)."""
    base = layer.name
    forward, backward = layer.forward_layer, layer.backward_layer
    x_tbf = _time_major(b, inputs[0], base)
    initial = _initial_states(b, inputs, b.call)
    half = len(initial) // 2
    if _same_configuration(forward, backward):
        (cell_f,), (cell_b,) = _cells(forward), _cells(backward)
        pairs = [b.node("Concat", [b.node("Unsqueeze", [s, b.ints(f"{base}/axis_f{i}", [0])],
                                          f"{base}/initial_f{i}"),
                                   b.node("Unsqueeze", [r, b.ints(f"{base}/axis_b{i}", [0])],
                                          f"{base}/initial_b{i}")],
                        f"{base}/initial{i}", axis=0)
                 for i, (s, r) in enumerate(zip(initial[:half], initial[half:]))]
        y, *finals = _operator(b, [cell_f, cell_b], x_tbf, "bidirectional", pairs, base)
        # Y (steps, 2, batch, units): each direction's outputs in the input's order, as
        # Keras has the backward ones after turning them back
        parts = [b.node("Squeeze", [b.node("Slice", [y, b.ints(f"{base}/start{d}", [d]),
                                                     b.ints(f"{base}/end{d}", [d + 1]),
                                                     b.ints(f"{base}/axis{d}", [1])],
                                           f"{base}/y{d}"),
                                    b.ints(f"{base}/squeeze{d}", [1])], f"{base}/sequence{d}")
                 for d in (0, 1)]
        lasts, states = [], [[], []]
        for k, final in enumerate(finals):  # (2, batch, units) -> each direction's
            for d in (0, 1):
                part = b.node("Squeeze", [b.node("Slice", [
                    final, b.ints(f"{base}/state_start{k}{d}", [d]),
                    b.ints(f"{base}/state_end{k}{d}", [d + 1]),
                    b.ints(f"{base}/state_axis{k}{d}", [0])], f"{base}/state{k}_{d}_slice"),
                    b.ints(f"{base}/state_squeeze{k}{d}", [0])], f"{base}/state{k}_{d}")
                states[d].append(part)
                if k == 0:
                    lasts.append(part)
        if layer.return_sequences:
            y_f, y_b = parts
        else:
            y_f, y_b = lasts
        states_f, states_b = states
    else:
        runs = []
        for rnn, own, label in ((forward, initial[:half], "forward"),
                                (backward, initial[half:], "backward")):
            y, last, finals = _one_direction(b, rnn, x_tbf, own, f"{base}/{label}")
            runs.append((y, last, finals))
        (y_f, last_f, states_f), (y_b, last_b, states_b) = runs
        if not layer.return_sequences:
            y_f, y_b = last_f, last_b
        # a layer's sequence is in the input's order here; Keras turns the backward layer's
        # (in its run order) back to the input's, so it ends in the input's order too, and
        # the forward layer's is in its own run order
        elif forward.go_backwards:
            y_f = _reverse_steps(b, y_f, 0, f"{base}/forward_run_order")
        if layer.return_sequences and not backward.go_backwards:
            y_b = _reverse_steps(b, y_b, 0, f"{base}/backward_reversed")
    if layer.return_sequences:
        y_f, y_b = (_batch_major(b, y, f"{base}/{label}_output")
                    for y, label in ((y_f, "forward"), (y_b, "backward")))
    several = bool(out_shape) and isinstance(out_shape[0], (tuple, list))
    shapes = list(out_shape) if several else [out_shape]
    if layer.merge_mode is None:
        outputs = [y_f, y_b]
    else:
        outputs = [_merge(b, layer.merge_mode, y_f, y_b, f"{base}/merged")]
    outputs += (states_f + states_b) if layer.return_state else []
    values = [Value(shape, {PLAIN: name}) for shape, name in zip(shapes, outputs)]
    return values if len(values) > 1 else values[0]
