"""``keras.applications.densenet``: the module `convnp.applications.densenet` itself."""

import sys

from convnp.applications import densenet

sys.modules[__name__] = densenet  # one module object under both names
