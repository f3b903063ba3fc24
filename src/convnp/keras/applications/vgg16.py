"""``keras.applications.vgg16``: the module `convnp.applications.vgg16` itself."""

import sys

from convnp.applications import vgg16

sys.modules[__name__] = vgg16  # one module object under both names
