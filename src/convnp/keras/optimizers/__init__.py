"""``tf.keras.optimizers``: re-exports `convnp.optimizers`.

``tf.keras.optimizers.legacy`` (TensorFlow 2.11–2.15's spelling for Keras 2's optimizers) and
``tf.keras.optimizers.experimental`` (TensorFlow 2.9–2.10's, for the optimizers that became
the default) hold the same classes: every convnp optimizer takes Keras 2's ``lr=`` and
``decay=`` as well as Keras 3's arguments.
"""

from convnp.keras.optimizers import experimental, legacy, schedules  # noqa: F401
from convnp.optimizers import *
from convnp.optimizers import (
    __all__,  # noqa: F401
    get,  # noqa: F401
)
