"""Old import path of `convnp.app.zoo`, kept working: `convnp.zoo` *is* that module."""

import sys

from convnp.app import zoo as _module

sys.modules[__name__] = _module
