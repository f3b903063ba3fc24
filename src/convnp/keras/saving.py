"""``tf.keras.saving``: `load_model` and `save_model`, forwarded to `convnp.saving`."""

from __future__ import annotations

__all__ = ["load_model", "save_model"]


def load_model(filepath, *args, **kwargs):
    """Load a model file (see `convnp.saving.load_model`)."""
    from convnp.io import saving

    return saving.load_model(filepath, *args, **kwargs)


def save_model(model, filepath, *args, **kwargs):
    """Save a model file (see `convnp.saving.save_model`)."""
    from convnp.io import saving

    return saving.save_model(model, filepath, *args, **kwargs)
