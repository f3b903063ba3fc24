"""`TimeDistributed`: one layer applied to every step of a sequence (a CNN over the frames of
a video: ``TimeDistributed(Conv2D(...))`` on ``(batch, frames, height, width, channels)``).

The steps are folded into the batch: the inner layer runs once on ``(batch * steps, ...)``
with its own fast ``call``/``backward``, and its weight gradients are thus summed over the
steps. Not when the inner layer holds a `BatchNormalization` and trains: Keras 3 calls the
inner layer once per step, so each step is normalized with its own batch statistics (and the
moving statistics move once per step); the layer then runs step by step too."""

from __future__ import annotations

import numpy as np

from convnp.layers import _masks, _utils
from convnp.layers.registry import register
from convnp.layers.wrapper import Wrapper, build_inner, inner_output_shape


@register
class TimeDistributed(Wrapper):
    """``y[:, t] = layer(x[:, t])`` for every step ``t`` (axis 1), with shared weights.

    Args:
        layer: a `Layer` instance, or a model with one output (a small CNN run over every
            frame, as Keras allows); its weights are this layer's weights.

    Caches the inner layer's call state and the batch and step counts.
    """

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    def _inner_shape(self, input_shape) -> tuple:
        if isinstance(input_shape, list):
            raise TypeError(f"TimeDistributed takes a single input, got a list of "
                            f"{len(input_shape)}")
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}' expects inputs of rank >= 3 "
                             f"(batch, steps, ...), got shape {tuple(input_shape)}")
        return (None, *input_shape[2:])

    def build(self, input_shape) -> None:
        build_inner(self.layer, self._inner_shape(input_shape))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        build_inner(self.layer, self._inner_shape(input_shape))

    def compute_output_shape(self, input_shape):
        out = inner_output_shape(self.layer, self._inner_shape(input_shape))
        if isinstance(out, list):
            raise TypeError(f"TimeDistributed '{self.name}': the inner layer "
                             f"'{self.layer.name}' must have one output")
        return (input_shape[0], input_shape[1], *out[1:])

    def check_mask(self, input_shape, mask_shape) -> None:
        """Keras's: a mask is at least ``(batch, steps)``, matching the input there."""
        if len(mask_shape) < 2:
            raise ValueError(f"TimeDistributed '{self.name}': the mask must be at least 2-D "
                             f"(batch, steps), got shape {tuple(mask_shape)}")
        for a, b in zip(input_shape[:2], mask_shape[:2]):
            if a is not None and b is not None and a != b:
                raise ValueError(f"TimeDistributed '{self.name}': a mask of shape "
                                 f"{tuple(mask_shape)} does not fit inputs of shape "
                                 f"{tuple(input_shape)} (batch and steps must match)")

    def call(self, inputs, training: bool = False, mask=None) -> np.ndarray:
        """``mask`` (``(batch, steps, ...)``) goes, step by step, to an inner layer whose call
        takes one (as Keras's); the output carries it on."""
        x = _utils.as_dtype(inputs, self.dtype)
        m, steps = x.shape[:2]
        extra = {}
        if mask is not None:
            mask = np.asarray(mask)
            self.check_mask(x.shape, mask.shape)
            if _masks.call_takes_mask(self.layer):
                extra["mask"] = mask.reshape(m * steps, *mask.shape[2:])
        if training and _normalizes_batches(self.layer):
            return self._call_by_steps(x, mask if "mask" in extra else None, training)
        y = np.asarray(self.layer.call(x.reshape(m * steps, *x.shape[2:]), training=training,
                                       **extra))
        self._cache = (self.layer.capture_call_state(), m, steps)
        return y.reshape(m, steps, *y.shape[1:])

    def _call_by_steps(self, x: np.ndarray, mask, training) -> np.ndarray:
        """The inner layer called on each step in turn (its states kept for backward)."""
        outputs, states = [], []
        for t in range(x.shape[1]):
            extra = {} if mask is None else {"mask": mask[:, t]}
            outputs.append(np.asarray(self.layer.call(x[:, t], training=training, **extra)))
            states.append(self.layer.capture_call_state())
        self._cache = ("steps", states)
        return np.stack(outputs, axis=1)

    def backward(self, dy: np.ndarray):
        cache = self.take_cache()
        self.layer.needs_input_gradient = self.needs_input_gradient
        dy = _utils.as_dtype(dy, self.dtype)
        if cache[0] == "steps":
            return self._backward_by_steps(dy, cache[1])
        state, m, steps = cache
        self.layer.restore_call_state(state)
        dx = self.layer.backward(dy.reshape(m * steps, *dy.shape[2:]))
        if dx is None:
            return None
        dx = np.asarray(dx)
        return dx.reshape(m, steps, *dx.shape[1:])

    def _backward_by_steps(self, dy: np.ndarray, states: list):
        """Each step's backward from its own state; the weight gradients summed over them."""
        weights = self.layer.weights_to_train()
        totals: dict = {}
        dxs = []
        for t, state in enumerate(states):
            self.layer.restore_call_state(state)
            dxs.append(self.layer.backward(dy[:, t]))
            for v in weights:
                if v.grad is not None:
                    totals[id(v)] = v.grad if id(v) not in totals else totals[id(v)] + v.grad
        for v in weights:
            v.grad = totals.get(id(v))
        if dxs[0] is None:
            return None
        return np.stack([np.asarray(d) for d in dxs], axis=1)


def _normalizes_batches(layer) -> bool:
    """Whether ``layer`` (or a layer inside it) is a trainable `BatchNormalization`, whose
    training call normalizes with the statistics of the batch it is given."""
    from convnp.layers.normalization import BatchNormalization

    if isinstance(layer, BatchNormalization):
        return layer.trainable
    inner = list(getattr(layer, "layers", None) or []) + list(
        vars(layer).get("_tracked_layers", None) or [])
    return any(_normalizes_batches(sub) for sub in inner if sub is not layer)
