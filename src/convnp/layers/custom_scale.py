"""`CustomScaleLayer`: ``inputs[0] + inputs[1] * scale``, the scaled residual sum of
InceptionResNetV2's blocks (Keras has the class in ``keras.applications.inception_resnet_v2``,
not in ``keras.layers``)."""

from __future__ import annotations

import numpy as np

from convnp.layers.merging import _Elementwise
from convnp.layers.registry import register


@register
class CustomScaleLayer(_Elementwise):
    """The shortcut plus the residual branch times a fixed ``scale``: called on
    ``[shortcut, residual]`` of one shape (dimensions of 1 broadcast), returns
    ``shortcut + residual * scale``. No weights; ``backward(dy)`` returns
    ``[dy, dy * scale]``.

    Args:
        scale: the residual's factor (InceptionResNetV2: 0.17, 0.1, 0.2, and 1.0 for the
            last block).

    >>> import numpy as np
    >>> CustomScaleLayer(0.5)([np.ones((1, 2)), np.full((1, 2), 4.0)]).tolist()
    [[3.0, 3.0]]
    """

    config_keys = ("scale",)
    n_inputs = 2
    keeps_inputs = False

    def __init__(self, scale, **kwargs):
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)) or \
                not np.isfinite(scale):
            raise ValueError(f"CustomScaleLayer: scale must be a finite number, got {scale!r}")
        super().__init__(**kwargs)
        self.scale = float(scale)

    def _combine(self, arrays):
        shortcut, residual = arrays
        return shortcut + residual * residual.dtype.type(self.scale), None

    def _input_grads(self, dy, saved, arrays, count):
        return [dy, dy * dy.dtype.type(self.scale)]
