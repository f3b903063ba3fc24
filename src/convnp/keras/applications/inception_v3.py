"""``keras.applications.inception_v3``: the module `convnp.applications.inception_v3` itself."""

import sys

from convnp.applications import inception_v3

sys.modules[__name__] = inception_v3  # one module object under both names
