"""Layer classes by name, for model files and configs: ``{"class_name", "config"}`` dicts."""

from __future__ import annotations

from typing import Any

from convnp.layers.base import Layer

_REGISTRY: dict[str, type[Layer]] = {}


def register(cls: type[Layer], name: str | None = None) -> type[Layer]:
    """Make ``cls`` known to `get_layer_class`/`deserialize` under ``name`` (default: its
    class name). Returns ``cls``, so it can decorate a class."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register expects a Layer subclass, got {cls!r}")
    _REGISTRY[name or cls.__name__] = cls
    return cls


def get_layer_class(name: str, custom_objects: dict[str, type] | None = None) -> type[Layer]:
    """The layer class called ``name`` (``"Conv2D"``, ``"MaxPool2D"``, ...).

    Raises:
        ValueError: unknown name; the message lists the known ones.
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layer class {name!r}; known layers: "
                         f"{sorted(_REGISTRY)}") from None


def serialize(layer: Layer) -> dict[str, Any]:
    """``{"class_name": "Conv2D", "config": layer.get_config()}``."""
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize expects a Layer, got {type(layer).__name__}")
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict[str, Any],
                custom_objects: dict[str, type] | None = None) -> Layer:
    """A new (unbuilt) layer from `serialize`'s output."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a layer config must be a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    cls = get_layer_class(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config") or {}))
