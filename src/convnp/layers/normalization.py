"""`BatchNormalization` with an explicit backward pass through the batch statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import initializers
from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops._threads import map_rows
from convnp.ops.reductions import column_sums

# Below this many rows per core a pass is too small to share out between threads.
_MIN_ROWS = 8192


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
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: accepted as
            ``None`` only; ``synchronized``: accepted as False only.
        **kwargs: `Layer` arguments.

    Shape:
        Input and output: any shape, e.g. ``(m, n_H, n_W, n_C)``.

    Attributes:
        gamma, beta: trainable `Variable`s of shape ``(n_C,)`` (absent when ``scale`` /
            ``center`` is False).
        moving_mean, moving_variance: non-trainable `Variable`s of shape ``(n_C,)``.
        needs_input_gradient: set False to skip the input gradient (`backward` returns None).
        Weight order (``get_weights``): gamma, beta, moving_mean, moving_variance.

    Caches: the input (a reference, not a copy; dropped by a frozen layer at inference) and
    the per-feature mean and ``1 / sqrt(var + eps)`` that were used.

    >>> import numpy as np
    >>> bn = BatchNormalization()
    >>> y = bn(np.arange(8, dtype="float32").reshape(2, 2, 1, 2), training=True)
    >>> [round(float(v), 2) for v in y[..., 0].ravel()]  # channel 0 held 0, 2, 4, 6
    [-1.34, -0.45, 0.45, 1.34]
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized: bool = False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{cls}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{cls}: momentum must be in [0, 1], got {momentum!r}")
        if not float(epsilon) > 0.0:
            raise ValueError(f"{cls}: epsilon must be > 0, got {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        _utils.not_supported(cls, beta_regularizer=beta_regularizer,
                             gamma_regularizer=gamma_regularizer,
                             beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
                             synchronized=synchronized)
        self._init_ids = {
            "beta_initializer": beta_initializer,
            "gamma_initializer": gamma_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer,
        }
        self._inits = {key: initializers.get(value) for key, value in self._init_ids.items()}
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None

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
            self.gamma = self.add_weight("gamma", (n,), self._inits["gamma_initializer"])
        if self.center:
            self.beta = self.add_weight("beta", (n,), self._inits["beta_initializer"])
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

    # -- layout: every computation runs on a 2-D (rows, features) view ----------------------

    def _to_2d(self, a: np.ndarray) -> np.ndarray:
        """``(..., n_C)`` as ``(rows, n_C)``: a view for channels-last contiguous input."""
        if self._axis != a.ndim - 1:
            a = np.moveaxis(a, self._axis, -1)
        return a.reshape(-1, a.shape[-1])

    def _from_2d(self, a2d: np.ndarray, shape: tuple) -> np.ndarray:
        if self._axis == len(shape) - 1:
            return a2d.reshape(shape)
        moved = shape[:self._axis] + shape[self._axis + 1:] + (shape[self._axis],)
        return np.moveaxis(a2d.reshape(moved), -1, self._axis)

    # -- forward / backward -----------------------------------------------------------------

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """Normalize ``inputs``; in training mode also update the moving statistics.

        Inference is the affine map ``y = x * scale + shift`` per feature, with
        ``scale = gamma / sqrt(var + eps)`` and ``shift = beta - mean * scale``: one pass and
        one new array. Training first centres ``x`` into a new array (which becomes the output),
        takes the variance from the centred values (no cancellation however large the mean),
        then scales and shifts that array in place.
        """
        x = _utils.as_dtype(inputs, self.dtype)
        x2d = self._to_2d(x)
        batch_stats = bool(training) and self.trainable
        if batch_stats:
            rows = x2d.shape[0]
            # Each pass is shared out over row blocks between the cores (`map_rows`).
            mean = sum(map_rows(lambda r: column_sums(x2d[r]), rows, _MIN_ROWS)) / rows
            y2d = np.empty_like(x2d)
            mean32 = mean.astype(self.dtype)

            def centre(r: slice) -> np.ndarray:
                np.subtract(x2d[r], mean32, out=y2d[r])
                return column_sums(y2d[r], y2d[r])

            var = sum(map_rows(centre, rows, _MIN_ROWS)) / rows  # biased, as Keras 3
            self._update_moving_stats(mean, var)
            inv_std, scale32 = self._batch_scale(var)

            def scale_and_shift(r: slice) -> None:
                y2d[r] *= scale32
                if self.beta is not None:
                    y2d[r] += self.beta.value

            map_rows(scale_and_shift, rows, _MIN_ROWS)
        else:
            mean, inv_std, scale32, shift32 = self._inference_affine()
            y2d = np.empty_like(x2d)

            def affine(r: slice) -> None:
                np.multiply(x2d[r], scale32, out=y2d[r])
                y2d[r] += shift32

            map_rows(affine, x2d.shape[0], _MIN_ROWS)
        # x is needed by backward for the batch-statistics terms and for gamma's gradient;
        # a frozen layer in inference mode needs neither.
        keep_x = batch_stats or (self.gamma is not None and self.trainable)
        self._cache = (batch_stats, x2d if keep_x else None, mean, inv_std)
        return self._from_2d(y2d, x.shape)

    # -- the per-feature numbers, shared with the fused BatchNormalization + MaxPooling2D ------

    def _batch_scale(self, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``1 / sqrt(var + eps)`` (float64) and the scale ``gamma * inv_std`` in the layer dtype."""
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        scale = inv_std if self.gamma is None else self.gamma.value * inv_std
        return inv_std, scale.astype(self.dtype)

    def _inference_affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The moving mean and inverse std (float64), and ``y = x * scale + shift``'s scale
        and shift in the layer dtype."""
        mean = self.moving_mean.value.astype(np.float64)
        inv_std = 1.0 / np.sqrt(self.moving_variance.value.astype(np.float64) + self.epsilon)
        scale = inv_std if self.gamma is None else self.gamma.value * inv_std
        shift = -mean * scale
        if self.beta is not None:
            shift += self.beta.value
        return mean, inv_std, scale.astype(self.dtype), shift.astype(self.dtype)

    def _set_weight_gradients(self, dbeta: np.ndarray, dgamma: np.ndarray | None) -> None:
        if self.gamma is not None:
            self.gamma.grad = None if dgamma is None else dgamma.astype(self.dtype)
        if self.beta is not None:
            self.beta.grad = dbeta.astype(self.dtype)

    def _input_gradient_terms(self, batch_stats: bool, dbeta, dgamma, mean, inv_std,
                              rows: int) -> tuple:
        """Per-feature ``k, a, c`` of ``dx = k * dy + a * x + c`` in the layer dtype (``a`` and
        ``c`` are None without batch statistics: then ``dx = k * dy``)."""
        k = inv_std if self.gamma is None else self.gamma.value * inv_std
        if not batch_stats:
            return k.astype(self.dtype), None, None
        a = -k * inv_std * dgamma / rows
        c = -k * dbeta / rows - a * mean
        return k.astype(self.dtype), a.astype(self.dtype), c.astype(self.dtype)

    def _update_moving_stats(self, mean: np.ndarray, var: np.ndarray) -> None:
        momentum = self.momentum
        for variable, batch_value in ((self.moving_mean, mean), (self.moving_variance, var)):
            variable.value[...] = variable.value * momentum + batch_value * (1.0 - momentum)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input; sets ``gamma.grad`` and ``beta.grad``.

        With ``x_hat = (x - mean) * inv_std`` and ``k = gamma * inv_std``::

            dbeta  = sum(dy)            dgamma = sum(dy * x_hat)
            dx     = k * dy                                                  (inference)
            dx     = k * (dy - dbeta / rows - x_hat * dgamma / rows)         (training)

        (sums over the ``rows`` of each feature). The training formula is the gradient through
        the batch mean and variance; it is evaluated as ``dy * k + x * a + c`` (per-feature
        ``a`` and ``c``), which needs no ``x_hat`` and one temporary.
        """
        batch_stats, x2d, mean, inv_std = self.take_cache()
        shape = dy.shape
        dy2d = self._to_2d(_utils.as_dtype(dy, self.dtype))
        rows = dy2d.shape[0]

        def partial_sums(r: slice) -> tuple:
            return column_sums(dy2d[r]), None if x2d is None else column_sums(dy2d[r], x2d[r])

        parts = map_rows(partial_sums, rows, _MIN_ROWS)
        dbeta = sum(p[0] for p in parts)
        dgamma = None
        if x2d is not None:
            dgamma = (sum(p[1] for p in parts) - mean * dbeta) * inv_std
        self._set_weight_gradients(dbeta, dgamma)
        if not self.needs_input_gradient:
            return None
        k32, a32, c32 = self._input_gradient_terms(batch_stats, dbeta, dgamma, mean, inv_std,
                                                   rows)
        dx = np.empty_like(dy2d)

        def input_gradient(r: slice) -> None:
            np.multiply(dy2d[r], k32, out=dx[r])
            if batch_stats:
                dx[r] += x2d[r] * a32
                dx[r] += c32

        map_rows(input_gradient, rows, _MIN_ROWS)
        return self._from_2d(dx, shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        })
        for key, identifier in self._init_ids.items():
            config[key] = _utils.initializer_config(identifier, self._inits[key])
        config.update({
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
            "synchronized": False,
        })
        return config
