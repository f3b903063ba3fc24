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

from convnp._checks import check_number
from convnp.serialization import Configurable, FunctionInConfig, Registry

__all__ = ["L1", "L1L2", "L2", "FunctionRegularizer", "Regularizer", "deserialize", "get", "l1",
           "l1_l2", "l2", "serialize"]


class Regularizer(Configurable):
    """Base class: ``__call__(x) -> float`` and ``gradient(x) -> array like x``.

    A user's subclass (or a plain function given as a regularizer) writes only ``__call__``,
    in tensor ops; its gradient then comes from `GradientTape`.
    """

    def __call__(self, x) -> float:
        raise NotImplementedError

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """d penalty / d x, from the tape unless a subclass knows it."""
        from convnp.tensor.tape import GradientTape, new_tensor

        x = np.asarray(x)
        t = new_tensor(x.copy())
        with GradientTape() as tape:
            tape.watch(t)
            value = self(t)
        grad = tape.gradient(value, t)
        return np.zeros_like(x) if grad is None else np.asarray(grad, dtype=x.dtype)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"regularizer {type(self).__name__} does not implement get_config(); write one "
            "(and register the class with tf.keras.saving.register_keras_serializable) to "
            "save a model that uses it")


class FunctionRegularizer(FunctionInConfig, Regularizer):
    """A plain function ``penalty(weights)`` used as a regularizer (Keras takes any callable).
    It is not saved in model files (Python code); register a Regularizer subclass for that."""

    def get_config(self):
        raise self.cannot_save("regularizer", "write a registered "
                               "tf.keras.regularizers.Regularizer subclass with get_config() "
                               "instead")


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = check_number("l1", l1, 0.0)
        self.l2 = check_number("l2", l2, 0.0)

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


# Keras's spellings (any case): L1/l1, L2/l2, L1L2/l1_l2; a name gives Keras 2's defaults
# (l1_l2: 0.01 each)
REGULARIZERS = Registry("regularizer", Regularizer, build=lambda cls, spelling: (
    l1_l2() if cls is L1L2 else cls()))
for _cls in (L1, L2):
    REGULARIZERS.add(_cls)
REGULARIZERS.add(L1L2, "l1_l2", "L1_L2")


def get(identifier) -> Regularizer | None:
    """None, a Regularizer, a name (``"l1"``, ``"l2"``, ``"l1_l2"``: Keras's defaults), a
    ``{"class_name", "config"}`` dict, or a function of the weights (`FunctionRegularizer`)."""
    if callable(identifier) and not isinstance(identifier, (Regularizer, type)):
        return FunctionRegularizer(identifier)
    return REGULARIZERS.get_optional(identifier)


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    return REGULARIZERS.serialize_optional(regularizer)


def deserialize(config, custom_objects=None) -> Regularizer:
    return REGULARIZERS.deserialize(config, custom_objects)
