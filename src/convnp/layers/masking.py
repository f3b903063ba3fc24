"""`Masking`: Keras's way to mark the padded steps of a sequence for the recurrent layers.

``Masking(mask_value=0.0)`` on ``(batch, steps, features)`` zeroes every step whose features
all equal ``mask_value`` and gives its output a mask (``Embedding(mask_zero=True)`` gives one
too: the ids that are not 0) (``(batch, steps)`` booleans, true for
the steps kept). The layers after it that take masks (`LSTM`, `GRU`, `SimpleRNN`, `RNN`,
`Bidirectional`) read it; the layers Keras lets a mask through (``supports_masking``:
`Dense`, `Dropout`, `Activation`, the normalizations, ...) hand it on. In a model the mask is
computed as Keras 3 computes it, by the operations ``not_equal`` and ``any`` (which Keras
files list as layers of the model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _masks, _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register


@register
class Masking(Layer):
    """``y = x * any(x != mask_value, axis=-1, keepdims=True)``; its output carries the mask
    ``any(x != mask_value, axis=-1)``.

    Args:
        mask_value: the value every feature of a padded step holds (default 0.0).

    Caches the keep mask (one boolean per step).
    """

    supports_masking = True
    _makes_masks = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = _utils.number(mask_value, "mask_value", "Masking")

    def build(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, min_rank=2)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, min_rank=2)

    def compute_mask(self, inputs, mask=None):
        """The steps kept: ``any(inputs != mask_value, axis=-1)`` (on a model's symbolic
        tensor, as the keras.ops layers Keras records)."""
        return _masks.any_along(_masks.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        self._cache = keep
        return x * keep

    def backward(self, dy: np.ndarray) -> np.ndarray:
        keep = self.take_cache()
        return _utils.as_dtype(dy, self.dtype) * keep

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
