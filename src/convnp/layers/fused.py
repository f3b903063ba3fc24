"""A layer and the `MaxPooling2D` that reads it, run as one step.

- `ConvMaxPool`: a linear `Conv2D`, then the pool (`convnp.ops.conv_pool`).
- `BatchNormMaxPool`: a `BatchNormalization` over the channels, then the pool.

These are not layers users create or see: a model's execution schedule
(`convnp.models.functional`) puts one in place of the two calls when its ``applies`` says the
result is the same. The layers keep their weights, names and configs; only the computation is
shared. Both need a pooling whose windows tile its input: stride = window, no padding.
"""

from __future__ import annotations

import numpy as np

from convnp import activations
from convnp.layers import _utils
from convnp.layers.base import LayerContract
from convnp.layers.conv import Conv2D
from convnp.layers.normalization import _MIN_ROWS, BatchNormalization
from convnp.layers.pooling import MaxPooling2D
from convnp.ops import pool_forward
from convnp.ops._threads import map_rows
from convnp.ops.conv_pool import conv_max_pool_backward, conv_max_pool_forward
from convnp.ops.pool import max_pool_backward_add
from convnp.ops.reductions import column_sums

# Above this (mean^2 / variance), raw moments lose too many digits to cancellation.
_RAW_MOMENTS_LIMIT = 100.0


def _moments(x2d: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and biased variance (float64) of a ``(rows, n)`` array.

    One read of ``x`` for ``sum(x)`` and ``sum(x * x)`` (no array is written). The raw second
    moment loses ``mean^2 / var`` times more relative precision than the centred one; the
    float32 block sums are good to ~1e-7, so past `_RAW_MOMENTS_LIMIT` the variance is taken
    again from centred values, as `BatchNormalization` itself does.
    """
    rows = x2d.shape[0]
    parts = map_rows(lambda r: (column_sums(x2d[r]), column_sums(x2d[r], x2d[r])), rows,
                     _MIN_ROWS)
    mean = sum(p[0] for p in parts) / rows
    var = np.maximum(sum(p[1] for p in parts) / rows - mean * mean, 0.0)
    if np.all(mean * mean <= _RAW_MOMENTS_LIMIT * var):
        return mean, var
    mean32 = mean.astype(dtype)

    def centred_squares(r: slice) -> np.ndarray:
        centred = x2d[r] - mean32
        return column_sums(centred, centred)

    return mean, sum(map_rows(centred_squares, rows, _MIN_ROWS)) / rows


def tiles(pool, input_shape) -> bool:
    """Whether ``pool`` is a `MaxPooling2D` whose windows tile ``input_shape`` (NHWC): stride
    equal to the window, and no padding ('same' adds none when the sizes divide)."""
    if type(pool) is not MaxPooling2D or tuple(pool.strides) != tuple(pool.pool_size):
        return False
    if pool.padding == "valid":
        return True
    height, width = input_shape[1:3]
    if height is None or width is None:
        return False
    return height % pool.pool_size[0] == 0 and width % pool.pool_size[1] == 0


# The cache of a call that ran the two layers one after the other (they keep their own).
_APART = "apart"


class _Replay:
    """The cache of an inference call: its input, should backward come after all."""

    def __init__(self, inputs):
        self.inputs = inputs


class _FusedPool(LayerContract):
    """What the fused units share: the layer whose output the pool reads (``first``, which
    owns the weights and the input gradient) and the pool.

    Subclasses implement ``_forward(inputs, training) -> (y, cache)`` and
    ``_backward(dy, cache) -> dx``.
    """

    def __init__(self, first, pool: MaxPooling2D):
        self.first = first
        self.pool = pool
        self.name = f"{first.name}+{pool.name}"

    @property
    def trainable_weights(self) -> list:
        return self.first.trainable_weights

    @property
    def needs_input_gradient(self) -> bool:
        return self.first.needs_input_gradient

    @needs_input_gradient.setter
    def needs_input_gradient(self, value: bool) -> None:
        self.first.needs_input_gradient = value

    def call(self, inputs, training: bool = False) -> np.ndarray:
        y, cache = self._forward(inputs, training)
        # An inference call keeps nothing for backward (predict pays nothing for it). But a
        # model called with training=False inside a training step (a Keras sub-model in
        # inference mode whose weights still train) does backpropagate: keep a reference to
        # the input, and backward replays the call in a form that keeps what it needs.
        self._cache = cache if training else _Replay(inputs)
        return y

    def backward(self, dy: np.ndarray):
        cache = self.take_cache()
        dy = _utils.as_dtype(dy, self.first.dtype)
        if isinstance(cache, _Replay):
            return self._replay_backward(dy, cache.inputs)
        return self._backward(dy, cache)

    def _replay_backward(self, dy: np.ndarray, inputs):
        """Backward after an inference call (see `call`)."""
        _, cache = self._forward(inputs, True)
        return self._backward(dy, cache)


class ConvMaxPool(_FusedPool):
    """Runs ``pool(conv(x))`` for a linear `Conv2D` followed by a tiling `MaxPooling2D`.

    Args:
        conv: the convolution (its kernel and bias get the gradients).
        pool: the max pooling that is the only reader of the conv's output.

    Attributes:
        needs_input_gradient: forwarded to the conv (set by the model's backward plan).
    """

    def __init__(self, conv: Conv2D, pool: MaxPooling2D):
        super().__init__(conv, pool)
        self.conv = conv

    @staticmethod
    def applies(conv, pool, conv_output_shape) -> bool:
        """Whether the fused op computes what the two layers compute: a plain `Conv2D` with
        no activation, a tiling pool (`tiles`), both in the same dtype."""
        if type(conv) is not Conv2D or conv.activation is not activations.get("linear") \
                or conv.dilation_rate != (1, 1):
            return False
        return conv.dtype == pool.dtype and tiles(pool, conv_output_shape)

    def _forward(self, inputs, training: bool) -> tuple:
        conv = self.conv
        x = _utils.as_dtype(inputs, conv.dtype)
        return conv_max_pool_forward(x, conv.kernel.value, conv._ops_bias(), conv._hparameters,
                                     self.pool.pool_size, keep_winners=bool(training))

    def _backward(self, dy: np.ndarray, cache):
        conv = self.conv
        dx, dW, db = conv_max_pool_backward(dy, cache, compute_dA_prev=conv.needs_input_gradient)
        conv.kernel.grad = dW
        if conv.bias is not None:
            conv.bias.grad = db.reshape(conv.filters)
        return dx


class BatchNormMaxPool(_FusedPool):
    """Runs ``pool(batch_norm(x))`` for a `BatchNormalization` over the channels of NHWC
    input followed by a tiling `MaxPooling2D`.

    With every ``gamma > 0`` the normalization is, per channel, an increasing affine map, so
    the window maxima of its output are the normalized window maxima of its input (and sit in
    the same cells). So:

    - forward takes the batch statistics, pools ``x`` itself and normalizes only the pooled
      values: the full-size normalized array is never written;
    - backward needs the output gradient only at the winners: ``beta``'s and ``gamma``'s
      gradients are sums over the pooled gradient, and the input gradient is the dense
      ``a * x + c`` of the batch-statistics terms plus ``k * dP`` added at the winners.

    The numbers are those of the two layers, up to the rounding order of the sums. Two
    inputs that differ but normalize to the same float32 value are a tie for the layers and
    not here, so such a window may send its gradient to the other cell. Any ``gamma <= 0``,
    or a frozen layer in a training step, runs the two layers one after the other.
    """

    def __init__(self, bn: BatchNormalization, pool: MaxPooling2D):
        super().__init__(bn, pool)
        self.bn = bn

    @staticmethod
    def applies(bn, pool, input_shape) -> bool:
        if type(bn) is not BatchNormalization or not bn.built or len(input_shape) != 4:
            return False
        return bn._axis == 3 and bn.dtype == pool.dtype and tiles(pool, input_shape)

    def _pool_hparameters(self) -> dict:
        return {"f": self.pool.pool_size, "stride": self.pool.strides, "pad": "valid"}

    def _forward(self, inputs, training: bool) -> tuple:
        bn = self.bn
        batch_stats = bool(training) and bn.trainable
        positive = bn.gamma is None or bool(np.all(bn.gamma.value > 0))
        if (training and not batch_stats) or not positive:
            return self.pool.call(bn.call(inputs, training=training), training=training), _APART
        x = _utils.as_dtype(inputs, bn.dtype)
        x2d = x.reshape(-1, x.shape[-1])
        if not batch_stats:
            _, _, scale32, shift32 = bn._inference_affine()
            if not np.all(scale32 > 0):
                return self.pool.call(bn.call(inputs, training=False), training=False), _APART
            pooled, _ = pool_forward(x, self._pool_hparameters(), "max")
            pooled *= scale32
            pooled += shift32
            return pooled, None
        mean, var = _moments(x2d, bn.dtype)
        bn._update_moving_stats(mean, var)
        inv_std, scale32 = bn._batch_scale(var)
        pooled_x, pool_cache = pool_forward(x, self._pool_hparameters(), "max")
        y = pooled_x - mean.astype(bn.dtype)
        y *= scale32
        if bn.beta is not None:
            y += bn.beta.value
        return y, (x2d, pooled_x, pool_cache, mean, inv_std)

    def _replay_backward(self, dy: np.ndarray, inputs):
        # batch normalization in inference mode, as the call was: the layers one by one
        self.pool.call(self.bn.call(inputs, training=False), training=False)
        return self.bn.backward(self.pool.backward(dy))

    def _backward(self, dy: np.ndarray, cache):
        if cache is _APART:
            return self.bn.backward(self.pool.backward(dy))
        x2d, pooled_x, pool_cache, mean, inv_std = cache
        bn = self.bn
        n_C = dy.shape[-1]
        dy2d = dy.reshape(-1, n_C)
        dbeta = column_sums(dy2d)
        dgamma = (column_sums(dy2d, pooled_x.reshape(-1, n_C)) - mean * dbeta) * inv_std
        bn._set_weight_gradients(dbeta, dgamma)
        if not bn.needs_input_gradient:
            return None
        rows = x2d.shape[0]
        k32, a32, c32 = bn._input_gradient_terms(True, dbeta, dgamma, mean, inv_std, rows)
        dx2d = np.empty_like(x2d)

        def batch_terms(r: slice) -> None:
            np.multiply(x2d[r], a32, out=dx2d[r])
            dx2d[r] += c32

        map_rows(batch_terms, rows, _MIN_ROWS)
        dx = dx2d.reshape(pool_cache.input_shape)
        max_pool_backward_add(dy * k32, pool_cache, dx)
        return dx
