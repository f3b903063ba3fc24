"""Adafactor (Shazeer and Stern, 2018), Keras 3.15's rules.

For a variable of 2 or more dimensions the second moment is kept factored: ``r``, the mean
over the last axis (shape ``w.shape[:-1]``), and ``c``, the mean over the one before it (shape
``w.shape[:-2] + w.shape[-1:]``), from which ``v`` is rebuilt each step; a vector or scalar
keeps ``v`` itself (and, as in Keras, two int32 placeholder ``r`` and ``c``, which Keras leaves
out of the optimizer's variables when a LossScaleOptimizer builds it). With
``t`` the update number starting at 1 and ``rms(x) = sqrt(mean(x**2))``:

* ``rho = min(lr, 1 / sqrt(t))``; ``alpha = max(epsilon_2, rms(w)) * rho``;
* ``beta = 1 - t ** beta_2_decay``; ``s = g**2 + epsilon_1``;
* factored: ``r = beta r + (1 - beta) mean(s, -1)``, ``c = beta c + (1 - beta) mean(s, -2)``,
  ``v = (r / mean(r, -1))[..., None] * c[..., None, :]``; else ``v = beta v + (1 - beta) s``;
* ``u = g / sqrt(v)``; ``w -= alpha * u / max(1, rms(u) / clip_threshold)``.

``relative_step`` is kept and written in the config, but (as in Keras, whose ``rho`` is
always the minimum above) it changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.optimizers.base import Optimizer


def _rms(x: np.ndarray) -> np.floating:
    return np.sqrt(np.mean(np.square(x)))


class Adafactor(Optimizer):
    """Adafactor with Keras 3.15's arguments and variables (see the module docstring)."""

    _whole_variables = True  # the rule reads the whole variable's rms
    _interleaved_slots = ("r", "c", "velocity")

    def __init__(self, learning_rate: float = 0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3, clip_threshold: float = 1.0,
                 relative_step: bool = True, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        # t ** beta_2_decay must fall with t for beta to rise towards 1
        self.beta_2_decay = check_number("beta_2_decay", beta_2_decay, None, 0.0)
        self.epsilon_1 = check_number("epsilon_1", epsilon_1, 0.0)
        self.epsilon_2 = check_number("epsilon_2", epsilon_2, 0.0)
        self.clip_threshold = check_number("clip_threshold", clip_threshold, 0.0,
                                           low_open=True)
        if not isinstance(relative_step, (bool, np.bool_)):
            raise TypeError(f"relative_step must be True or False, got {relative_step!r}")
        self.relative_step = bool(relative_step)

    def _slot_names(self):
        return ["r", "c", "velocity"]

    def _make_slot(self, name, value, owner):
        if name in ("r", "c"):
            if value.ndim < 2:  # Keras's placeholder (none inside a LossScaleOptimizer)
                return np.zeros((), np.int32) if self._keras_placeholders else None
            shape = value.shape[:-1] if name == "r" else value.shape[:-2] + value.shape[-1:]
            return np.zeros(shape, value.dtype)
        return super()._make_slot(name, value, owner)

    def _slot_variable_name(self, slot, owner, index):
        if slot in ("r", "c"):  # Keras names these after the variable alone
            return str(getattr(owner, "name", None) or f"variable_{index}")
        return super()._slot_variable_name(slot, owner, index)

    def _update(self, slots, grad, value):
        t = value.dtype.type
        step = t(self._step + 1)
        rho = min(t(self._rate()), t(1) / np.sqrt(step))
        alpha = max(t(self.epsilon_2), _rms(value)) * rho
        squared = np.square(grad) + t(self.epsilon_1)
        beta = t(1) - step ** t(self.beta_2_decay)
        v = slots["velocity"]
        if value.ndim >= 2:
            r, c = slots["r"], slots["c"]
            r[...] = beta * r + (t(1) - beta) * np.mean(squared, axis=-1)
            c[...] = beta * c + (t(1) - beta) * np.mean(squared, axis=-2)
            v[...] = np.expand_dims(r / np.mean(r, axis=-1, keepdims=True), -1) * \
                np.expand_dims(c, -2)
        else:
            v[...] = beta * v + (t(1) - beta) * squared
        u = grad / np.sqrt(v)
        u /= max(t(1), _rms(u) / t(self.clip_threshold))
        value -= alpha * u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
