"""``tf.keras.losses``: re-exports `convnp.losses`."""

from convnp.losses import *  # noqa: F401,F403
from convnp.losses import __all__  # noqa: F401
from convnp.losses import get  # noqa: F401
