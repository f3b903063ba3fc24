"""Keras 2's ``ImageDataGenerator`` (``tf.keras.preprocessing.image``, still shipped by
TensorFlow as a legacy API) and its two iterators, on NumPy.

The generator draws one random transform per image (rotation, shifts, shear, zoom, flips,
channel shift, brightness), applies it, then standardizes the image (``preprocessing_function``,
``rescale``, sample-wise and feature-wise centring and scaling, ZCA whitening). ``flow`` serves
arrays and ``flow_from_directory`` image files, both as `PyDataset` s (``keras.utils.Sequence``)
that ``model.fit`` reads by index.

What follows Keras exactly (checked against Keras' own outputs in the tests):

* `ImageDataGenerator.apply_transform` for given parameters: the affine matrix is built as
  Keras builds it (rotation, then shift, then shear, then zoom, about a centre whose first
  coordinate comes from the image height and second from its width, as Keras computes it even
  for non-square images; ``tx`` moves along the first coordinate) and sampled as
  ``scipy.ndimage.affine_transform`` samples with ``order`` 0 or 1: fill modes ``"nearest"``,
  ``"reflect"``, ``"wrap"`` (period ``n - 1``, scipy's rule) and ``"constant"`` (any
  coordinate outside ``[0, n - 1]`` reads ``cval``; no blending with it);
* `ImageDataGenerator.standardize` and `ImageDataGenerator.fit` (``1e-6`` added to standard
  deviations); like Keras, ``standardize`` works in place on a float array;
* file order, ``class_indices``, ``classes`` and ``filenames`` of ``flow_from_directory``, and
  its batches (Pillow loads and resizes each file with the ``interpolation`` filter);
  ``validation_split`` keeps the *first* fraction of each class folder (of the arrays, for
  ``flow``) as the validation subset;
* ``flow_from_dataframe`` (a pandas DataFrame of file names and labels): which rows it keeps
  (files that exist with an image extension, labels among ``classes``), its ``class_indices``,
  ``classes``, ``filenames``, subsets (the first fraction of the kept rows) and batches for every
  ``class_mode``, with sample weights from ``weight_col``.

What differs: the random draws come from NumPy ``Generator`` s (convnp's global one, or one
seeded per batch from ``seed``), not from NumPy's legacy global state, so the same seed gives
other transforms than Keras; hidden folders (``.ipynb_checkpoints``) are not classes; only
``data_format="channels_last"``; ``interpolation_order`` 0 or 1; ``flow_from_dataframe``
refuses keyword arguments it does not know instead of ignoring them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from convnp.models.data_adapter import PyDataset

FILL_MODES = ("nearest", "reflect", "wrap", "constant")
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)
DATAFRAME_CLASS_MODES = ("categorical", "binary", "sparse", "input", "multi_output", "raw", None)
# flow_from_dataframe arguments Keras 3 only warns about (it no longer uses them)
_DATAFRAME_DEPRECATED = {
    "has_ext": "has_ext is deprecated: the file names in the dataframe must be the exact "
               "names on disk",
    "sort": "sort is deprecated: with shuffle=False, batches follow the dataframe's order",
    "drop_duplicates": "drop_duplicates is deprecated: call DataFrame.drop_duplicates first",
}
SUBSETS = ("training", "validation")
# Keras' list of extensions for flow_from_directory
DIRECTORY_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")
_ZCA_MAX_BYTES = 2 * 2**30  # the (d, d) whitening matrix of d = height * width * channels


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _number(value, name: str, least: float | None = 0.0) -> float:
    if not _is_number(value):
        raise TypeError(f"ImageDataGenerator: {name} must be a number, got {value!r}")
    if least is not None and value < least:
        raise ValueError(f"ImageDataGenerator: {name} must be >= {least}, got {value!r}")
    return value


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_, int, np.integer)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _shift_range(value, name: str):
    """A shift range as Keras takes it: a float (fraction of the size if < 1, else pixels),
    an int (whole pixels), or a 1-D sequence of allowed shifts."""
    if _is_number(value):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value)
        if values.ndim == 1 and values.size and values.dtype.kind in "iuf":
            return values
    raise ValueError(f"ImageDataGenerator: {name} must be a number or a 1-D sequence of "
                     f"numbers, got {value!r}")


def _pair(value, name: str) -> tuple[float, float]:
    if (isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2
            and all(_is_number(v) for v in value)):
        return float(value[0]), float(value[1])
    raise ValueError(f"ImageDataGenerator: {name} must be a tuple or list of two numbers, "
                     f"got {value!r}")


def _float_dtype(dtype) -> np.dtype:
    try:
        resolved = np.dtype("float32" if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"ImageDataGenerator: dtype must be a float dtype, got {dtype!r}") from None
    if resolved.kind != "f":
        raise ValueError(f"ImageDataGenerator: dtype must be a float dtype, got {dtype!r}")
    return resolved


def _check_seed(seed, who: str):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"{who}: seed must be an int or None, got {seed!r}")
    return None if seed is None else int(seed)


def _rng(seed) -> np.random.Generator:
    """A generator seeded by ``seed`` (an int or a sequence of ints), or convnp's global one."""
    if seed is None:
        from convnp.random import generator

        return generator()
    return np.random.default_rng(seed)


# -- the affine part of a transform ----------------------------------------------------------


def transform_matrix(params: dict, height: int, width: int) -> np.ndarray | None:
    """The 3x3 matrix taking an output pixel's ``(column, row, 1)`` to the input position it
    reads, for Keras' parameters (``theta`` and ``shear`` in degrees), or None for none.

    Keras composes rotation, shift, shear and zoom in that order and conjugates the product
    with a move of its centre to ``(height / 2 - 0.5, width / 2 - 0.5)``; its final axis swap
    for ``scipy.ndimage`` makes the first coordinate the column, which is the frame used here.
    """
    parts = []
    theta = params.get("theta", 0)
    if theta:
        a = np.deg2rad(theta)
        parts.append(np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0],
                               [0.0, 0.0, 1.0]]))
    tx, ty = params.get("tx", 0), params.get("ty", 0)
    if tx or ty:
        parts.append(np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]))
    shear = params.get("shear", 0)
    if shear:
        s = np.deg2rad(shear)
        parts.append(np.array([[1.0, -np.sin(s), 0.0], [0.0, np.cos(s), 0.0], [0.0, 0.0, 1.0]]))
    zx, zy = params.get("zx", 1), params.get("zy", 1)
    if zx != 1 or zy != 1:
        parts.append(np.diag([float(zx), float(zy), 1.0]))
    if not parts:
        return None
    matrix = parts[0]
    for part in parts[1:]:
        matrix = matrix @ part
    centre = np.array([height / 2 - 0.5, width / 2 - 0.5])
    move, back = np.eye(3), np.eye(3)
    move[:2, 2], back[:2, 2] = centre, -centre
    return move @ matrix @ back


def affine_batch(images: np.ndarray, matrices: Sequence[np.ndarray], order: int,
                 fill_mode: str, cval: float) -> np.ndarray:
    """Resample ``images`` ``(m, n_H, n_W, n_C)`` each by its 3x3 matrix (from
    `transform_matrix`), as ``scipy.ndimage.affine_transform`` with ``order`` 0 (nearest) or 1
    (bilinear) and ``fill_mode``; returns a new array of the same shape and dtype."""
    from convnp.ops import image as image_ops

    _, n_H, n_W, _ = images.shape
    rows, cols = np.meshgrid(np.arange(n_H, dtype=np.float64), np.arange(n_W, dtype=np.float64),
                             indexing="ij")
    cols, rows = cols.reshape(1, -1), rows.reshape(1, -1)
    t = np.stack([np.asarray(a, dtype=np.float64)[:2].reshape(-1) for a in matrices])
    x_in = t[:, 0:1] * cols + t[:, 1:2] * rows + t[:, 2:3]
    y_in = t[:, 3:4] * cols + t[:, 4:5] * rows + t[:, 5:6]
    outside = None
    if fill_mode == "constant":
        outside = (x_in < 0) | (x_in > n_W - 1) | (y_in < 0) | (y_in > n_H - 1)
    elif fill_mode == "wrap":
        # scipy's 'wrap': the first and last samples coincide, so the period is n - 1
        x_in = np.mod(x_in, n_W - 1) if n_W > 1 else np.zeros_like(x_in)
        y_in = np.mod(y_in, n_H - 1) if n_H > 1 else np.zeros_like(y_in)
    clamp = "reflect" if fill_mode == "reflect" else "nearest"
    plan = image_ops.sample_plan(images.shape, x_in, y_in,
                                 "nearest" if order == 0 else "bilinear", clamp)
    if outside is not None:
        plan.weight[outside] = 0.0
        plan.fill_weight = outside.astype(np.float64)
    return image_ops.affine_apply(images, plan, float(cval))


def channel_shift(x: np.ndarray, intensity: float) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's own range (Keras)."""
    low, high = np.min(x), np.max(x)
    return np.clip(x + np.asarray(intensity, dtype=x.dtype), low, high)


def brightness_shift(x: np.ndarray, brightness: float) -> np.ndarray:
    """Pillow's ``ImageEnhance.Brightness`` on the image as 8-bit pixels, as Keras does (an
    image outside ``[0, 255]`` is first scaled onto that range and back afterwards)."""
    from PIL import ImageEnhance

    from convnp.datasets.directory import array_to_img, img_to_array

    low, high = float(np.min(x)), float(np.max(x))
    scaled = low < 0 or high > 255
    img = ImageEnhance.Brightness(array_to_img(x, scale=scaled)).enhance(brightness)
    y = img_to_array(img, dtype=x.dtype)
    if scaled:
        y = y / 255 * (high - low) + low
    return y.astype(x.dtype, copy=False)


class ImageDataGenerator:
    """Random augmentation and standardization of image batches (Keras' legacy
    ``ImageDataGenerator``; arguments, defaults and meanings as Keras').

    Example:
        >>> import numpy as np
        >>> gen = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True)
        >>> x, y = np.zeros((10, 8, 8, 3), np.uint8), np.arange(10)
        >>> batches = gen.flow(x, y, batch_size=4, seed=0)
        >>> len(batches), batches[0][0].shape
        (3, (4, 8, 8, 3))
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range=0.0,
        height_shift_range=0.0,
        brightness_range=None,
        shear_range: float = 0.0,
        zoom_range=0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype=None,
    ):
        self.featurewise_center = _flag(featurewise_center, "featurewise_center")
        self.samplewise_center = _flag(samplewise_center, "samplewise_center")
        self.featurewise_std_normalization = _flag(featurewise_std_normalization,
                                                   "featurewise_std_normalization")
        self.samplewise_std_normalization = _flag(samplewise_std_normalization,
                                                  "samplewise_std_normalization")
        self.zca_whitening = _flag(zca_whitening, "zca_whitening")
        self.zca_epsilon = _number(zca_epsilon, "zca_epsilon")
        self.rotation_range = _number(rotation_range, "rotation_range")
        self.width_shift_range = _shift_range(width_shift_range, "width_shift_range")
        self.height_shift_range = _shift_range(height_shift_range, "height_shift_range")
        self.shear_range = _number(shear_range, "shear_range")
        if _is_number(zoom_range):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        else:
            self.zoom_range = list(_pair(zoom_range, "zoom_range"))
        self.channel_shift_range = _number(channel_shift_range, "channel_shift_range")
        if brightness_range is not None:
            brightness_range = _pair(brightness_range, "brightness_range")
            from convnp.datasets.folder import require_pillow

            require_pillow("ImageDataGenerator(brightness_range=...)")
        self.brightness_range = brightness_range
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {list(FILL_MODES)}, "
                             f"got {fill_mode!r}")
        self.fill_mode = fill_mode
        self.cval = _number(cval, "cval", least=None)
        self.horizontal_flip = _flag(horizontal_flip, "horizontal_flip")
        self.vertical_flip = _flag(vertical_flip, "vertical_flip")
        if rescale is not None:
            _number(rescale, "rescale", least=None)
        self.rescale = rescale
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError("ImageDataGenerator: preprocessing_function must be callable or "
                            f"None, got {preprocessing_function!r}")
        self.preprocessing_function = preprocessing_function
        if data_format not in (None, "channels_last"):
            raise ValueError("ImageDataGenerator: only data_format='channels_last' is "
                             f"supported, got {data_format!r}")
        self.data_format = "channels_last"
        self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        _number(validation_split, "validation_split")
        if not validation_split < 1:
            raise ValueError("ImageDataGenerator: validation_split must be in [0, 1), got "
                             f"{validation_split!r}")
        self._validation_split = validation_split
        if interpolation_order not in (0, 1) or isinstance(interpolation_order, bool):
            raise ValueError("ImageDataGenerator: interpolation_order must be 0 (nearest) or 1 "
                             f"(bilinear; higher spline orders are not supported), got "
                             f"{interpolation_order!r}")
        self.interpolation_order = int(interpolation_order)
        self.dtype = _float_dtype(dtype).name
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None
        # Keras' implications, with its warnings
        if self.zca_whitening:
            if not self.featurewise_center:
                self.featurewise_center = True
                warnings.warn("zca_whitening turns on featurewise_center", stacklevel=2)
            if self.featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("zca_whitening turns off featurewise_std_normalization",
                              stacklevel=2)
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("featurewise_std_normalization turns on featurewise_center",
                          stacklevel=2)
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            warnings.warn("samplewise_std_normalization turns on samplewise_center",
                          stacklevel=2)

    # -- iterators ------------------------------------------------------------------------

    def flow(self, x, y=None, batch_size: int = 32, shuffle: bool = True, sample_weight=None,
             seed: int | None = None, save_to_dir=None, save_prefix: str = "",
             save_format: str = "png", ignore_class_split: bool = False,
             subset: str | None = None) -> NumpyArrayIterator:
        """Augmented batches ``(x, y)`` (``(x, y, sample_weight)``, or ``x`` without ``y``) of
        images ``x`` ``(m, height, width, channels)``; ``x`` may be ``(images, other)`` with
        other inputs passed through as in Keras."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  save_to_dir=save_to_dir, save_prefix=save_prefix,
                                  save_format=save_format, subset=subset,
                                  ignore_class_split=ignore_class_split, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode: str = "rgb",
                            classes=None, class_mode: str | None = "categorical",
                            batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
                            save_to_dir=None, save_prefix: str = "", save_format: str = "png",
                            follow_links: bool = False, subset: str | None = None,
                            interpolation: str = "nearest",
                            keep_aspect_ratio: bool = False) -> DirectoryIterator:
        """Augmented batches read from ``directory/<class>/<image files>`` (Pillow needed)."""
        return DirectoryIterator(directory, self, target_size=target_size,
                                 color_mode=color_mode, classes=classes, class_mode=class_mode,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links,
                                 subset=subset, interpolation=interpolation,
                                 keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class",
                            weight_col=None, target_size=(256, 256), color_mode: str = "rgb",
                            classes=None, class_mode: str | None = "categorical",
                            batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
                            save_to_dir=None, save_prefix: str = "", save_format: str = "png",
                            subset: str | None = None, interpolation: str = "nearest",
                            validate_filenames: bool = True, **kwargs) -> DataFrameIterator:
        """Augmented batches of the image files named in a pandas DataFrame's ``x_col``
        (relative to ``directory``, or as they are when it is None) with targets from ``y_col``
        (Pillow needed)."""
        unknown = sorted(set(kwargs) - set(_DATAFRAME_DEPRECATED))
        if unknown:
            raise TypeError(f"flow_from_dataframe: unexpected keyword arguments {unknown}; "
                            f"expected the arguments of Keras' flow_from_dataframe")
        for name in kwargs:
            warnings.warn(_DATAFRAME_DEPRECATED[name], DeprecationWarning, stacklevel=2)
        if class_mode == "other":
            warnings.warn('class_mode="other" is deprecated, use class_mode="raw"',
                          DeprecationWarning, stacklevel=2)
            class_mode = "raw"
        return DataFrameIterator(dataframe, directory, self, x_col=x_col, y_col=y_col,
                                 weight_col=weight_col, target_size=target_size,
                                 color_mode=color_mode, classes=classes, class_mode=class_mode,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, subset=subset,
                                 interpolation=interpolation,
                                 validate_filenames=validate_filenames, dtype=self.dtype)

    # -- transforms -----------------------------------------------------------------------

    def get_random_transform(self, img_shape, seed: int | None = None) -> dict:
        """Draw one image's transform parameters (Keras' keys: ``theta``, ``tx``, ``ty``,
        ``shear``, ``zx``, ``zy``, ``flip_horizontal``, ``flip_vertical``,
        ``channel_shift_intensity``, ``brightness``) for an image of shape ``img_shape``
        ``(height, width, channels)``."""
        shape = tuple(int(s) for s in img_shape)
        if len(shape) != 3:
            raise ValueError(f"get_random_transform: img_shape must be (height, width, "
                             f"channels), got {img_shape!r}")
        return self._draw(shape, _rng(_check_seed(seed, "get_random_transform")))

    def _draw(self, shape: tuple, rng: np.random.Generator) -> dict:
        theta = rng.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        tx = self._shift(self.height_shift_range, shape[0], rng)
        ty = self._shift(self.width_shift_range, shape[1], rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        low, high = self.zoom_range
        if low == 1 and high == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(low, high, 2)
        flip_horizontal = bool(rng.random() < 0.5) and self.horizontal_flip
        flip_vertical = bool(rng.random() < 0.5) and self.vertical_flip
        intensity = None
        if self.channel_shift_range != 0:
            intensity = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(*self.brightness_range)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": intensity, "brightness": brightness}

    @staticmethod
    def _shift(spec, size: int, rng: np.random.Generator):
        """Keras' rule: a float draws from ``[-r, r]``, an int a whole number in ``[0, r)``
        with a random sign, a sequence one of its values with a random sign; a range whose
        largest value is below 1 is a fraction of ``size``."""
        if isinstance(spec, np.ndarray):
            if not np.any(spec):
                return 0
            shift = rng.choice(spec) * rng.choice([-1, 1])
        elif not spec:
            return 0
        elif isinstance(spec, (int, np.integer)):
            shift = rng.integers(0, spec) * rng.choice([-1, 1])
        else:
            shift = rng.uniform(-spec, spec)
        if np.max(spec) < 1:
            shift = shift * size
        return shift

    def apply_transform(self, x, transform_parameters: dict) -> np.ndarray:
        """One image ``(height, width, channels)`` transformed by the given parameters
        (missing keys mean no change): the affine part, then the channel shift, the flips and
        the brightness, in Keras' order."""
        x = self._image(x, "apply_transform")
        if not isinstance(transform_parameters, dict):
            raise TypeError("apply_transform: transform_parameters must be a dict, got "
                            f"{type(transform_parameters).__name__}")
        return self._apply_batch(x[None], [transform_parameters])[0]

    def random_transform(self, x, seed: int | None = None) -> np.ndarray:
        """One image with a freshly drawn random transform applied."""
        x = self._image(x, "random_transform")
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def _image(self, x, who: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"{who}: expected one image (height, width, channels), got shape "
                             f"{x.shape}")
        if x.dtype.kind != "f":
            x = x.astype(self.dtype)
        return x

    def _apply_batch(self, x: np.ndarray, params: list[dict]) -> np.ndarray:
        """Transform a batch ``(m, height, width, channels)``, image ``i`` by ``params[i]``;
        the affine parts of all images are sampled together."""
        _, height, width, _ = x.shape
        matrices = [transform_matrix(p, height, width) for p in params]
        moved = [i for i, a in enumerate(matrices) if a is not None]
        out = x.copy()
        if moved:
            out[moved] = affine_batch(x[moved], [matrices[i] for i in moved],
                                      self.interpolation_order, self.fill_mode, self.cval)
        for i, p in enumerate(params):
            if p.get("channel_shift_intensity") is not None:
                out[i] = channel_shift(out[i], p["channel_shift_intensity"])
            if p.get("flip_horizontal", False):
                out[i] = out[i, :, ::-1]
            if p.get("flip_vertical", False):
                out[i] = out[i, ::-1]
            if p.get("brightness") is not None:
                out[i] = brightness_shift(out[i], p["brightness"])
        return out

    # -- standardization ------------------------------------------------------------------

    def standardize(self, x) -> np.ndarray:
        """``preprocessing_function``, ``rescale``, then the sample-wise and feature-wise
        normalizations, on an image or a batch. As in Keras, a float array is changed in
        place (and returned); other input is converted to ``dtype`` first."""
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
            x = np.asarray(x, dtype=self.dtype)
        if self.preprocessing_function is not None:
            x = np.asarray(self.preprocessing_function(x))
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                warnings.warn("ImageDataGenerator has featurewise_center but was not fit: "
                              "call .fit(x_train) first", stacklevel=2)
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                warnings.warn("ImageDataGenerator has featurewise_std_normalization but was "
                              "not fit: call .fit(x_train) first", stacklevel=2)
            else:
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                warnings.warn("ImageDataGenerator has zca_whitening but was not fit: call "
                              ".fit(x_train) first", stacklevel=2)
            else:
                size = int(np.prod(x.shape[-3:]))
                x = (x.reshape(-1, size) @ self.zca_whitening_matrix).reshape(x.shape)
        return x

    def fit(self, x, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Compute the feature-wise statistics (``mean``, ``std``, the ZCA matrix) of images
        ``x`` ``(m, height, width, channels)`` after ``rescale`` (and, with ``augment``,
        of ``rounds`` randomly transformed copies)."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must have rank 4 (m, height, width, "
                             f"channels), got shape {x.shape}")
        if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
            raise ValueError(f"ImageDataGenerator.fit: rounds must be a positive int, got "
                             f"{rounds!r}")
        seed = _check_seed(seed, "ImageDataGenerator.fit")
        size = int(np.prod(x.shape[1:]))
        itemsize = np.dtype(self.dtype).itemsize
        if self.zca_whitening and size * size * itemsize > _ZCA_MAX_BYTES:
            raise ValueError(f"zca_whitening needs a ({size}, {size}) matrix "
                             f"({size * size * itemsize / 2**30:.1f} GiB), more than the "
                             f"{_ZCA_MAX_BYTES // 2**30} GiB allowed: use smaller images")
        if x.shape[3] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit expects 1, 3 or 4 channels on the last axis, "
                          f"got shape {x.shape}", stacklevel=2)
        x = np.array(x, dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = _rng(seed)
            copies = [self._apply_batch(x, [self._draw(x.shape[1:], rng) for _ in range(len(x))])
                      for _ in range(int(rounds))]
            x = np.concatenate(copies)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            scale = np.sqrt(len(x)) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = (u * scale) @ u.T


# -- iterators -------------------------------------------------------------------------------


class Iterator(PyDataset):
    """Batches of ``n`` samples by index (a `PyDataset`), reshuffled at every epoch end when
    ``shuffle``; also an endless iterator (``next(it)``) as in Keras. With ``seed``, the order
    and the transforms of each batch come from a generator seeded by ``(seed, batches seen)``.
    """

    #: the image file extensions the file iterators read (Keras' attribute)
    white_list_formats = tuple(ext.lstrip(".") for ext in DIRECTORY_EXTENSIONS)

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None, **kwargs):
        super().__init__(**kwargs)  # PyDataset's workers, use_multiprocessing, max_queue_size
        who = type(self).__name__
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = _flag(shuffle, "shuffle")
        self.seed = _check_seed(seed, who)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None

    def _batch_rng(self) -> np.random.Generator:
        return _rng(None if self.seed is None else [self.seed, self.total_batches_seen])

    def _set_index_array(self, rng: np.random.Generator) -> None:
        self.index_array = rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def __getitem__(self, idx):
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} index must be an int, got {idx!r}")
        if not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: asked for batch {idx}, but there are "
                             f"{len(self)}")
        rng = self._batch_rng()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array(rng)
        start = self.batch_size * int(idx)
        return self._batch(self.index_array[start:start + self.batch_size], rng)

    def on_epoch_end(self) -> None:
        self._set_index_array(self._batch_rng())

    def reset(self) -> None:
        """Start `next` over from the first batch."""
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        rng = self._batch_rng()
        if self.batch_index == 0:
            self._set_index_array(rng)
        start = (self.batch_index * self.batch_size) % self.n
        self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
        self.total_batches_seen += 1
        return self._batch(self.index_array[start:start + self.batch_size], rng)

    next = __next__

    def _transform(self, batch_x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random transforms, then standardization, image by image as Keras."""
        gen = self.image_data_generator
        if gen is None:
            return batch_x
        params = [gen._draw(batch_x.shape[1:], rng) for _ in range(len(batch_x))]
        batch_x = gen._apply_batch(batch_x, params)
        for i in range(len(batch_x)):
            batch_x[i] = gen.standardize(batch_x[i])
        return batch_x

    def _batch(self, index_array: np.ndarray, rng: np.random.Generator):
        """The batch of the samples ``index_array``. A user's subclass writes Keras' hook,
        `_get_batches_of_transformed_samples`, instead; the iterators here write this one."""
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array):
        """Keras' hook: the batch of the samples ``index_array`` (a subclass of `Iterator`
        writes it, as in Keras). The iterators here answer it with a batch drawn from the
        iterator's generator, as indexing does."""
        if type(self)._batch is Iterator._batch:
            raise NotImplementedError(f"{type(self).__name__} must define "
                                      "_get_batches_of_transformed_samples(index_array)")
        return self._batch(np.asarray(index_array), self._batch_rng())


def _check_subset(subset, generator: ImageDataGenerator, who: str):
    if subset is None:
        return None
    if subset not in SUBSETS:
        raise ValueError(f"{who}: subset must be one of {list(SUBSETS)} or None, got "
                         f"{subset!r}")
    if not generator._validation_split:
        raise ValueError(f"{who}: subset={subset!r} needs ImageDataGenerator("
                         "validation_split=...) greater than 0")
    return subset


def _channels_last(data_format, who: str) -> None:
    """The iterators' ``data_format`` (Keras' argument): None or channels last, the one layout
    convnp's generator works in."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: only data_format='channels_last' is supported, got "
                         f"{data_format!r}")


def _saving(save_to_dir, save_prefix, save_format, who: str):
    """Checked ``(save_to_dir, save_prefix, save_format)``: where each augmented image of a
    batch is written, as Keras writes them for a look at the augmentation."""
    if save_to_dir is not None and not isinstance(save_to_dir, (str, os.PathLike)):
        raise TypeError(f"{who}: save_to_dir must be a folder path or None, got "
                        f"{type(save_to_dir).__name__}")
    for name, value in (("save_prefix", save_prefix), ("save_format", save_format)):
        if not isinstance(value, str):
            raise TypeError(f"{who}: {name} must be a string, got {type(value).__name__}")
    return save_to_dir, save_prefix, save_format


def _save_batch(iterator, batch_x: np.ndarray, index_array, draws: int) -> None:
    """Write the batch's images to ``save_to_dir`` as Keras does: each one stretched onto
    0..255 and named ``<prefix>_<sample index>_<random number below draws>.<format>`` (the
    number from NumPy's legacy global state, as Keras draws it; 10**4 for arrays, 10**7 for
    files, Keras' own bounds). A missing folder raises FileNotFoundError, as there. Each file
    is written whole or not at all."""
    from convnp.datasets.directory import array_to_img
    from convnp.io._files import atomic_write

    fmt = iterator.save_format.upper()
    fmt = "JPEG" if fmt == "JPG" else fmt
    for image, index in zip(batch_x, index_array):
        name = f"{iterator.save_prefix}_{index}_{np.random.randint(draws)}.{iterator.save_format}"
        picture = array_to_img(image, scale=True)
        if picture.mode == "RGBA" and fmt == "JPEG":
            picture = picture.convert("RGB")  # JPEG has no alpha channel
        atomic_write(os.path.join(iterator.save_to_dir, name),
                     lambda f, picture=picture: picture.save(f, format=fmt))


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from arrays (what `ImageDataGenerator.flow` returns)."""

    def __init__(self, x, y, image_data_generator: ImageDataGenerator, batch_size: int = 32,
                 shuffle: bool = False, sample_weight=None, seed: int | None = None,
                 data_format=None, save_to_dir=None, save_prefix: str = "",
                 save_format: str = "png", subset: str | None = None,
                 ignore_class_split: bool = False, dtype=None):
        who = "flow"
        _channels_last(data_format, who)
        self.save_to_dir, self.save_prefix, self.save_format = _saving(
            save_to_dir, save_prefix, save_format, who)
        misc = []
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(f"{who}: x as a tuple must be (images, other inputs), got "
                                 f"{len(x)} items")
            others = x[1] if isinstance(x[1], list) else [x[1]]
            misc = [np.asarray(o) for o in others]
            x = x[0]
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"{who}: x must have rank 4 (m, height, width, channels), got shape "
                             f"{x.shape}")
        for name, other in [("y", y), ("sample_weight", sample_weight)] + [
                ("x[1]", o) for o in misc]:
            if other is not None and len(other) != len(x):
                raise ValueError(f"{who}: x and {name} must have the same length, got "
                                 f"{len(x)} and {len(other)}")
        subset = _check_subset(subset, image_data_generator, who)
        y = None if y is None else np.asarray(y)
        sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        if subset is not None:
            cut = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:cut]), np.unique(y[cut:]))):
                raise ValueError(f"{who}: the training and validation subsets have different "
                                 "classes after the split (sorted labels? shuffle the arrays "
                                 "first, or pass ignore_class_split=True)")
            part = slice(0, cut) if subset == "validation" else slice(cut, None)
            x, misc = x[part], [o[part] for o in misc]
            y = None if y is None else y[part]
            sample_weight = None if sample_weight is None else sample_weight[part]
        if x.shape[3] not in (1, 3, 4):
            warnings.warn(f"{who}: expected 1, 3 or 4 channels on the last axis, got shape "
                          f"{x.shape}", stacklevel=3)
        self.dtype = _float_dtype(dtype).name
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = misc
        self.y = y
        self.sample_weight = sample_weight
        self.image_data_generator = image_data_generator
        self.data_format = "channels_last"
        self.subset = subset
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _batch(self, index_array, rng):
        batch_x = self._transform(self.x[index_array], rng)
        if self.save_to_dir:
            _save_batch(self, batch_x, index_array, 10**4)
        inputs = [batch_x] + [o[index_array] for o in self.x_misc] if self.x_misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


class _FilesMixin:
    """What the iterators over image files share: checking how files are read, reading one
    (Pillow, as Keras' ``load_img``) and building a batch's targets for its ``class_mode``."""

    def _set_reading(self, who: str, target_size, color_mode, interpolation,
                     keep_aspect_ratio) -> None:
        from convnp.datasets.folder import _COLOR_MODES, _check_size, _resample, require_pillow

        if color_mode not in _COLOR_MODES:
            raise ValueError(f"{who}: color_mode must be one of {sorted(_COLOR_MODES)}, got "
                             f"{color_mode!r}")
        self.target_size = _check_size(target_size)
        Image = require_pillow(who)
        self._resample = _resample(Image, interpolation)
        self.keep_aspect_ratio = _flag(keep_aspect_ratio, "keep_aspect_ratio")
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.image_shape = (*self.target_size, _COLOR_MODES[color_mode][1])
        self.data_format = "channels_last"

    def _load(self, path: str) -> np.ndarray:
        """One file as ``dtype`` pixels ``image_shape``: decoded with its declared size checked,
        converted to ``color_mode``, optionally centre-cropped to the target aspect ratio, and
        resized by Pillow (Keras' ``load_img``)."""
        from PIL import Image

        from convnp.datasets.folder import read_image
        from convnp.ops.image import aspect_crop_box

        pixels = read_image(Path(path), self.color_mode)
        height, width = self.target_size
        if pixels.shape[:2] != (height, width):
            img = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
            if self.keep_aspect_ratio:
                top, left, h, w = aspect_crop_box(img.height, img.width, height, width)
                img = img.crop((left, top, left + w, top + h))
            img = img.resize((width, height), resample=self._resample)
            pixels = np.asarray(img).reshape(height, width, -1)
        return pixels.astype(self.dtype)

    def _batch(self, index_array, rng):
        batch_x = np.zeros((len(index_array), *self.image_shape), dtype=self.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = self._load(self._filepaths[j])
        batch_x = self._transform(batch_x, rng)
        if self.save_to_dir:
            _save_batch(self, batch_x, index_array, 10**7)
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "input":
            batch_y = batch_x.copy()
        elif self.class_mode in ("binary", "sparse"):
            batch_y = np.asarray([self.classes[j] for j in index_array], dtype=self.dtype)
        elif self.class_mode == "categorical":
            batch_y = np.zeros((len(index_array), self.num_classes), dtype=self.dtype)
            for i, j in enumerate(index_array):
                batch_y[i, self.classes[j]] = 1  # a list of indices (multi-label) sets several
        elif self.class_mode == "multi_output":
            batch_y = [target[index_array] for target in self.labels]
        else:  # raw
            batch_y = self.labels[index_array]
        weights = self.sample_weight
        if weights is None:
            return batch_x, batch_y
        return batch_x, batch_y, weights[index_array]


class DirectoryIterator(_FilesMixin, Iterator):
    """Batches of augmented images read from ``directory/<class>/...`` (what
    `ImageDataGenerator.flow_from_directory` returns). Files are read when their batch is.

    Attributes as Keras': ``samples``, ``class_indices`` (name -> index), ``classes`` (int32
    index of every file), ``filenames`` (``"<class>/<file>"`` relative to ``directory``),
    ``filepaths``, ``num_classes``, ``image_shape``.
    """

    def __init__(self, directory, image_data_generator: ImageDataGenerator | None,
                 target_size=(256, 256), color_mode: str = "rgb", classes=None,
                 class_mode: str | None = "categorical", batch_size: int = 32,
                 shuffle: bool = True, seed: int | None = None, data_format=None,
                 save_to_dir=None, save_prefix: str = "", save_format: str = "png",
                 follow_links: bool = False, subset: str | None = None,
                 interpolation: str = "nearest", keep_aspect_ratio: bool = False, dtype=None):
        from convnp.datasets.folder import check_directory, class_folders

        who = "flow_from_directory"
        _channels_last(data_format, who)
        self.save_to_dir, self.save_prefix, self.save_format = _saving(
            save_to_dir, save_prefix, save_format, who)
        if class_mode not in CLASS_MODES:
            raise ValueError(f"{who}: class_mode must be one of {list(CLASS_MODES)}, got "
                             f"{class_mode!r}")
        if isinstance(classes, str):
            raise TypeError(f"{who}: classes must be a list of folder names, got {classes!r}")
        self._set_reading(who, target_size, color_mode, interpolation, keep_aspect_ratio)
        generator = image_data_generator or ImageDataGenerator()
        subset = _check_subset(subset, generator, who)
        root = check_directory(directory)
        names = class_folders(root, list(classes) if classes else None)
        if class_mode == "binary" and len(names) != 2:
            raise ValueError(f"{who}: class_mode='binary' needs exactly 2 class folders, found "
                             f"{len(names)}: {names}")
        self.directory = directory
        self.class_mode = class_mode
        self.image_data_generator = image_data_generator
        self.dtype = _float_dtype(dtype).name
        self.subset = subset
        split = generator._validation_split
        self.split = None if subset is None else (
            (0, split) if subset == "validation" else (split, 1))
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.num_classes = len(names)
        self.filenames: list[str] = []
        labels: list[int] = []
        for index, name in enumerate(names):
            found = _class_files(root / name, follow_links)
            if self.split is not None:
                found = found[int(self.split[0] * len(found)):int(self.split[1] * len(found))]
            self.filenames.extend(found)
            labels.extend([index] * len(found))
        self.samples = len(self.filenames)
        self.classes = np.asarray(labels, dtype=np.int32)
        self._filepaths = [os.path.join(directory, f) for f in self.filenames]
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self) -> list[str]:
        return self._filepaths

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    @property
    def sample_weight(self):
        return None


class DataFrameIterator(_FilesMixin, Iterator):
    """Batches of augmented images named in a pandas DataFrame (what
    `ImageDataGenerator.flow_from_dataframe` returns). Files are read when their batch is.

    Rows whose file is missing or has no image extension are dropped with a warning (unless
    ``validate_filenames=False``); with a class-valued ``class_mode`` (categorical, binary,
    sparse), so are rows whose labels are all outside ``classes``. A categorical label may be a
    list or tuple of class names (several ones in its target row). The subsets are the first
    ``validation_split`` of the remaining rows and the rest. Attributes as Keras':
    ``samples``, ``filenames`` (the ``x_col`` values), ``filepaths``, ``labels``,
    ``sample_weight``, and for class modes ``class_indices`` and ``classes`` (a list: each
    row's class index, or list of indices).
    """

    def __init__(self, dataframe, directory=None,
                 image_data_generator: ImageDataGenerator | None = None,
                 x_col: str = "filename", y_col="class", weight_col=None,
                 target_size=(256, 256), color_mode: str = "rgb", classes=None,
                 class_mode: str | None = "categorical", batch_size: int = 32,
                 shuffle: bool = True, seed: int | None = None, data_format=None,
                 save_to_dir=None, save_prefix: str = "", save_format: str = "png",
                 subset: str | None = None, interpolation: str = "nearest",
                 keep_aspect_ratio: bool = False, dtype=None, validate_filenames: bool = True):
        who = "flow_from_dataframe"
        _channels_last(data_format, who)
        self.save_to_dir, self.save_prefix, self.save_format = _saving(
            save_to_dir, save_prefix, save_format, who)
        if not (hasattr(dataframe, "columns") and hasattr(dataframe, "iloc")):
            raise TypeError(f"{who}: dataframe must be a pandas DataFrame, got "
                            f"{type(dataframe).__name__}")
        if class_mode not in DATAFRAME_CLASS_MODES:
            raise ValueError(f"{who}: class_mode must be one of {list(DATAFRAME_CLASS_MODES)}, "
                             f"got {class_mode!r}")
        if isinstance(classes, str):
            raise TypeError(f"{who}: classes must be a list of class names, got {classes!r}")
        validate_filenames = _flag(validate_filenames, "validate_filenames")
        self._set_reading(who, target_size, color_mode, interpolation, keep_aspect_ratio)
        generator = image_data_generator or ImageDataGenerator()
        subset = _check_subset(subset, generator, who)
        with_classes = class_mode in ("categorical", "binary", "sparse")
        y_cols = _dataframe_columns(dataframe, x_col, y_col, weight_col, class_mode, who)
        files = list(dataframe[x_col])
        bad = [f for f in files if not isinstance(f, str)]
        if bad:
            raise TypeError(f"{who}: all values in column x_col={x_col!r} must be strings, got "
                            f"{bad[0]!r}")
        labels = list(dataframe[y_col]) if with_classes else None
        if class_mode in ("binary", "sparse"):
            bad = [label for label in labels if not isinstance(label, str)]
            if bad:
                raise TypeError(f"{who}: with class_mode={class_mode!r} the y_col={y_col!r} "
                                f"values must be strings, got {bad[0]!r}")
        if class_mode == "categorical":
            bad = [label for label in labels if not isinstance(label, (str, list, tuple))]
            if bad:
                raise TypeError(f"{who}: with class_mode='categorical' the y_col={y_col!r} "
                                f"values must be strings, lists or tuples, got {bad[0]!r}")
        if class_mode == "binary":
            count = len(set(classes)) if classes else len(set(labels))
            if count != 2:
                raise ValueError(f"{who}: class_mode='binary' needs exactly 2 classes, "
                                 f"{'given' if classes else 'found'} {count}")
        if classes and not with_classes:
            warnings.warn(f"flow_from_dataframe: classes are ignored with "
                          f"class_mode={class_mode!r}", stacklevel=3)
        if weight_col is not None:
            kind = np.asarray(dataframe[weight_col]).dtype.kind
            if kind not in "iuf":
                raise TypeError(f"{who}: column weight_col={weight_col!r} must be numeric, "
                                f"got dtype {dataframe[weight_col].dtype}")
        self.directory = directory or ""
        rows = list(range(len(files)))
        if validate_filenames:
            rows = [r for r in rows if _image_file(os.path.join(self.directory, files[r]))]
            if len(rows) < len(files):
                warnings.warn(f'Found {len(files) - len(rows)} invalid image filename(s) in '
                              f'x_col="{x_col}". These filename(s) will be ignored.',
                              stacklevel=3)
        if with_classes:
            if classes:
                names = list(dict.fromkeys(classes))
            else:
                names = sorted({c for label in labels
                                for c in (label if isinstance(label, (list, tuple))
                                          else [label])})
            self.class_indices = {name: i for i, name in enumerate(names)}
            self.num_classes = len(names)
            kept = {}
            for r in rows:
                label = labels[r]
                if isinstance(label, (list, tuple)):
                    found = [self.class_indices[c] for c in label if c in self.class_indices]
                    if found:
                        kept[r] = found
                elif label in self.class_indices:
                    kept[r] = self.class_indices[label]
            rows = list(kept)
        split = generator._validation_split
        self.split = None if subset is None else (
            (0, split) if subset == "validation" else (split, 1))
        if self.split is not None:
            rows = rows[int(self.split[0] * len(rows)):int(self.split[1] * len(rows))]
        if with_classes:
            self.classes = [kept[r] for r in rows]
        kept_frame = dataframe.iloc[rows]
        self.filenames = [files[r] for r in rows]
        self._sample_weight = None if weight_col is None else \
            np.asarray(kept_frame[weight_col].values)
        self._targets = None
        if class_mode == "multi_output":
            self._targets = [np.array(kept_frame[c].tolist()) for c in y_cols]
        elif class_mode == "raw":
            self._targets = np.asarray(kept_frame[y_col].values)
        self.class_mode = class_mode
        self.image_data_generator = image_data_generator
        self.dtype = _float_dtype(dtype).name
        self.subset = subset
        self.samples = len(self.filenames)
        checked = "validated" if validate_filenames else "non-validated"
        print(f"Found {self.samples} {checked} image filenames"
              + (f" belonging to {self.num_classes} classes." if with_classes else "."))
        self._filepaths = [os.path.join(self.directory, f) for f in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self) -> list[str]:
        return self._filepaths

    @property
    def labels(self):
        if self.class_mode in ("multi_output", "raw"):
            return self._targets
        return getattr(self, "classes", None)

    @property
    def sample_weight(self):
        return self._sample_weight


def _dataframe_columns(dataframe, x_col, y_col, weight_col, class_mode, who: str) -> list:
    """Check that the named columns exist; return the target columns as a list."""
    if class_mode == "multi_output" and not isinstance(y_col, list):
        raise TypeError(f"{who}: with class_mode='multi_output' y_col must be a list of "
                        f"columns, got {type(y_col).__name__} {y_col!r}")
    needs_y = class_mode not in ("input", None)
    y_cols = (y_col if isinstance(y_col, list) else [y_col]) if needs_y else []
    if class_mode in ("categorical", "binary", "sparse") and isinstance(y_col, list):
        raise TypeError(f"{who}: with class_mode={class_mode!r} y_col must be one column "
                        f"name, got {y_col!r}")
    columns = list(dataframe.columns)
    named = [("x_col", x_col)] + [("y_col", c) for c in y_cols] + (
        [] if weight_col is None else [("weight_col", weight_col)])
    for what, column in named:
        if column not in columns:
            raise ValueError(f"{who}: {what}={column!r} is not a column of the dataframe; "
                             f"its columns are {columns}")
    return y_cols


def _image_file(path: str) -> bool:
    """Keras' test of a dataframe's file: an image extension and an existing file."""
    return path.lower().endswith(DIRECTORY_EXTENSIONS) and os.path.isfile(path)


def _class_files(folder: Path, follow_links: bool) -> list[str]:
    """The image files under one class folder as ``"<class>/<relative path>"``, in Keras'
    order: folders by sorted path, files sorted by name within each (hidden ones skipped)."""
    walked = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    found = []
    for base, _, names in walked:
        relative = os.path.relpath(base, folder)
        if any(part.startswith(".") for part in Path(relative).parts):
            continue
        for name in sorted(names):
            if not name.startswith(".") and name.lower().endswith(DIRECTORY_EXTENSIONS):
                found.append(os.path.normpath(os.path.join(folder.name, relative, name)))
    return found
