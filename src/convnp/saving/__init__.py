"""Old import path of `convnp.io.saving`, kept working: `convnp.saving` *is* that module."""

import sys

from convnp.io import saving as _module

sys.modules[__name__] = _module
