"""``keras.applications.efficientnet``: the module `convnp.applications.efficientnet` itself."""

import sys

from convnp.applications import efficientnet

sys.modules[__name__] = efficientnet  # one module object under both names
