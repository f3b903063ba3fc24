"""``tf.keras.optimizers``: re-exports `convnp.optimizers`."""

from convnp.optimizers import *  # noqa: F401,F403
from convnp.optimizers import __all__  # noqa: F401
from convnp.optimizers import get  # noqa: F401
