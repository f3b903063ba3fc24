"""``tf.keras.optimizers.schedules``: the module `convnp.schedules` itself."""

import sys

from convnp import schedules

sys.modules[__name__] = schedules  # one module object under both names
