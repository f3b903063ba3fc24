"""convnp: convolutional neural networks in pure NumPy, with a Keras-compatible API.

    import convnp as tf
    tfl = tf.keras.layers

runs the course's tf.keras code unchanged. The course's NumPy functions are importable from
the top level (fast versions); their readable loop twins live in `convnp.ops.reference`.
"""

from __future__ import annotations

import importlib

from convnp.ops import (
    conv_backward,
    conv_forward,
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
    zero_pad,
)

__version__ = "0.1.0"

__all__ = [
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "data",
    "datasets",
    "distribute_value",
    "keras",
    "pool_backward",
    "pool_forward",
    "random",
    "zero_pad",
]

# Heavier sub-packages load on first use, so `import convnp` stays quick.
_LAZY_SUBMODULES = {
    "keras", "data", "datasets", "random", "plot", "saving", "onnx", "ops", "io", "app",
}


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"convnp.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'convnp' has no attribute {name!r}")
