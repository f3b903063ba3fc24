"""More random augmentation layers, with the conventions of `convnp.layers.preprocessing`
(active in training only, the identity otherwise; draws from the layer's own generator when
``seed`` is given, else from `convnp.random.generator()`): `RandomBrightness`,
`RandomHeight`, `RandomWidth`."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.preprocessing import (
    _choice,
    _factor_range,
    _RandomLayer,
    _resize_to,
)
from convnp.layers.registry import register
from convnp.ops import image as image_ops


def _value_range(value_range, layer: str) -> tuple[float, float]:
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(isinstance(v, (int, float, np.integer, np.floating))
                    and not isinstance(v, bool) for v in value_range)
            and float(value_range[0]) < float(value_range[1])):
        raise ValueError(f"{layer}: value_range must be (low, high) with low < high, "
                         f"got {value_range!r}")
    return float(value_range[0]), float(value_range[1])


@register
class RandomBrightness(_RandomLayer):
    """Add to each image one random amount ``delta * (high - low)``, ``delta`` drawn uniformly
    from ``factor`` (``f`` means ``(-f, f)``, or a ``(lower, upper)`` pair, within
    ``[-1, 1]``), then clip to ``value_range = (low, high)`` (training only).

    The input gradient passes where the output was not clipped.
    """

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    config_list_keys = ("factor", "value_range")

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        cls = type(self).__name__
        self._range = _factor_range(factor, "factor", cls)
        if self._range[0] < -1.0 or self._range[1] > 1.0:
            raise ValueError(f"{cls}: factor must lie within [-1, 1], got {factor!r}")
        self.factor = factor
        self.value_range = _value_range(value_range, cls)

    def _augment(self, x):
        m = x.shape[0]
        low, high = self.value_range
        delta = self.rng().uniform(*self._range, m) * (high - low)
        raw = x + delta.astype(x.dtype).reshape(m, 1, 1, 1)
        inside = (raw >= low) & (raw <= high)
        y = np.clip(raw, low, high).astype(x.dtype, copy=False)
        return y, lambda dy: dy * inside


class _RandomSize(_RandomLayer):
    """Resize the whole batch along one axis by ``1 + u``, ``u`` drawn once per batch from
    ``factor`` (``f`` means ``(-f, f)``; the lower bound must be above -1)."""

    config_keys = _RandomLayer.config_keys + ("interpolation",)
    config_list_keys = ("factor",)

    #: 1 for the height, 2 for the width
    _axis = 1

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        cls = type(self).__name__
        self._range = _factor_range(factor, "factor", cls)
        if self._range[0] <= -1.0:
            raise ValueError(f"{cls}: factor's lower bound must be greater than -1 (the "
                             f"size must stay positive), got {factor!r}")
        self.factor = factor
        # a resize, so Resizing's interpolations (bicubic, area, lanczos too), as in Keras
        self.interpolation = _choice(interpolation, image_ops.RESIZE_INTERPOLATIONS,
                                     "interpolation", cls)

    def compute_output_shape(self, input_shape):
        # the size is drawn at every training call, so it is unknown to a model definition
        shape = list(input_shape)
        shape[len(shape) - 4 + self._axis] = None
        return tuple(shape)

    def _augment(self, x):
        n = x.shape[self._axis]
        size = max(1, int(n * (1.0 + self.rng().uniform(*self._range))))
        height, width = (size, x.shape[2]) if self._axis == 1 else (x.shape[1], size)
        return _resize_to(x, height, width, self.interpolation, crop_to_aspect_ratio=False)


@register
class RandomHeight(_RandomSize):
    """Resize the batch's height by a random fraction: ``factor=0.2`` gives heights from 80%
    to 120% of the input's (one draw per batch, so the batch stays one array). The output
    height is ``None`` in a model definition. Training only."""

    _axis = 1


@register
class RandomWidth(_RandomSize):
    """`RandomHeight` for the width."""

    _axis = 2


def _probability_range(factor, layer: str) -> tuple[float, float]:
    """Keras' probability ``factor``: ``f`` means ``(0, f)``, or a ``(lower, upper)`` pair,
    within ``[0, 1]``."""
    if isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor,
                                                                                 bool):
        lower, upper = 0.0, float(factor)
    else:
        if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(
                isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                for v in factor):
            factor = tuple(sorted(factor))  # Keras takes the pair in either order
        lower, upper = _factor_range(factor, "factor", layer)
    if not 0.0 <= lower <= upper <= 1.0:
        raise ValueError(f"{layer}: factor must be a probability in [0, 1] (or a pair of "
                         f"them), got {factor!r}")
    return lower, upper


class _PerImageChoice(_RandomLayer):
    """Applies a linear map to each image chosen with a drawn probability (training only)."""

    config_list_keys = ("factor",)

    def _chosen(self, m: int) -> np.ndarray:
        rng = self.rng()
        probability = rng.uniform(*self._range, m)
        return (rng.random(m) < probability).reshape(m, 1, 1, 1)


@register
class RandomInvert(_PerImageChoice):
    """Invert the colours of some images: each image is replaced by ``high - x`` (Keras 3's
    formula, ``high`` the top of ``value_range``) with a probability drawn uniformly from
    ``factor`` (``f`` means ``(0, f)``). Training only."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    config_list_keys = _PerImageChoice.config_list_keys + ("value_range",)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        cls = type(self).__name__
        self._range = _probability_range(factor, cls)
        # kept as the range drawn from, as Keras keeps it (its config says (0, f) for f)
        self.factor = self._range
        self.value_range = _value_range(value_range, cls)

    def _augment(self, x):
        chosen = self._chosen(x.shape[0])
        high = x.dtype.type(self.value_range[1])
        y = np.where(chosen, high - x, x)
        return y, lambda dy: np.where(chosen, -dy, dy)


#: the luminance weights of red, green and blue (ITU-R BT.601, as `tf.image.rgb_to_grayscale`)
LUMA = (0.2989, 0.5870, 0.1140)


@register
class RandomGrayscale(_PerImageChoice):
    """Turn each RGB image grey with probability ``factor`` (every channel set to the
    luminance ``0.2989 R + 0.5870 G + 0.1140 B``; the image keeps its 3 channels). Greyscale
    images (one channel) pass as they are, as in Keras. Training only."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        # a probability: a non-number (a pair too, unlike the other factors) is a TypeError,
        # as Keras compares it with 0 and 1; out of [0, 1] a ValueError
        probability = _utils.number(factor, "factor", type(self).__name__, at_least=0.0,
                                    at_most=1.0)
        self._range = (probability, probability)
        self.factor = probability

    def build(self, input_shape) -> None:
        super().build(input_shape)
        if input_shape[-1] is not None and input_shape[-1] not in (1, 3):
            raise ValueError(f"RandomGrayscale '{self.name}' expects RGB or greyscale images "
                             f"(3 or 1 channels), got shape {tuple(input_shape)}")

    def call(self, inputs, training: bool = False) -> np.ndarray:
        y = super().call(inputs, training=training)
        integers = np.asarray(inputs).dtype
        if integers.kind in "iu" and y.dtype != integers:
            # Keras keeps integer images integer in training too: the float luminance
            # truncated back to the input's dtype (no gradient: integers have none)
            y = y.astype(integers)
        return y

    def _augment(self, x):
        chosen = self._chosen(x.shape[0])
        if x.shape[-1] == 1:  # already grey: passed as it is, as Keras does
            return x.copy(), lambda dy: dy.copy()
        weights = np.asarray(LUMA, dtype=x.dtype)
        grey = x @ weights
        y = np.where(chosen, np.repeat(grey[..., None], 3, axis=-1), x)

        def backward(dy):
            return np.where(chosen, dy.sum(axis=-1, keepdims=True) * weights, dy)

        return y, backward
