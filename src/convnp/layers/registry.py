"""Layer classes by name: the one list of layers.

A layer class joins it with the `register` decorator, in its own module under
``convnp/layers/``; `convnp.layers` imports every such module, so the class is then in
``convnp.layers``, ``tf.keras.layers``, model files (``.convnp``, ``.keras``) and configs
(``{"class_name", "config"}`` dicts) without being listed anywhere else.
"""

from __future__ import annotations

from typing import Any

from convnp.layers.base import Layer

_REGISTRY: dict[str, type[Layer]] = {}


def register(cls: type[Layer] | None = None, name: str | None = None, *,
             aliases: tuple[str, ...] = ()) -> Any:
    """Make a layer class known under its class name (or ``name``) and each of ``aliases``.

    Use it as ``@register`` or ``@register(aliases=("MaxPool2D",))`` on the class, or call
    ``register(cls, "OtherName")``. Returns the class.

    >>> import convnp.layers
    >>> get_layer_class("MaxPool2D") is convnp.layers.MaxPooling2D
    True
    """
    if cls is None:
        def decorate(target: type[Layer]) -> type[Layer]:
            return register(target, name, aliases=aliases)
        return decorate
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register expects a Layer subclass, got {cls!r}")
    for key in (name or cls.__name__, *aliases):
        _REGISTRY[key] = cls
    return cls


def registered_layers() -> dict[str, type[Layer]]:
    """Every registered name (aliases included) with its class, sorted by name."""
    return dict(sorted(_REGISTRY.items()))


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


def is_builtin(cls: type) -> bool:
    """Whether ``cls`` is one of convnp's own registered layers (not a user's class)."""
    return _REGISTRY.get(getattr(cls, "__name__", None)) is cls and \
        cls.__module__.startswith("convnp.layers.")


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


__all__ = ["deserialize", "get_layer_class", "is_builtin", "register", "registered_layers",
           "serialize"]
