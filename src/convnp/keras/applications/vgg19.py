"""``keras.applications.vgg19``: the module `convnp.applications.vgg19` itself."""

import sys

from convnp.applications import vgg19

sys.modules[__name__] = vgg19  # one module object under both names
