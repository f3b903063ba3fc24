"""Load a labelled image collection laid out as one sub-folder per class.

::

    photos/
      cats/  a.png b.jpg ...
      dogs/  c.jpeg ...

``image_folder("photos")`` returns every PNG/JPEG image resized to ``image_size`` as float32
in ``[0, 1]``, with labels given by the sorted sub-folder names (as
``keras.utils.image_dataset_from_directory`` does, but as plain arrays). Pillow is an optional
extra (``pip install convnp[images]``) and is imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1), "rgba": ("RGBA", 4)}
_LABEL_MODES = ("int", "categorical", "binary")


def image_folder(
    directory: str | os.PathLike,
    image_size: tuple[int, int] = (64, 64),
    *,
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    label_mode: str = "int",
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read images from ``directory/<class name>/*.{png,jpg,jpeg}``.

    Args:
        directory: folder with one sub-folder per class. Hidden entries (``.name``) and files
            with other extensions are ignored.
        image_size: ``(height, width)`` every image is resized to.
        class_names: which sub-folders to use and in which label order; default: all
            sub-folders, sorted by name.
        color_mode: ``"rgb"`` (default; grayscale, palette and RGBA images are converted, alpha
            dropped), ``"grayscale"`` or ``"rgba"``.
        interpolation: Pillow resampling filter: ``"nearest"``, ``"bilinear"``, ``"bicubic"``,
            ``"lanczos"``, ``"box"`` or ``"hamming"``.
        label_mode: ``"int"`` → int64 ``(m,)``; ``"categorical"`` → float32 one-hot
            ``(m, n_classes)``; ``"binary"`` → float32 ``(m, 1)`` (exactly two classes).
        shuffle: shuffle images and labels together (with ``seed``); otherwise they are in
            class order, then sorted file-name order.
        seed: seed for the shuffle.

    Returns:
        ``(x, y, class_names)``: x float32 ``(m, height, width, channels)`` in ``[0, 1]``,
        y as chosen by ``label_mode``, and the class names (label ``i`` is ``class_names[i]``).

    Raises:
        ImportError: Pillow is not installed.
        FileNotFoundError: ``directory`` does not exist.
        ValueError: bad arguments, no class sub-folders, a class folder with no images, or an
            image that cannot be decoded (the message names the file).
    """
    Image = require_pillow("convnp.datasets.image_folder")
    root = check_directory(directory)
    height, width = _check_size(image_size)
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    if label_mode not in _LABEL_MODES:
        raise ValueError(f"label_mode must be one of {list(_LABEL_MODES)}, got {label_mode!r}")
    resample = _resample(Image, interpolation)
    names = class_folders(root, class_names)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"label_mode='binary' needs exactly 2 classes, found {len(names)}: {names}")
    files, labels = list_images(root, names, IMAGE_EXTENSIONS, recursive=False)

    x = np.empty((len(files), height, width, _COLOR_MODES[color_mode][1]), dtype=np.float32)
    for i, file in enumerate(files):
        x[i] = read_image(file, color_mode, (height, width), resample) / np.float32(255.0)

    y = np.asarray(labels, dtype=np.int64)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(y))
        x, y = x[order], y[order]
    if label_mode == "categorical":
        y = np.eye(len(names), dtype=np.float32)[y]
    elif label_mode == "binary":
        y = y.astype(np.float32).reshape(-1, 1)
    return x, y, list(names)


def require_pillow(what: str):
    """Pillow's ``Image`` module, or an ImportError saying how to install it."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs Pillow: pip install pillow  "
                          "(or pip install 'convnp[images]')") from exc
    return Image


def check_directory(directory) -> Path:
    root = Path(directory)
    if not root.exists():
        raise FileNotFoundError(f"no such directory: {root}")
    if not root.is_dir():
        raise ValueError(f"{root} is a file, expected a directory with one sub-folder per class")
    return root


def class_folders(root: Path, class_names: Sequence[str] | None) -> list[str]:
    """The class sub-folders to read, in label order (default: all, sorted by name)."""
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is None:
        if not found:
            raise ValueError(f"{root} has no class sub-folders (expected {root}/<class>/<image>)")
        return found
    names = [str(n) for n in class_names]
    if len(set(names)) != len(names):
        raise ValueError(f"class_names has duplicates: {names}")
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"class_names {missing} are not sub-folders of {root}; found {found}")
    if not names:
        raise ValueError("class_names is empty")
    return names


def list_images(root: Path, names: Sequence[str], extensions: Sequence[str],
                recursive: bool, follow_links: bool = False,
                allow_empty: bool = False) -> tuple[list[Path], list[int]]:
    """Image files (by extension, hidden entries skipped) of each class folder, in class
    order then sorted path order, and their labels. ``recursive`` also walks sub-folders."""
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(names):
        folder = root / name
        if recursive:
            found = []
            for base, dirs, filenames in os.walk(folder, followlinks=follow_links):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(base) / f for f in filenames)
        else:
            found = [p for p in folder.iterdir() if p.is_file()]
        images = sorted(p for p in found if not p.name.startswith(".")
                        and p.suffix.lower() in extensions)
        if not images and not allow_empty:
            raise ValueError(
                f"class folder {folder} has no images ({', '.join(extensions)})")
        files.extend(images)
        labels.extend([index] * len(images))
    return files, labels


def read_image(file: Path, color_mode: str, size: tuple[int, int] | None = None,
               resample=None) -> np.ndarray:
    """One image as uint8 ``(height, width, channels)`` in ``color_mode``; resized by Pillow
    to ``size`` when given. Raises ValueError naming the file if it cannot be decoded."""
    import warnings

    from PIL import Image

    pil_mode, channels = _COLOR_MODES[color_mode]
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit: refuse those files too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                if img.mode in _WIDE_MODES:
                    img = _to_8_bits(Image, img)
                img = img.convert(pil_mode)
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), resample=resample)
                pixels = np.asarray(img, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"cannot read image {file}: too many pixels ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # UnidentifiedImageError is an OSError; MemoryError: absurd declared sizes
        raise ValueError(f"cannot read image {file}: {exc}") from None
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


# 16-bit greyscale modes: Pillow's convert() to 8 bits clips them (a 50% grey of 32768 would
# read as 255), so they are scaled to 0..255 here instead
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _to_8_bits(image_module, img):
    """A 16-bit greyscale image as 8-bit ``L``, scaled (65535 -> 255), not clipped."""
    wide = np.asarray(img, dtype=np.float64)
    return image_module.fromarray(np.rint(wide / 257.0).astype(np.uint8), mode="L")


def _check_size(image_size: tuple[int, int]) -> tuple[int, int]:
    if isinstance(image_size, (str, bytes)):  # "64" would unpack as ("6", "4")
        raise ValueError(f"image_size must be (height, width), got {image_size!r}")  # noqa: TRY004
    try:
        height, width = (int(s) for s in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (height, width), got {image_size!r}") from None
    if height < 1 or width < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return height, width


def _resample(image_module, interpolation: str) -> int:
    filters = {
        "nearest": image_module.Resampling.NEAREST,
        "bilinear": image_module.Resampling.BILINEAR,
        "bicubic": image_module.Resampling.BICUBIC,
        "lanczos": image_module.Resampling.LANCZOS,
        "box": image_module.Resampling.BOX,
        "hamming": image_module.Resampling.HAMMING,
    }
    if interpolation not in filters:
        raise ValueError(f"interpolation must be one of {sorted(filters)}, got {interpolation!r}")
    return filters[interpolation]
