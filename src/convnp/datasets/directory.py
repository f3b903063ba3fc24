"""``keras.utils.image_dataset_from_directory`` and the ``load_img`` / ``img_to_array`` /
``array_to_img`` helpers, on Pillow (an optional extra, imported only when called).

Differences from `convnp.datasets.image_folder` (which returns plain arrays in ``[0, 1]``):
this follows Keras exactly where it can, so a course notebook sees the same data:

* images are float32 in ``[0, 255]``, resized as ``tf.image.resize`` does (bilinear with
  half-pixel centers, no antialiasing; `convnp.ops.image.resize`), optionally after Keras'
  ``crop_to_aspect_ratio`` crop; with ``interpolation="nearest"`` they stay uint8, as
  ``tf.image.resize`` keeps the decoded dtype for that method alone; ``pad_to_aspect_ratio`` as ``tf.image.resize_with_pad``
  (Keras's TensorFlow loader: resized to fit, then padded with zeros);
* files are listed, shuffled and split exactly as Keras does (`convnp.datasets.file_index`,
  shared with the text and audio loaders): per class folder, sub-folders included, in Keras's
  sorted order; with ``shuffle`` the list is permuted by NumPy's ``RandomState(seed)``, so the
  same ``seed`` gives the same files in training and validation; the last
  ``int(validation_split * n)`` files are the validation subset; ``labels`` may be a list;
* the result is a `convnp.data.Dataset` of ``(images, labels)`` batches (images only with
  ``label_mode=None``), reshuffled every epoch when ``shuffle`` is True (except the
  validation half of ``subset="both"``, as in Keras), with a ``class_names`` attribute and
  ``file_paths``.

Files with other extensions are ignored. **Corrupt or undecodable image files are skipped with
a warning naming each of them** (Keras would fail later, in the middle of training); the
counts printed ("Found N files belonging to K classes.") are of the files listed.

The whole subset is decoded into memory when the function is called.
"""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Sequence

import numpy as np

from convnp.datasets.file_index import (
    check_common_arguments,
    draw_seed,
    encode_labels,
    index_directory,
    split_files,
)
from convnp.datasets.folder import _COLOR_MODES, read_image, require_pillow

# Keras' ALLOWLIST_FORMATS
EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# the resize methods Keras 3's loader passes to tf.image.resize
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic")


def _image_size(image_size) -> tuple[int, int]:
    """``(height, width)``; one int is a square, as Keras 3 takes it."""
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2
            and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                    for s in image_size)):
        raise ValueError(f"image_size must be (height, width) positive ints (or one int), got "
                         f"{image_size!r}")
    return int(image_size[0]), int(image_size[1])


def _check_arguments(color_mode, image_size, interpolation, crop_to_aspect_ratio,
                     pad_to_aspect_ratio, data_format):
    """The image-only arguments (the shared ones: `file_index.check_common_arguments`)."""
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    _image_size(image_size)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("only one of pad_to_aspect_ratio and crop_to_aspect_ratio can be True")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")


def _decode(files: list[str], labels: np.ndarray | None, color_mode: str, image_size,
            interpolation: str, crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool = False):
    """Decode and resize every file; corrupt ones are skipped with a warning."""
    from convnp.ops import image as image_ops

    height, width = _image_size(image_size)
    # tf.image.resize gives float32 for every method but "nearest", which picks pixels and
    # keeps the decoded uint8 (TF 2.21's dataset then holds uint8 images)
    dtype = np.uint8 if interpolation == "nearest" else np.float32
    images, kept, skipped = [], [], []
    for i, file in enumerate(files):
        try:
            pixels = read_image(file, color_mode)
        except ValueError:
            skipped.append(str(file))
            continue
        x = pixels.astype(np.float32)[None]
        if crop_to_aspect_ratio:
            top, left, h, w = image_ops.aspect_crop_box(x.shape[1], x.shape[2], height, width)
            x = x[:, top:top + h, left:left + w]
        elif pad_to_aspect_ratio:
            # Keras's TensorFlow loader: tf.image.resize_with_pad (fit, then pad the result)
            from convnp.tensor.image import resize_with_pad

            x = np.asarray(resize_with_pad(x, height, width, method=interpolation))
        if x.shape[1:3] != (height, width):
            x = image_ops.resize(x, (height, width), interpolation)[0]
        images.append(x[0].astype(dtype, copy=False))
        kept.append(i)
    if skipped:
        warnings.warn(f"image_dataset_from_directory: skipped {len(skipped)} file(s) that are "
                      f"not readable images: {', '.join(skipped)}", stacklevel=3)
    channels = _COLOR_MODES[color_mode][1]
    x = np.stack(images) if images else np.zeros((0, height, width, channels), dtype)
    return x, (None if labels is None else labels[kept]), [files[i] for i in kept]


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels="inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format=None,
    verbose: bool = True,
):
    """A `Dataset` of image batches from ``directory/<class name>/...`` (Keras' function).

    Args:
        directory: one sub-folder per class (or any layout with ``labels=None``).
        labels: ``"inferred"`` (from the sub-folders), ``None`` (images only) or a list of
            int labels, one per file in sorted path order.
        label_mode: ``"int"`` (int32 ``(batch,)``), ``"categorical"`` (float32 one-hot),
            ``"binary"`` (float32 ``(batch, 1)``, exactly two classes) or ``None``.
        class_names: which sub-folders, in label order (default: all, sorted).
        color_mode: ``"rgb"``, ``"grayscale"`` or ``"rgba"``.
        batch_size: images per batch; ``None`` yields single images.
        image_size: ``(height, width)`` every image is resized to (one int: a square).
        shuffle, seed: shuffle the file list (and every epoch's order); a ``seed`` is required
            with ``validation_split``.
        validation_split, subset: keep ``"training"`` (the first ``1 - split``) or
            ``"validation"`` (the last ``split``) of the files, or ``"both"`` (a pair).
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"``, ``"lanczos5"``, ``"gaussian"`` or ``"mitchellcubic"``
            (``tf.image.resize``'s methods; ``"nearest"`` gives uint8 images).
        follow_links: follow symbolic links to sub-folders.
        crop_to_aspect_ratio: crop the largest centered window with the target aspect
            ratio before resizing.
        pad_to_aspect_ratio: instead, resize to fit and pad with zeros
            (``tf.image.resize_with_pad``, as Keras's TensorFlow loader does).
        data_format: ``"channels_last"`` (default, ``(batch, height, width, channels)``) or
            ``"channels_first"`` (``(batch, channels, height, width)``).
        verbose: print the counts as Keras does.

    Returns:
        A `convnp.data.Dataset` (a list ``[training, validation]`` for ``subset="both"``) with attributes
        ``class_names`` and ``file_paths``.

    Raises:
        ImportError: Pillow is missing. FileNotFoundError: no such directory.
        ValueError: a bad argument, no class folders, or no images at all.
    """
    from convnp.data import Dataset

    what = "image_dataset_from_directory"
    labels, label_mode = check_common_arguments(what, labels, label_mode, class_names,
                                                batch_size, validation_split, subset,
                                                shuffle, seed)
    _check_arguments(color_mode, image_size, interpolation, crop_to_aspect_ratio,
                     pad_to_aspect_ratio, data_format)
    require_pillow(what)
    seed = draw_seed(seed)
    files, label_array, names = index_directory(what, directory, labels, EXTENSIONS,
                                                class_names, shuffle, seed, follow_links,
                                                verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes, found {len(names)}: "
                         f"{names}")
    parts = split_files(what, "image", directory, files, label_array, validation_split,
                        subset, EXTENSIONS, verbose)

    def make(part):
        x, y, kept = _decode(part.paths, part.labels, color_mode, image_size, interpolation,
                             crop_to_aspect_ratio, pad_to_aspect_ratio)
        if data_format == "channels_first":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        if label_mode is not None:
            y = encode_labels(what, y, label_mode, len(names))
        dataset = Dataset.from_tensor_slices(x if label_mode is None else (x, y))
        if part.shuffled(shuffle, subset):
            dataset = dataset.shuffle(max(len(x), 1), seed=seed)
        if batch_size is not None:
            dataset = dataset.batch(int(batch_size))
        dataset.class_names = names
        dataset.file_paths = list(kept)
        return dataset

    datasets = [make(part) for part in parts]
    # Keras hands subset="both" back as a list [train, validation] (audio's loader: a tuple)
    return datasets if len(datasets) == 2 else datasets[0]


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Load an image file as a Pillow image (Keras' ``load_img``).

    Args:
        path: the file.
        color_mode: ``"rgb"``, ``"grayscale"`` or ``"rgba"``.
        target_size: ``(height, width)`` to resize to with Pillow, or None.
        interpolation: Pillow filter name (``"nearest"``, ``"bilinear"``, ``"bicubic"``, ...).
        keep_aspect_ratio: center-crop to the target aspect ratio before resizing.
    """
    from convnp.datasets.folder import _resample
    from convnp.ops.image import aspect_crop_box

    Image = require_pillow("load_img")
    # every argument is checked before the file is opened
    if not isinstance(color_mode, str) or color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    size = None if target_size is None else _target_size(target_size)
    resample = _resample(Image, interpolation) if isinstance(interpolation, str) else None
    if resample is None:
        raise TypeError(f"interpolation must be a filter name (a str), got {interpolation!r}")
    if not isinstance(path, (str, os.PathLike)) and not hasattr(path, "read"):
        raise TypeError(f"load_img: path must be a file path or a binary file object, got "
                        f"{type(path).__name__}")
    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        # Keras opens the file itself: a missing one is Python's FileNotFoundError
        raise FileNotFoundError(errno.ENOENT, "load_img: no such file", os.fspath(path))
    # the folder loader's reader: undecodable, truncated and oversized (decompression bomb)
    # files come back as a ValueError naming the file, 16-bit greyscale is scaled to 8 bits
    pixels = read_image(path, color_mode)
    img = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels,
                          _COLOR_MODES[color_mode][0])
    if size is not None:
        height, width = size
        if keep_aspect_ratio:
            top, left, h, w = aspect_crop_box(img.height, img.width, height, width)
            img = img.crop((left, top, left + w, top + h))
        if img.size != (width, height):
            img = img.resize((width, height), resample=resample)
    return img


def _target_size(target_size) -> tuple[int, int]:
    """load_img's ``target_size``: two positive ints ``(height, width)``."""
    def whole(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if isinstance(target_size, np.ndarray):
        target_size = tuple(target_size.tolist())
    if isinstance(target_size, (str, bytes)) or not isinstance(target_size, Sequence) \
            or len(target_size) != 2 or not all(whole(v) for v in target_size):
        raise TypeError(f"target_size must be (height, width), two ints, got {target_size!r}")
    height, width = (int(v) for v in target_size)
    if height < 1 or width < 1:
        raise ValueError(f"target_size must be positive (height, width), got {target_size!r}")
    return height, width


def _data_format(data_format) -> str:
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format or "channels_last"


def img_to_array(img, data_format=None, dtype="float32") -> np.ndarray:
    """A Pillow image as an array ``(height, width, channels)`` (Keras' ``img_to_array``), or
    ``(channels, height, width)`` with ``data_format="channels_first"``."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array expects an image of rank 2 or 3, got shape {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale: bool = True, dtype=None):
    """An array ``(height, width, 1|3|4)`` as a Pillow image (Keras' ``array_to_img``), or
    ``(1|3|4, height, width)`` with ``data_format="channels_first"``; ``scale`` maps the
    array's range onto 0-255.

    The array is first converted to ``dtype`` (float32, Keras's floatx, by default) and scaled
    in it, as Keras does: pixels are then truncated to integers, so scaling in float64 would
    give some pixels one more than Keras (in ``[0, 0.9, 25.5]`` the 0.9 scales to 9 in float64
    and to just under 9, so 8, in float32). One
    channel whose values pass 255 (with ``scale=False``) becomes a 32-bit integer "I" image,
    as in Keras."""
    Image = require_pillow("array_to_img")
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=np.float32 if dtype is None else dtype)
    if data_format == "channels_first" and x.ndim == 3:
        x = x.transpose(1, 2, 0)
    if x.ndim != 3 or x.shape[2] not in (1, 3, 4):
        raise ValueError(f"array_to_img expects (height, width, 1, 3 or 4 channels), "
                         f"got shape {x.shape}")
    if scale:
        x = x - x.min()
        top = x.max()
        if top > 0:
            x = x / top
        x = x * 255
    if x.shape[2] == 1 and x.max() > 255:
        return Image.fromarray(x[:, :, 0].astype(np.int32), "I")
    pixels = np.clip(x, 0, 255).astype(np.uint8)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[x.shape[2]]
    return Image.fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode)
