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
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "convnp.datasets.image_folder needs Pillow: pip install pillow  "
            "(or pip install 'convnp[images]')") from exc

    root = Path(directory)
    if not root.exists():
        raise FileNotFoundError(f"no such directory: {root}")
    if not root.is_dir():
        raise ValueError(f"{root} is a file, expected a directory with one sub-folder per class")
    height, width = _check_size(image_size)
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    if label_mode not in _LABEL_MODES:
        raise ValueError(f"label_mode must be one of {list(_LABEL_MODES)}, got {label_mode!r}")
    resample = _resample(Image, interpolation)
    pil_mode, channels = _COLOR_MODES[color_mode]

    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is None:
        names = found
        if not names:
            raise ValueError(f"{root} has no class sub-folders (expected {root}/<class>/<image>)")
    else:
        names = [str(n) for n in class_names]
        if len(set(names)) != len(names):
            raise ValueError(f"class_names has duplicates: {names}")
        missing = [n for n in names if n not in found]
        if missing:
            raise ValueError(f"class_names {missing} are not sub-folders of {root}; found {found}")
        if not names:
            raise ValueError("class_names is empty")
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"label_mode='binary' needs exactly 2 classes, found {len(names)}: {names}")

    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(names):
        images = sorted(p for p in (root / name).iterdir()
                        if p.is_file() and not p.name.startswith(".")
                        and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not images:
            raise ValueError(
                f"class folder {root / name} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        files.extend(images)
        labels.extend([index] * len(images))

    x = np.empty((len(files), height, width, channels), dtype=np.float32)
    for i, file in enumerate(files):
        try:
            with Image.open(file) as img:
                img = img.convert(pil_mode)
                if img.size != (width, height):
                    img = img.resize((width, height), resample=resample)
                pixels = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"cannot read image {file}: {exc}") from exc
        x[i] = pixels.reshape(height, width, channels) / np.float32(255.0)

    y = np.asarray(labels, dtype=np.int64)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(y))
        x, y = x[order], y[order]
    if label_mode == "categorical":
        y = np.eye(len(names), dtype=np.float32)[y]
    elif label_mode == "binary":
        y = y.astype(np.float32).reshape(-1, 1)
    return x, y, list(names)


def _check_size(image_size: tuple[int, int]) -> tuple[int, int]:
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
