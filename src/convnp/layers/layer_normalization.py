"""`LayerNormalization`: normalize each example over its feature axes (no batch statistics,
so training and inference compute the same thing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops import last_axis


@register
class LayerNormalization(Layer):
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with the mean and (biased) variance
    of each example over ``axis``.

    Args:
        axis: an int or a list of ints, the axes normalized over (default -1, the features).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale: whether to learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer: as Keras (``"zeros"``, ``"ones"``).
        rms_scaling: only False.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: penalties
            (added to ``losses``) and projections (after each update) of ``beta``/``gamma``.

    Weights (Keras order): ``gamma``, ``beta``, each of the normalized axes' shape.
    Caches the normalized input and the inverse standard deviation.

    >>> import numpy as np
    >>> y = LayerNormalization()(np.array([[1.0, 2.0, 3.0]], dtype="float32"))
    >>> [round(float(v), 3) for v in np.asarray(y)[0]]
    [-1.224, 0.0, 1.224]
    """

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        _utils.not_supported("LayerNormalization", rms_scaling=rms_scaling)
        self.axis = _utils.int_or_ints(axis, "axis", "LayerNormalization")
        _utils.setup_center_scale(self, epsilon, center, scale, beta_initializer,
                                  gamma_initializer, locals())

    def _axes(self, rank: int) -> tuple[int, ...]:
        return _utils.normalized_axes(self, self.axis, rank)

    def build(self, input_shape) -> None:
        shape = _utils.per_axes_weight_shape(self, input_shape)
        if self.scale:
            self.gamma = _utils.add_weight_with_options(self, "gamma", shape,
                                                        self.gamma_initializer)
        if self.center:
            self.beta = _utils.add_weight_with_options(self, "beta", shape,
                                                       self.beta_initializer)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        rank = len(self.input_shape)
        axes = self._axes(rank)
        _utils.check_feature_dims(self, input_shape, {a: self.input_shape[a] for a in axes},
                                  rank=rank)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        axes = self._axes(x.ndim)
        if axes == (x.ndim - 1,) and x.ndim > 1:  # the last axis: the row kernels
            gamma = None if self.gamma is None else self.gamma.value.reshape(-1)
            beta = None if self.beta is None else self.beta.value.reshape(-1)
            y, x_hat, inv_std = last_axis.layer_norm(x, gamma, beta, self.epsilon)
            self._cache = (x_hat, inv_std, axes)
            return y
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.mean(centered * centered, axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.dtype.type(self.epsilon))
        x_hat = centered * inv_std
        y = x_hat
        if self.gamma is not None:
            y = y * _utils.along_axes(self.gamma.value, x.ndim, axes)
        if self.beta is not None:
            y = y + _utils.along_axes(self.beta.value, x.ndim, axes)
        self._cache = (x_hat, inv_std, axes)
        return y if y is not x_hat else x_hat.copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_hat, inv_std, axes = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        if axes == (dy.ndim - 1,) and dy.ndim > 1:
            gamma = None if self.gamma is None else self.gamma.value.reshape(-1)
            dx, dgamma, dbeta = last_axis.layer_norm_backward(dy, x_hat, inv_std, gamma)
            if self.beta is not None:
                self.beta.grad = dbeta.reshape(self.beta.shape)
            if self.gamma is not None:
                self.gamma.grad = dgamma.reshape(self.gamma.shape)
            return dx
        other = tuple(i for i in range(dy.ndim) if i not in axes)
        if self.beta is not None:
            self.beta.grad = dy.sum(axis=other).reshape(self.beta.shape)
        d_hat = dy
        if self.gamma is not None:
            self.gamma.grad = (dy * x_hat).sum(axis=other).reshape(self.gamma.shape)
            d_hat = dy * _utils.along_axes(self.gamma.value, dy.ndim, axes)
        return inv_std * (d_hat - d_hat.mean(axis=axes, keepdims=True)
                          - x_hat * np.mean(d_hat * x_hat, axis=axes, keepdims=True))

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.normalization_rule`: statistics
        over the normalized axes of each example)."""
        x_hat, inv_std, axes = self._cache
        dy = _utils.as_dtype(dy, self.dtype)
        other = tuple(i for i in range(dy.ndim) if i not in axes)

        def spread(weight):
            if weight is None or id(weight) not in t_weights:
                return None
            return _utils.along_axes(np.asarray(t_weights[id(weight)]), dy.ndim, axes)

        gamma = None if self.gamma is None else _utils.along_axes(self.gamma.value, dy.ndim,
                                                                   axes)
        t_dy, x_bar, gamma_bar = second_order.normalization_rule(
            dy, t_dx, spread(self.gamma), spread(self.beta), x_hat, inv_std, gamma, axes,
            other)
        w_bars = {}
        if self.gamma is not None and gamma_bar is not None:
            w_bars[id(self.gamma)] = gamma_bar.reshape(self.gamma.shape)
        return t_dy, x_bar, w_bars

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon, "rms_scaling": False,
                       **_utils.center_scale_config(self)})
        return config
