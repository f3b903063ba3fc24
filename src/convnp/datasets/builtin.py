"""Registry of the built-in procedural datasets and the Keras-style :func:`load`.

``load(name)`` returns ``(x_train, y_train), (x_test, y_test)`` exactly like
``keras.datasets.<name>.load_data()``; everything else about a dataset (class names, sizes,
label format) comes from :func:`info`, so the common call stays a plain tuple unpacking.

Images are drawn on every call (well under a second) from a seed: the train and test splits
use independent streams derived from ``(seed, dataset)``, so the same seed gives the same
bytes on every run and the test split does not depend on the train split.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from convnp.datasets import fingers, smiles


@dataclass(frozen=True)
class DatasetInfo:
    """What a built-in dataset holds.

    Attributes:
        name: canonical name (``"smiles"`` or ``"fingers"``).
        classes: class names; label ``i`` means ``classes[i]``.
        image_shape: ``(64, 64, 3)``.
        train_size, test_size: number of images in each split.
        label_shape: shape of one label as returned by :func:`load` without ``one_hot``:
            ``(1,)`` for the binary ``smiles`` (float32 0/1, like the course's ``Y_train``),
            ``()`` for ``fingers`` (int64 class index).
        description: one line.
    """

    name: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    train_size: int
    test_size: int
    label_shape: tuple[int, ...]
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    generate: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _entry(module: ModuleType, name: str, label_shape: tuple[int, ...], description: str) -> _Entry:
    size = module.IMAGE_SIZE
    info = DatasetInfo(name, tuple(module.CLASSES), (size, size, 3), module.TRAIN_SIZE,
                       module.TEST_SIZE, label_shape, description)
    return _Entry(info, module.generate)


_REGISTRY: dict[str, _Entry] = {
    "smiles": _entry(smiles, "smiles", (1,),
                     "drawn faces, smiling (1) or not (0); stands in for the Happy House"),
    "fingers": _entry(fingers, "fingers", (),
                      "a drawn hand showing 0-5 raised fingers: a stand-in for the course's SIGNS"),
}
_ALIASES = {"signs": "fingers", "happy": "smiles"}


def available() -> list[str]:
    """Names accepted by :func:`load` (canonical names, then aliases)."""
    return sorted(_REGISTRY) + sorted(_ALIASES)


def _resolve(name: str) -> _Entry:
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; expected one of {available()}")
    return _REGISTRY[key]


def info(name: str) -> DatasetInfo:
    """Metadata of a built-in dataset (class names, sizes, label format); no images are drawn."""
    return _resolve(name).info


def class_names(name: str) -> list[str]:
    """Class names of a built-in dataset in label order (label ``i`` is ``names[i]``)."""
    return list(_resolve(name).info.classes)


def load(name: str, *, seed: int = 0, one_hot: bool = False
         ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Draw a built-in dataset, returned like ``keras.datasets``.

    Args:
        name: ``"smiles"`` (alias ``"happy"``) or ``"fingers"`` (alias ``"signs"``).
        seed: any non-negative int; the same seed gives byte-identical arrays on every run.
        one_hot: return labels as float32 one-hot rows ``(m, num_classes)`` (what the course's
            ``convert_to_one_hot(Y, C).T`` gives) instead of the default format.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` where x is float32 ``(m, 64, 64, 3)`` in
        ``[0, 1]`` (uint8 pixels / 255) and y is

        * ``smiles``: float32 ``(m, 1)`` of 0/1 (the shape ``happyModel.fit`` expects);
        * ``fingers``: int64 ``(m,)`` class indices 0–5;
        * either, with ``one_hot=True``: float32 ``(m, num_classes)``.

    Raises:
        ValueError: unknown name or a negative seed.
        TypeError: name not a str, seed not an int.
    """
    entry = _resolve(name)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    meta = entry.info
    # Mixing the dataset name into the seed keeps "smiles" and "fingers" streams unrelated;
    # crc32 (not hash()) because str hashes change between Python runs.
    root = np.random.SeedSequence([int(seed), zlib.crc32(meta.name.encode())])
    train_seq, test_seq = root.spawn(2)
    splits = []
    for size, seq in ((meta.train_size, train_seq), (meta.test_size, test_seq)):
        pixels, labels = entry.generate(size, np.random.Generator(np.random.PCG64(seq)))
        x = pixels.astype(np.float32) / np.float32(255.0)
        splits.append((x, _format_labels(labels, meta, one_hot)))
    return splits[0], splits[1]


def _format_labels(labels: np.ndarray, meta: DatasetInfo, one_hot: bool) -> np.ndarray:
    if one_hot:
        return np.eye(meta.num_classes, dtype=np.float32)[labels]
    if meta.label_shape == (1,):
        return labels.astype(np.float32).reshape(-1, 1)
    return labels.astype(np.int64)
