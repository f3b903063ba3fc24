"""``keras.applications.inception_resnet_v2``: the module `convnp.applications.inception_resnet_v2` itself."""

import sys

from convnp.applications import inception_resnet_v2

sys.modules[__name__] = inception_resnet_v2  # one module object under both names
