"""Keras 3's recurrent layers: the cells (`SimpleRNNCell`, `LSTMCell`, `GRUCell`,
`StackedRNNCells`), the `RNN` layer that runs a cell over the steps of a sequence, and
`SimpleRNN`, `LSTM`, `GRU` (an `RNN` holding its own cell, configured by the layer's
arguments).

Inputs are ``(batch, steps, features)``. Each step is written in tensor ops, so a tape
differentiates the whole loop (the layer is one recorded call in a model's graph, as a
user's layer is; `convnp.layers.taped`). Per step ``t``, with ``x`` the step's input and
``h`` (LSTM: ``h, c``) the states before it:

    SimpleRNN  h = act(x K + h R + b)
    LSTM       i, f, g, o = split(x K + h R + b, 4)
               c = rec(f) * c + rec(i) * act(g);  h = rec(o) * act(c)
    GRU        z, r, n from x K + b_in and h R (+ b_rec), split in 3:
               reset_after=True:  n = act(x K_n + b_in_n + rec(r) * (h R_n + b_rec_n))
               reset_after=False: n = act(x K_n + b_n + (rec(r) * h) R_n)
               h = rec(z) * h + (1 - rec(z)) * n

(``act`` is ``activation``, ``rec`` ``recurrent_activation``). The weights are Keras's:
``kernel`` ``(features, gates * units)``, ``recurrent_kernel`` ``(units, gates * units)``,
``bias`` ``(gates * units,)`` (GRU with ``reset_after``: ``(2, 3 * units)``, the input bias
then the recurrent one), gates in the order above; Keras files keep them in the layer's child
``cell``.

A ``mask`` (``(batch, steps)`` booleans: ``layer(x, mask=m)``, or the mask a `Masking` layer
gives its output) makes a masked step keep the states it had and output what the step before
output (zeros before the first kept step), as Keras does; ``zero_output_for_mask=True``
outputs zeros there instead. Dropout draws one mask per sequence for the inputs and one for
the states (Keras 3's cells share each over the steps and the gates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convnp.random
from convnp import activations, constraints, regularizers
from convnp.layers import _masks, _utils, taped
from convnp.layers.base import KerasTensor, Layer, snake_case
from convnp.layers.registry import deserialize, register, serialize
from convnp.variables import Variable

# -- cells ---------------------------------------------------------------------------------------


def _rate(value, name: str, cls: str) -> float:
    return _utils.number(value, name, cls, at_least=0.0, below=1.0)


class _Cell(Layer):
    """What the three cells share: their weights, dropout masks, arguments and config.

    A subclass sets ``_gates`` and writes `transition` (one step, in tensor ops)."""

    _gates = 1
    _autodiff = True  # its ops are recorded on a caller's tape
    #: the cell's own config keys before the initializers (after ``units``, ``activation``)
    _head_keys: tuple[str, ...] = ()
    #: ... and after ``bias_initializer`` (LSTM's unit_forget_bias)
    _middle_keys: tuple[str, ...] = ()
    #: ... and after ``recurrent_dropout`` (GRU's reset_after)
    _tail_keys: tuple[str, ...] = ()

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.units = _utils.positive_int(units, "units", cls, ValueError)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _utils.setup_recurrent_weights(
            self, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint)
        self.dropout = _rate(dropout, "dropout", cls)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", cls)
        _utils.seeded(self, seed)
        self.kernel = self.recurrent_kernel = self.bias = None
        self._masks: tuple = (None, None)  # this sequence's dropout masks (`begin`)

    # -- sizes and weights --------------------------------------------------------------------

    def _set_gating(self, recurrent_activation, implementation) -> None:
        """The gate activation of a gated cell (LSTM, GRU), and Keras's ``implementation``
        (1 or 2: how Keras groups its products; the same numbers either way)."""
        self.recurrent_activation = activations.get(recurrent_activation)
        if implementation not in (1, 2):
            raise ValueError(f"{type(self).__name__}: implementation must be 1 or 2, got "
                             f"{implementation!r}")

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    @property
    def _state_count(self) -> int:
        return 1

    def state_sizes(self) -> list[int]:
        """The size of each state, flat."""
        return [self.units] * self._state_count

    def input_features(self) -> int | None:
        """The features of the inputs it was built for (None before)."""
        return None if self.kernel is None else int(self.kernel.shape[0])

    def build_for(self, input_shape) -> None:
        self.ensure_built(input_shape)

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        features = _utils.known_dim(input_shape, -1, cls, "last (features)")
        width = self._gates * self.units
        self.kernel = self.add_weight("kernel", (features, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, width), self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def get_initial_state(self, batch_size: int) -> list:
        return [np.zeros((batch_size, self.units), dtype=self.dtype)
                for _ in range(self._state_count)]

    # -- a sequence ---------------------------------------------------------------------------

    def begin(self, batch: int, training: bool) -> None:
        """Draw this sequence's dropout masks (none outside training)."""
        def draw(rate: float, size: int):
            if not training or rate == 0.0:
                return None
            generator = self._generator or convnp.random.generator()
            keep = generator.random((batch, size)) >= rate
            return (keep / (1.0 - rate)).astype(self.dtype)

        self._masks = (draw(self.dropout, int(self.kernel.shape[0])),
                       draw(self.recurrent_dropout, self.units))

    def end(self) -> None:
        self._masks = (None, None)

    def step(self, x, states: list):
        """``(output, new states)`` of one step on ``x`` ``(batch, features)``."""
        x_mask, h_mask = self._masks
        x = x if x_mask is None else x * x_mask
        return self.transition(x, states, h_mask)

    def transition(self, x, states: list, h_mask):
        raise NotImplementedError

    def _input_part(self, x, bias=None):
        """``x K + b`` (the input bias: the whole bias unless given)."""
        z = x @ self.kernel
        if self.use_bias:
            z = z + (self.bias if bias is None else bias)
        return z

    def call(self, inputs, states, training=False):
        """Keras's cell call: one step, ``(output, new states)``."""
        from convnp.tensor.ops import convert_to_tensor

        states = list(states) if isinstance(states, (list, tuple)) else [states]
        x = convert_to_tensor(inputs)
        self.begin(int(np.shape(x)[0]), bool(training))
        try:
            out, new = self.step(x, [convert_to_tensor(s) for s in states])
        finally:
            self.end()
        return out, (new if self._state_count > 1 else new[0])

    backward = taped.taped_backward

    def compute_output_shape(self, input_shape, states_shape=None):
        batch = input_shape[0]
        return [(batch, self.units)] + [(batch, self.units)] * self._state_count

    # -- config -------------------------------------------------------------------------------

    def cell_config(self) -> dict[str, Any]:
        """The arguments in Keras's order (a layer holding this cell writes them too)."""
        config: dict[str, Any] = {"units": self.units,
                                  "activation": _utils.activation_name(self.activation)}
        config.update((key, _config_value(getattr(self, key))) for key in self._head_keys)
        config["use_bias"] = self.use_bias
        config.update((key, getattr(self, key)) for key in self._middle_keys)
        for key in ("kernel", "recurrent", "bias"):
            name = f"{key}_initializer"
            config[name] = _utils.initializer_config(self._initializer_args[name],
                                                     getattr(self, name))
        for key in ("kernel", "recurrent", "bias"):
            config[f"{key}_regularizer"] = regularizers.serialize(
                getattr(self, f"{key}_regularizer"))
        for key in ("kernel", "recurrent", "bias"):
            config[f"{key}_constraint"] = constraints.serialize(
                getattr(self, f"{key}_constraint"))
        config["dropout"] = self.dropout
        config["recurrent_dropout"] = self.recurrent_dropout
        config.update((key, getattr(self, key)) for key in self._tail_keys)
        config["seed"] = self.seed
        return config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self.cell_config())
        return config


def _config_value(value):
    return _utils.activation_name(value) if isinstance(value, activations.Activation) else value


@register
class SimpleRNNCell(_Cell):
    """Keras 3's ``SimpleRNNCell``: ``h = activation(x kernel + h recurrent_kernel + bias)``.

    Args: as `SimpleRNN`'s, without the sequence options.
    """

    def transition(self, x, states, h_mask):
        (h,) = states
        h_in = h if h_mask is None else h * h_mask
        h = self.activation(self._input_part(x) + h_in @ self.recurrent_kernel)
        return h, [h]


@register
class LSTMCell(_Cell):
    """Keras 3's ``LSTMCell`` (states ``[h, c]``; gates input, forget, cell, output).

    Args: as `LSTM`'s, without the sequence options.
    """

    _gates = 4
    _head_keys = ("recurrent_activation",)
    _middle_keys = ("unit_forget_bias",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, implementation=2, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, **kwargs)
        self._set_gating(recurrent_activation, implementation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def _state_count(self) -> int:
        return 2

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def forget_bias_ones(shape, dtype=np.float32):
            # Keras's unit_forget_bias: the forget gate's bias starts at 1
            return np.concatenate([base((units,), dtype=dtype), np.ones(units, dtype=dtype),
                                   base((2 * units,), dtype=dtype)])

        return forget_bias_ones

    def transition(self, x, states, h_mask):
        h, c = states
        h_in = h if h_mask is None else h * h_mask
        z = self._input_part(x) + h_in @ self.recurrent_kernel
        u = self.units
        gate = self.recurrent_activation
        i, f, o = gate(z[:, :u]), gate(z[:, u:2 * u]), gate(z[:, 3 * u:])
        c = f * c + i * self.activation(z[:, 2 * u:3 * u])
        h = o * self.activation(c)
        return h, [h, c]


@register
class GRUCell(_Cell):
    """Keras 3's ``GRUCell`` (gates update, reset, candidate).

    Args: as `GRU`'s, without the sequence options.
    """

    _gates = 3
    _head_keys = ("recurrent_activation",)
    _tail_keys = ("reset_after",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 reset_after=True, implementation=2, **kwargs):
        # Keras's GRUCell takes reset_after after the dropouts and seed; by keyword here too
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, **kwargs)
        self._set_gating(recurrent_activation, implementation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def transition(self, x, states, h_mask):
        (h,) = states
        h_in = h if h_mask is None else h * h_mask
        u, gate = self.units, self.recurrent_activation
        if self.reset_after:
            xz = self._input_part(x, self.bias[0] if self.use_bias else None)
            hz = h_in @ self.recurrent_kernel
            if self.use_bias:
                hz = hz + self.bias[1]
            z = gate(xz[:, :u] + hz[:, :u])
            r = gate(xz[:, u:2 * u] + hz[:, u:2 * u])
            n = self.activation(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        else:
            xz = self._input_part(x)
            hz = h_in @ self.recurrent_kernel[:, :2 * u]
            z = gate(xz[:, :u] + hz[:, :u])
            r = gate(xz[:, u:2 * u] + hz[:, u:2 * u])
            n = self.activation(xz[:, 2 * u:] + (r * h_in) @ self.recurrent_kernel[:, 2 * u:])
        h = z * h + (1.0 - z) * n
        return h, [h]


@register
class StackedRNNCells(Layer):
    """Keras 3's ``StackedRNNCells``: cells run one after another at each step (each reads
    the output of the one before); its states are every cell's, in order.

    Args:
        cells: a list of cells (instances, or their serialized configs).
    """

    _autodiff = True

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise TypeError(f"StackedRNNCells: cells must be a non-empty list of cells, got "
                            f"{cells!r}")
        cells = [deserialize(c) if isinstance(c, dict) else c for c in cells]
        for cell in cells:
            if not isinstance(cell, (_Cell, StackedRNNCells)):
                raise TypeError(f"StackedRNNCells: expected recurrent cells (SimpleRNNCell, "
                                f"LSTMCell, GRUCell), got {cell!r}")
        self.cells = list(cells)
        self._tracked_layers = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    @property
    def _state_count(self) -> int:
        return sum(cell._state_count for cell in self.cells)

    def state_sizes(self) -> list[int]:
        return [size for cell in self.cells for size in cell.state_sizes()]

    def input_features(self) -> int | None:
        return self.cells[0].input_features()

    def build_for(self, input_shape) -> None:
        self.ensure_built(input_shape)

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            cell.ensure_built(shape)
            shape = (shape[0], cell.output_size)
        self.built = True

    def get_initial_state(self, batch_size: int) -> list:
        return [s for cell in self.cells for s in cell.get_initial_state(batch_size)]

    def begin(self, batch: int, training: bool) -> None:
        for cell in self.cells:
            cell.begin(batch, training)

    def end(self) -> None:
        for cell in self.cells:
            cell.end()

    def step(self, x, states: list):
        new: list = []
        for cell in self.cells:
            own, states = states[:cell._state_count], states[cell._state_count:]
            x, updated = cell.step(x, own)
            new.extend(updated)
        return x, new

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        return {"cells": list(self.cells)}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cells"] = [{"module": "keras.layers", **serialize(c), "registered_name": None}
                           for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StackedRNNCells:
        return cls(**config)


# -- the layers ----------------------------------------------------------------------------------


def _bool(value, name: str, cls: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{cls}: {name} must be True or False, got {value!r}")
    return bool(value)


class _UserCell:
    """A cell a user wrote (a `Layer` with ``state_size``, an int or a list of ints, and
    ``call(inputs, states)`` returning ``(output, new_states)``, as Keras's RNN takes), seen
    through what the RNN runs its cells by. Its ``call`` runs as written on each step; its
    ops are recorded on the RNN's tape."""

    def __init__(self, cell, owner: str):
        sizes = cell.state_size
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        if not sizes or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                and s > 0 for s in sizes):
            raise TypeError(f"{owner}: the cell's state_size must be a positive int or a list "
                            f"of them, got {cell.state_size!r}")
        self.cell = cell
        self.sizes = [int(s) for s in sizes]
        self._state_count = len(self.sizes)
        output_size = getattr(cell, "output_size", None)
        self.output_size = self.sizes[0] if output_size is None else int(output_size)
        self._call = taped.user_call_of(cell)
        self._takes_training = taped._accepts(self._call, "training")
        self._training = False

    def state_sizes(self) -> list[int]:
        return list(self.sizes)

    def input_features(self) -> None:
        return None  # its build decides what it takes

    def build_for(self, input_shape) -> None:
        if not self.cell.built:
            self.cell.build(tuple(input_shape))
            self.cell.built = True

    def get_initial_state(self, batch_size: int) -> list:
        own = getattr(self.cell, "get_initial_state", None)
        if own is not None:
            states = own(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [np.zeros((batch_size, s), dtype=self.cell.dtype) for s in self.sizes]

    def begin(self, batch: int, training: bool) -> None:
        self._training = training

    def end(self) -> None:
        self._training = False

    def step(self, x, states: list):
        kwargs = {"training": self._training} if self._takes_training else {}
        out, new = self._call(self.cell, x, states, **kwargs)
        return out, list(new) if isinstance(new, (list, tuple)) else [new]


@register
class RNN(Layer):
    """Keras 3's ``RNN``: runs ``cell`` over the steps of ``(batch, steps, features)``.

    Args:
        cell: a cell (`SimpleRNNCell`, `LSTMCell`, `GRUCell`, `StackedRNNCells`), a list of
            cells (stacked), a cell's serialized config, or a user's cell (a `Layer` with
            ``state_size`` and ``call(inputs, states) -> (output, new_states)``; its
            ``output_size`` when it has one).
        return_sequences: output every step's output ``(batch, steps, units)``, else the
            last one ``(batch, units)``.
        return_state: also return the final states: ``[output, *states]``.
        go_backwards: run over the steps from the last (the outputs come in that order).
        stateful: carry the final states of each call into the next (the batch size must
            then stay the same; `reset_state` zeroes them), as Keras's.
        unroll: accepted (the loop is always unrolled).
        zero_output_for_mask: masked steps output zeros (else the previous output).

    Call: ``layer(sequences, initial_state=None, mask=None, training=None)``; the initial
    states are a list (one array per state; a lone array for one).
    """

    _keras_training_default = False  # Keras 3: LSTM/GRU/SimpleRNN call(..., training=False)

    _autodiff = True  # its ops are recorded on a caller's tape, as a user's layer's
    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        cls = type(self).__name__
        if isinstance(cell, dict):
            cell = deserialize(cell)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if isinstance(cell, (_Cell, StackedRNNCells)):
            runner = cell
        elif isinstance(cell, Layer) and callable(getattr(cell, "call", None)) and hasattr(
                cell, "state_size"):
            runner = _UserCell(cell, cls)
        else:
            raise TypeError(f"{cls}: cell must be a recurrent cell (SimpleRNNCell, LSTMCell, "
                            f"GRUCell, StackedRNNCells, a list of them, or a Layer with "
                            f"state_size and call(inputs, states)), got {cell!r}")
        super().__init__(**kwargs)
        self.return_sequences = _bool(return_sequences, "return_sequences", cls)
        self.return_state = _bool(return_state, "return_state", cls)
        self.go_backwards = _bool(go_backwards, "go_backwards", cls)
        self.stateful = _bool(stateful, "stateful", cls)
        self.unroll = _bool(unroll, "unroll", cls)
        self.zero_output_for_mask = _bool(zero_output_for_mask, "zero_output_for_mask", cls)
        self.cell = cell
        self._runner = runner  # the cell, or a user's cell seen as convnp's (`_UserCell`)
        self._tracked_layers = [cell]
        #: with ``stateful``: the final states of the last call, which start the next one
        #: (non-trainable Variables, not weights: Keras neither trains nor saves them)
        self.states: list | None = None

    # -- sizes -----------------------------------------------------------------------------

    @property
    def state_size(self) -> list:
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def _state_sizes(self) -> list[int]:
        return self._runner.state_sizes()

    def _check_rank(self, shape) -> None:
        if isinstance(shape, list) or len(tuple(shape)) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input of rank 3 "
                             f"(batch, steps, features), got shape {shape}")

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        self._check_rank(sequences_shape)
        shape = tuple(sequences_shape)
        self._runner.build_for((shape[0], shape[2]))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        self._check_rank(input_shape)
        features = self._runner.input_features()
        if features is not None:
            _utils.check_feature_dims(self, input_shape, {2: features}, rank=3)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, list):  # the graph may hand every input's shape
            sequences_shape = sequences_shape[0]
        batch, steps = sequences_shape[0], sequences_shape[1]
        units = self._runner.output_size
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return out
        return [out] + [(batch, size) for size in self._state_sizes()]

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        return {"cell": self.cell}

    def keras_build_config(self, shapes: list) -> dict:
        return {"input_shape": list(shapes[0])}

    def get_initial_state(self, batch_size: int) -> list:
        return self._runner.get_initial_state(batch_size)

    def reset_state(self) -> None:
        """Zero the states a stateful layer carries from call to call (Keras's)."""
        for state in self.states or ():
            state.assign(np.zeros(state.shape, dtype=state.dtype))

    reset_states = reset_state

    def _carried_states(self, batch: int) -> list:
        """A stateful layer's states for a call on ``batch`` sequences (made at zero on the
        first call)."""
        if self.states is None:
            self.states = [Variable(np.zeros((batch, size), dtype=self.dtype), trainable=False,
                                    name="rnn_state") for size in self._state_sizes()]
        expected = int(self.states[0].shape[0])
        if batch != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}': if an RNN is stateful, the "
                             f"batch size of the input sequences must be the same as the batch "
                             f"size of the initial state (expected {expected}, got {batch})")
        return [np.array(state.value) for state in self.states]  # copies: assigned later

    # -- the call --------------------------------------------------------------------------

    def __call__(self, inputs, *args, mask=None, **kwargs):
        if self.stateful and isinstance(inputs, KerasTensor) and inputs.shape[0] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': when using stateful=True "
                             "in a RNN, the batch size must be static (Input(batch_shape=...) "
                             "or Input(..., batch_size=...)); found dynamic batch size: "
                             f"sequence.shape={inputs.shape}")
        return super().__call__(inputs, *args, mask=mask, **kwargs)

    def compute_mask(self, inputs, mask=None):
        """Keras's: the (first) input's mask for the sequence output, none for the final
        output or the states."""
        mask = _masks.flat(mask)[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_sizes())
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return taped.run_taped(
            self, lambda x: self._scan(x, initial_state, mask, bool(training)), sequences)

    backward = taped.taped_backward

    def _initial_states(self, given, batch: int) -> list:
        from convnp.tensor.ops import cast, convert_to_tensor

        sizes = self._state_sizes()
        if given is None:
            return [convert_to_tensor(s) for s in self._runner.get_initial_state(batch)]
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        if len(given) != len(sizes):
            raise ValueError(f"{type(self).__name__} '{self.name}' has {len(sizes)} states, "
                             f"got {len(given)} initial states")
        states = []
        for i, (state, size) in enumerate(zip(given, sizes)):
            if tuple(np.shape(state)) != (batch, size):
                raise ValueError(f"{type(self).__name__} '{self.name}': initial state {i} "
                                 f"must have shape {(batch, size)}, got {np.shape(state)}")
            state = convert_to_tensor(state)
            states.append(state if state.dtype == self.dtype else cast(state, self.dtype))
        return states

    def _scan(self, x, initial_state, mask, training: bool):
        from convnp.tensor.ops import cast, stack, where

        if x.dtype != self.dtype:
            x = cast(x, self.dtype)
        batch, steps = (int(d) for d in np.shape(x)[:2])
        if self.stateful and initial_state is None:
            initial_state = self._carried_states(batch)
        states = self._initial_states(initial_state, batch)
        keep = None
        if mask is not None:
            keep = np.asarray(mask).astype(bool)
            if keep.shape != (batch, steps):
                raise ValueError(f"{type(self).__name__} '{self.name}': mask must have shape "
                                 f"(batch, steps) = {(batch, steps)}, got {keep.shape}")
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        runner = self._runner
        zeros = np.zeros((batch, runner.output_size), dtype=self.dtype)
        previous = zeros
        outputs = []
        runner.begin(batch, training)
        try:
            for t in order:
                out, new = runner.step(x[:, t], states)
                if keep is not None:
                    kept = keep[:, t:t + 1]
                    new = [where(kept, n, s) for n, s in zip(new, states)]
                    out = where(kept, out, zeros if self.zero_output_for_mask else previous)
                states, previous = new, out
                outputs.append(out)
        finally:
            runner.end()
        if self.stateful:  # the next call starts where this one ended
            if self.states is None:
                self._carried_states(batch)
            for state, value in zip(self.states, states):
                state.assign(np.asarray(value))
        result = stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result, *states] if self.return_state else result

    # -- config ----------------------------------------------------------------------------

    def _sequence_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"return_sequences": self.return_sequences,
                       "return_state": self.return_state, "go_backwards": self.go_backwards,
                       "stateful": self.stateful, "unroll": self.unroll,
                       "zero_output_for_mask": self.zero_output_for_mask})
        return config

    def get_config(self) -> dict[str, Any]:
        config = self._sequence_config()
        config["cell"] = {"module": "keras.layers", **serialize(self.cell),
                          "registered_name": None}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        return cls(**config)


#: the arguments of SimpleRNN/LSTM/GRU that configure the sequence (the RNN's own); the
#: others configure their cell, but for the base layer's
_SEQUENCE_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful",
                       "unroll")
#: the cell's settings its layer shows as its own attributes (``lstm.units``)
_CELL_SETTINGS = frozenset({
    "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
    "reset_after", "dropout", "recurrent_dropout", "seed", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint"})


class _OwnCellRNN(RNN):
    """SimpleRNN, LSTM and GRU: an `RNN` whose cell its own arguments make."""

    _cell_class: type = _Cell
    #: whether Keras writes the seed in the layer's config (SimpleRNN does not)
    _writes_seed = True

    def __init__(self, arguments: dict):
        """``arguments``: the subclass constructor's ``locals()``."""
        cls = type(self).__name__
        arguments = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        kwargs = dict(arguments.pop("kwargs"))
        use_cudnn = arguments.pop("use_cudnn")
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{cls}: use_cudnn must be 'auto', True or False, got "
                             f"{use_cudnn!r}")
        kwargs.pop("cell", None)  # a config written with the cell's (Keras 2)
        if "implementation" in kwargs:
            arguments["implementation"] = kwargs.pop("implementation")
        kwargs["activity_regularizer"] = arguments.pop("activity_regularizer")
        sequence = {k: arguments.pop(k) for k in _SEQUENCE_ARGUMENTS}
        cell = self._cell_class(name=snake_case(self._cell_class.__name__),
                                dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), **arguments)
        super().__init__(cell, **sequence, **kwargs)

    def __getattr__(self, name: str):
        # Keras's layer reads its cell's settings through properties (layer.units, ...)
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_SETTINGS and name in cell.__dict__:
            return cell.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def get_config(self) -> dict[str, Any]:
        config = self._sequence_config()
        cell = self.cell.cell_config()
        for key, value in cell.items():
            if key == "kernel_constraint":
                config["activity_regularizer"] = regularizers.serialize(
                    self.activity_regularizer)
            if key != "seed" or self._writes_seed:
                config[key] = value
        return config


@register
class SimpleRNN(_OwnCellRNN):
    """Keras 3's ``SimpleRNN``: ``h = activation(x kernel + h recurrent_kernel + bias)`` at
    each step.

    Args:
        units: the size of the output and state.
        activation: default ``"tanh"``.
        use_bias, kernel_initializer (``"glorot_uniform"``), recurrent_initializer
            (``"orthogonal"``), bias_initializer (``"zeros"``), kernel_regularizer,
            recurrent_regularizer, bias_regularizer, activity_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint: as Keras's.
        dropout, recurrent_dropout: rates in [0, 1) of the inputs' and the state's dropout
            (training only).
        seed: the dropout's seed.
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`'s.
    """

    _cell_class = SimpleRNNCell
    _writes_seed = False

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, use_cudnn="auto", **kwargs):
        super().__init__(locals())


@register
class LSTM(_OwnCellRNN):
    """Keras 3's ``LSTM`` (long short-term memory; states ``[h, c]``).

    Args:
        units, activation (``"tanh"``), recurrent_activation (``"sigmoid"``), use_bias,
            the initializers (recurrent: ``"orthogonal"``), regularizers, constraints,
            dropout, recurrent_dropout, seed: as `SimpleRNN`'s.
        unit_forget_bias: the forget gate's bias starts at 1 (Keras's default True).
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`'s.
        use_cudnn: accepted ('auto', True, False); convnp has one implementation.
    """

    _cell_class = LSTMCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(locals())


@register
class GRU(_OwnCellRNN):
    """Keras 3's ``GRU`` (gated recurrent unit).

    Args:
        units, activation, recurrent_activation, use_bias, initializers, regularizers,
            constraints, dropout, recurrent_dropout, seed: as `LSTM`'s.
        reset_after: apply the reset gate after the recurrent matrix product (Keras 3's
            default True; the bias then has shape ``(2, 3 * units)``).
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`'s.
        use_cudnn: accepted ('auto', True, False).
    """

    _cell_class = GRUCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        super().__init__(locals())
