"""``keras.applications.resnet50``: the module `convnp.applications.resnet50` itself."""

import sys

from convnp.applications import resnet50

sys.modules[__name__] = resnet50  # one module object under both names
