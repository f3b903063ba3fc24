"""``tf.keras.activations``: re-exports `convnp.activations`."""

from convnp.activations import *
from convnp.activations import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
