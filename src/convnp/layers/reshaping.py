"""Layers that change the height and width of NHWC images without weights: `ZeroPadding2D`,
`Cropping2D` and `UpSampling2D`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register
from convnp.ops import resize


@register
class ZeroPadding2D(FixedRankLayer):
    """Add rows and columns of zeros around every image.

    Args:
        padding: an int (all four sides), ``(pad_h, pad_w)`` (symmetric), or
            ``((top, bottom), (left, right))``. Default ``(1, 1)``.
        data_format: only ``"channels_last"`` (or ``None``).
        **kwargs: `Layer` arguments.

    Shape:
        Input: ``(m, n_H, n_W, n_C)``.
        Output: ``(m, top + n_H + bottom, left + n_W + right, n_C)``.

    Caches nothing but the geometry; the gradient is the matching slice of ``dy`` (a view).

    >>> import numpy as np
    >>> tuple(ZeroPadding2D(3)(np.ones((1, 64, 64, 3), dtype="float32")).shape)
    (1, 70, 70, 3)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("padding", "data_format")

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _utils.border_pads(padding, ("height", "width"), "ZeroPadding2D",
                                          "padding")
        self.data_format = _utils.channels_last(data_format, type(self).__name__)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        (top, bottom), (left, right) = self.padding
        n_H, n_W = input_shape[1:3]
        return (input_shape[0],
                None if n_H is None else n_H + top + bottom,
                None if n_W is None else n_W + left + right,
                input_shape[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        (top, bottom), (left, right) = self.padding
        m, n_H, n_W, n_C = x.shape
        y = np.zeros((m, n_H + top + bottom, n_W + left + right, n_C), dtype=self.dtype)
        y[:, top:top + n_H, left:left + n_W, :] = x
        self._cache = (n_H, n_W)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        n_H, n_W = self.take_cache()
        (top, _), (left, _) = self.padding
        return _utils.as_dtype(dy, self.dtype)[:, top:top + n_H, left:left + n_W, :]


def _image_rank(layer, input_shape) -> None:
    _utils.check_rank(input_shape, 4, type(layer).__name__, "(batch, height, width, channels)")


@register
class Cropping2D(Layer):
    """Cut rows and columns off the borders of every image (the inverse of `ZeroPadding2D`).

    Args:
        cropping: an int (all four sides), ``(crop_h, crop_w)`` (symmetric), or
            ``((top, bottom), (left, right))``. Default: nothing cropped.
        data_format: only ``"channels_last"`` (or ``None``).

    Shape:
        Input ``(m, n_H, n_W, n_C)``; output ``(m, n_H - top - bottom, n_W - left - right,
        n_C)`` (must be at least 1 by 1).

    The output is a copy; backward places ``dy`` in a zero gradient of the input's shape.

    >>> import numpy as np
    >>> tuple(Cropping2D(((2, 2), (4, 4)))(np.ones((1, 28, 28, 3), dtype="float32")).shape)
    (1, 24, 20, 3)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("cropping", "data_format")

    def __init__(self, cropping=((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _utils.border_pads(cropping, ("height", "width"), "Cropping2D",
                                           "cropping")
        self.data_format = _utils.channels_last(data_format, type(self).__name__)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=4)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        _image_rank(self, input_shape)
        return _utils.cropped_shape(self, input_shape)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        _, h, w = self.compute_output_shape(x.shape)[:3]
        (top, _), (left, _) = self.cropping
        self._cache = x.shape
        return x[:, top:top + h, left:left + w].copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        (top, _), (left, _) = self.cropping
        dx = np.zeros(shape, dtype=self.dtype)
        dx[:, top:top + dy.shape[1], left:left + dy.shape[2]] = dy
        return dx


@register
class UpSampling2D(Layer):
    """Enlarge every image by integer factors, repeating pixels or blending them.

    Args:
        size: an int or ``(f_h, f_w)``, the factors. Default ``(2, 2)``.
        data_format: only ``"channels_last"`` (or ``None``).
        interpolation: ``"nearest"`` (each pixel repeated ``f_h * f_w`` times),
            ``"bilinear"`` (half-pixel centres, as TensorFlow's ``tf.image.resize`` and so
            Keras compute it), or Keras's others, ``"bicubic"``, ``"lanczos3"``,
            ``"lanczos5"``, ``"area"`` (``tf.image.resize``'s weights, no antialiasing); any
            case (``"Bilinear"``), as Keras lowers it.

    Shape:
        Input ``(m, n_H, n_W, n_C)``; output ``(m, f_h * n_H, f_w * n_W, n_C)``.

    Caches nothing; backward is the adjoint of the resize (`convnp.ops.resize`).

    >>> import numpy as np
    >>> y = UpSampling2D(2)(np.arange(4.0, dtype="float32").reshape(1, 2, 2, 1))
    >>> np.asarray(y)[0, :, :, 0].tolist()
    [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]]
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    def __init__(self, size=(2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.size = _utils.pair(size, "size", cls)
        self.data_format = _utils.channels_last(data_format, cls)
        if not isinstance(interpolation, str) or interpolation.lower() not in resize.METHODS:
            raise ValueError(f"{cls}: interpolation must be one of {resize.METHODS}, got "
                             f"{interpolation!r}")
        self.interpolation = interpolation.lower()

    def build(self, input_shape) -> None:
        _image_rank(self, input_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=4)

    def compute_output_shape(self, input_shape):
        _image_rank(self, input_shape)
        out = [None if n is None else n * f for n, f in zip(input_shape[1:3], self.size)]
        return (input_shape[0], *out, input_shape[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = True
        return resize.upsample(x, self.size, self.interpolation)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        return resize.upsample_backward(_utils.as_dtype(dy, self.dtype), self.size,
                                        self.interpolation)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config


@register
class Reshape(Layer):
    """Give each example a new shape with the same number of values (one entry may be -1).

    Args:
        target_shape: the shape of one example (no batch axis), e.g. ``(7, 7, 64)``.

    Output and input gradient are reshaped views; nothing is copied or cached but the shape.

    >>> import numpy as np
    >>> tuple(Reshape((2, -1))(np.zeros((3, 12), dtype="float32")).shape)
    (3, 2, 6)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("target_shape",)

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        if not isinstance(target_shape, (tuple, list)) or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                and (d >= 1 or d == -1) for d in target_shape) or list(target_shape).count(
                    -1) > 1:
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints with at "
                             f"most one -1, got {target_shape!r}")
        self.target_shape = tuple(int(d) for d in target_shape)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            raise TypeError(f"Reshape takes a single input, got a list of {len(input_shape)}")
        dims = input_shape[1:]
        if any(d is None for d in dims):
            size = None
        else:
            size = int(np.prod(dims, dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        out = list(self.target_shape)
        if -1 in out:
            if size is not None:
                if size % known:
                    raise ValueError(f"Reshape '{self.name}': cannot reshape an input of shape "
                                     f"{tuple(input_shape)} into {self.target_shape}")
                out[out.index(-1)] = size // known
            else:
                out[out.index(-1)] = None
        elif size is not None and size != known:
            raise ValueError(f"Reshape '{self.name}': an input of shape {tuple(input_shape)} "
                             f"({size} values per example) cannot take the shape "
                             f"{self.target_shape} ({known} values)")
        return (input_shape[0], *out)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        out = self.compute_output_shape((None, *x.shape[1:]))
        self._cache = x.shape
        return x.reshape((x.shape[0], *out[1:]))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape = self.take_cache()
        return _utils.as_dtype(dy, self.dtype).reshape(shape)


@register
class Permute(Layer):
    """Reorder the non-batch axes: ``dims`` lists them 1-based, e.g. ``(2, 1)`` swaps the two
    axes of ``(m, a, b)``. Output and gradient are transposed views.

    >>> import numpy as np
    >>> tuple(Permute((2, 1))(np.zeros((3, 4, 5), dtype="float32")).shape)
    (3, 5, 4)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("dims",)

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dims, (tuple, list)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1 .. n (the non-batch "
                             f"axes), got {dims!r}")
        self.dims = tuple(int(d) for d in dims)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute{self.dims} expects inputs of rank {len(self.dims) + 1}, "
                             f"got {input_shape!r}")
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape(x.shape)
        self._cache = True
        return x.transpose((0, *self.dims))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        return _utils.as_dtype(dy, self.dtype).transpose(np.argsort((0, *self.dims)))
