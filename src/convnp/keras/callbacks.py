"""``tf.keras.callbacks``: re-exports `convnp.callbacks`."""

from convnp.callbacks import *
from convnp.callbacks import __all__  # noqa: F401
