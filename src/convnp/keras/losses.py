"""``tf.keras.losses``: re-exports `convnp.losses`."""

from convnp.losses import *
from convnp.losses import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
