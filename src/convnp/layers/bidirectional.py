"""`Bidirectional`: Keras 3's wrapper running a recurrent layer over a sequence both ways and
merging the two outputs (``Bidirectional(LSTM(64, return_sequences=True))``, or over a clip of
frames ``Bidirectional(ConvLSTM2D(8, 3, padding="same"))``).

The wrapped layer's config makes two layers: ``forward_<name>`` and, unless a
``backward_layer`` is given, ``backward_<name>`` with ``go_backwards=True`` (Keras's names).
With ``return_sequences`` the backward outputs are turned back into the input's order before
merging, and masked steps output zeros (Keras sets ``zero_output_for_mask`` so), so that each
output step lines up with its input step. Weights: the forward layer's, then the backward
one's, kept under ``forward_layer`` and ``backward_layer`` in ``.keras`` files.
"""

from __future__ import annotations

from typing import Any

from convnp.layers import conv_lstm, recurrent, taped
from convnp.layers.base import Layer
from convnp.layers.registry import deserialize, register, serialize
from convnp.layers.wrapper import Wrapper

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)

#: What Keras's Bidirectional takes: the recurrent layers and the convolutional LSTMs (each
#: has ``go_backwards``, ``return_sequences`` and ``return_state``).
_RECURRENT = (recurrent.RNN, conv_lstm.ConvLSTM)


def _run(layer, x, initial_state, mask, training: bool):
    """One direction's outputs: a recurrent layer's scan, or a ConvLSTM's run (the same
    arguments and results: the output, then the states with ``return_state``)."""
    if isinstance(layer, conv_lstm.ConvLSTM):
        return layer._run(x, initial_state, mask, training)
    return layer._scan(x, initial_state, mask, training)


def _named(layer, name: str, **changes) -> Layer:
    """A new layer of ``layer``'s class and config (fresh weights), renamed, changed."""
    config = {**layer.get_config(), "name": name, **changes}
    return type(layer).from_config(config)


@register
class Bidirectional(Wrapper):
    """Keras 3's ``Bidirectional``.

    Args:
        layer: a recurrent layer (`SimpleRNN`, `LSTM`, `GRU`, `RNN`, or a convolutional
            `ConvLSTM1D`/`2D`/`3D`, as Keras takes them), or its config.
        merge_mode: how the two outputs combine: ``"concat"`` (default, on the last axis),
            ``"sum"``, ``"mul"``, ``"ave"``, or None (both returned, forward first).
        weights: only None.
        backward_layer: the recurrent layer to run backwards (``go_backwards`` must differ
            from ``layer``'s; ``return_sequences`` and ``return_state`` must be the same).

    Call: ``layer(sequences, initial_state=None, mask=None, training=None)``; the initial
    states are the forward layer's then the backward one's. With ``return_state`` it returns
    ``[output, *forward_states, *backward_states]`` (merge_mode None: both outputs first).
    """

    _autodiff = True  # its ops are recorded on a caller's tape, as a user's layer's
    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(backward_layer, dict):
            backward_layer = deserialize(backward_layer)
        for role, given in (("layer", self.layer), ("backward_layer", backward_layer)):
            if given is not None and not isinstance(given, _RECURRENT):
                raise TypeError(f"Bidirectional: {role} must be a recurrent layer (SimpleRNN, "
                                f"LSTM, GRU, RNN, ConvLSTM1D/2D/3D), got {given!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got "
                             f"{merge_mode!r}")
        if weights is not None:
            raise ValueError("Bidirectional: weights= is not supported by convnp; expected "
                             "None (set them with set_weights after building)")
        name = self.layer.name
        self.forward_layer = _named(self.layer, "forward_" + name.removeprefix("forward_"))
        if backward_layer is None:
            backward_layer = _named(self.layer,
                                    "backward_" + name.removeprefix("backward_"),
                                    go_backwards=True)
        self.backward_layer = backward_layer
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have "
                             "different go_backwards, got "
                             f"{forward.go_backwards} for both")
        for attribute in ("return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(f"Bidirectional: the forward and backward layers must have "
                                 f"the same {attribute}, got {getattr(forward, attribute)} "
                                 f"and {getattr(backward, attribute)}")
        for inner in (forward, backward):  # steps line up when masked steps output zeros
            inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self.stateful = forward.stateful
        self._tracked_layers = [forward, backward]

    # -- building and shapes ---------------------------------------------------------------

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        self.forward_layer.ensure_built(sequences_shape)
        self.backward_layer.ensure_built(sequences_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        self.forward_layer.check_input_shape(input_shape)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, list):
            sequences_shape = sequences_shape[0]
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        states: list = []
        if self.return_state:
            (forward, *forward_states), (backward, *backward_states) = forward, backward
            states = forward_states + backward_states
        if self.merge_mode is None:
            return [forward, backward, *states]
        out = forward if self.merge_mode != "concat" else (
            *forward[:-1], forward[-1] + backward[-1])
        return [out, *states] if states else out

    def reset_state(self) -> None:
        """Zero the states of stateful forward and backward layers (Keras's)."""
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        return {"forward_layer": self.forward_layer, "backward_layer": self.backward_layer}

    def keras_build_config(self, shapes: list) -> dict:
        return {"input_shape": list(shapes[0])}

    # -- the call --------------------------------------------------------------------------

    def compute_mask(self, inputs, mask=None):
        """Keras's: the input's mask for sequence outputs (one per direction without
        merging), none otherwise."""
        mask = mask[0] if isinstance(mask, list) else mask
        if self.return_sequences:
            return mask if self.merge_mode else [mask, mask]
        return None if self.merge_mode else [None, None]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return taped.run_taped(
            self, lambda x: self._both_ways(x, initial_state, mask, bool(training)),
            sequences)

    backward = taped.taped_backward

    def _both_ways(self, x, initial_state, mask, training: bool):
        from convnp.tensor.ops import concat

        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        y = _run(self.forward_layer, x, forward_state, mask, training)
        y_rev = _run(self.backward_layer, x, backward_state, mask, training)
        states = []
        if self.return_state:
            (y, *forward_states), (y_rev, *backward_states) = y, y_rev
            states = forward_states + backward_states
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]  # back in the input's order
        if self.merge_mode is None:
            return [y, y_rev, *states]
        if self.merge_mode == "concat":
            out = concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:  # "ave"
            out = (y + y_rev) * 0.5
        return [out, *states] if states else out

    # -- config ----------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config = Layer.get_config(self)
        config["merge_mode"] = self.merge_mode
        for key, inner in (("layer", self.forward_layer),
                           ("backward_layer", self.backward_layer)):
            config[key] = {"module": "keras.layers", **serialize(inner),
                           "registered_name": None}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        return cls(**config)
