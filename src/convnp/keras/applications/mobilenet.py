"""``keras.applications.mobilenet``: the module `convnp.applications.mobilenet` itself."""

import sys

from convnp.applications import mobilenet

sys.modules[__name__] = mobilenet  # one module object under both names
