"""Old import path of `convnp.ops.threads`, kept working: `convnp.ops._threads` *is* that
module (monkeypatching one patches the other)."""

import sys

from convnp.ops import threads as _module

sys.modules[__name__] = _module
