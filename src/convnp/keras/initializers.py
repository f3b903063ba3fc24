"""``tf.keras.initializers``: re-exports `convnp.initializers`."""

from convnp.initializers import *

# The lowercase spellings tf.keras also exports, as the course imports them
# (``from tensorflow.keras.initializers import random_uniform, glorot_uniform, constant``):
# each is its class, so ``random_uniform(seed=0)`` builds an initializer.
from convnp.initializers import _NAMES as _LOWERCASE
from convnp.initializers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)

globals().update({_name: _cls for _name, _cls in _LOWERCASE.items() if _name not in globals()})
