"""``keras.applications.efficientnet_v2``: the module `convnp.applications.efficientnet_v2` itself."""

import sys

from convnp.applications import efficientnet_v2

sys.modules[__name__] = efficientnet_v2  # one module object under both names
