"""``tf.keras.layers``: every convnp layer class, plus `Input` and the `Layer` base."""

from convnp.layers import *  # noqa: F401,F403  (the layer classes are this module's API)
from convnp.layers import __all__ as _layer_names
from convnp.layers.base import Layer  # noqa: F401
from convnp.models.functional import Input  # noqa: F401

__all__ = sorted(set(_layer_names) | {"Layer", "Input"})
