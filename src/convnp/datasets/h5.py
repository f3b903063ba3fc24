"""Reader for the course's ``.h5`` dataset files (Happy House, SIGNS, ...).

The course ships each dataset as two HDF5 files: ``train_*.h5`` with ``train_set_x`` (uint8
``(m, 64, 64, 3)``) and ``train_set_y`` (int ``(m,)``), and ``test_*.h5`` with ``test_set_x``,
``test_set_y`` and ``list_classes``. :func:`load_h5` reads one or more such files and returns
an :class:`H5Dataset`; parts absent from every file are ``None`` (only the test files are
public, and a test file alone is valid).

Everything is checked before it is returned: a truncated or non-HDF5 file, a missing or
half-present split, a wrong rank or dtype, pixel values outside ``[0, 255]``, or images and
labels of different lengths all raise ``ValueError`` naming the file and the problem.

h5py is an optional extra (``pip install convnp[h5]``) and is imported only here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convnp._hdf5 import get_node, open_file, read_dataset

_SPLITS = ("train", "test")


@dataclass
class H5Dataset:
    """Arrays read from course ``.h5`` files.

    Attributes:
        x_train, x_test: float32 ``(m, n_H, n_W, n_C)`` in ``[0, 1]``, or ``None`` if absent.
        y_train, y_test: int64 ``(m,)`` class indices, or ``None`` if absent.
        classes: the file's ``list_classes`` as Python values (bytes decoded to ``str``,
            numbers to ``int``), or ``None`` if no file has it.

    The object unpacks like ``keras.datasets``: ``(x_train, y_train), (x_test, y_test) = data``.
    """

    x_train: np.ndarray | None = None
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    classes: list[Any] | None = None

    def __iter__(self):
        # Lets `(x_train, y_train), (x_test, y_test) = load_h5(...)` work like keras.datasets.
        return iter(((self.x_train, self.y_train), (self.x_test, self.y_test)))

    @property
    def num_classes(self) -> int | None:
        """``len(classes)`` if known, else ``None``."""
        return None if self.classes is None else len(self.classes)


def load_h5(path: str | os.PathLike, *more_paths: str | os.PathLike) -> H5Dataset:
    """Read course-format ``.h5`` files.

    Args:
        path: a file holding ``train_set_x``/``train_set_y`` and/or
            ``test_set_x``/``test_set_y`` (and optionally ``list_classes``).
        *more_paths: further files, e.g. ``load_h5("train_signs.h5", "test_signs.h5")``. Each
            split may come from only one file; ``list_classes`` must agree where repeated.

    Returns:
        :class:`H5Dataset` with float32 images ``(m, n_H, n_W, n_C)`` in ``[0, 1]`` (uint8 / 255;
        float files must already be in ``[0, 1]``), int64 labels ``(m,)`` (a course ``(1, m)``
        or ``(m, 1)`` label array is flattened), and the class list.

    Raises:
        ImportError: h5py is not installed.
        FileNotFoundError: a path does not exist.
        ValueError: unreadable/corrupt file, no dataset in a file, a split with images but no
            labels (or the reverse), wrong shapes or dtypes, out-of-range values, a label not in
            ``list_classes``, a split found in two files, or conflicting ``list_classes``.
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "convnp.datasets.load_h5 needs h5py: pip install h5py  (or pip install 'convnp[h5]')"
        ) from exc

    result = H5Dataset()
    source: dict[str, Path] = {}
    for p in (path, *more_paths):
        p = Path(p)
        if p.is_dir():
            raise ValueError(f"{p} is a directory, expected a course .h5 file")
        if not p.is_file():
            raise FileNotFoundError(f"no such file: {p}")
        parts = _read_file(h5py, p)
        for split in _SPLITS:
            if split not in parts:
                continue
            if split in source:
                raise ValueError(f"{p}: the {split} split was already read from {source[split]}")
            source[split] = p
            x, y = parts[split]
            setattr(result, f"x_{split}", x)
            setattr(result, f"y_{split}", y)
        if "classes" in parts:
            if result.classes is not None and result.classes != parts["classes"]:
                raise ValueError(
                    f"{p}: list_classes {parts['classes']} differs from {result.classes} "
                    "in an earlier file")
            result.classes = parts["classes"]

    if result.classes is not None:
        n = len(result.classes)
        for split in _SPLITS:
            y = getattr(result, f"y_{split}")
            if y is not None and y.size and (y.min() < 0 or y.max() >= n):
                raise ValueError(
                    f"{source[split]}: {split}_set_y has labels in [{y.min()}, {y.max()}] but "
                    f"list_classes has {n} entries (expected labels 0..{n - 1})")
    return result


def _read_file(h5py: Any, path: Path) -> dict[str, Any]:
    """Read and check one file.

    Returns:
        ``{"train": (x, y), "test": (x, y), "classes": [...]}``, each key only if present.
    """
    handle = open_file(h5py, path, str(path))
    parts: dict[str, Any] = {}
    try:
        with handle:
            keys = set(handle.keys())
            for split in _SPLITS:
                xk, yk = f"{split}_set_x", f"{split}_set_y"
                if xk not in keys and yk not in keys:
                    continue
                if xk not in keys or yk not in keys:
                    missing = xk if xk not in keys else yk
                    raise ValueError(f"{path}: has {({xk, yk} - {missing}).pop()} but no {missing}")
                x = _images(path, xk, _dataset(h5py, path, handle, xk))
                y = _labels(path, yk, _dataset(h5py, path, handle, yk))
                if len(x) != len(y):
                    raise ValueError(
                        f"{path}: {xk} has {len(x)} images but {yk} has {len(y)} labels")
                parts[split] = (x, y)
            if "list_classes" in keys:
                parts["classes"] = _classes(path, _dataset(h5py, path, handle, "list_classes",
                                                         "fiubSUO"))
    except (OSError, RuntimeError, KeyError) as exc:
        # A file whose header is intact but whose data was cut off fails only when read, with
        # an OSError, or a RuntimeError/KeyError when its internal B-trees or links are broken.
        raise ValueError(f"{path}: corrupt or truncated HDF5 data ({exc})") from exc
    if "train" not in parts and "test" not in parts:
        raise ValueError(
            f"{path}: no course dataset found; expected train_set_x/train_set_y and/or "
            f"test_set_x/test_set_y, found keys {sorted(keys)}")
    return parts


def _dataset(h5py: Any, path: Path, handle: Any, key: str, kinds: str = "fiub") -> np.ndarray:
    """A top-level dataset, refused (ValueError) if it reads from other files or declares far
    more data than it stores (see `convnp._hdf5`)."""
    return read_dataset(h5py, get_node(h5py, handle, key, str(path)), str(path), key,
                        kinds=kinds)


def _images(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    """Course images → float32 ``(m, n_H, n_W, n_C)`` in [0, 1]."""
    if x.ndim != 4:
        raise ValueError(f"{path}: {key} has shape {x.shape}, expected (m, n_H, n_W, n_C)")
    if x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{path}: {key} has {x.shape[-1]} channels, expected 1, 3 or 4 (NHWC)")
    if np.issubdtype(x.dtype, np.integer):
        if x.dtype != np.uint8 and x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"{path}: {key} has values in [{x.min()}, {x.max()}], expected 0..255")
        out = x.astype(np.float32)
        out /= np.float32(255.0)  # in place: one float copy of the images, not two
        return out
    if np.issubdtype(x.dtype, np.floating):
        # A float file has no unambiguous scale unless it is already in [0, 1].
        if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise ValueError(f"{path}: {key} is {x.dtype} with values outside [0, 1]")
        return x.astype(np.float32)
    raise ValueError(f"{path}: {key} has dtype {x.dtype}, expected uint8 pixels")


def _labels(path: Path, key: str, y: np.ndarray) -> np.ndarray:
    """Course labels (``(m,)``, ``(1, m)`` or ``(m, 1)``) → int64 ``(m,)``."""
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError(f"{path}: {key} has shape {y.shape}, expected (m,) labels")
    if np.issubdtype(y.dtype, np.floating):
        if y.size and not np.array_equal(y, np.round(y)):
            raise ValueError(f"{path}: {key} holds non-integer values; expected class indices")
    elif not np.issubdtype(y.dtype, np.integer) and y.dtype != np.bool_:
        raise ValueError(f"{path}: {key} has dtype {y.dtype}, expected integer class indices")
    if y.size and y.dtype.kind in "uf" and y.max() > np.iinfo(np.int64).max:
        # checked before the cast, which would wrap 2**63 round to a negative label
        raise ValueError(f"{path}: {key} has a label of {y.max()}, too large for a class index")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{path}: {key} has a negative label ({y.min()})")
    return y


def _classes(path: Path, c: np.ndarray) -> list[Any]:
    if c.ndim != 1:
        raise ValueError(f"{path}: list_classes has shape {c.shape}, expected (n_classes,)")
    out: list[Any] = []
    for item in c.tolist():
        out.append(item.decode("utf-8", "replace") if isinstance(item, bytes) else item)
    return out
