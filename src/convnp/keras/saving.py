"""``tf.keras.saving``: `load_model` and `save_model`, forwarded to `convnp.saving`, and the
custom-object API of `convnp.serialization` (``register_keras_serializable``, ...)."""

from __future__ import annotations

from convnp import serialization as _serialization
from convnp.serialization import *

__all__ = ["load_model", "save_model"]
__all__.extend(_serialization.__all__)  # the custom-object API


def load_model(filepath, *args, **kwargs):
    """Load a model file (see `convnp.saving.load_model`)."""
    from convnp.io import saving

    return saving.load_model(filepath, *args, **kwargs)


def save_model(model, filepath, *args, **kwargs):
    """Save a model file (see `convnp.saving.save_model`)."""
    from convnp.io import saving

    return saving.save_model(model, filepath, *args, **kwargs)
