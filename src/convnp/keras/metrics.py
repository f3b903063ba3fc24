"""``tf.keras.metrics``: re-exports `convnp.metrics`."""

from convnp.metrics import *
from convnp.metrics import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
