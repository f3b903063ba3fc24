"""``keras.applications.mobilenet_v2``: the module `convnp.applications.mobilenet_v2` itself."""

import sys

from convnp.applications import mobilenet_v2

sys.modules[__name__] = mobilenet_v2  # one module object under both names
