"""``tf.keras.metrics``: re-exports `convnp.metrics`."""

from convnp.metrics import *  # noqa: F401,F403
from convnp.metrics import __all__  # noqa: F401
from convnp.metrics import get  # noqa: F401
