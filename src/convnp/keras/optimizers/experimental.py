"""``tf.keras.optimizers.experimental`` (TensorFlow 2.9–2.10, e.g. ``AdamW``): convnp's own
optimizer classes."""

from convnp.optimizers import *
from convnp.optimizers import __all__  # noqa: F401
