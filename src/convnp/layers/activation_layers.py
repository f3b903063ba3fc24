"""Activation layers with arguments: `LeakyReLU`, `PReLU` (a learned slope), `ELU` and
`Softmax` (any axis). Elementwise NumPy; no op kernel needed."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops import elementwise
from convnp.tensor.errors import InvalidArgumentError


class _Elementwise(Layer):
    """Shape-agnostic single-input layer; `call` caches what `_grad` needs."""

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})


@register
class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras 3's default slope 0.3).

    Args:
        negative_slope: slope for negative inputs, >= 0. Keras 2's name ``alpha`` is accepted.

    Caches the sign mask of the input.

    >>> import numpy as np
    >>> np.asarray(LeakyReLU()(np.array([-1.0, 2.0], dtype="float32"))).tolist()
    [-0.30000001192092896, 2.0]
    """

    # number by number: second-order tangents go through `backward`
    second_order_kind = "diagonal"

    config_keys = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.3, alpha: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if alpha is not None:
            negative_slope = alpha
        self.negative_slope = _utils.number(negative_slope, "negative_slope", "LeakyReLU",
                                            at_least=0)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = x > 0
        return elementwise.leaky_relu(x, self.negative_slope)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # slope `negative_slope` at 0 too, as TensorFlow's LeakyReluGrad (x > 0 ? 1 : slope)
        positive = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        return elementwise.select_gradient(dy, positive, 1.0, self.negative_slope)


@register
class PReLU(_Elementwise):
    """Leaky ReLU whose negative slope ``alpha`` is learned, one per input element (or
    shared along ``shared_axes``, e.g. ``[1, 2]`` for one slope per channel of an image).

    Args:
        alpha_initializer: initializer of ``alpha`` (Keras default ``"zeros"``).
        shared_axes: input axes (the batch is axis 0) along which one slope is shared.
        alpha_regularizer: a penalty on ``alpha`` added to ``losses``.
        alpha_constraint: a projection of ``alpha`` after each optimizer update.

    Weights: ``alpha`` of the input shape without the batch axis (size 1 on shared axes).
    Caches the input.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        from convnp import initializers

        _utils.setup_weight_options(self, locals(), "alpha")
        self._alpha_initializer = alpha_initializer
        self.alpha_initializer = initializers.get(alpha_initializer)
        if shared_axes is None:
            axes: tuple = ()
        elif isinstance(shared_axes, (int, np.integer)) and not isinstance(shared_axes, bool):
            axes = (int(shared_axes),)
        elif isinstance(shared_axes, (list, tuple)) and all(
                isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in shared_axes):
            axes = tuple(int(a) for a in shared_axes)
        else:
            raise TypeError(f"PReLU: shared_axes must be None, an int or a list of ints, "
                            f"got {shared_axes!r}")
        if any(a < 1 for a in axes):
            raise ValueError(f"PReLU: shared_axes must be non-batch axes (>= 1), got "
                             f"{shared_axes!r}")
        self.shared_axes = list(axes) if shared_axes is not None else None
        self.alpha = None

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list):
            raise TypeError(f"PReLU takes a single input, got a list of {len(input_shape)}")
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(f"PReLU: shared axis {axis} is not an axis of inputs of shape "
                                 f"{tuple(input_shape)}")
            shape[axis - 1] = 1
        for i, d in enumerate(shape):
            if d is None:
                raise ValueError(f"PReLU: axis {i + 1} of the input must be known (or shared) "
                                 f"to build alpha, got shape {tuple(input_shape)}")
        self.alpha = _utils.add_weight_with_options(self, "alpha", tuple(shape),
                                                    self.alpha_initializer)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        axes = {i + 1: d for i, d in enumerate(self.alpha.shape) if d != 1}
        _utils.check_feature_dims(self, input_shape, axes, rank=self.alpha.value.ndim + 1)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = x
        # x + min(x, 0) (alpha - 1): alpha x below 0, with no branch per number
        below = np.clip(x, -np.inf, 0)
        below *= self.alpha.value - self.dtype.type(1)
        below += x
        return below

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        d_alpha = np.clip(x, -np.inf, 0)  # dy * x below 0, else 0
        d_alpha *= dy
        sum_axes = (0,) + tuple(i + 1 for i, d in enumerate(self.alpha.shape) if d == 1
                                and x.shape[i + 1] != 1)
        self.alpha.grad = d_alpha.sum(axis=sum_axes, keepdims=True)[0].astype(self.dtype)
        # dy * (alpha below 0, else 1)
        factor = np.multiply(x < 0, self.alpha.value - self.dtype.type(1), dtype=self.dtype)
        factor += self.dtype.type(1)
        factor *= dy
        return factor

    def second_order(self, dy, t_dx, t_weights: dict):
        """``y = x + min(x, 0) (alpha - 1)`` is piecewise linear in x and linear in alpha:
        the tangent of ``dy`` is ``slope * t_dx + min(x, 0) * t_alpha``; the mixed terms
        give the input ``dy * t_alpha`` below 0 and alpha the sum of ``dy * t_dx`` below 0
        (over the batch and the shared axes), as its gradient is summed."""
        x = self._cache
        dy = _utils.as_dtype(dy, self.dtype)
        below = x < 0
        t_alpha = t_weights.get(id(self.alpha))
        t_dy = x_bar = alpha_bar = None
        if t_dx is not None:
            slope = np.where(below, self.alpha.value, self.dtype.type(1))
            t_dy = slope * t_dx
            sum_axes = (0,) + tuple(i + 1 for i, d in enumerate(self.alpha.shape) if d == 1
                                    and x.shape[i + 1] != 1)
            alpha_bar = np.where(below, dy * t_dx, 0).sum(axis=sum_axes, keepdims=True)[0]
        if t_alpha is not None:
            t_alpha = np.asarray(t_alpha, self.dtype)
            t_dy = second_order.plus(t_dy, np.minimum(x, 0) * t_alpha)
            x_bar = np.where(below, dy * t_alpha, 0)
        return t_dy, x_bar, {id(self.alpha): alpha_bar}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "alpha_initializer": _utils.initializer_config(self._alpha_initializer,
                                                           self.alpha_initializer),
            **_utils.weight_options_config(self, "alpha"),
            "shared_axes": self.shared_axes,
        })
        return config


@register
class ELU(_Elementwise):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below. Caches input and output.

    >>> import numpy as np
    >>> round(float(np.asarray(ELU()(np.array([-1.0])))[0]), 4)
    -0.6321
    """

    config_keys = ("alpha",)

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _utils.number(alpha, "alpha", "ELU")

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        y = elementwise.elu(x, self.alpha)
        self._cache = (x, y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, y = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        # below 0, d/dx alpha * (exp(x) - 1) = y + alpha
        return elementwise.elu_gradient(dy, x, y, self.alpha).astype(self.dtype, copy=False)

    second_order_kind = "diagonal"

    def curvature_term(self, dy, t_dx):
        x, y = self._cache  # d2/dx2 is 0 above 0 and alpha * exp(x) = y + alpha below
        return np.where(x > 0, 0, y + self.alpha).astype(self.dtype, copy=False) * dy * t_dx


@register
class Softmax(_Elementwise):
    """Softmax along ``axis`` (an int or a list of ints; default the last). Caches the output.

    >>> import numpy as np
    >>> np.asarray(Softmax()(np.zeros((1, 4), dtype="float32"))).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """

    config_keys = ("axis",)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _utils.int_or_ints(axis, "axis", "Softmax")

    def _axes(self, ndim: int) -> tuple:
        # any axis of the input, the batch axis too (a 1-D vector's only axis is its 0), as
        # in TF 2.21; one beyond the rank is its InvalidArgumentError (a ValueError)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise InvalidArgumentError(f"Softmax: axis {a} is not in [-{ndim}, {ndim}) "
                                           f"for a rank-{ndim} input")
        return tuple(a % ndim for a in axes)

    def check_mask(self, input_shape, mask_shape) -> None:
        """Keras's check of a ``mask``: broadcastable to the input, trailing axes aligned."""
        if len(mask_shape) > len(input_shape):
            raise ValueError(f"Softmax '{self.name}': the `mask` must be broadcastable to "
                             f"`inputs` and must not have more dimensions, got "
                             f"inputs.shape={tuple(input_shape)}, mask.shape={tuple(mask_shape)}")
        for m, i in zip(reversed(tuple(mask_shape)), reversed(tuple(input_shape))):
            if m is not None and i is not None and m != 1 and m != i:
                raise ValueError(f"Softmax '{self.name}': the `mask` must be broadcastable to "
                                 f"`inputs` (each mask axis 1 or the input's size, the last "
                                 f"axes aligned), got inputs.shape={tuple(input_shape)}, "
                                 f"mask.shape={tuple(mask_shape)}")

    def call(self, inputs, training: bool = False, mask=None) -> np.ndarray:
        """``mask`` (broadcast to the input from its last axes; numbers keep above 0.5):
        the masked values are set to -1e9 before the softmax and their outputs to 0, as
        Keras's layer does."""
        x = _utils.as_dtype(inputs, self.dtype)
        axes = self._axes(x.ndim)
        keep = None
        if mask is not None:
            keep = np.asarray(mask)
            self.check_mask(x.shape, keep.shape)
            keep = keep if keep.dtype == bool else keep > 0.5
            x = np.where(keep, x, self.dtype.type(-1e9))
        e = np.exp(x - np.max(x, axis=axes, keepdims=True))
        y = e / np.sum(e, axis=axes, keepdims=True)
        self._cache = (y, axes, keep)
        return y if keep is None else np.where(keep, y, self.dtype.type(0))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y, axes, keep = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        if keep is not None:
            dy = np.where(keep, dy, self.dtype.type(0))
        dx = y * (dy - np.sum(dy * y, axis=axes, keepdims=True))
        return dx if keep is None else np.where(keep, dx, self.dtype.type(0))

    # softmax's Jacobian is symmetric: second-order tangents go through `backward`, plus
    # its curvature
    second_order_kind = "diagonal"

    def curvature_term(self, dy, t_dx):
        """The input's cotangent from differentiating ``dx = y (dy - s)``, ``s = sum(dy
        y)``, contracted with ``t_dx``: ``y ((dy - s)(t - A) - B)`` with ``A = sum(t y)``
        and ``B = sum(t y (dy - s))`` over the softmax axes."""
        y, axes, keep = self._cache
        dy = _utils.as_dtype(dy, self.dtype)
        t = np.asarray(t_dx, self.dtype)
        if keep is not None:
            dy, t = np.where(keep, dy, 0), np.where(keep, t, 0)
        shifted = dy - np.sum(dy * y, axis=axes, keepdims=True)
        a = np.sum(t * y, axis=axes, keepdims=True)
        b = np.sum(t * y * shifted, axis=axes, keepdims=True)
        x_bar = y * (shifted * (t - a) - b)
        return x_bar if keep is None else np.where(keep, x_bar, self.dtype.type(0))
