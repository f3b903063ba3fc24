"""`ConvLSTM1D`, `ConvLSTM2D`, `ConvLSTM3D`: Keras 3's convolutional LSTM layers (keras.io's
next-frame video prediction stacks ``ConvLSTM2D(64, (5, 5), padding="same",
return_sequences=True)`` layers over clips of frames).

Input ``(batch, time, *spatial, channels)`` with 1, 2 or 3 spatial axes. Each step runs an
LSTM whose matrix products are convolutions; with ``x_t`` the frame at step ``t``:

    z = conv(x_t, kernel, strides, padding, dilation_rate) + bias
        + conv(h_{t-1}, recurrent_kernel, stride 1, padding "same")
    i, f, g, o = the four slices of z's channels (Keras's order)
    c_t = recurrent_activation(f) * c_{t-1} + recurrent_activation(i) * activation(g)
    h_t = recurrent_activation(o) * activation(c_t)

starting from ``h = c = 0``. The output is ``h`` of the last step, or of every step with
``return_sequences``; ``return_state`` adds the last ``h`` and ``c``. A ``stateful`` layer
starts each call from the ``h`` and ``c`` the last one ended with (`reset_state` zeroes them),
as Keras's: a long clip fed in chunks.

A mask (``layer(x, mask=m)``, or the mask a `Masking` layer gives its output) works as in
Keras's recurrent loop: where it is False a step keeps the states it had and outputs what
the step before output (zeros before the first kept step; zeros always with
``zero_output_for_mask``). A ``(batch, time)`` mask masks whole steps; a ``(batch, time,
*positions)`` one (what `Masking` makes of frames) masks each position of the states, so the
output must keep the frames' sizes there. The sequence output carries the mask on.

The call is written in tensor ops, so a tape differentiates it (the layer is one recorded call
in a model's graph, like a user's layer; `convnp.layers.taped`). The input convolution runs
once over all the steps (time folded into the batch); only the recurrent one runs per step.
The weights live in a sublayer ``cell`` (Keras's ``conv_lstm_cell``), as Keras stores them:
``kernel`` ``(*kernel_size, channels, 4 * filters)``, ``recurrent_kernel`` ``(*kernel_size,
filters, 4 * filters)``, ``bias`` ``(4 * filters,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convnp.random
from convnp import constraints, regularizers
from convnp.layers import _masks, _three_d, _utils, taped
from convnp.layers.base import KerasTensor, Layer, _weight_path
from convnp.layers.registry import register
from convnp.variables import Variable


def _window(value, name: str, cls: str, rank: int) -> tuple[int, ...]:
    """A size argument (``kernel_size``, ``strides``, ``dilation_rate``) as ``rank`` ints;
    anything else is a `ValueError`, a wrong type included, as Keras's tuple check gives."""
    if rank == 1:
        try:
            return (_utils.single_int(value, name, cls),)
        except TypeError as error:
            raise ValueError(str(error)) from None
    if rank == 2:
        return _utils.pair(value, name, cls)
    return _three_d.triple(value, name, cls)


def _forget_bias_ones(initializer, filters: int):
    """Keras's ``unit_forget_bias`` initializer: ``initializer`` for the input, cell and
    output gates' biases, ones for the forget gate's."""
    def init(shape, dtype=np.float32):
        return np.concatenate([initializer((filters,), dtype=dtype),
                               np.ones((filters,), dtype=dtype),
                               initializer((2 * filters,), dtype=dtype)])
    return init


class _ConvLSTMCell(Layer):
    """The weights of a ConvLSTM layer (Keras's ``ConvLSTMCell``, named ``conv_lstm_cell``),
    so they are stored as Keras stores them. Computing with them is the layer's."""

    def __init__(self, **kwargs):
        super().__init__(name="conv_lstm_cell", **kwargs)

    def make_weights(self, owner, channels: int) -> None:
        window, filters = owner.kernel_size, owner.filters
        self.kernel = self.add_weight(
            "kernel", (*window, channels, 4 * filters), owner.kernel_initializer,
            regularizer=owner.kernel_regularizer, constraint=owner.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (*window, filters, 4 * filters), owner.recurrent_initializer,
            regularizer=owner.recurrent_regularizer, constraint=owner.recurrent_constraint)
        self.bias = None
        if owner.use_bias:
            init = owner.bias_initializer
            if owner.unit_forget_bias:
                init = _forget_bias_ones(init, filters)
            self.bias = self.add_weight("bias", (4 * filters,), init,
                                        regularizer=owner.bias_regularizer,
                                        constraint=owner.bias_constraint)
        # Keras's variable.path ("conv_lstm2d/conv_lstm_cell/kernel"; legacy .h5 files use it),
        # below the layers building the owner ("bidirectional/forward_conv_lstm2d/...")
        for variable in self._variables:
            variable.path = _weight_path(owner, f"{self.name}/{variable.name}")
            variable._layer_path = _weight_path(owner, f"{self.name}/{variable.name}",
                                                models=False)
        self.built = True


class ConvLSTM(Layer):
    """The convolutional LSTM of ``rank`` spatial axes (Keras's ``ConvLSTM`` base class);
    use `ConvLSTM1D`, `ConvLSTM2D` or `ConvLSTM3D`.

    Args:
        filters: the channels of the output (and of the states).
        kernel_size, strides, dilation_rate: an int or ``rank`` ints (strides and dilation
            above 1 together are refused, as in Keras). The recurrent convolution always has
            stride 1, no dilation and padding ``"same"``.
        padding: ``"valid"`` or ``"same"``, of the input convolution.
        data_format: only ``"channels_last"`` (or None).
        activation: of the cell candidate and the output (default ``"tanh"``).
        recurrent_activation: of the gates (default ``"sigmoid"``).
        use_bias: whether the gates add a bias.
        kernel_initializer, recurrent_initializer (default ``"orthogonal"``),
            bias_initializer: as Keras's.
        unit_forget_bias: start the forget gate's bias at one (the other gates' take
            ``bias_initializer``).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint: as `Conv2D`'s.
        dropout, recurrent_dropout: in training, the rate of dropout on the input and on
            the recurrent state; as Keras does, each gate draws its own mask, kept for every
            step of a call.
        seed: the dropout's seed (None: convnp's generator, see `set_random_seed`).
        return_sequences: output every step's ``h`` instead of the last one.
        return_state: also return the last ``h`` and ``c``: ``[output, h, c]``.
        go_backwards: read the steps from the last one (the sequence output is then in that
            order, as Keras gives it).
        stateful: carry the final ``h`` and ``c`` of each call into the next (the batch size
            must then be fixed: ``Input(batch_shape=...)``; `reset_state` zeroes them).
        unroll: accepted, with no effect (the loop always runs step by step).
        zero_output_for_mask: masked steps output zeros (else the previous output).

    Call: ``layer(inputs, initial_state=None, mask=None, training=None)``; ``initial_state``
    is ``[h, c]``, each ``(batch, *out_spatial, filters)`` (zeros when not given), and gets
    its gradient; ``mask`` is booleans ``(batch, time)`` (or ``(batch, time, *positions)``).

    Shapes: ``(batch, time, *spatial, channels)`` -> ``(batch, *out_spatial, filters)``, or
    ``(batch, time, *out_spatial, filters)`` with ``return_sequences``; ``out_spatial`` is
    the input convolution's (``ceil(n / s)`` for ``"same"``). The spatial sizes must be
    known when the layer is built (Keras's rule); the time axis may be None.
    """

    _keras_training_default = False  # Keras 3: call(..., training=False)

    _autodiff = True  # its ops are recorded on a caller's tape, as a user's layer's
    supports_masking = True
    rank = 0  # spatial axes: set by the subclasses

    activation = _utils.ActivationAttribute()
    recurrent_activation = _utils.ActivationAttribute()

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed=None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls, rank = type(self).__name__, self.rank
        if rank not in (1, 2, 3):
            raise TypeError(f"{cls}: use ConvLSTM1D, ConvLSTM2D or ConvLSTM3D")
        self.filters = _utils.positive_int(filters, "filters", cls)
        self.kernel_size = _window(kernel_size, "kernel_size", cls, rank)
        self.strides = _window(strides, "strides", cls, rank)
        self.padding = _utils.padding_mode(padding, cls)
        self.data_format = _utils.channels_last(data_format, cls)
        self.dilation_rate = _window(dilation_rate, "dilation_rate", cls, rank)
        _utils.refuse_strided_dilation(cls, self.strides, self.dilation_rate,
                                       as_given=(strides, dilation_rate))
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        flags = {"use_bias": use_bias, "unit_forget_bias": unit_forget_bias,
                 "return_sequences": return_sequences, "return_state": return_state,
                 "go_backwards": go_backwards, "stateful": stateful, "unroll": unroll,
                 "zero_output_for_mask": zero_output_for_mask}
        for key, value in flags.items():
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{cls}: {key} must be True or False, got {value!r}")
            setattr(self, key, bool(value))
        _utils.setup_recurrent_weights(
            self, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer,
            kernel_constraint, recurrent_constraint, bias_constraint)
        self.dropout = _utils.number(dropout, "dropout", cls, at_least=0.0, at_most=1.0)
        self.recurrent_dropout = _utils.number(recurrent_dropout, "recurrent_dropout", cls,
                                               at_least=0.0, at_most=1.0)
        _utils.seeded(self, seed)
        self.cell = _ConvLSTMCell(dtype=self.dtype)
        self._tracked_layers = [self.cell]
        #: with ``stateful``: ``[h, c]`` as the last call ended, which start the next one
        #: (non-trainable Variables, not weights: Keras neither trains nor saves them)
        self.states: list | None = None

    # -- building ------------------------------------------------------------------------------

    def _layout(self) -> str:
        axes = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}[self.rank]
        return f"(batch, time, {axes}, channels)"

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, self.rank + 3, cls, self._layout())
        spatial = tuple(input_shape[2:-1])
        if None in spatial:
            raise ValueError(f"{cls} '{self.name}': the spatial sizes of the input must be "
                             f"known (Keras's rule), got input shape {tuple(input_shape)}")
        channels = _utils.known_dim(input_shape, -1, cls, "last (channels)")
        self.compute_output_shape(input_shape)  # the window fits, before any weight
        self.cell.make_weights(self, channels)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        # the time axis may change between calls; the frames' sizes and channels may not
        fixed = {axis: self.input_shape[axis] for axis in range(2, self.rank + 3)}
        _utils.check_feature_dims(self, input_shape, fixed, rank=self.rank + 3)

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        """Keras stores the weights under the layer's ``cell``."""
        return {"cell": self.cell}

    def _state_shape(self, input_shape) -> tuple:
        """``(batch, *out_spatial, filters)``: the shape of ``h`` and ``c``."""
        from convnp.ops.padding import layer_window_axes

        cls = type(self).__name__
        _utils.check_rank(input_shape, self.rank + 3, cls, self._layout())
        spread = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
        try:
            _, out = layer_window_axes(tuple(input_shape[2:-1]), spread, self.strides,
                                       self.padding)
        except ValueError as error:
            raise ValueError(f"{cls} '{self.name}': {error}") from None
        return (input_shape[0], *out, self.filters)

    def compute_output_shape(self, input_shape):
        state = self._state_shape(input_shape)
        output = (input_shape[0], input_shape[1], *state[1:]) \
            if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    # -- the states a stateful layer carries ---------------------------------------------------

    def reset_state(self) -> None:
        """Zero the ``h`` and ``c`` a stateful layer carries from call to call (Keras's)."""
        for state in self.states or ():
            state.assign(np.zeros(state.shape, dtype=state.dtype))

    reset_states = reset_state

    def _carried_states(self, state_shape: tuple) -> list:
        """A stateful layer's ``[h, c]`` for a call whose states have ``state_shape`` (made at
        zero on the first call); the batch size must stay the one of that first call."""
        if self.states is None:
            self.states = [Variable(np.zeros(state_shape, dtype=self.dtype), trainable=False,
                                    name=name) for name in ("h", "c")]
        expected = tuple(self.states[0].shape)
        if state_shape != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}': if an RNN is stateful, the "
                             f"states of a call must keep their shape {expected} (the batch "
                             f"size of the first call), got {state_shape}")
        return [np.array(state.value) for state in self.states]  # copies: assigned later

    def __call__(self, inputs, *args, **kwargs):
        if self.stateful and isinstance(inputs, KerasTensor) and inputs.shape[0] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': when using stateful=True "
                             "in a RNN, the batch size must be static (Input(batch_shape=...) "
                             "or Input(..., batch_size=...)); found dynamic batch size: "
                             f"sequence.shape={inputs.shape}")
        return super().__call__(inputs, *args, **kwargs)

    # -- the call --------------------------------------------------------------------------------

    def compute_mask(self, inputs, mask=None):
        """Keras's: the (first) input's mask for the sequence output, none for the last
        output or the states."""
        mask = _masks.flat(mask)[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def call(self, inputs, initial_state=None, mask=None, training: bool = False):
        return taped.run_taped(
            self, lambda x: self._run(x, initial_state, mask, bool(training)), inputs)

    backward = taped.taped_backward

    def _masks(self, rate: float, shape: tuple, training: bool) -> list | None:
        """Keras's dropout for one call: one mask per gate (0 or ``1 / (1 - rate)``), or None
        when no dropout applies."""
        if not (training and 0.0 < rate < 1.0):
            return None
        generator = self._generator or convnp.random.generator()
        scale = 1.0 / (1.0 - rate)
        return [((generator.random(shape) >= rate) * scale).astype(self.dtype)
                for _ in range(4)]

    def _gates(self, x, kernel, masks, conv):
        """``conv(x, kernel)`` for the four gates at once, or, with dropout masks, one
        convolution per gate of ``x`` times its mask with the gate's part of the kernel."""
        from convnp.tensor.ops import concat

        if masks is None:
            return conv(x, kernel)
        f = self.filters
        return concat([conv(x * mask, kernel[..., g * f:(g + 1) * f])
                       for g, mask in enumerate(masks)], axis=-1)

    def _initial_states(self, given, state_shape: tuple) -> list:
        """The given ``[h, c]`` as tensors of the layer's dtype, checked against the states'
        shape ``(batch, *out_spatial, filters)``."""
        from convnp.tensor.ops import cast, convert_to_tensor

        cls = type(self).__name__
        if not isinstance(given, (list, tuple)) or len(given) != 2:
            got = (f"a list of {len(given)}" if isinstance(given, (list, tuple))
                   else type(given).__name__)
            raise ValueError(f"{cls} '{self.name}': initial_state must be a list [h, c] of two "
                             f"tensors of shape {state_shape}, got {got}")
        states = []
        for name, state in zip("hc", given):
            if tuple(np.shape(state)) != state_shape:
                raise ValueError(f"{cls} '{self.name}': initial state {name} must have shape "
                                 f"{state_shape}, got {tuple(np.shape(state))}")
            state = convert_to_tensor(state)
            states.append(state if state.dtype == self.dtype else cast(state, self.dtype))
        return states

    def _keep(self, mask, batch: int, steps: int, state_shape: tuple):
        """The mask as booleans, one array per step broadcasting against the states, or
        None. A ``(batch, time)`` mask keeps or masks whole steps; a longer one (`Masking`
        on frames gives ``(batch, time, *spatial)``) masks each state position, as Keras's
        loop does (its trailing sizes must then be the states' or 1)."""
        if mask is None:
            return None
        cls = type(self).__name__
        keep = np.asarray(mask).astype(bool)
        if (keep.ndim < 2 or keep.shape[:2] != (batch, steps)
                or keep.ndim > len(state_shape) + 1):
            raise ValueError(f"{cls} '{self.name}': mask must have shape (batch, time) = "
                             f"{(batch, steps)} (or (batch, time, *positions) matching the "
                             f"states {state_shape[1:]}), got {keep.shape}")
        per_step = keep.shape[:1] + keep.shape[2:]
        per_step += (1,) * (len(state_shape) - len(per_step))
        if any(m not in (1, s) for m, s in zip(per_step, state_shape)):
            raise ValueError(f"{cls} '{self.name}': a mask of shape {keep.shape} does not fit "
                             f"the states of shape {state_shape} (a mask per position needs "
                             "the output to keep the frames' sizes: padding \"same\", "
                             "strides 1)")
        if self.go_backwards:
            keep = keep[:, ::-1]
        return [keep[:, t].reshape(per_step) for t in range(steps)]

    def _run(self, x, initial_state, mask, training: bool):
        from convnp.keras import ops as kops
        from convnp.tensor.ops import cast, reshape, split, stack, unstack, where

        cls = type(self).__name__
        if np.result_type(x) != self.dtype:
            x = cast(x, self.dtype)
        batch, steps, *spatial, channels = np.shape(x)
        if steps == 0:
            raise ValueError(f"{cls} '{self.name}': the input has no time steps, got shape "
                             f"{tuple(np.shape(x))}")
        state_shape = tuple(int(d) for d in
                            self._state_shape((batch, steps, *spatial, channels)))
        keep = self._keep(mask, batch, steps, state_shape)  # checked before any work
        if self.go_backwards:
            x = x[:, ::-1]
        cell = self.cell

        def input_conv(v, kernel):  # every step at once: time folded into the batch
            y = kops.conv(reshape(v, (batch * steps, *spatial, channels)), kernel,
                          strides=self.strides, padding=self.padding,
                          dilation_rate=self.dilation_rate)
            return reshape(y, (batch, steps, *np.shape(y)[1:]))

        def recurrent_conv(h, kernel):
            return kops.conv(h, kernel, strides=1, padding="same")

        masks = self._masks(self.dropout, (batch, *spatial, channels), training)
        projected = self._gates(
            x, cell.kernel, None if masks is None else [m[:, None] for m in masks], input_conv)
        if cell.bias is not None:
            projected = projected + cell.bias
        recurrent_masks = self._masks(self.recurrent_dropout, state_shape, training)
        gate, act = self.recurrent_activation, self.activation
        h = c = None  # the zero initial state: its terms are left out
        if self.stateful and initial_state is None:
            initial_state = self._carried_states(state_shape)
        if initial_state is not None:
            h, c = self._initial_states(initial_state, state_shape)
        zeros = np.zeros(state_shape, dtype=self.dtype)
        previous = zeros  # Keras's output before the first step
        outputs = []
        for t, z in enumerate(unstack(projected, axis=1)):  # one record for all the steps
            if h is not None:
                z = z + self._gates(h, cell.recurrent_kernel, recurrent_masks, recurrent_conv)
            i, f, g, o = split(z, 4, axis=-1)
            new = gate(i) * act(g)
            new_c = new if c is None else gate(f) * c + new
            new_h = gate(o) * act(new_c)
            if keep is None:
                h, c = new_h, new_c
                outputs.append(h)
                continue
            # a masked step keeps the states and outputs the step before's output
            # (zeros with zero_output_for_mask), as Keras's loop does
            kept = keep[t]
            c = where(kept, new_c, zeros if c is None else c)
            h = where(kept, new_h, zeros if h is None else h)
            previous = where(kept, new_h, zeros if self.zero_output_for_mask else previous)
            outputs.append(previous)
        if self.stateful:  # the next call starts where this one ended
            for state, value in zip(self.states, (h, c)):
                state.assign(np.asarray(value))
        output = stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [output, h, c] if self.return_state else output

    # -- config ----------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
            "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "padding": self.padding,
            "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "activation": _utils.activation_name(self.activation),
            "recurrent_activation": _utils.activation_name(self.recurrent_activation),
            "use_bias": self.use_bias,
        })
        for key, given in self._initializer_args.items():
            config[key] = _utils.initializer_config(given, getattr(self, key))
        config.update({
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        })
        return config


@register
class ConvLSTM1D(ConvLSTM):
    """Keras 3's ``ConvLSTM1D``: `ConvLSTM` over sequences of 1-D signals, input
    ``(batch, time, steps, channels)``."""

    rank = 1


@register
class ConvLSTM2D(ConvLSTM):
    """Keras 3's ``ConvLSTM2D``: `ConvLSTM` over sequences of images (video frames), input
    ``(batch, time, rows, cols, channels)``.

    >>> import numpy as np
    >>> layer = ConvLSTM2D(4, 3, padding="same", return_sequences=True)
    >>> tuple(layer(np.zeros((2, 3, 8, 8, 1), dtype="float32")).shape)
    (2, 3, 8, 8, 4)
    """

    rank = 2


@register
class ConvLSTM3D(ConvLSTM):
    """Keras 3's ``ConvLSTM3D``: `ConvLSTM` over sequences of volumes, input
    ``(batch, time, depth, rows, cols, channels)``."""

    rank = 3
