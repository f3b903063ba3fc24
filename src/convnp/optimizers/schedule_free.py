"""Schedule-Free AdamW (Defazio et al., 2024), Keras 3.15's rules.

No learning-rate schedule: the model's weights ``y`` are an interpolation between the
sequence ``z`` the gradient steps move (the ``momentum`` slot, which starts as a copy of the
weight) and a running average ``x`` of it. With ``t`` the update number starting at 1 (and
the rate ramped up as ``lr * min(t / warmup_steps, 1)`` during ``warmup_steps``):

* ``v += (g**2 - v)(1 - beta_2)``; ``z -= lr g / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
* ``x = (y - (1 - beta_1) z_before) / beta_1``, then ``x = (1 - 1/t) x + z / t``;
* ``y = (1 - beta_1) z + beta_1 x``.

``z_before`` is, in Keras 3.15 on TensorFlow, read after ``z``'s update (the variable, not a
copy of its old value), so it is the new ``z``; convnp follows Keras's numbers. (Keras's
``fit`` on TensorFlow, which builds the optimizer inside its traced step, also loses the copy
that starts ``z`` and starts it at zero, so that the weights jump to about ``-lr sign(g)`` on
the first step; convnp starts ``z`` at the weight, as Keras's own ``apply_gradients`` does.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.optimizers.base import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW with Keras 3.15's arguments and variables (see the module
    docstring)."""

    _interleaved_slots = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.0025, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, warmup_steps: int = 0,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        # x is recovered from y by dividing by beta_1
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, low_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon, 0.0)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, 0, integer=True)

    def _slot_names(self):
        return ["momentum", "velocity"]

    def _make_slot(self, name, value, owner):
        if name == "momentum":
            return value.copy()  # z starts at the weight
        return super()._make_slot(name, value, owner)

    def _update(self, slots, grad, value):
        t = value.dtype.type
        step = t(self._step + 1)
        lr = t(self._rate())
        if self.warmup_steps > 0:
            lr = lr * min(step / t(self.warmup_steps), t(1))
        beta_1, beta_2 = t(self.beta_1), t(self.beta_2)
        z, v = slots["momentum"], slots["velocity"]
        v += (np.square(grad) - v) * (t(1) - beta_2)
        denominator = np.sqrt(v / (t(1) - beta_2 ** step)) + t(self.epsilon)
        z -= lr * grad / denominator
        weight = t(1) / step
        x = (value - (t(1) - beta_1) * z) / beta_1  # z after its update, as Keras
        x = (t(1) - weight) * x + weight * z
        value[...] = (t(1) - beta_1) * z + beta_1 * x

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}
