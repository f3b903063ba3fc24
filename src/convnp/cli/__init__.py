"""Old import path of `convnp.app.cli`, kept working: `convnp.cli` *is* that module."""

import sys

from convnp.app import cli as _module

sys.modules[__name__] = _module
