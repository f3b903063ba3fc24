"""``tf.keras.optimizers``: re-exports `convnp.optimizers`."""

from convnp import schedules  # noqa: F401  (tf.keras.optimizers.schedules)
from convnp.optimizers import *
from convnp.optimizers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
