"""Muon (Keller Jordan's MomentUm Orthogonalized by Newton-Schulz), Keras 3.15's rules.

Keras's Muon updates a variable with one of two rules:

* **Muon**, for every variable with exactly 2 dimensions (a Dense kernel) unless its path
  contains ``"embedding"`` (any case; with ``exclude_embeddings``) or matches one of the
  regular expressions of ``exclude_layers`` (``re.search`` on the path):
  ``m = momentum * m + g``; the direction ``d = g + momentum * m`` (Nesterov) or ``m``; its
  orthogonalized version ``O`` after ``ns_steps`` quintic Newton-Schulz iterations
  (``X = d / (||d||_F + 1e-7)``, transposed to be wide, then ``A = X X^T``,
  ``X = a X + (b A + c A A) X``); ``w -= lr * O * sqrt(max(rows, columns)) * rms_rate``
  (Moonlight's scaling; without it when ``rms_rate`` is None).
* **AdamW** for all the others (conv kernels, biases, embeddings, excluded layers): Keras's
  Adam rule with ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and the rate
  ``lr * adam_lr_ratio``.

Weight decay is decoupled as everywhere: ``weight_decay`` on the Muon variables,
``adam_weight_decay`` on the AdamW ones. Every variable has a ``momentum`` slot; only the
AdamW ones have a ``velocity``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.optimizers.base import Optimizer


def newton_schulz(x: np.ndarray, steps: int, a: float, b: float, c: float) -> np.ndarray:
    """The quintic Newton-Schulz iteration Keras's Muon uses: an approximation of ``U V^T``
    (``x = U S V^T``) for a matrix ``x``, in ``x``'s dtype."""
    t = x.dtype.type
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = np.swapaxes(x, -1, -2)
    x = x / (np.sqrt(np.sum(np.square(x), axis=(-2, -1), keepdims=True)) + t(1e-7))
    for _ in range(steps):
        gram = x @ np.swapaxes(x, -1, -2)
        x = t(a) * x + (t(b) * gram + (t(c) * gram) @ gram) @ x
    return np.swapaxes(x, -1, -2) if tall else x


class Muon(Optimizer):
    """Muon with Keras 3.15's arguments, rule choice and variables (see the module
    docstring)."""

    _whole_variables = True  # Newton-Schulz works on the whole matrix
    _interleaved_slots = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.001, adam_beta_1: float = 0.9,
                 adam_beta_2: float = 0.999, adam_weight_decay: float = 0.004,
                 epsilon: float = 1e-7, weight_decay: float = 0.004, name: str | None = None,
                 exclude_layers: list[str] | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         **kwargs)
        self.adam_beta_1 = check_number("adam_beta_1", adam_beta_1, 0.0, 1.0)
        self.adam_beta_2 = check_number("adam_beta_2", adam_beta_2, 0.0, 1.0)
        self.adam_weight_decay = None if adam_weight_decay is None else check_number(
            "adam_weight_decay", adam_weight_decay, 0.0)
        self.epsilon = check_number("epsilon", epsilon, 0.0)
        if exclude_layers is None:
            exclude_layers = []
        if isinstance(exclude_layers, str) or not all(
                isinstance(k, str) for k in exclude_layers):
            raise TypeError(f"exclude_layers must be a list of strings (regular expressions), "
                            f"got {exclude_layers!r}")
        for keyword in exclude_layers:
            try:
                re.compile(keyword)
            except re.error as error:
                raise ValueError(f"exclude_layers: {keyword!r} is not a regular expression "
                                 f"({error})") from None
        self.exclude_layers = list(exclude_layers)
        for flag, value in (("exclude_embeddings", exclude_embeddings),
                            ("nesterov", nesterov)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{flag} must be True or False, got {value!r}")
        self.exclude_embeddings = bool(exclude_embeddings)
        self.nesterov = bool(nesterov)
        self.muon_a = check_number("muon_a", muon_a)
        self.muon_b = check_number("muon_b", muon_b)
        self.muon_c = check_number("muon_c", muon_c)
        self.adam_lr_ratio = check_number("adam_lr_ratio", adam_lr_ratio, 0.0)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.ns_steps = check_number("ns_steps", ns_steps, 0, integer=True)
        self.rms_rate = None if rms_rate is None else check_number("rms_rate", rms_rate, 0.0)
        if isinstance(adam_lr_ratio, int):
            self.adam_lr_ratio = int(adam_lr_ratio)  # Keras writes its default as 1

    def _uses_adamw(self, value: np.ndarray, owner) -> bool:
        """Keras's choice: AdamW for all but the 2-D variables, and for those whose path
        names an embedding or matches ``exclude_layers``."""
        if value.ndim != 2:
            return True
        path = str(getattr(owner, "path", None) or getattr(owner, "name", None) or "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def _slot_names(self):
        return ["momentum", "velocity"]

    def _make_slot(self, name, value, owner):
        if name == "velocity" and not self._uses_adamw(value, owner):
            return None  # a Muon variable: its momentum only
        return super()._make_slot(name, value, owner)

    def _weight_decay_of(self, index):
        adamw = self._slots["velocity"][index] is not None
        return self.adam_weight_decay if adamw else self.weight_decay

    def _update(self, slots, grad, value):
        t = value.dtype.type
        m, v = slots["momentum"], slots["velocity"]
        if v is not None:
            self._adamw(grad, value, m, v, t(self._rate()) * t(self.adam_lr_ratio))
            return
        m += grad + m * t(self.momentum - 1)
        direction = grad + t(self.momentum) * m if self.nesterov else m
        update = t(self._rate()) * newton_schulz(direction, self.ns_steps, self.muon_a,
                                                 self.muon_b, self.muon_c)
        if self.rms_rate is not None:
            update = update * np.sqrt(t(max(update.shape[0], update.shape[1]))) * \
                t(self.rms_rate)
        value -= update

    def _adamw(self, grad, value, m, v, lr) -> None:
        t = value.dtype.type
        step = t(self._step + 1)
        alpha = lr * np.sqrt(t(1) - t(self.adam_beta_2) ** step) / (
            t(1) - t(self.adam_beta_1) ** step)
        m += (grad - m) * t(1 - self.adam_beta_1)
        v += (np.square(grad) - v) * t(1 - self.adam_beta_2)
        value -= m * alpha / (np.sqrt(v) + t(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": list(self.exclude_layers), "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
