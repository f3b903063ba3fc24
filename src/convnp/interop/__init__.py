"""Old import path of the file-format code, which now lives in `convnp.io`.

``convnp.interop.keras_format``, ``convnp.interop.onnx`` and ``convnp.interop.protobuf`` *are*
`convnp.io.keras_format`, `convnp.io.onnx` and `convnp.io.protobuf`; ``convnp.interop.load_keras``
and the other names of `convnp.io` resolve there too.
"""

from __future__ import annotations

import sys

from convnp import io as _io
from convnp.io import keras_format, onnx, protobuf

for _module in (keras_format, onnx, protobuf):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module

__all__ = list(_io.__all__)


def __getattr__(name: str):
    return getattr(_io, name)
