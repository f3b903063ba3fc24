"""Weight and activity regularizers (``tf.keras.regularizers``): a penalty added to the loss.

``L1(l1)``: ``l1 * sum(|x|)``; ``L2(l2)``: ``l2 * sum(x**2)`` (no 1/2, as Keras);
``L1L2(l1, l2)``: both. A layer's ``kernel_regularizer`` / ``bias_regularizer`` penalize its
weights; ``activity_regularizer`` penalizes its output, divided by the batch size (Keras 3).
Each regularizer also gives ``gradient(x)``, the derivative of its penalty.

>>> import numpy as np
>>> L2(0.1)(np.array([1.0, -2.0]))
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["L1", "L1L2", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2",
           "serialize"]


def _factor(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(x) -> float`` and ``gradient(x) -> array like x``."""

    def __call__(self, x) -> float:
        raise NotImplementedError

    def gradient(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)

    def __call__(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        value = 0.0
        if self.l1:
            value += self.l1 * float(np.sum(np.abs(x)))
        if self.l2:
            value += self.l2 * float(np.sum(x * x))
        return value

    def gradient(self, x):
        t = x.dtype.type
        grad = np.zeros_like(x)
        if self.l1:
            grad += t(self.l1) * np.sign(x)
        if self.l2:
            grad += t(2 * self.l2) * x
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1: float = 0.01) -> L1:
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    return L1L2(l1, l2)


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "L1_L2": L1L2}


def get(identifier) -> Regularizer | None:
    """None, a Regularizer, a name (``"l1"``, ``"l2"``, ``"l1_l2"``: Keras's defaults) or a
    ``{"class_name", "config"}`` dict."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier.upper())
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}; expected 'l1', 'l2', "
                             "'l1_l2' or a tf.keras.regularizers object")
        return l1_l2() if cls is L1L2 else cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"regularizer must be None, a name or a Regularizer, got "
                    f"{type(identifier).__name__}: {identifier!r}")


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config) -> Regularizer:
    cls = _CLASSES.get(str(config.get("class_name"))) if isinstance(config, dict) else None
    if cls is None:
        raise ValueError(f"unknown regularizer config {config!r}; expected one of "
                         f"{sorted(_CLASSES)}")
    return cls.from_config(dict(config.get("config") or {}))
