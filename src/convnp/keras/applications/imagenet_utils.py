"""``keras.applications.imagenet_utils``: the module `convnp.applications.imagenet_utils` itself."""

import sys

from convnp.applications import imagenet_utils

sys.modules[__name__] = imagenet_utils  # one module object under both names
