"""Layers whose output is their input: `Identity` (a placeholder, e.g. a head removed from a
model) and `ActivityRegularization` (adds a penalty on the values passing through)."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register


class _PassThrough(Layer):
    """``y = x`` for any input shape; the gradient passes unchanged. Caches nothing but a
    marker (each call allows one backward)."""

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = True
        # a copy: the output is the next layer's to modify, the input is the caller's
        return np.array(inputs, dtype=self.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        return np.array(dy, dtype=self.dtype)


@register
class Identity(_PassThrough):
    """Returns its input unchanged (Keras' ``Identity``).

    >>> import numpy as np
    >>> Identity()(np.array([[1.0, -2.0]], dtype="float32")).numpy().tolist()
    [[1.0, -2.0]]
    """

    # number by number: second-order tangents go through `backward`
    second_order_kind = "diagonal"

    def second_order_reads_input(self) -> bool:
        return False  # its backward passes the gradient on

    supports_masking = True  # a mask (Masking's) passes through, as in Keras


@register
class ActivityRegularization(_PassThrough):
    """Returns its input unchanged and, in training, adds ``l1 * sum(|y|) + l2 * sum(y**2)``
    (divided by the batch size, as every activity regularizer in convnp) to the loss, whose
    gradient the model adds to this layer's output gradient.

    Args:
        l1, l2: the penalty factors, numbers >= 0 (Keras defaults 0.0).
    """

    config_keys = ("l1", "l2")
    supports_masking = True  # a mask passes through, as in Keras

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        from convnp import regularizers

        try:
            regularizer = regularizers.L1L2(l1=l1, l2=l2)
        except ValueError as error:
            raise ValueError(f"ActivityRegularization: {error}") from None
        super().__init__(**kwargs)
        self.l1, self.l2 = regularizer.l1, regularizer.l2
        self.activity_regularizer = regularizer
