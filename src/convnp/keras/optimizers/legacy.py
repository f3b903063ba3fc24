"""``tf.keras.optimizers.legacy`` (TensorFlow 2.11–2.15): Keras 2's optimizers. convnp's own
classes, which accept Keras 2's ``lr=`` and ``decay=``."""

from convnp.optimizers import *
from convnp.optimizers import __all__  # noqa: F401
