"""``tf.keras.callbacks``: re-exports `convnp.callbacks`."""

from convnp.callbacks import *  # noqa: F401,F403
from convnp.callbacks import __all__  # noqa: F401
