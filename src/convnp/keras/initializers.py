"""``tf.keras.initializers``: re-exports `convnp.initializers` (the lowercase spellings
such as ``glorot_uniform`` and ``random_uniform`` included, each its class)."""

from convnp.initializers import *
from convnp.initializers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
