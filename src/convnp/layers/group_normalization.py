"""`GroupNormalization`: normalize each example over groups of channels (no batch statistics,
so training and inference compute the same thing; works at batch size 1). The arithmetic is
`convnp.ops.group_norm`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops import group_norm as ops


@register
class GroupNormalization(Layer):
    """Split the channels (``axis``) into ``groups`` groups; normalize each example's group
    with its own mean and variance, then ``gamma * x_hat + beta`` per channel.

    Args:
        groups: number of groups (Keras default 32); must divide the channel count. ``-1``
            means one group per channel (instance normalization); ``groups`` then becomes
            the channel count at build, as in Keras.
        axis: the channel axis (default -1).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale: whether to learn ``beta`` / ``gamma`` (``(C,)`` each).
        beta_initializer, gamma_initializer: as Keras (``"zeros"``, ``"ones"``).
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: penalties
            (added to ``losses``) and projections (after each update) of ``beta``/``gamma``.

    Weights (Keras order): ``gamma``, ``beta``. Caches the normalized input and the inverse
    standard deviations (one per example and group).
    """

    supports_masking = True  # a mask passes through, as in Keras

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = "GroupNormalization"
        if groups != -1:
            groups = _utils.positive_int(groups, "groups", cls)
        self.groups = int(groups)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{cls}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        _utils.setup_center_scale(self, epsilon, center, scale, beta_initializer,
                                  gamma_initializer, locals())

    def _channel_axis(self, rank: int) -> int:
        return _utils.normalized_axes(self, self.axis, rank)[0]

    def _groups_for(self, n_C: int) -> int:
        return n_C if self.groups == -1 else self.groups

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list):
            raise TypeError(f"GroupNormalization takes a single input, got a list of "
                            f"{len(input_shape)}")
        axis = self._channel_axis(len(input_shape))
        n_C = _utils.known_dim(input_shape, axis, "GroupNormalization", "channel")
        groups = self._groups_for(n_C)
        if groups > n_C or n_C % groups:
            raise ValueError(f"GroupNormalization '{self.name}': groups={groups} must divide "
                             f"the {n_C} channels of axis {axis} (input shape "
                             f"{tuple(input_shape)})")
        # Keras replaces -1 by the channel count once it is known: layer.groups and the
        # config then say how many groups there are
        self.groups = groups
        if self.scale:
            self.gamma = _utils.add_weight_with_options(self, "gamma", (n_C,),
                                                        self.gamma_initializer)
        if self.center:
            self.beta = _utils.add_weight_with_options(self, "beta", (n_C,),
                                                       self.beta_initializer)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        rank = len(self.input_shape)
        axis = self._channel_axis(rank)
        _utils.check_feature_dims(self, input_shape, {axis: self.input_shape[axis]}, rank=rank)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        axis = self._channel_axis(x.ndim)
        # the kernel is channels-last: move another channel axis there and back
        x_last = np.moveaxis(x, axis, -1)
        y, cache = ops.group_norm_forward(
            x_last, None if self.gamma is None else self.gamma.value,
            None if self.beta is None else self.beta.value,
            self._groups_for(x.shape[axis]), self.epsilon)
        self._cache = (cache, axis)
        return np.moveaxis(y, -1, axis)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        cache, axis = self.take_cache()
        dy = np.moveaxis(_utils.as_dtype(dy, self.dtype), axis, -1)
        dx, dgamma, dbeta = ops.group_norm_backward(dy, cache)
        if self.gamma is not None:
            self.gamma.grad = dgamma
        if self.beta is not None:
            self.beta.grad = dbeta
        return np.moveaxis(dx, -1, axis)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.normalization_rule`), on the
        grouped layout ``(m, positions, groups, C // groups)``: the statistics are over the
        positions and the channels of each group, gamma's gradient sums over the batch
        and the positions."""
        (x_hat, inv_std, _, groups), axis = self._cache
        dtype = self.dtype

        def grouped(a):
            if a is None:
                return None
            return ops._grouped(np.moveaxis(np.asarray(a, dtype), axis, -1), groups)

        def param(weight):
            if weight is None or id(weight) not in t_weights:
                return None
            return np.asarray(t_weights[id(weight)], dtype).reshape(1, 1, groups, -1)

        gamma = None if self.gamma is None else self.gamma.value.reshape(1, 1, groups, -1)
        group_inv_std = ops._grouped(inv_std, groups)[..., :1]  # (m, 1, groups, 1)
        t_dy, x_bar, gamma_bar = second_order.normalization_rule(
            grouped(dy), grouped(t_dx), param(self.gamma), param(self.beta),
            ops._grouped(x_hat, groups), group_inv_std, gamma, (1, 3), (0, 1))

        def back(a):
            return None if a is None else np.moveaxis(a.reshape(x_hat.shape), -1, axis)

        w_bars = {}
        if self.gamma is not None and gamma_bar is not None:
            w_bars[id(self.gamma)] = gamma_bar.reshape(self.gamma.shape)
        return back(t_dy), back(x_bar), w_bars

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                       **_utils.center_scale_config(self)})
        return config
