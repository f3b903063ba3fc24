"""``keras.applications.xception``: the module `convnp.applications.xception` itself."""

import sys

from convnp.applications import xception

sys.modules[__name__] = xception  # one module object under both names
