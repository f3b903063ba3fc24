"""``tf.keras.constraints``: re-exports `convnp.constraints`."""

from convnp.constraints import *
from convnp.constraints import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
