"""``keras.applications.mobilenet_v3``: the module `convnp.applications.mobilenet_v3` itself."""

import sys

from convnp.applications import mobilenet_v3

sys.modules[__name__] = mobilenet_v3  # one module object under both names
