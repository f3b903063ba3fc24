"""Layer classes by name: the one list of layers.

A layer class joins it with the `register` decorator, in its own module under
``convnp/layers/``; `convnp.layers` imports every such module, so the class is then in
``convnp.layers``, ``tf.keras.layers``, model files (``.convnp``, ``.keras``) and configs
(``{"class_name", "config"}`` dicts) without being listed anywhere else.
"""

from __future__ import annotations

from typing import Any

from convnp.layers.base import Layer
from convnp.serialization import Registry

# class names only (no snake-case or other-case spellings: configs name layers by class)
_LAYERS = Registry("layer class", Layer, ignore_case=False)
_REGISTRY: dict[str, type[Layer]] = _LAYERS.entries


def register(cls: type[Layer] | None = None, name: str | None = None, *,
             aliases: tuple[str, ...] = ()) -> Any:
    """Make a layer class known under its class name (or ``name``) and each of ``aliases``.

    Use it as ``@register`` or ``@register(aliases=("MaxPool2D",))`` on the class, or call
    ``register(cls, "OtherName")``. Returns the class. (A user's class may instead use
    ``tf.keras.saving.register_keras_serializable``, or ``custom_objects=`` when loading.)

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
    """The layer class called ``name`` (``"Conv2D"``, ``"MaxPool2D"``, a class named in
    ``custom_objects`` or an open `CustomObjectScope`, or one registered with
    ``register_keras_serializable``).

    Raises:
        ValueError: unknown name; the message lists the close and the known ones.
    """
    return _LAYERS.lookup(name, custom_objects)


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
    return _LAYERS.deserialize(config, custom_objects)


__all__ = ["deserialize", "get_layer_class", "is_builtin", "register", "registered_layers",
           "serialize"]
