"""``tf.keras.initializers``: re-exports `convnp.initializers`."""

from convnp.initializers import *  # noqa: F401,F403
from convnp.initializers import __all__  # noqa: F401
from convnp.initializers import get  # noqa: F401
