"""`ConvMaxPool`: a `Conv2D` and the `MaxPooling2D` that reads it, run as one step.

Not a layer users create or see: a model's execution schedule (`convnp.models.functional`)
puts it in place of the two calls when `ConvMaxPool.applies`. The two layers keep their
weights, names and configs; only the computation is shared (`convnp.ops.conv_pool`).
"""

from __future__ import annotations

import numpy as np

from convnp import activations
from convnp.layers import _utils
from convnp.layers.conv import Conv2D
from convnp.layers.pooling import MaxPooling2D
from convnp.ops.conv_pool import conv_max_pool_backward, conv_max_pool_forward


class ConvMaxPool:
    """Runs ``pool(conv(x))`` for a linear `Conv2D` followed by a tiling `MaxPooling2D`.

    Args:
        conv: the convolution (its kernel and bias get the gradients).
        pool: the max pooling that is the only reader of the conv's output.

    Attributes:
        needs_input_gradient: forwarded to the conv (set by the model's backward plan).
    """

    def __init__(self, conv: Conv2D, pool: MaxPooling2D):
        self.conv = conv
        self.pool = pool
        self.name = f"{conv.name}+{pool.name}"
        self._cache = None

    @staticmethod
    def applies(conv, pool, conv_output_shape) -> bool:
        """Whether the fused op computes exactly what the two layers compute.

        The conv must be a plain `Conv2D` with no activation, the pool a `MaxPooling2D` whose
        windows tile the conv output without overlap and without padding ('same' is fine
        when it adds none), both in the same dtype.
        """
        if type(conv) is not Conv2D or type(pool) is not MaxPooling2D:
            return False
        if conv.activation is not activations.get("linear") or conv.dtype != pool.dtype:
            return False
        if tuple(pool.strides) != tuple(pool.pool_size):
            return False
        if pool.padding == "valid":
            return True
        height, width = conv_output_shape[1:3]
        if height is None or width is None:
            return False
        return height % pool.pool_size[0] == 0 and width % pool.pool_size[1] == 0

    @property
    def trainable_weights(self) -> list:
        return self.conv.trainable_weights

    @property
    def needs_input_gradient(self) -> bool:
        return self.conv.needs_input_gradient

    @needs_input_gradient.setter
    def needs_input_gradient(self, value: bool) -> None:
        self.conv.needs_input_gradient = value

    def call(self, inputs, training: bool = False) -> np.ndarray:
        conv = self.conv
        x = _utils.as_dtype(inputs, conv.dtype)
        y, self._cache = conv_max_pool_forward(x, conv.kernel.value, conv._ops_bias(),
                                               conv._hparameters, self.pool.pool_size,
                                               keep_winners=bool(training))
        return y

    def backward(self, dy: np.ndarray):
        cache = _utils.take_cache(self)
        conv = self.conv
        dx, dW, db = conv_max_pool_backward(_utils.as_dtype(dy, conv.dtype), cache,
                                            compute_dA_prev=conv.needs_input_gradient)
        conv.kernel.grad = dW
        if conv.bias is not None:
            conv.bias.grad = db.reshape(conv.filters)
        return dx
