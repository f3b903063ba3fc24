"""Fused units: two or three layer calls of a model run as one step (they are not layers).

- `ConvMaxPool`: a linear or ReLU `Conv2D`, then a tiling `MaxPooling2D`
  (`convnp.ops.conv_pool`).
- `BatchNormMaxPool`: a `BatchNormalization` over the channels, then a tiling max pool.
- `BatchNormReLU`: a `BatchNormalization`, then a ReLU (plain or capped, as ReLU6).
- `BatchNormAddReLU`: a `BatchNormalization`, an `Add` of its output and another value (a
  residual shortcut), then a plain ReLU.

A model's execution schedule (`convnp.models.functional.Graph`) puts one in place of the
calls when its ``applies`` says the result is the same, unless the plain path is on
(`convnp.config`). The layers keep their weights, names and configs; only the computation is
shared, through `convnp.ops` (the layers' own public attributes and methods give the
weights). A fused unit has ``call``, ``backward``, ``trainable_weights``, ``name`` and
``needs_input_gradient``.
"""

from __future__ import annotations

import numpy as np

from convnp import activations
from convnp.layers import _utils
from convnp.layers.base import LayerContract
from convnp.layers.conv import Conv2D
from convnp.layers.core import Activation, ReLU
from convnp.layers.merging import Add
from convnp.layers.normalization import BatchNormalization
from convnp.layers.pooling import MaxPooling2D
from convnp.ops import batchnorm, pool_forward
from convnp.ops.conv_pool import conv_max_pool_backward, conv_max_pool_forward
from convnp.ops.pool import pool_backward
from convnp.ops.reductions import column_sums


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


def relu_cap(layer) -> tuple[bool, float | None]:
    """Whether ``layer`` is a ReLU a `BatchNormReLU` can run (``Activation("relu")``, or a
    `ReLU` without slope or threshold), and its ``max_value`` (None: no cap)."""
    if type(layer) is ReLU and layer.negative_slope == 0.0 and layer.threshold == 0.0:
        return True, layer.max_value
    return type(layer) is Activation and layer.activation is activations.get("relu"), None


def _weights(bn: BatchNormalization) -> tuple:
    return (None if bn.gamma is None else bn.gamma.value,
            None if bn.beta is None else bn.beta.value)


# The cache of a call that ran the two layers one after the other (they keep their own).
_APART = "apart"


class _Replay:
    """The cache of an inference call: its input, should backward come after all."""

    def __init__(self, inputs):
        self.inputs = inputs


class Unit(LayerContract):
    """What every fused unit shares: the first layer of the calls it replaces (``first``),
    which owns the trainable weights and decides whether an input gradient is computed."""

    def __init__(self, first, *others):
        self.first = first
        #: the layers this unit runs, in call order
        self.members = tuple(layer for layer in (first, *others) if layer is not None)
        self.name = "+".join(layer.name for layer in self.members)

    # Both forward to the first layer: the graph's backward plan sets the flag on the unit.
    trainable_weights = property(lambda self: self.first.trainable_weights,
                                 doc="The first layer's trainable weights.")
    needs_input_gradient = property(
        lambda self: self.first.needs_input_gradient,
        lambda self, value: setattr(self.first, "needs_input_gradient", value),
        doc="Whether backward returns an input gradient (the first layer's flag).")


class _FusedPool(Unit):
    """A layer (``first``) and the tiling max pool that is its only reader.

    Subclasses implement ``_forward(inputs, training) -> (y, cache)`` and
    ``_backward(dy, cache) -> dx``.
    """

    def __init__(self, first, pool: MaxPooling2D):
        super().__init__(first, pool)
        self.pool = pool

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
    """Runs ``pool(conv(x))`` for a `Conv2D` (linear or ReLU) followed by a tiling
    `MaxPooling2D`.

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
        no activation or a ReLU (``activation="relu"``: ReLU commutes with the max), a
        tiling pool (`tiles`; 'valid' windows may leave rows and columns out), both in the
        same dtype."""
        if type(conv) is not Conv2D or conv.dilation_rate != (1, 1) or conv.groups != 1 \
                or conv.activation not in (activations.get("linear"), activations.get("relu")):
            return False
        return conv.dtype == pool.dtype and tiles(pool, conv_output_shape)

    def _forward(self, inputs, training: bool) -> tuple:
        conv = self.conv
        x = _utils.as_dtype(inputs, conv.dtype)
        if conv.bias is None:
            bias = np.zeros((1, 1, 1, conv.filters), dtype=conv.dtype)
        else:
            bias = conv.bias.value.reshape(1, 1, 1, conv.filters)  # a view: same memory
        hparameters = {"stride": conv.strides, "pad": conv.padding}
        return conv_max_pool_forward(x, conv.kernel.value, bias, hparameters,
                                     self.pool.pool_size, keep_winners=bool(training),
                                     relu=conv.activation is activations.get("relu"))

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
        return bn.axis in (3, -1) and bn.dtype == pool.dtype and tiles(pool, input_shape)

    def _pool_hparameters(self) -> dict:
        return {"f": self.pool.pool_size, "stride": self.pool.strides, "pad": "valid"}

    def _forward(self, inputs, training: bool) -> tuple:
        bn = self.bn
        batch_stats = bool(training) and bn.trainable
        gamma, beta = _weights(bn)
        positive = gamma is None or bool(np.all(gamma > 0))
        if (training and not batch_stats) or not positive:
            return self.pool.call(bn.call(inputs, training=training), training=training), _APART
        x = _utils.as_dtype(inputs, bn.dtype)
        x2d = x.reshape(-1, x.shape[-1])
        if not batch_stats:
            scale, shift = batchnorm.scale_and_shift(
                bn.moving_mean.value, bn.moving_variance.value, gamma, beta, bn.epsilon,
                bn.dtype)
            if not np.all(scale > 0):
                return self.pool.call(bn.call(inputs, training=False), training=False), _APART
            pooled, _ = pool_forward(x, self._pool_hparameters(), "max")
            pooled *= scale
            pooled += shift
            return pooled, None
        mean, var = batchnorm.moments(x2d)
        bn.update_moving_statistics(mean, var)
        scale, shift = batchnorm.scale_and_shift(mean, var, gamma, beta, bn.epsilon, bn.dtype)
        pooled_x, pool_cache = pool_forward(x, self._pool_hparameters(), "max")
        y = pooled_x * scale
        y += shift
        cache = batchnorm.BatchNormCache.make(x2d, mean, batchnorm.inverse_std(var, bn.epsilon),
                                              gamma, True, var, x.shape, -1)
        return y, (cache, pooled_x, pool_cache)

    def _replay_backward(self, dy: np.ndarray, inputs):
        # batch normalization in inference mode, as the call was: the layers one by one
        self.pool.call(self.bn.call(inputs, training=False), training=False)
        return self.bn.backward(self.pool.backward(dy))

    def _backward(self, dy: np.ndarray, cache):
        if cache is _APART:
            return self.bn.backward(self.pool.backward(dy))
        bn_cache, pooled_x, pool_cache = cache
        x2d, mean, inv_std = bn_cache[:3]
        bn = self.bn
        n_C = dy.shape[-1]
        dy2d = dy.reshape(-1, n_C)
        dbeta = column_sums(dy2d)
        dgamma = (column_sums(dy2d, pooled_x.reshape(-1, n_C)) - mean * dbeta) * inv_std
        bn.set_gradients(dgamma, dbeta)
        if not bn.needs_input_gradient:
            return None
        k, a, c = batchnorm.gradient_terms(bn_cache, dbeta, dgamma, x2d.shape[0], bn.dtype)
        # the routed term written whole (a pool that tiles its input needs no zeroing), then
        # the dense terms added in: no full-size product array between the two
        dx = pool_backward(dy * k, pool_cache)
        batchnorm.add_affine(x2d, a, c, dx.reshape(x2d.shape))
        return dx


class BatchNormReLU(Unit):
    """Runs ``relu(batch_norm(x))`` (or, with ``add``, ``relu(batch_norm(x) + shortcut)``) in
    one pass per tensor each way (`convnp.ops.batchnorm` with ``relu=True``).

    Forward: the batch statistics read ``x`` once, then one pass writes the rectified output
    (the normalized array before the ReLU is never written). Backward: one pass masks the
    output gradient where the output is 0 (ReLU's backward) while summing ``dbeta`` and
    ``dgamma``; one more writes the input gradient over the masked one. The shortcut's
    gradient is the masked gradient itself.

    Args:
        bn: the batch normalization (owns the weights and the moving statistics).
        relu: the ReLU (`relu_cap`) that is the only reader of the BN (or Add).
        add: an `Add` of two inputs, the BN's output and the shortcut, read only by ``relu``.
    """

    def __init__(self, bn: BatchNormalization, relu, add: Add | None = None):
        super().__init__(bn, add, relu)
        self.bn, self.relu, self.add = bn, relu, add
        self.max_value = relu_cap(relu)[1]

    @staticmethod
    def applies(bn, relu, add=None) -> bool:
        """Whether the fused unit computes what the layers compute: a built
        `BatchNormalization`, a ReLU (`relu_cap`) and (optionally) a plain two-input `Add`,
        all in one dtype."""
        if type(bn) is not BatchNormalization or not bn.built or not relu_cap(relu)[0]:
            return False
        if add is not None and type(add) is not Add:
            return False
        return all(layer.dtype == bn.dtype for layer in (relu, add) if layer is not None)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        bn = self.bn
        if self.add is not None:
            inputs, shortcut = inputs
            shortcut = _utils.as_dtype(shortcut, bn.dtype)
        else:
            shortcut = None
        x = _utils.as_dtype(inputs, bn.dtype)
        gamma, beta = _weights(bn)
        if bool(training) and bn.trainable:
            y, cache = batchnorm.batch_norm_forward(x, gamma, beta, bn.epsilon, bn.axis,
                                                    residual=shortcut, relu=True,
                                                    max_value=self.max_value)
            bn.update_moving_statistics(cache[1], cache.variance)
        else:
            y, cache = batchnorm.batch_norm_inference(
                x, bn.moving_mean.value, bn.moving_variance.value, gamma, beta, bn.epsilon,
                bn.axis, residual=shortcut, relu=True, max_value=self.max_value,
                keep_input=gamma is not None and bn.trainable)
        self._cache = (cache, y)
        return y

    def backward(self, dy: np.ndarray):
        cache, y = self.take_cache()
        bn = self.bn
        dy = _utils.as_dtype(dy, bn.dtype)
        keep = self.add is not None
        grads = batchnorm.batch_norm_backward(dy, cache, compute_dx=bn.needs_input_gradient,
                                              relu_output=y, max_value=self.max_value,
                                              keep_dz=keep)
        bn.set_gradients(grads[1], grads[2])
        return [grads[0], grads[3]] if keep else grads[0]
