"""Keras 3's colour augmentations: `RandomColorDegeneration`, `RandomHue`,
`RandomSaturation`, `Solarization`, `RandomPosterization`, `AutoContrast`, `Equalization`,
`RandomSharpness`, `RandomGaussianBlur`, `RandomColorJitter`,
`ContrastLimitedAdaptiveHistogramEqualization`.

They follow `convnp.layers.preprocessing`'s conventions (NHWC, one draw per image from the
layer's own generator when ``seed`` is given, else from `convnp.random.generator()`; active in
training only, the identity at inference) except `AutoContrast` and
`ContrastLimitedAdaptiveHistogramEqualization`, which Keras applies in both modes. Factors and their bounds are Keras' (``factor=f`` means ``(-f, f)`` or ``(0, f)`` by
the layer's bounds; a pair is ``(lower, upper)``; ``(0.5, 0.5)`` fixes the value).

Gradients: the piecewise-linear layers (colour degeneration, solarization, sharpness, auto
contrast) pass an exact input gradient. Hue and saturation go through HSV, posterization and
(adaptive) equalization through integer bins: like TensorFlow, they have no gradient, and their
``backward`` raises `LookupError` (a model never asks for it when the layer reads the input
directly, as augmentation layers do).
"""

from __future__ import annotations

import numpy as np

from convnp import _settings
from convnp.layers import _utils
from convnp.layers.augmentation import LUMA, _value_range
from convnp.layers.preprocessing import _ImageLayer, _RandomLayer
from convnp.layers.registry import register
from convnp.tensor.image import _hsv_of, _rgb_of


def keras_factor(factor, bounds: tuple[float, float], layer: str,
                 name: str = "factor") -> tuple[float, float]:
    """Keras' ``factor``: a number ``f`` is ``(max(-f, low), f)`` for the layer's ``bounds =
    (low, high)``, a pair is ``(lower, upper)`` (sorted); every value within the bounds."""
    low, high = bounds
    message = (f"{layer}: {name} must be a number or a pair of numbers in [{low}, {high}], "
               f"got {factor!r}")

    def is_number(v):
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)

    if is_number(factor):
        f = float(factor)
        if not low <= f <= high:
            raise ValueError(message)
        return max(-abs(f), low), abs(f)
    if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(map(is_number, factor)):
        lower, upper = sorted(float(v) for v in factor)
        if lower < low or upper > high:
            raise ValueError(message)
        return lower, upper
    raise ValueError(message)


def to_range(x, source, target):
    """Map values linearly from the interval ``source`` to ``target`` (Keras'
    ``_transform_value_range``)."""
    if tuple(source) == tuple(target):
        return x
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return ((x - source[0]) * scale + target[0]).astype(x.dtype, copy=False)


def no_gradient(layer: str):
    def backward(dy):
        raise LookupError(f"{layer} has no gradient (its output is piecewise constant or "
                          f"goes through HSV; Keras and TensorFlow have none either)")
    return backward


def _clip_with_mask(raw, value_range, dtype):
    low, high = value_range
    inside = (raw >= low) & (raw <= high)
    return np.clip(raw, low, high).astype(dtype, copy=False), inside


def _per_image(values, m: int, dtype):
    return np.asarray(values, dtype=dtype).reshape(m, 1, 1, 1)


class _ColorLayer(_RandomLayer):
    """A random colour layer with Keras' ``factor`` (bounded by `_bounds`) and
    ``value_range``; `_augment` draws with `draw`, then applies `apply`."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    config_list_keys = ("factor", "value_range")

    _bounds: tuple[float, float] = (-1.0, 1.0)
    _rgb_only = False
    #: with `_rgb_only`: one-channel (greyscale) images are taken too, as Keras takes them
    _grey_too = False

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.factor = keras_factor(factor, self._bounds, cls)
        self.value_range = _value_range(value_range, cls)

    def build(self, input_shape) -> None:
        super().build(input_shape)
        channels = (1, 3) if self._grey_too else (3,)
        if self._rgb_only and input_shape[-1] is not None and input_shape[-1] not in channels:
            wanted = "RGB or greyscale images (3 or 1 channels)" if self._grey_too else \
                "RGB images (3 channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}' expects {wanted}, got "
                             f"shape {tuple(input_shape)}")

    def draw(self, m: int) -> dict:
        return {"factor": self.rng().uniform(*self.factor, m)}

    def apply(self, x, transformation: dict):
        """``(y, backward)`` for the batch ``x`` under the drawn ``transformation``."""
        raise NotImplementedError

    def _augment(self, x):
        return self.apply(x, self.draw(x.shape[0]))


@register
class RandomColorDegeneration(_ColorLayer):
    """Blend each RGB image towards its greyscale version: ``x + f * (grey - x)``, ``f``
    drawn per image from ``factor`` (``f`` means ``(-f, f)`` within ``[-1, 1]``, as Keras'
    code does), then clipped to ``value_range``; a greyscale image (one channel) is its own
    grey, so it is only clipped. Training only."""

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    _rgb_only = True
    _grey_too = True  # Keras' greyscale of one channel is itself: only the clipping is left

    def apply(self, x, transformation):
        m = x.shape[0]
        f = _per_image(transformation["factor"], m, x.dtype)
        weights = np.asarray(LUMA if x.shape[-1] == 3 else (1.0,), dtype=x.dtype)
        grey = (x @ weights)[..., None]
        y, inside = _clip_with_mask(x + f * (grey - x), self.value_range, x.dtype)

        def backward(dy):
            g = dy * inside
            return g * (1 - f) + (f * g).sum(axis=-1, keepdims=True) * weights

        return y, backward


@register
class RandomHue(_ColorLayer):
    """Turn the hue of each RGB image by ``±f / 2`` of the colour circle, ``f`` drawn from
    ``factor`` (``(0, f)`` within ``[0, 1]``) and the sign by a coin (Keras' draw). The image
    is mapped from ``value_range`` to [0, 1], turned in HSV, clipped and mapped back. Training
    only; no gradient."""

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    _bounds = (0.0, 1.0)
    _rgb_only = True

    def draw(self, m):
        rng = self.rng()
        sign = np.where(rng.random(m) > 0.5, -1.0, 1.0)
        return {"factor": sign * rng.uniform(*self.factor, m) * 0.5}

    def apply(self, x, transformation):
        m = x.shape[0]
        unit = to_range(x, self.value_range, (0.0, 1.0))
        hsv = _hsv_of(unit)
        hue = hsv[..., 0] + np.asarray(transformation["factor"], x.dtype).reshape(m, 1, 1)
        hue = np.where(hue > 1.0, hue - 1.0, hue)
        hsv[..., 0] = np.where(hue < 0.0, hue + 1.0, hue)
        rgb = np.clip(_rgb_of(hsv), 0.0, 1.0)
        return to_range(rgb, (0.0, 1.0), self.value_range), no_gradient("RandomHue")


@register
class RandomSaturation(_ColorLayer):
    """Scale the HSV saturation of each RGB image by ``f / (1 - f)``, ``f`` drawn from
    ``factor`` (``f`` means ``(-f, f)`` within ``[-1, 1]``, as Keras' code does; 0.5 keeps the
    image, 0 makes it grey, 1 fully saturated). As Keras, the HSV conversion reads the values
    as they are and the scaled saturation is clipped to ``value_range``. Training only; no
    gradient."""

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    _rgb_only = True

    def draw(self, m):
        f = self.rng().uniform(*self.factor, m)
        return {"factor": f / (1 - f + _settings.epsilon())}

    def apply(self, x, transformation):
        m = x.shape[0]
        hsv = _hsv_of(x)
        scale = np.asarray(transformation["factor"], x.dtype).reshape(m, 1, 1)
        hsv[..., 1] = np.clip(hsv[..., 1] * scale, *self.value_range)
        return _rgb_of(hsv), no_gradient("RandomSaturation")


@register
class Solarization(_ColorLayer):
    """Solarize: on the 0-255 scale, add ``a`` (clipped to [0, 255]) and invert the values at
    or above the threshold ``t`` (``255 - v``). ``a`` is drawn from ``addition_factor``,
    ``t`` from ``threshold_factor`` as Keras draws them: uniform in ``(lower, upper * 255)``
    (a number ``f`` is ``(0, f)``, within [0, 1]). The defaults (0, 0) invert every value.
    Training only; the gradient is exact (``±1`` where the addition was not clipped)."""

    config_list_keys = ("addition_factor", "threshold_factor", "value_range")

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        _RandomLayer.__init__(self, seed=seed, **kwargs)
        cls = type(self).__name__
        self.addition_factor = keras_factor(addition_factor, (0.0, 1.0), cls,
                                            "addition_factor")
        self.threshold_factor = keras_factor(threshold_factor, (0.0, 1.0), cls,
                                             "threshold_factor")
        self.value_range = _value_range(value_range, cls)

    def draw(self, m):
        rng = self.rng()
        additions = rng.uniform(self.addition_factor[0], self.addition_factor[1] * 255, m)
        thresholds = rng.uniform(self.threshold_factor[0], self.threshold_factor[1] * 255, m)
        return {"additions": additions, "thresholds": thresholds}

    def apply(self, x, transformation):
        m = x.shape[0]
        scaled = to_range(x, self.value_range, (0.0, 255.0))
        added, inside = _clip_with_mask(
            scaled + _per_image(transformation["additions"], m, x.dtype), (0.0, 255.0),
            x.dtype)
        kept = added < _per_image(transformation["thresholds"], m, x.dtype)
        y = to_range(np.where(kept, added, 255 - added), (0.0, 255.0), self.value_range)

        def backward(dy):
            return np.where(kept, dy, -dy) * inside

        return y.astype(x.dtype, copy=False), backward


@register
class RandomPosterization(_ColorLayer):
    """Keep only the top ``b`` bits of each 8-bit value (on the 0-255 scale, truncated to an
    integer first, as Keras' cast does), ``b`` drawn per image from ``factor``: an int in [1,
    8] means bits in ``[1, factor)`` (Keras' ``randint``, upper bound excluded), a pair
    ``(lower, upper)`` likewise, and equal bounds fix it. Training only; no gradient."""

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    _bounds = (1, 8)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range=value_range, data_format=data_format, seed=seed,
                         **kwargs)
        if any(v != int(v) for v in self.factor):
            raise ValueError(f"RandomPosterization: factor must be a number of bits (ints in "
                             f"[1, 8]), got {factor!r}")
        self.factor = tuple(int(v) for v in self.factor)

    def draw(self, m):
        lower, upper = (int(v) for v in self.factor)
        bits = (np.full(m, lower) if lower == upper
                else self.rng().integers(lower, upper, m))
        return {"shift_factor": 8 - bits}

    def apply(self, x, transformation):
        m = x.shape[0]
        shift = np.asarray(transformation["shift_factor"], np.uint8).reshape(m, 1, 1, 1)
        scaled = to_range(x, self.value_range, (0.0, 255.0))
        # out-of-range values have no defined uint8 cast; keep them in [0, 255] first
        values = np.clip(scaled, 0, 255).astype(np.uint8)
        values = (values >> shift) << shift
        y = to_range(values.astype(x.dtype), (0.0, 255.0), self.value_range)
        return y, no_gradient("RandomPosterization")


@register
class AutoContrast(_ImageLayer):
    """Stretch each channel of each image to the whole ``value_range``: its minimum goes to
    the low end, its maximum to the high end (a constant channel is kept). Applied in training
    and at inference, as Keras does. The gradient is exact, including the moves of the
    minimum and maximum (ties: the first one)."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras
    _mode_when_unset = True  # Keras 3: call(data, training=True); model(x) passes it on

    config_list_keys = ("value_range",)

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range, type(self).__name__)

    def _transform(self, x, training):
        low_end, high_end = self.value_range
        m, n_H, n_W, n_C = x.shape
        flat = x.reshape(m, n_H * n_W, n_C)
        first_min, first_max = flat.argmin(axis=1), flat.argmax(axis=1)
        low = np.take_along_axis(flat, first_min[:, None], axis=1)[:, :, None]
        high = np.take_along_axis(flat, first_max[:, None], axis=1)[:, :, None]
        spread = (high - low).reshape(m, 1, 1, n_C)
        flat_channel = spread == 0
        scale = (high_end - low_end) / np.where(flat_channel, 1, spread)
        low = low.reshape(m, 1, 1, n_C)
        unit = (x - low) / np.where(flat_channel, 1, spread)
        # the output in Keras' order of operations (on the 0-255 scale: x * s - low * s),
        # so that values land in the same float32 bins as Keras' (Equalization after it)
        scaled = to_range(x, self.value_range, (0.0, 255.0))
        low255 = to_range(low, self.value_range, (0.0, 255.0))
        s255 = x.dtype.type(255) / np.where(flat_channel, 1, to_range(
            low + spread, self.value_range, (0.0, 255.0)) - low255)
        stretched = to_range(np.clip(scaled * s255 + (-low255 * s255), 0, 255), (0.0, 255.0),
                             self.value_range)
        y = np.where(flat_channel, x, stretched)

        def backward(dy):
            g = np.where(flat_channel, 0, dy * scale)
            # the minimum moves every output by -scale * (1 - unit), the maximum by
            # -scale * unit
            d_low = -(g * (1 - unit)).sum(axis=(1, 2))
            d_high = -(g * unit).sum(axis=(1, 2))
            dx = np.where(flat_channel, dy, g).reshape(m, n_H * n_W, n_C)
            rows, channels = np.arange(m)[:, None], np.arange(n_C)[None, :]
            np.add.at(dx, (rows, first_min, channels), d_low)
            np.add.at(dx, (rows, first_max, channels), d_high)
            return dx.reshape(x.shape)

        return y.astype(x.dtype, copy=False), backward


@register
class Equalization(_RandomLayer):
    """Histogram equalization of each channel, as Keras computes it: on the 0-255 scale the
    channel's values (of the whole batch together) fall into ``bins`` bins, and each value is
    replaced by its bin's rounded cumulative share of ``255``. A channel whose values fill one
    bin is kept. Training only (Keras' layer too); no seed (nothing is drawn); no
    gradient."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    config_keys = _ImageLayer.config_keys + ("bins",)
    config_list_keys = ("value_range",)

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.value_range = _value_range(value_range, cls)
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ValueError(f"{cls}: bins must be an int >= 2, got {bins!r}")
        self.bins = int(bins)

    def _augment(self, x):
        scaled = to_range(x, self.value_range, (0.0, 255.0)).astype(np.float32)
        channels = [self._equalize(scaled[..., c]) for c in range(x.shape[-1])]
        y = to_range(np.stack(channels, axis=-1).astype(x.dtype), (0.0, 255.0),
                     self.value_range)
        return y, no_gradient("Equalization")

    def _equalize(self, channel):
        bins = self.bins
        index = np.clip((channel * np.float32(bins - 1) / np.float32(255)).astype(np.int32),
                        0, bins - 1)
        hist = np.bincount(index.ravel(), minlength=bins)
        if np.count_nonzero(hist) <= 1:
            return channel
        cdf = np.cumsum(hist)
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        denominator = max(cdf[-1] - cdf_min, 1)
        table = np.clip(np.round((cdf - cdf_min) * 255 / denominator), 0, 255)
        lookup = np.clip(channel / np.float32(255) * np.float32(bins - 1), 0, bins - 1)
        return table[lookup.astype(np.int32)].astype(np.float32)



def _keras_to_range(x, source, target):
    """`to_range` in Keras' order of operations (through [0, 1]), in float32: CLAHE truncates
    the result to integer bins, so the rounding must be Keras'."""
    x = x.astype(np.float32, copy=False)
    if tuple(source) == tuple(target):
        return x
    low, high = np.float32(source[0]), np.float32(source[1])
    unit = (x - low) / (high - low)
    return unit * (np.float32(target[1]) - np.float32(target[0])) + np.float32(target[0])


def _grid_size(tile_grid_size, layer: str) -> tuple[int, int]:
    if not (isinstance(tile_grid_size, (tuple, list)) and len(tile_grid_size) == 2 and all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
            for n in tile_grid_size)):
        raise ValueError(f"{layer}: tile_grid_size must be a pair of positive ints (rows, "
                         f"columns of tiles), got {tile_grid_size!r}")
    return int(tile_grid_size[0]), int(tile_grid_size[1])


def clahe(images, grid: tuple[int, int], clip_limit: float) -> np.ndarray:
    """Keras 3's CLAHE of float32 ``images`` ``(m, n_H, n_W, n_C)`` on the 0-255 scale.

    The image is cut into ``grid`` tiles of ``ceil(n_H / rows) x ceil(n_W / columns)`` pixels
    (padded at the bottom and right by mirroring, edge included); each tile and channel
    counts its pixels in 256 integer bins (values truncated, clipped to [0, 255]); counts
    above ``clip_limit * tile pixels / 256`` are cut and their excess spread evenly over all
    bins (``clip_limit`` 0: no cut); the tile's lookup table is its cumulative count,
    ``(cdf - cdf[0]) * 255 / (tile pixels - cdf[0])`` (a denominator of 0 counts as 1).
    Every pixel then reads the tables of the four tiles whose centres surround it, weighted
    bilinearly (tiles beyond the border repeat the edge tiles)."""
    m, n_H, n_W, n_C = images.shape
    rows, cols = grid
    tile_h, tile_w = -(-n_H // rows), -(-n_W // cols)
    padded = np.pad(images, ((0, 0), (0, tile_h * rows - n_H), (0, tile_w * cols - n_W),
                             (0, 0)), mode="symmetric")
    bins = np.clip(np.trunc(padded), 0, 255).astype(np.int64)
    # the tile each pixel lies in, and a flat (image, tile row, tile column, channel, bin)
    tile_row = np.arange(tile_h * rows) // tile_h
    tile_col = np.arange(tile_w * cols) // tile_w
    tile = (np.arange(m)[:, None, None, None] * rows + tile_row[None, :, None, None]) * cols \
        + tile_col[None, None, :, None]
    flat = (tile * n_C + np.arange(n_C)) * 256 + bins
    counts = np.bincount(flat.ravel(), minlength=m * rows * cols * n_C * 256)
    hist = counts.reshape(m, rows, cols, n_C, 256).astype(np.float32)
    pixels = tile_h * tile_w
    if clip_limit > 0:
        limit = np.float32(clip_limit * pixels / 256.0)
        clipped = np.minimum(hist, limit)
        excess = (hist - clipped).sum(axis=-1, keepdims=True, dtype=np.float32)
        hist = clipped + excess / np.float32(256)
    cdf = np.cumsum(hist, axis=-1, dtype=np.float32)
    cdf_min = cdf[..., :1]
    denominator = np.float32(pixels) - cdf_min
    denominator = np.where(denominator == 0, np.float32(1), denominator)
    table = np.clip((cdf - cdf_min) * np.float32(255) / denominator, 0, 255)
    table = np.pad(table, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

    def neighbours(size, tile_size, count):
        # the padded tables' index of the tile centre before each pixel, and the weight of
        # the one after it
        grid_pos = (np.arange(size, dtype=np.float32) - np.float32(tile_size / 2.0)) \
            / np.float32(tile_size) + np.float32(1)
        low = np.floor(grid_pos)
        return (np.clip(low, 0, count + 1).astype(np.int64),
                np.clip(low + 1, 0, count + 1).astype(np.int64), grid_pos - low)

    y0, y1, wy = neighbours(tile_h * rows, tile_h, rows)
    x0, x1, wx = neighbours(tile_w * cols, tile_w, cols)
    batch = np.arange(m)[:, None, None, None]
    channel = np.arange(n_C)[None, None, None, :]

    def read(r, c):
        return table[batch, r[None, :, None, None], c[None, None, :, None], channel, bins]

    wx, wy = wx[None, None, :, None], wy[None, :, None, None]
    top = read(y0, x0) * (1 - wx) + read(y0, x1) * wx
    bottom = read(y1, x0) * (1 - wx) + read(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy)[:, :n_H, :n_W]


@register
class ContrastLimitedAdaptiveHistogramEqualization(_ImageLayer):
    """Keras 3's CLAHE: histogram equalization per tile of a ``tile_grid_size`` grid (default
    ``(8, 8)``), counts limited by ``clip_limit`` (default 4.0; 0 turns the limit off), the
    tiles' tables blended bilinearly (see `clahe`). Values are read on ``value_range``
    (default ``(0, 255)``, mapped to 256 integer bins). Nothing is drawn: applied in training
    and at inference, as Keras does. No gradient (the output is piecewise constant in each
    pixel)."""

    _mode_when_unset = True  # Keras 3: call(data, training=True); model(x) passes it on

    config_keys = _ImageLayer.config_keys + ("clip_limit",)
    config_list_keys = ("value_range", "tile_grid_size")

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.value_range = _value_range(value_range, cls)
        self.clip_limit = _utils.number(clip_limit, "clip_limit", cls)
        if self.clip_limit < 0:
            raise ValueError(f"{cls}: clip_limit must be >= 0 (0: no limit), got "
                             f"{clip_limit!r}")
        self.tile_grid_size = _grid_size(tile_grid_size, cls)

    def _transform(self, x, training):
        scaled = _keras_to_range(x, self.value_range, (0.0, 255.0))
        y = clahe(scaled, self.tile_grid_size, self.clip_limit)
        y = _keras_to_range(y, (0.0, 255.0), self.value_range)
        return y.astype(x.dtype, copy=False), no_gradient(type(self).__name__)


def smooth3x3(x):
    """Keras' sharpness blur: every pixel becomes ``(5 * centre + its 8 neighbours) / 13``,
    zeros outside the image ('same' padding). The kernel is symmetric, so this is also its
    own transpose (the backward pass)."""
    _, n_H, n_W, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    total = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            total += padded[:, i:i + n_H, j:j + n_W]
    return (total + 4 * x) / x.dtype.type(13)


@register
class RandomSharpness(_ColorLayer):
    """Sharpen or blur each image: ``y = s * x + (1 - s) * blur(x)`` with ``s = 2 f``, ``f``
    drawn from ``factor`` (``(0, f)`` within [0, 1]; 0.5 keeps the image, 0 blurs, 1
    sharpens), ``blur`` Keras' 3x3 kernel (centre 5/13, neighbours 1/13), then clipped to
    ``value_range``. Training only; the gradient is exact."""

    _bounds = (0.0, 1.0)

    def apply(self, x, transformation):
        m = x.shape[0]
        sharp = _per_image(np.asarray(transformation["factor"]) * 2, m, x.dtype)
        y, inside = _clip_with_mask(x + (1 - sharp) * (smooth3x3(x) - x), self.value_range,
                                    x.dtype)

        def backward(dy):
            g = dy * inside
            return sharp * g + (1 - sharp) * smooth3x3(g)

        return y, backward




def gaussian_kernel(kernel_size: tuple[int, int], sigma, dtype) -> np.ndarray:
    """Keras' blur kernel: normalized 1-D Gaussians ``g_x`` (``kernel_size[0]`` taps,
    ``sigma[0]``) and ``g_y`` (``kernel_size[1]``, ``sigma[1]``), their outer product
    ``g_y g_x^T`` laid out as ``(kernel_size[0], kernel_size[1])`` as Keras reshapes it."""

    def taps(size, s):
        offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
        g = np.exp(-0.5 * (offsets / s) ** 2)
        return g / g.sum()

    g_x = taps(kernel_size[0], float(sigma[0]))
    g_y = taps(kernel_size[1], float(sigma[1]))
    return np.outer(g_y, g_x).reshape(kernel_size).astype(dtype)


def filter_same(x, kernel, transpose: bool = False):
    """Each channel correlated with the 2-D ``kernel``, zeros outside ('same' padding, extra
    row/column at the bottom/right when the kernel is even, as TensorFlow); ``transpose``
    gives the adjoint (the backward pass)."""
    k_h, k_w = kernel.shape
    top, left = (k_h - 1) // 2, (k_w - 1) // 2
    _, n_H, n_W, _ = x.shape
    if transpose:
        kernel = kernel[::-1, ::-1]
        top, left = k_h - 1 - top, k_w - 1 - left
    padded = np.pad(x, ((0, 0), (top, k_h - 1 - top), (left, k_w - 1 - left), (0, 0)))
    out = np.zeros_like(x)
    for i in range(k_h):
        for j in range(k_w):
            out += kernel[i, j] * padded[:, i:i + n_H, j:j + n_W]
    return out


def _odd_sizes(kernel_size, layer: str) -> tuple[int, int]:
    sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
    if len(sizes) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
            and s % 2 == 1 for s in sizes):
        raise ValueError(f"{layer}: kernel_size must be an odd positive int or a pair of "
                         f"them, got {kernel_size!r}")
    return int(sizes[0]), int(sizes[1])


@register
class RandomGaussianBlur(_ColorLayer):
    """Blur some images with a Gaussian kernel. Each image is blurred with a probability drawn
    from ``factor`` (``(0, f)`` within [0, 1]; the default 1.0 draws it from (0, 1)); one
    ``(sigma_x, sigma_y)`` pair per batch is drawn from ``sigma`` (``(0, s)`` within [0, 1],
    as Keras bounds it, plus 1e-6); ``kernel_size`` is odd (an int or a pair). Zeros outside
    the image, then clipped to ``value_range``. Training only; the gradient is exact."""

    _bounds = (0.0, 1.0)
    config_list_keys = ("factor", "kernel_size", "sigma", "value_range")

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(factor, value_range=value_range, data_format=data_format, seed=seed,
                         **kwargs)
        cls = type(self).__name__
        self.kernel_size = _odd_sizes(kernel_size, cls)
        self.sigma = keras_factor(sigma, (0.0, 1.0), cls, "sigma")

    def draw(self, m):
        rng = self.rng()
        probability = rng.uniform(*self.factor, m)
        apply = rng.random(m) < probability
        return {"should_apply_blur": apply,
                "blur_factor": rng.uniform(*self.sigma, 2) + 1e-6}

    def apply(self, x, transformation):
        m = x.shape[0]
        kernel = gaussian_kernel(self.kernel_size, transformation["blur_factor"], x.dtype)
        chosen = np.asarray(transformation["should_apply_blur"], bool).reshape(m, 1, 1, 1)
        raw = np.where(chosen, filter_same(x, kernel), x)
        y, inside = _clip_with_mask(raw, self.value_range, x.dtype)

        def backward(dy):
            g = dy * inside
            return np.where(chosen, filter_same(g, kernel, transpose=True), g)

        return y, backward



@register
class RandomColorJitter(_RandomLayer):
    """Keras 3's colour jitter: `RandomBrightness`, `RandomContrast`, `RandomSaturation` and
    `RandomHue`, in that order, each with its ``*_factor`` (None, the default, skips it) and
    the shared ``value_range``; all draw from this layer's ``seed`` (or the global
    generator). Training only. The gradient is exact when only brightness and contrast are
    used; saturation or hue make it unavailable (`LookupError`)."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    config_keys = _RandomLayer.config_keys
    config_list_keys = ("value_range", "brightness_factor", "contrast_factor",
                        "saturation_factor", "hue_factor")

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        from convnp.layers.augmentation import RandomBrightness
        from convnp.layers.preprocessing import RandomContrast

        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _value_range(value_range, type(self).__name__)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        steps = ((RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor))
        # each part checks its own factor (errors name the part's class)
        self._parts = [cls(factor, value_range=self.value_range, dtype=self.dtype.name)
                       for cls, factor in steps if factor is not None]

    def build(self, input_shape) -> None:
        super().build(input_shape)
        for part in self._parts:
            part.build(input_shape)

    def _augment(self, x):
        backwards = []
        for part in self._parts:
            part._generator = self._generator  # None: the global generator, as this layer
            x, backward = part._augment(x)
            backwards.append(backward)

        def backward(dy):
            for step in reversed(backwards):
                dy = step(dy)
            return dy

        return x, backward


COLOR_LAYERS = (RandomColorDegeneration, RandomHue, RandomSaturation, Solarization,
                RandomPosterization, AutoContrast, Equalization, RandomSharpness,
                RandomGaussianBlur, RandomColorJitter,
                ContrastLimitedAdaptiveHistogramEqualization)
