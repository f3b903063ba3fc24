"""``tf.keras.utils``: `set_random_seed`, `to_categorical` (from `convnp.utils`)."""

from __future__ import annotations

__all__ = ["set_random_seed", "to_categorical"]


def __getattr__(name: str):
    # resolved on first use so this namespace imports even before convnp.utils is loaded
    if name in __all__:
        from convnp import utils

        value = getattr(utils, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convnp.keras.utils' has no attribute {name!r}")
