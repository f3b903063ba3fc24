"""``tf.keras.utils.legacy``: Keras 2's ``serialize_keras_object`` and
``deserialize_keras_object``, which TF 2.21 still exports. The dict layout is Keras 2's
``{"class_name", "config"}`` (no ``module`` or ``registered_name``), the one
`convnp.serialization` writes; the legacy ``deserialize_keras_object`` takes
``module_objects`` before ``custom_objects``, as Keras 2 did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convnp import serialization as _serialization

__all__ = ["deserialize_keras_object", "serialize_keras_object"]


def serialize_keras_object(instance: Any) -> Any:
    """``{"class_name": ..., "config": instance.get_config()}``, or a function's or class's
    name; None stays None. Anything else (a string, a number) cannot be serialized: Keras 2
    raised ValueError for it, so does this."""
    if instance is None:
        return None
    if not callable(getattr(instance, "get_config", None)) and not callable(instance):
        # ValueError, as Keras 2 (and TF 2.21) raise for it
        raise ValueError(f"cannot serialize {instance!r}: it has no "  # noqa: TRY004
                         "get_config() and is not a function or class")
    return _serialization.serialize_keras_object(instance)


def deserialize_keras_object(identifier: Any, module_objects: Mapping[str, Any] | None = None,
                             custom_objects: Mapping[str, Any] | None = None,
                             printable_module_name: str = "object") -> Any:
    """The object a legacy config (or a name) describes, looked up in the custom-object
    scopes, ``custom_objects`` and ``module_objects``; a function passes through. An
    unknown name raises ValueError naming ``printable_module_name``."""
    if identifier is None or callable(identifier) and not isinstance(identifier, Mapping):
        return identifier
    if not isinstance(identifier, (str, Mapping)):
        raise ValueError(f"could not interpret serialized "  # noqa: TRY004 (as Keras 2)
                         f"{printable_module_name}: {identifier!r}")
    try:
        return _serialization.deserialize_keras_object(
            dict(identifier) if isinstance(identifier, Mapping) else identifier,
            custom_objects=custom_objects, module_objects=module_objects)
    except ValueError as exc:
        raise ValueError(f"unknown {printable_module_name}: {exc}") from None
