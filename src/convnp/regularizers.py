"""Weight and activity regularizers (``tf.keras.regularizers``): a penalty added to the loss.

``L1(l1)``: ``l1 * sum(|x|)``; ``L2(l2)``: ``l2 * sum(x**2)`` (no 1/2, as Keras);
``L1L2(l1, l2)``: both; ``OrthogonalRegularizer(factor, mode)``: Keras 3's penalty on the
cosine similarity of a kernel's rows or columns. A layer's ``kernel_regularizer`` / ``bias_regularizer`` penalize its
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

__all__ = ["L1", "L1L2", "L2", "FunctionRegularizer", "OrthogonalRegularizer", "Regularizer",
           "deserialize", "get", "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize"]


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


class OrthogonalRegularizer(Regularizer):
    """Keras 3's push towards orthogonal rows (``mode="rows"``) or columns (``"columns"``)
    of a 2-D kernel (a Dense layer's): the vectors are scaled to unit length (by at most
    ``1 / epsilon``), and the penalty is ``factor / 2`` times the mean, over the pairs, of
    the absolute cosine similarity between two of them. Its gradient comes from the tape.

    A kernel with fewer than two rows (columns) has no pair: its penalty is 0 (Keras divides
    0 by 0 there and gives NaN). Other ranks are refused, as in Keras.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = check_number("factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got "
                             f"{mode!r}")
        self.mode = mode

    def __call__(self, x):
        from convnp import _settings
        from convnp.tensor import ops

        t = x if hasattr(x, "numpy") else ops.convert_to_tensor(np.asarray(x))
        if len(t.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: the weights must have rank 2, got shape "
                             f"{tuple(t.shape)}")
        rows = self.mode == "rows"
        size = int(t.shape[0] if rows else t.shape[1])
        if size < 2:
            return ops.zeros((), dtype=t.dtype)
        # Keras's L2 normalize, x * min(1 / sqrt(sum of squares), 1 / epsilon), with the
        # floor taken before the root: the same values, and a zero vector's gradient is 0
        # instead of 0 * inf
        square_sums = ops.reduce_sum(ops.square(t), axis=1 if rows else 0, keepdims=True)
        unit = t * ops.rsqrt(ops.maximum(square_sums, _settings.epsilon() ** 2))
        cosines = ops.matmul(unit, unit, transpose_b=rows, transpose_a=not rows)
        off_diagonal = cosines * (1.0 - np.eye(size, dtype=np.asarray(unit).dtype))
        pairs = size * (size - 1) / 2
        return self.factor * 0.5 * ops.reduce_sum(ops.abs(off_diagonal)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def orthogonal_regularizer(factor: float = 0.01, mode: str = "rows") -> OrthogonalRegularizer:
    return OrthogonalRegularizer(factor, mode)


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
REGULARIZERS.add(OrthogonalRegularizer, "orthogonal_regularizer")


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
