"""Keras 2's one-image helpers of ``tf.keras.preprocessing.image``, which TensorFlow 2.21 still
exports: `apply_affine_transform` and its random wrappers (`random_rotation`, `random_shift`,
`random_shear`, `random_zoom`), the channel and brightness shifts, and `smart_resize`.

They follow Keras' conventions, which differ from the rest of convnp in two ways a user sees:

* the affine helpers take the axes as arguments and default to *channels first*
  (``row_axis=1, col_axis=2, channel_axis=0``), so a ``(height, width, channels)`` image needs
  ``row_axis=0, col_axis=1, channel_axis=2``;
* the ``random_*`` functions draw from NumPy's legacy global state (``np.random.uniform``),
  as Keras does, so ``np.random.seed(n)`` (or ``keras.utils.set_random_seed(n)``) makes them
  draw the same numbers as under TensorFlow.

The resampling is `convnp.data.image_generator`'s (the ``scipy.ndimage.affine_transform``
rules for ``order`` 0 or 1); Keras also takes spline orders 2 to 5, which convnp refuses.
"""

from __future__ import annotations

import numpy as np

from convnp.data.image_generator import FILL_MODES, affine_batch, transform_matrix


def _image(x, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected a numeric image array, got dtype {x.dtype}")
    return x


def _check_axes(row_axis, col_axis, channel_axis) -> None:
    axes = (row_axis, col_axis, channel_axis)
    if len(set(axes)) != 3:
        raise ValueError(f"apply_affine_transform: row_axis, col_axis and channel_axis must be "
                         f"distinct, got {axes}")
    if set(axes) != {0, 1, 2}:
        raise ValueError(f"apply_affine_transform: row_axis, col_axis and channel_axis must be "
                         f"0, 1 and 2 in some order, got {axes}")


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2,
                           channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """One image ``x`` (rank 3) rotated by ``theta`` degrees, shifted by ``tx`` pixels along
    the rows and ``ty`` along the columns, sheared by ``shear`` degrees and zoomed by
    ``zx``/``zy``, about its centre (Keras' matrix: see `transform_matrix`).

    The result keeps ``x``'s shape and dtype (integers rounded, as scipy writes them); with
    no transform at all ``x`` itself comes back, as in Keras. ``channel_axis`` must be the
    first or the last axis.
    """
    _check_axes(row_axis, col_axis, channel_axis)
    x = _image(x, "apply_affine_transform")
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: expected one image of rank 3 (a 2-D image "
                         f"with channels), got shape {x.shape}")
    if channel_axis not in (0, 2):
        raise ValueError(f"apply_affine_transform: channel_axis must be the first or last axis "
                         f"(0 or 2), got {channel_axis}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"apply_affine_transform: fill_mode must be one of {list(FILL_MODES)}, "
                         f"got {fill_mode!r}")
    if isinstance(order, bool) or order not in (0, 1):
        raise ValueError(f"apply_affine_transform: order must be 0 (nearest) or 1 (bilinear); "
                         f"convnp has no higher spline orders, got {order!r}")
    layout = (row_axis, col_axis, channel_axis)
    height, width = x.shape[row_axis], x.shape[col_axis]
    params = {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy}
    matrix = transform_matrix(params, height, width)
    if matrix is None:
        return x
    # resample in float64 and write back in x's dtype, as scipy.ndimage does
    image = np.transpose(x, layout).astype(np.float64)
    out = affine_batch(image[None], [matrix], order, fill_mode, cval)[0]
    if x.dtype.kind in "iub":
        out = np.where(out >= 0, np.floor(out + 0.5), np.ceil(out - 0.5))
    return np.transpose(out.astype(x.dtype), np.argsort(layout))


def _pair(value, name: str, who: str) -> tuple:
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{who}: {name} must be a tuple or list of two floats, got "
                        f"{type(value).__name__}")
    if len(value) != 2:
        raise ValueError(f"{who}: {name} must be a tuple or list of two floats, got {value!r}")
    return value[0], value[1]


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                    cval=0.0, interpolation_order=1):
    """`apply_affine_transform` with an angle drawn uniformly from ``[-rg, rg]`` degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """`apply_affine_transform` with shifts drawn as fractions of the size: up to ``hrg`` of
    the height along the rows and ``wrg`` of the width along the columns (the height's draw
    comes first, as in Keras)."""
    x = _image(x, "random_shift")
    height, width = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * height
    ty = np.random.uniform(-wrg, wrg) * width
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """`apply_affine_transform` with a shear angle drawn from ``[-intensity, intensity]``
    degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                cval=0.0, interpolation_order=1):
    """`apply_affine_transform` with the two zoom factors drawn from ``zoom_range``
    ``(low, high)``; ``(1, 1)`` draws nothing."""
    low, high = _pair(zoom_range, "zoom_range", "random_zoom")
    if low == 1 and high == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(low, high, 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def apply_channel_shift(x, intensity, channel_axis=0):
    """``intensity`` added to every pixel, clipped to the image's own range.

    NumPy's promotion decides the dtype, as in Keras: a float added to an integer image gives
    float64. The axis moves are Keras' own (a negative ``channel_axis`` leaves the channels
    first in the result, as there)."""
    x = _image(x, "apply_channel_shift")
    low, high = np.min(x), np.max(x)
    moved = np.rollaxis(x, channel_axis, 0)
    shifted = np.clip(moved + intensity, low, high)
    return np.rollaxis(shifted, 0, channel_axis + 1)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """`apply_channel_shift` with an intensity drawn from ``[-intensity_range,
    intensity_range]``."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x, brightness, scale=True):
    """Pillow's ``ImageEnhance.Brightness(brightness)`` on a ``(height, width, channels)``
    image, returned as float32 (Keras' ``img_to_array``).

    With ``scale=True`` (the default) the image is first stretched onto ``0..255`` and the
    result stays on that scale; with ``scale=False`` an image already within ``0..255`` is
    used as it is, and one outside it is stretched and mapped back to its own range."""
    from PIL import ImageEnhance

    from convnp.datasets.directory import array_to_img, img_to_array

    x = _image(x, "apply_brightness_shift")
    low, high = np.min(x), np.max(x)
    outside = bool(low < 0 or high > 255)
    img = ImageEnhance.Brightness(array_to_img(x, scale=outside or bool(scale)))
    y = img_to_array(img.enhance(brightness))
    if outside and not scale:
        y = y / 255 * (high - low) + low
    return y


def random_brightness(x, brightness_range, scale=True):
    """`apply_brightness_shift` with a brightness drawn from ``brightness_range``
    ``(low, high)``."""
    low, high = _pair(brightness_range, "brightness_range", "random_brightness")
    return apply_brightness_shift(x, np.random.uniform(low, high), scale)


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", **kwargs):
    """Resize an image ``(height, width, channels)`` or a batch of them to ``size`` without
    distorting it: the largest centred window with the target's aspect ratio is cut out and
    resized (``tf.image.resize``'s methods and dtypes: float32 out, except that
    ``"nearest"`` keeps the input's dtype).

    A NumPy array in gives a NumPy array out, anything else a tensor, as in Keras."""
    from convnp.ops.image import aspect_crop_box
    from convnp.tensor import image as tf_image
    from convnp.tensor.eager import EagerTensor
    from convnp.tensor.ops import constant

    kwargs.pop("backend_module", None)
    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {list(kwargs)}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"smart_resize: data_format must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}")
    if not hasattr(size, "__len__") or len(size) != 2:
        raise ValueError(f"smart_resize: size must be a tuple of 2 integers, got {size!r}")
    target_h, target_w = (int(s) for s in size)
    img = np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError(f"smart_resize: expected an image (height, width, channels) or a batch "
                         f"(batch_size, height, width, channels), got shape {img.shape}")
    if data_format == "channels_first":
        img = np.moveaxis(img, -3, -1)
    top, left, crop_h, crop_w = aspect_crop_box(img.shape[-3], img.shape[-2], target_h,
                                                target_w)
    window = img[..., top:top + crop_h, left:left + crop_w, :]
    resized = tf_image.resize(window, (target_h, target_w), method=interpolation).numpy()
    if interpolation != "nearest":
        resized = resized.astype(np.float32, copy=False)
    if data_format == "channels_first":
        resized = np.moveaxis(resized, -1, -3)
    if isinstance(x, np.ndarray) and not isinstance(x, EagerTensor):
        return np.array(resized)
    return constant(resized)
