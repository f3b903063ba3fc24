"""Weight constraints (``tf.keras.constraints``): a projection applied to a variable after
every optimizer update, as Keras does (``variable.assign(constraint(variable))``).

With ``n = sqrt(sum(w**2 over axis))`` per slice and Keras' ``epsilon`` (1e-7 unless
``tf.keras.config.set_epsilon`` changed it):

* MaxNorm(max_value=2, axis=0): ``w * clip(n, 0, max_value) / (epsilon + n)``;
* MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0):
  ``w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (epsilon + n)``;
* NonNeg: negative entries set to 0;
* UnitNorm(axis=0): ``w / (epsilon + n)``.

``axis=0`` for a Dense kernel ``(inputs, units)`` constrains each unit's incoming weights; for
a Conv2D kernel ``(rows, cols, in, out)`` Keras uses ``axis=[0, 1, 2]`` for the same.

>>> import numpy as np
>>> NonNeg()(np.array([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import _settings
from convnp._checks import check_number
from convnp.serialization import Configurable, FunctionInConfig, Registry

__all__ = ["Constraint", "FunctionConstraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm",
           "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]



def _axis(axis) -> int | list[int]:
    """Keras' ``axis``: an int, or a list of ints (kept as a list, as Keras writes it)."""
    def whole(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if whole(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(whole(a) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(f"constraint axis must be an int or a list of ints, got {axis!r}")


class Constraint(Configurable):
    """Base class: ``constraint(w)`` returns the projected weights (same shape and dtype)."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}


class _NormConstraint(Constraint):
    """A constraint that rescales each slice by a factor of its norm over ``axis``."""

    axis: int | list[int] = 0

    def _norms(self, w: np.ndarray) -> np.ndarray:
        axes = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        if any(not -w.ndim <= a < w.ndim for a in np.atleast_1d(axes)):
            raise ValueError(f"{type(self).__name__}: axis {self.axis} is out of range for "
                             f"weights of shape {w.shape}")
        return np.sqrt(np.sum(np.square(w), axis=axes, keepdims=True))

    def _target(self, norms: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, w):
        w = np.asarray(w)
        norms = self._norms(w)
        scale = self._target(norms) / (w.dtype.type(_settings.epsilon()) + norms)
        return (w * scale).astype(w.dtype, copy=False)


class MaxNorm(_NormConstraint):
    def __init__(self, max_value: float = 2.0, axis=0):
        self.max_value = check_number("MaxNorm max_value", max_value, 0.0)
        self.axis = _axis(axis)

    def _target(self, norms):
        return np.clip(norms, 0.0, self.max_value)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(_NormConstraint):
    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis=0):
        self.min_value = check_number("MinMaxNorm min_value", min_value, 0.0)
        self.max_value = check_number("MinMaxNorm max_value", max_value, self.min_value)
        self.rate = check_number("MinMaxNorm rate", rate, 0.0, 1.0)
        self.axis = _axis(axis)

    def _target(self, norms):
        clipped = np.clip(norms, self.min_value, self.max_value)
        return self.rate * clipped + (1.0 - self.rate) * norms

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class UnitNorm(_NormConstraint):
    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def _target(self, norms):
        return np.ones_like(norms)

    def get_config(self):
        return {"axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        w = np.asarray(w)
        return np.where(w >= 0, w, w.dtype.type(0))


# Keras' function-style spellings are the classes themselves
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

CONSTRAINTS = Registry("constraint", Constraint)
for _cls in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm):
    CONSTRAINTS.add(_cls)


class FunctionConstraint(FunctionInConfig, Constraint):
    """A plain function ``project(w) -> w`` used as a constraint (Keras takes any callable;
    ``kernel_constraint=lambda w: tf.clip_by_value(w, -1, 1)``). Not saved in model files
    (Python code): register a Constraint subclass for that."""

    def __call__(self, w):
        return np.asarray(self.function(w))

    def get_config(self):
        raise self.cannot_save("constraint", "write a registered "
                               "tf.keras.constraints.Constraint subclass with get_config() "
                               "instead")


def get(identifier) -> Constraint | None:
    """None, a Constraint, a name (``"max_norm"``, ``"NonNeg"``, ...), a
    ``{"class_name", "config"}`` dict, or a function of the weights (`FunctionConstraint`)."""
    if callable(identifier) and not isinstance(identifier, (Constraint, type)):
        return FunctionConstraint(identifier)
    return CONSTRAINTS.get_optional(identifier)


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    return CONSTRAINTS.serialize_optional(constraint)


def deserialize(config, custom_objects=None) -> Constraint:
    return CONSTRAINTS.deserialize(config, custom_objects)
