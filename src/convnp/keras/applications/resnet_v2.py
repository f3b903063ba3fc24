"""``keras.applications.resnet_v2``: the module `convnp.applications.resnet_v2` itself."""

import sys

from convnp.applications import resnet_v2

sys.modules[__name__] = resnet_v2  # one module object under both names
