"""``tf.keras.regularizers``: re-exports `convnp.regularizers`."""

from convnp.regularizers import *
from convnp.regularizers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
