"""Old import path of `convnp.io._files`, kept working: `convnp._files` *is* that module."""

import sys

from convnp.io import _files as _module

sys.modules[__name__] = _module
