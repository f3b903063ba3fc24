"""``keras.applications.convnext``: the module `convnp.applications.convnext` itself."""

import sys

from convnp.applications import convnext

sys.modules[__name__] = convnext  # one module object under both names
