"""What a built-in procedural dataset is (`DatasetInfo`) and how its splits are drawn.

The generator modules (`smiles`, `fingers`) describe themselves with a `DatasetInfo` and draw
their splits with `draw`; `builtin` only lists them by name. Nothing here imports a generator,
so a generator's own ``load_data`` does not reach back into the list that names it.

Images are drawn on every call (well under a second) from a seed: the train and test splits
use independent streams derived from ``(seed, dataset)``, so the same seed gives the same
bytes on every run and the test split does not depend on the train split.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetInfo:
    """What a built-in dataset holds.

    Attributes:
        name: canonical name (``"smiles"`` or ``"fingers"``).
        classes: class names; label ``i`` means ``classes[i]``.
        image_shape: ``(64, 64, 3)``.
        train_size, test_size: number of images in each split.
        label_shape: shape of one label as returned by `convnp.datasets.load` without
            ``one_hot``: ``(1,)`` for the binary ``smiles`` (float32 0/1, like the course's
            ``Y_train``), ``()`` for ``fingers`` (int64 class index).
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


def draw(meta: DatasetInfo, generate: Callable[[int, np.random.Generator],
                                               tuple[np.ndarray, np.ndarray]],
         seed: int, one_hot: bool) -> Splits:
    """Both splits of a dataset, ``(x_train, y_train), (x_test, y_test)``, drawn by
    ``generate(m, rng) -> (uint8 images, int labels)`` from ``seed`` (see `convnp.datasets.load`
    for the formats)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    # Mixing the dataset name into the seed keeps "smiles" and "fingers" streams unrelated;
    # crc32 (not hash()) because str hashes change between Python runs.
    root = np.random.SeedSequence([int(seed), zlib.crc32(meta.name.encode())])
    train_seq, test_seq = root.spawn(2)
    splits = []
    for size, seq in ((meta.train_size, train_seq), (meta.test_size, test_seq)):
        pixels, labels = generate(size, np.random.Generator(np.random.PCG64(seq)))
        x = pixels.astype(np.float32) / np.float32(255.0)
        splits.append((x, _format_labels(labels, meta, one_hot)))
    return splits[0], splits[1]


def _format_labels(labels: np.ndarray, meta: DatasetInfo, one_hot: bool) -> np.ndarray:
    if one_hot:
        return np.eye(meta.num_classes, dtype=np.float32)[labels]
    if meta.label_shape == (1,):
        return labels.astype(np.float32).reshape(-1, 1)
    return labels.astype(np.int64)
