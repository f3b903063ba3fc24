"""Keras 3's geometric and region augmentations: `RandomShear`, `RandomErasing`,
`RandomPerspective`, `RandomElasticTransform`.

Same conventions as `convnp.layers.preprocessing` (NHWC, training only, one draw per image
from the layer's ``seed`` generator or `convnp.random.generator()`); arguments, defaults,
bounds and draws as Keras 3.15's code. All pass an exact input gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.augmentation import _value_range
from convnp.layers.augmentation_color import filter_same, gaussian_kernel, keras_factor
from convnp.layers.preprocessing import (
    _affine,
    _AffineLayer,
    _choice,
    _RandomLayer,
    _resampling_interpolation,
)
from convnp.layers.registry import register
from convnp.ops import image as image_ops


@register
class RandomShear(_AffineLayer):
    """Shear each image: an output pixel ``(x, y)`` samples the input at ``(x + s_x y,
    s_y x + y)``. ``s_x`` is drawn from ``x_factor``, ``s_y`` from ``y_factor`` (a number
    ``f`` in [0, 1] means ``(-f, f)``; a pair ``(lower, upper)`` within [-1, 1]; the config
    keeps the argument as given, so Keras can read a convnp-written file), and both
    change sign together by a coin, as Keras draws them. ``fill_mode`` (default
    ``"reflect"``), ``fill_value`` and ``interpolation`` as `RandomRotation`. Training only."""

    config_list_keys = ("x_factor", "y_factor")

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.x_factor = self._shear_range(x_factor, "x_factor", cls)
        self.y_factor = self._shear_range(y_factor, "y_factor", cls)
        # the config keeps the arguments as given: Keras writes (-f, f), which its own
        # constructor then refuses, so a .keras file with a number would not load in Keras
        self._given_factors = {"x_factor": x_factor, "y_factor": y_factor}

    @staticmethod
    def _shear_range(factor, name, cls):
        # a number f in [0, 1] is (-f, f); pairs may be negative here (Keras refuses them,
        # and so cannot rebuild its own config of a number: this layer can)
        if isinstance(factor, (tuple, list)):
            return keras_factor(factor, (-1.0, 1.0), cls, name)
        upper = keras_factor(factor, (0.0, 1.0), cls, name)[1]
        return -upper, upper

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({key: list(value) if isinstance(value, (tuple, list)) else value
                       for key, value in self._given_factors.items()})
        return config

    def draw(self, m: int) -> dict:
        rng = self.rng()
        sign = np.where(rng.random(m) > 0.5, -1.0, 1.0)
        shear_y = rng.uniform(*self.y_factor, m)
        shear_x = rng.uniform(*self.x_factor, m)
        return {"shear_factor": np.stack([shear_x, shear_y], axis=1) * sign[:, None]}

    def transforms_for(self, transformation: dict) -> np.ndarray:
        shear = np.asarray(transformation["shear_factor"], dtype=np.float64)
        return _affine(shear.shape[0], xy=shear[:, 0], yx=shear[:, 1])

    def apply(self, x, transformation: dict):
        """``(y, backward)`` for the batch ``x`` under a given ``transformation``."""
        self._given = transformation
        try:
            return self._augment(x)
        finally:
            self._given = None

    _given = None

    def _transforms(self, m, n_H, n_W):
        return self.transforms_for(self._given if self._given is not None else self.draw(m))


def erase_masks(shape, x0, x1, y0, y1) -> np.ndarray:
    """``(m, n_H, n_W, 1)`` booleans: pixel ``(row, col)`` of image ``i`` lies in
    ``x0[i] <= col < x1[i]`` and ``y0[i] <= row < y1[i]`` (float corners, as Keras)."""
    _, n_H, n_W, _ = shape

    def corner(v):
        return np.asarray(v, dtype=np.float64).reshape(-1, 1, 1, 1)

    cols = np.arange(n_W).reshape(1, 1, n_W, 1)
    rows = np.arange(n_H).reshape(1, n_H, 1, 1)
    return ((cols >= corner(x0)) & (cols < corner(x1)) & (rows >= corner(y0))
            & (rows < corner(y1)))


@register
class RandomErasing(_RandomLayer):
    """Erase a random rectangle of some images. Each image is erased with a probability drawn
    from ``factor`` (``(0, f)`` within [0, 1]); the rectangle's sides are ``sqrt(u)`` of the
    width and height, ``u`` drawn from ``scale`` (default ``(0.02, 0.33)``), at a uniform
    position inside the image. The rectangle is filled with ``fill_value`` (a number, or three
    numbers for the channels) or, when it is None (default), with Gaussian noise times the top
    of ``value_range``; the fill is clipped to ``value_range``. Training only; the gradient
    passes outside the erased rectangles."""

    _moves_no_pixel = True  # boxes and masks of a dict pass unchanged, as Keras

    config_list_keys = ("factor", "scale", "value_range")
    config_keys = _RandomLayer.config_keys + ("fill_value",)

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.scale = keras_factor(scale, (0.0, 1.0), cls, "scale")
        if fill_value is not None:
            if isinstance(fill_value, (tuple, list)):
                if len(fill_value) != 3:
                    raise ValueError(f"{cls}: fill_value must be None, a number or three "
                                     f"numbers, got {fill_value!r}")
                fill_value = [_utils.number(v, "fill_value", cls) for v in fill_value]
            else:
                fill_value = _utils.number(fill_value, "fill_value", cls)
        self.fill_value = fill_value
        self.value_range = _value_range(value_range, cls)

    def draw(self, shape) -> dict:
        m, n_H, n_W, _ = shape
        rng = self.rng()
        sides = np.sqrt(rng.uniform(*self.scale, (m, 2)))

        def bounds(length, ratio):
            size = ratio * length
            start = rng.random(m) * (length - size)
            return start, start + size

        x0, x1 = bounds(n_W, sides[:, 0])
        y0, y1 = bounds(n_H, sides[:, 1])
        probability = rng.uniform(*self.factor, m)
        apply = rng.random(m) < probability
        if self.fill_value is None:
            fill = rng.standard_normal(shape) * self.value_range[1]
        else:
            fill = np.broadcast_to(np.asarray(self.fill_value, dtype=np.float64), shape)
        return {"apply_erasing": apply, "batch_masks": erase_masks(shape, x0, x1, y0, y1),
                "fill_value": np.clip(fill, *self.value_range)}

    def apply(self, x, transformation: dict):
        m = x.shape[0]
        erased = (np.asarray(transformation["batch_masks"], bool)
                  & np.asarray(transformation["apply_erasing"], bool).reshape(m, 1, 1, 1))
        fill = np.asarray(transformation["fill_value"], dtype=x.dtype)
        y = np.where(erased, fill, x)
        return y, lambda dy: np.where(erased, 0, dy).astype(dy.dtype, copy=False)

    def _augment(self, x):
        return self.apply(x, self.draw(x.shape))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if isinstance(self.fill_value, list):
            config["fill_value"] = list(self.fill_value)
        return config



def homography(start_points, end_points) -> np.ndarray:
    """``(m, 8)`` projective transforms taking each output pixel at an ``end`` corner to the
    input pixel at the matching ``start`` corner (``(m, 4, 2)`` arrays of ``(x, y)``), in
    ``ImageProjectiveTransformV3``'s layout: ``x_in = (a0 x + a1 y + a2) / (c0 x + c1 y + 1)``
    and likewise ``y_in`` with ``b0 b1 b2``. Solves the 8 equations of the 4 corners."""
    start = np.asarray(start_points, dtype=np.float64)
    end = np.asarray(end_points, dtype=np.float64)
    m = start.shape[0]
    system = np.zeros((m, 8, 8))
    rhs = np.zeros((m, 8))
    for corner in range(4):
        ex, ey = end[:, corner, 0], end[:, corner, 1]
        sx, sy = start[:, corner, 0], start[:, corner, 1]
        system[:, 2 * corner, 0:3] = np.stack([ex, ey, np.ones(m)], axis=1)
        system[:, 2 * corner, 6:8] = np.stack([-sx * ex, -sx * ey], axis=1)
        system[:, 2 * corner + 1, 3:6] = np.stack([ex, ey, np.ones(m)], axis=1)
        system[:, 2 * corner + 1, 6:8] = np.stack([-sy * ex, -sy * ey], axis=1)
        rhs[:, 2 * corner], rhs[:, 2 * corner + 1] = sx, sy
    return np.linalg.solve(system, rhs[..., None])[..., 0]


@register
class RandomPerspective(_RandomLayer):
    """Warp some images by a random perspective. Each image is warped with a probability
    drawn from ``factor`` (``(0, f)`` within [0, 1]); its four corners move by up to
    ``scale / 2`` of their own coordinates (``scale`` in [0, 1], Keras' draw: the corner at
    ``(0, 0)`` never moves), and the image is resampled through the homography between the
    corners (``interpolation`` ``"bilinear"`` or ``"nearest"``; ``fill_value`` outside).
    Training only; the gradient is exact."""

    config_keys = _RandomLayer.config_keys + ("scale", "interpolation", "fill_value")
    config_list_keys = ("factor",)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.scale = _utils.number(scale, "scale", cls)
        if not 0.0 <= self.scale <= 1.0:
            raise ValueError(f"{cls}: scale must be a number in [0, 1], got {scale!r}")
        self.interpolation = _resampling_interpolation(interpolation, cls)
        self.fill_value = _utils.number(fill_value, "fill_value", cls)

    def draw(self, shape) -> dict:
        m, n_H, n_W, _ = shape
        rng = self.rng()
        probability = rng.uniform(*self.factor, m)
        apply = rng.random(m) < probability
        moves = rng.uniform(-0.5 * self.scale, 0.5 * self.scale, (m, 4, 2))
        corners = np.array([[0.0, 0.0], [n_W - 1, 0.0], [0.0, n_H - 1], [n_W - 1, n_H - 1]])
        start = np.broadcast_to(corners, (m, 4, 2))
        return {"apply_perspective": apply, "start_points": start,
                "end_points": start + start * moves}

    def apply(self, x, transformation: dict):
        m = x.shape[0]
        plan = image_ops.affine_plan(x.shape, homography(transformation["start_points"],
                                                         transformation["end_points"]),
                                     self.interpolation, "constant")
        chosen = np.asarray(transformation["apply_perspective"], bool).reshape(m, 1, 1, 1)
        y = np.where(chosen, image_ops.affine_apply(x, plan, self.fill_value), x)

        def backward(dy):
            warped = image_ops.affine_backward(np.where(chosen, dy, 0), plan)
            return np.where(chosen, warped, dy)

        return y.astype(x.dtype, copy=False), backward

    def _augment(self, x):
        return self.apply(x, self.draw(x.shape))



@register
class RandomElasticTransform(_RandomLayer):
    """Distort some images by a smooth random displacement field. Each image is distorted
    with a probability drawn from ``factor`` (``(0, f)`` within [0, 1]); one strength ``d``
    per batch is drawn from ``scale`` (``(0, s)`` within [0, 1]). As Keras 3 computes it,
    ``alpha = 0.1 d max(height, width)`` and ``sigma = 0.05 d min(height, width)``; each
    image gets two standard-normal fields (column and row moves) times ``sigma``, blurred by
    a Gaussian of ``sigma`` over ``6 int(sigma) + 1`` taps (zeros outside), and output pixel
    ``(x, y)`` reads the input at ``(x + alpha dx, y + alpha dy)`` (``interpolation``
    ``"bilinear"`` or ``"nearest"``; ``fill_mode`` as Keras' ``map_coordinates``:
    ``"reflect"`` (default), ``"mirror"``, ``"wrap"``, ``"nearest"`` or ``"constant"`` with
    ``fill_value``). The result is clipped to ``value_range``. ``factor`` or ``scale`` 0
    leaves the images as they are. Training only; the gradient is exact.

    Keras' TensorFlow and JAX backends draw the column and row fields from one seed, so they
    are equal (every pixel moves along the diagonal); convnp draws them independently, as
    its NumPy and PyTorch backends do.
    """

    config_keys = _RandomLayer.config_keys + ("interpolation", "fill_mode", "fill_value")
    config_list_keys = ("factor", "scale", "value_range")

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.scale = keras_factor(scale, (0.0, 1.0), cls, "scale")
        self.interpolation = _resampling_interpolation(interpolation, cls)
        self.fill_mode = _choice(fill_mode, image_ops.TAP_FILL_MODES, "fill_mode", cls)
        self.fill_value = _utils.number(fill_value, "fill_value", cls)
        self.value_range = _value_range(value_range, cls)

    def draw(self, shape) -> dict | None:
        """The batch's transformation: which images move, the strength, the two noise
        fields ``(m, n_H, n_W)``; None when ``factor`` or ``scale`` is 0 (Keras' rule)."""
        if self.factor[1] == 0 or self.scale[1] == 0:
            return None
        m, n_H, n_W, _ = shape
        rng = self.rng()
        probability = rng.uniform(*self.factor, m)
        return {"apply_transform": rng.random(m) < probability,
                "distortion_factor": rng.uniform(*self.scale),
                "noise_x": rng.standard_normal((m, n_H, n_W)),
                "noise_y": rng.standard_normal((m, n_H, n_W))}

    @staticmethod
    def displacement(shape, transformation: dict):
        """``(dx, dy)``: how far (in pixels, ``(m, n_H, n_W)`` float32 each) every output
        pixel reads from its own place, column and row."""
        _, n_H, n_W, _ = shape
        d = np.float32(transformation["distortion_factor"])
        alpha = np.float32(max(n_H, n_W)) * (np.float32(0.1) * d)
        sigma = np.float32(min(n_H, n_W)) * (np.float32(0.05) * d)
        taps = 6 * int(sigma) | 1
        moves = []
        for key in ("noise_x", "noise_y"):
            field = (np.asarray(transformation[key], np.float32) * sigma)[..., None]
            if taps > 1:  # the 2-D Gaussian is separable: columns, then rows
                for size in ((taps, 1), (1, taps)):
                    field = filter_same(field, gaussian_kernel(size, (sigma, sigma),
                                                               np.float32))
            moves.append(alpha * field[..., 0])
        return moves[0], moves[1]

    def apply(self, x, transformation: dict | None):
        """``(y, backward)`` for the batch ``x`` under a given ``transformation``."""
        if transformation is None:
            return self._inference(x)
        m, n_H, n_W, _ = x.shape
        dx, dy = self.displacement(x.shape, transformation)
        rows, cols = np.meshgrid(np.arange(n_H, dtype=np.float32),
                                 np.arange(n_W, dtype=np.float32), indexing="ij")
        plan = image_ops.tap_plan(x.shape, (cols + dx).reshape(m, -1),
                                  (rows + dy).reshape(m, -1), self.interpolation,
                                  self.fill_mode)
        chosen = np.asarray(transformation["apply_transform"], bool).reshape(m, 1, 1, 1)
        raw = np.where(chosen, image_ops.affine_apply(x, plan, self.fill_value), x)
        low, high = self.value_range
        inside = (raw >= low) & (raw <= high)
        y = np.clip(raw, low, high).astype(x.dtype, copy=False)

        def backward(grad):
            g = grad * inside
            return np.where(chosen, image_ops.affine_backward(np.where(chosen, g, 0), plan), g)

        return y, backward

    def _augment(self, x):
        return self.apply(x, self.draw(x.shape))


GEOMETRY_LAYERS = (RandomShear, RandomErasing, RandomPerspective,
                   RandomElasticTransform)
