"""``keras.applications.resnet``: the module `convnp.applications.resnet` itself."""

import sys

from convnp.applications import resnet

sys.modules[__name__] = resnet  # one module object under both names
