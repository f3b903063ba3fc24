"""Interoperability: ONNX export and Keras 3 ``.keras`` / ``.weights.h5`` files.

* `convnp.interop.onnx.export(model, path, opset=17)` writes an ONNX model (NumPy + stdlib only);
* `convnp.interop.keras_format.load_keras(path)` / `save_keras(model, path)` read and write
  Keras 3 ``.keras`` archives; `load_keras_weights` / `save_keras_weights` do ``.weights.h5``.

The submodules are imported on use, so ``import convnp`` does not pay for them. ``h5py`` is an
optional extra (``pip install convnp[h5]``) needed only for the Keras files.
"""

from __future__ import annotations

import importlib

__all__ = [
    "export_onnx",
    "load_keras",
    "load_keras_weights",
    "save_keras",
    "save_keras_weights",
]

_LAZY = {
    "export_onnx": ("convnp.io.onnx", "export"),
    "load_keras": ("convnp.io.keras_format", "load_keras"),
    "save_keras": ("convnp.io.keras_format", "save_keras"),
    "load_keras_weights": ("convnp.io.keras_format", "load_keras_weights"),
    "save_keras_weights": ("convnp.io.keras_format", "save_keras_weights"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'convnp.interop' has no attribute {name!r}")
