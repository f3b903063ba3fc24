"""Registry of the built-in procedural datasets and the Keras-style :func:`load`.

``load(name)`` returns ``(x_train, y_train), (x_test, y_test)`` exactly like
``keras.datasets.<name>.load_data()``; everything else about a dataset (class names, sizes,
label format) comes from :func:`info`, so the common call stays a plain tuple unpacking.
Each generator module describes itself (``INFO``) and draws its splits with
`convnp.datasets._seeded.draw`; this module only lists them by name.
"""

from __future__ import annotations

from types import ModuleType

from convnp.datasets import fingers, smiles
from convnp.datasets._seeded import DatasetInfo, Splits, draw

__all__ = ["DatasetInfo", "available", "class_names", "info", "load"]

_REGISTRY: dict[str, ModuleType] = {module.INFO.name: module for module in (smiles, fingers)}
_ALIASES = {"signs": "fingers", "happy": "smiles"}


def available() -> list[str]:
    """Names accepted by :func:`load` (canonical names, then aliases)."""
    return sorted(_REGISTRY) + sorted(_ALIASES)


def _resolve(name: str) -> ModuleType:
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; expected one of {available()}")
    return _REGISTRY[key]


def info(name: str) -> DatasetInfo:
    """Metadata of a built-in dataset (class names, sizes, label format); no images are drawn."""
    return _resolve(name).INFO


def class_names(name: str) -> list[str]:
    """Class names of a built-in dataset in label order (label ``i`` is ``names[i]``)."""
    return list(_resolve(name).INFO.classes)


def load(name: str, *, seed: int = 0, one_hot: bool = False) -> Splits:
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
    module = _resolve(name)
    return draw(module.INFO, module.generate, seed, one_hot)
