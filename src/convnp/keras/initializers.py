"""``tf.keras.initializers``: re-exports `convnp.initializers`."""

from convnp.initializers import *
from convnp.initializers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
