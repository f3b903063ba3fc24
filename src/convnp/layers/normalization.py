"""`BatchNormalization` with an explicit backward pass through the batch statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import initializers
from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops import batchnorm


@register
class BatchNormalization(Layer):
    """Normalize each feature (channel) with batch statistics, then scale and shift.

    Training (``training=True`` and the layer trainable)::

        mean, var = mean and biased variance of the batch over every axis but ``axis``
        y = gamma * (x - mean) / sqrt(var + epsilon) + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mean
        moving_variance <- momentum * moving_variance + (1 - momentum) * var

    Inference (``training=False``, or a frozen layer, as in Keras 3) uses ``moving_mean`` and
    ``moving_variance`` instead and leaves them alone. Keras 3 feeds the *biased* batch
    variance to the moving average (PyTorch feeds the unbiased one).

    Args:
        axis: the feature axis (default -1, the channels of NHWC; ``axis=3`` is the same for
            4-D input). Any axis works; the last one is the fast path.
        momentum: weight of the old value in the moving averages (Keras default 0.99;
            PyTorch's ``momentum`` is ``1 - momentum``).
        epsilon: added to the variance before the square root (Keras default 1e-3).
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initializer names.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: penalties
            (added to ``losses``) and projections (after each optimizer update) of ``beta``
            and ``gamma``. ``synchronized``: kept (one device: the batch statistics are
            already the whole batch's, as Keras's on one device). ``renorm``: accepted as
            False only
            (``renorm_clipping`` None; ``renorm_momentum`` is kept for the config, as Keras
            3 writes all three).
        **kwargs: `Layer` arguments.

    Shape:
        Input and output: any shape, e.g. ``(m, n_H, n_W, n_C)``.

    Attributes:
        gamma, beta: trainable `Variable`s of shape ``(n_C,)`` (absent when ``scale`` /
            ``center`` is False).
        moving_mean, moving_variance: non-trainable `Variable`s of shape ``(n_C,)``.
        needs_input_gradient: set False to skip the input gradient (`backward` returns None).
        Weight order (``get_weights``): gamma, beta, moving_mean, moving_variance.

    Caches: `convnp.ops.batchnorm.BatchNormCache`: the input (a reference, not a copy;
    dropped by a frozen layer at inference) and the per-feature mean and
    ``1 / sqrt(var + eps)`` that were used.

    >>> import numpy as np
    >>> bn = BatchNormalization()
    >>> y = bn(np.arange(8, dtype="float32").reshape(2, 2, 1, 2), training=True)
    >>> [round(float(v), 2) for v in y[..., 0].ravel()]  # channel 0 held 0, 2, 4, 6
    [-1.34, -0.45, 0.45, 1.34]
    """

    _keras_training_default = "inherit"  # Keras 3: call(inputs, training=None, mask=None)

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized: bool = False, renorm: bool = False,
                 renorm_clipping=None, renorm_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{cls}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self.momentum = _utils.number(momentum, "momentum", cls, at_least=0, at_most=1)
        self.epsilon = _utils.number(epsilon, "epsilon", cls, above=0)
        self.center = bool(center)
        self.scale = bool(scale)
        _utils.setup_weight_options(self, locals(), "beta", "gamma")
        self.synchronized = bool(synchronized)
        _utils.not_supported(cls, renorm=renorm,
                             renorm_clipping=renorm_clipping)
        self.renorm_momentum = _utils.number(renorm_momentum, "renorm_momentum", cls,
                                             at_least=0, at_most=1)
        self._init_ids = {
            "beta_initializer": beta_initializer,
            "gamma_initializer": gamma_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer,
        }
        self._inits = {key: initializers.get(value) for key, value in self._init_ids.items()}
        # the weights are created by `build`
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        if isinstance(input_shape, list):
            raise TypeError(f"{cls} takes a single input, got a list of {len(input_shape)}")
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"{cls}: axis {self.axis} is not a feature axis of input shape "
                             f"{tuple(input_shape)} (valid: 1..{rank - 1} or -1..{1 - rank})")
        self._axis = self.axis % rank
        self._rank = rank
        n = _utils.known_dim(input_shape, self._axis, cls, "feature")
        if self.scale:
            self.gamma = _utils.add_weight_with_options(self, "gamma", (n,),
                                                        self._inits["gamma_initializer"])
        if self.center:
            self.beta = _utils.add_weight_with_options(self, "beta", (n,),
                                                       self._inits["beta_initializer"])
        self.moving_mean = self.add_weight("moving_mean", (n,),
                                           self._inits["moving_mean_initializer"],
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (n,),
                                               self._inits["moving_variance_initializer"],
                                               trainable=False)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {self._axis: self.moving_mean.shape[0]},
                                  rank=self._rank)

    def compute_output_shape(self, input_shape):
        return input_shape

    # -- forward / backward: the arithmetic is `convnp.ops.batchnorm` ------------------------

    def check_mask(self, input_shape, mask_shape) -> None:
        """Keras's: a mask has one axis fewer than the input."""
        if len(mask_shape) != len(input_shape) - 1:
            raise ValueError(f"BatchNormalization '{self.name}': the mask provided should be one "
                             f"dimension less than the inputs, got mask.shape="
                             f"{tuple(mask_shape)}, inputs.shape={tuple(input_shape)}")

    def call(self, inputs, training: bool = False, mask=None) -> np.ndarray:
        """Normalize ``inputs``; in training mode also update the moving statistics.

        Both modes are ``y = x * scale + shift`` per feature, one pass writing one new array
        (`convnp.ops.batchnorm`); training first reads ``x`` once for the batch statistics.
        With a ``mask`` (``(m, steps)`` for sequences ``(m, steps, features)``: the mask of
        an ``Embedding(mask_zero=True)`` or `Masking` output), training takes the statistics
        of the kept steps only, as Keras does (`_masked_training_call`).
        """
        x = _utils.as_dtype(inputs, self.dtype)
        gamma = None if self.gamma is None else self.gamma.value
        beta = None if self.beta is None else self.beta.value
        if mask is not None:
            keep = np.asarray(mask)
            self.check_mask(x.shape, keep.shape)
            if bool(training) and self.trainable:
                return self._masked_training_call(x, keep.astype(bool, copy=False))
        if bool(training) and self.trainable:
            y, cache = batchnorm.batch_norm_forward(x, gamma, beta, self.epsilon, self._axis)
            self.update_moving_statistics(cache[1], cache.variance)
        else:
            # x is needed by backward only for gamma's gradient; a frozen layer needs none.
            y, cache = batchnorm.batch_norm_inference(
                x, self.moving_mean.value, self.moving_variance.value, gamma, beta,
                self.epsilon, self._axis, keep_input=gamma is not None and self.trainable)
        self._cache = cache
        return y

    def update_moving_statistics(self, mean: np.ndarray, variance: np.ndarray) -> None:
        """Move ``moving_mean``/``moving_variance`` towards a batch's mean and biased variance
        by ``1 - momentum`` (what a training call does; the fused units of a model call it)."""
        batchnorm.update_moving(self.moving_mean.value, mean, self.momentum)
        batchnorm.update_moving(self.moving_variance.value, variance, self.momentum)
        self.moving_mean.mark_modified()
        self.moving_variance.mark_modified()

    def set_gradients(self, dgamma: np.ndarray | None, dbeta: np.ndarray) -> None:
        """Store the gradients ``batch_norm_backward`` returned in ``gamma.grad``/``beta.grad``
        (in the layer dtype; ``gamma.grad`` None when the op had no input to compute it)."""
        if self.gamma is not None:
            self.gamma.grad = None if dgamma is None else dgamma.astype(self.dtype)
        if self.beta is not None:
            self.beta.grad = dbeta.astype(self.dtype)

    def _masked_training_call(self, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Keras's masked moments: with ``w`` the mask spread over the features and ``c = 1 /
        (sum(w) + 1e-7)`` (Keras's epsilon), ``mean = c * sum(w * x)`` and ``var = c *
        sum(w * (x - mean) ** 2)`` over every axis but the features; every value is then
        normalized with them (kept or not) and they move the moving statistics. Computed in
        float64; caches what `_masked_backward` needs."""
        axis = self._axis
        rows = tuple(i for i in range(x.ndim) if i != axis)
        try:
            w = np.broadcast_to(np.expand_dims(keep, -1), x.shape)
        except ValueError:
            raise ValueError(f"BatchNormalization '{self.name}': a mask of shape {keep.shape} "
                             f"does not spread over inputs of shape {x.shape}") from None
        x64 = x.astype(np.float64)
        c = 1.0 / (w.sum(axis=rows, keepdims=True, dtype=np.float64) + 1e-7)
        mean = np.where(w, x64, 0.0).sum(axis=rows, keepdims=True) * c
        d = x64 - mean
        dw = np.where(w, d, 0.0)
        var = (dw * dw).sum(axis=rows, keepdims=True) * c
        inv = 1.0 / np.sqrt(var + self.epsilon)
        xhat = d * inv
        shape = [1] * x.ndim
        shape[axis] = -1
        gamma = None if self.gamma is None else self.gamma.value.astype(np.float64).reshape(shape)
        y = xhat if gamma is None else xhat * gamma
        if self.beta is not None:
            y = y + self.beta.value.astype(np.float64).reshape(shape)
        self.update_moving_statistics(mean.reshape(-1).astype(self.dtype),
                                      var.reshape(-1).astype(self.dtype))
        self._cache = ("masked", w, c, dw, xhat, inv, gamma, rows)
        return y.astype(self.dtype)

    def _masked_backward(self, dy: np.ndarray, cache) -> np.ndarray | None:
        """The gradients of `_masked_training_call` (through the masked statistics)."""
        _, w, c, dw, xhat, inv, gamma, rows = cache
        g = np.asarray(dy, dtype=np.float64)
        self.set_gradients(None if self.gamma is None else (g * xhat).sum(axis=rows),
                           g.sum(axis=rows))
        if not self.needs_input_gradient:
            return None
        dxhat = g if gamma is None else g * gamma
        dvar = (dxhat * xhat).sum(axis=rows, keepdims=True) * (-0.5) * inv * inv
        dmean = -inv * dxhat.sum(axis=rows, keepdims=True) \
            - 2.0 * c * dvar * dw.sum(axis=rows, keepdims=True)
        dx = dxhat * inv + 2.0 * c * dvar * dw + c * dmean * w
        return dx.astype(self.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input; sets ``gamma.grad`` and ``beta.grad``.

        With ``x_hat = (x - mean) * inv_std`` and ``k = gamma * inv_std``::

            dbeta  = sum(dy)            dgamma = sum(dy * x_hat)
            dx     = k * dy                                                  (inference)
            dx     = k * (dy - dbeta / rows - x_hat * dgamma / rows)         (training)

        (sums over the ``rows`` of each feature; `convnp.ops.batchnorm.batch_norm_backward`).
        """
        cache = self.take_cache()
        if isinstance(cache, tuple) and cache and isinstance(cache[0], str):
            return self._masked_backward(dy, cache)
        dx, dgamma, dbeta = batchnorm.batch_norm_backward(
            _utils.as_dtype(dy, self.dtype), cache, compute_dx=self.needs_input_gradient)
        self.set_gradients(dgamma, dbeta)
        return dx

    def second_order_reads_input(self) -> bool:
        """With the batch's statistics (training), backward reads the input; with the
        moving ones, it only scales the gradient."""
        cache = self._cache
        if isinstance(cache, tuple) and cache and isinstance(cache[0], str):
            return True  # masked
        return bool(cache[4])

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: with the batch's statistics, through them
        (`convnp.layers.second_order.normalization_rule` over the rows of each feature);
        with the moving ones, the affine ``x * gamma * inv_std + shift``."""
        cache = self._cache
        if isinstance(cache, tuple) and cache and isinstance(cache[0], str):
            raise second_order.refuse(f"BatchNormalization '{self.name}' with a mask")
        x2d, mean, inv_std, _, batch_stats = cache
        axis, shape = cache.axis, cache.shape
        dtype = self.dtype

        def rows(a):
            return None if a is None else batchnorm.to_rows(np.asarray(a, dtype=np.float64),
                                                            axis)

        def param(weight):
            if weight is None or id(weight) not in t_weights:
                return None
            return np.asarray(t_weights[id(weight)], dtype=np.float64).reshape(1, -1)

        dy2d, t2d = rows(dy), rows(t_dx)
        t_gamma, t_beta = param(self.gamma), param(self.beta)
        gamma = None if self.gamma is None else self.gamma.value.astype(np.float64).reshape(
            1, -1)
        inv = np.asarray(inv_std, dtype=np.float64).reshape(1, -1)
        x_hat = None if x2d is None else (x2d - np.asarray(mean).reshape(1, -1)) * inv
        if batch_stats:
            t_dy, x_bar, gamma_bar = second_order.normalization_rule(
                dy2d, t2d, t_gamma, t_beta, x_hat, inv, gamma, (0,), (0,))
        else:  # moving statistics: dx = gamma * inv_std * dy, linear in x
            k = inv if gamma is None else gamma * inv
            t_dy = x_bar = gamma_bar = None
            if t2d is not None:
                t_dy = k * t2d
                gamma_bar = (t2d * dy2d * inv).sum(axis=0)
            if t_gamma is not None:
                t_dy = second_order.plus(t_dy, x_hat * t_gamma)
                x_bar = dy2d * t_gamma * inv
            if t_beta is not None:
                t_dy = second_order.plus(t_dy, np.broadcast_to(t_beta, dy2d.shape))

        def back(a):
            return None if a is None else batchnorm.from_rows(a, shape, axis).astype(dtype)

        w_bars = {}
        if self.gamma is not None and gamma_bar is not None:
            w_bars[id(self.gamma)] = gamma_bar.astype(dtype)
        return back(t_dy), back(x_bar), w_bars

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("axis", "momentum", "epsilon", "center", "scale"):
            config[key] = getattr(self, key)
        for key, identifier in self._init_ids.items():
            config[key] = _utils.initializer_config(identifier, self._inits[key])
        config.update(_utils.weight_options_config(self, "beta", "gamma"))
        config.update({
            "synchronized": self.synchronized,
            "renorm": False,
            "renorm_clipping": None,
            "renorm_momentum": self.renorm_momentum,
        })
        return config
