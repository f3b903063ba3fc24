"""``tf.keras.models``: `Sequential`, `Model`, and `load_model` (from `convnp.saving`)."""

from __future__ import annotations

from convnp.keras.saving import load_model, save_model
from convnp.models import Model, Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "save_model"]


def clone_model(model):
    """A new model with the same architecture and freshly initialised weights."""
    config = model.get_config()
    return type(model).from_config(config)
