"""``tf.keras.saving``: `load_model` and `save_model`, forwarded to `convnp.saving`, and the
custom-object API of `convnp.serialization` (``register_keras_serializable``, ...)."""

from __future__ import annotations

from convnp.serialization import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "register_keras_serializable", "save_model", "serialize_keras_object"]


def load_model(filepath, *args, **kwargs):
    """Load a model file (see `convnp.saving.load_model`)."""
    from convnp.io import saving

    return saving.load_model(filepath, *args, **kwargs)


def save_model(model, filepath, *args, **kwargs):
    """Save a model file (see `convnp.saving.save_model`)."""
    from convnp.io import saving

    return saving.save_model(model, filepath, *args, **kwargs)
