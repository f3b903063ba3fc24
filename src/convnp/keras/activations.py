"""``tf.keras.activations``: re-exports `convnp.activations`."""

from convnp.activations import *  # noqa: F401,F403
from convnp.activations import __all__  # noqa: F401
from convnp.activations import get  # noqa: F401
