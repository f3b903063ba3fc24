"""`Variable`: a named weight array, its gradient and whether training updates it.

Layers own variables; optimizers see them only through `model.trainable_weights`.
"""

from __future__ import annotations

import numpy as np


class Variable:
    """A weight of a layer.

    Attributes:
        name: Keras-style name, e.g. ``"kernel"``, ``"bias"``, ``"moving_mean"``.
        value: the array itself (float32 unless created otherwise).
        grad: gradient of the loss w.r.t. ``value`` from the last backward pass,
            or ``None`` before any backward pass.
        trainable: whether optimizers update it (BatchNorm moving statistics are not).
    """

    def __init__(self, value, name: str, trainable: bool = True, dtype=np.float32):
        self.value = np.array(value, dtype=dtype)
        self.name = name
        self.trainable = trainable
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self) -> np.ndarray:
        """A copy of the value (mutating it does not touch the variable)."""
        return self.value.copy()

    def assign(self, value) -> None:
        """Overwrite the value in place, keeping shape and dtype."""
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"cannot assign to variable '{self.name}': expected shape {self.value.shape}, "
                f"got {value.shape}"
            )
        self.value[...] = value

    def __repr__(self) -> str:
        return f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype} trainable={self.trainable}>"
