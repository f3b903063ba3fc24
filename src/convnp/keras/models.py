"""``tf.keras.models``: `Sequential`, `Model`, and `load_model` (from `convnp.saving`)."""

from __future__ import annotations

from convnp.models import Model, Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model"]


def load_model(filepath, *args, **kwargs):
    """Load a saved model; forwards to `convnp.saving.load_model` (imported on first use)."""
    from convnp import saving

    return saving.load_model(filepath, *args, **kwargs)


def clone_model(model):
    """A new model with the same architecture and freshly initialised weights."""
    config = model.get_config()
    return type(model).from_config(config)
