"""``keras.applications.nasnet``: the module `convnp.applications.nasnet` itself."""

import sys

from convnp.applications import nasnet

sys.modules[__name__] = nasnet  # one module object under both names
