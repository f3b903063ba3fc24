"""The ``tf.keras``-shaped namespace: ``import convnp as tf`` then ``tf.keras.layers.Conv2D``.

Re-exports only; the code lives in `convnp.layers`, `convnp.models` and the leaf modules.
"""

# `keras.__version__` is convnp's own version (the library running the script), the same
# string as `tf.__version__`
import importlib

from convnp import __version__ as __version__
from convnp.keras import (
    activations,
    backend,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
    utils,
)
from convnp.models import Input, Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "constraints",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
]


# Keras 3's top-level names (``keras.Layer`` is ``keras.layers.Layer``, ...): loaded on use
_TOP_LEVEL = {
    "Layer": ("convnp.layers.base", "Layer"),
    "InputSpec": ("convnp.layers.input_spec", "InputSpec"),
    "KerasTensor": ("convnp.layers.base", "KerasTensor"),
    "Loss": ("convnp.losses", "Loss"),
    "Metric": ("convnp.metrics", "Metric"),
    "Optimizer": ("convnp.optimizers", "Optimizer"),
    "Initializer": ("convnp.initializers", "Initializer"),
    "Regularizer": ("convnp.regularizers", "Regularizer"),
    "Variable": ("convnp.variables", "KerasVariable"),
    "name_scope": ("convnp.tensor.control", "name_scope"),
    "FloatDTypePolicy": ("convnp.keras.mixed_precision", "FloatDTypePolicy"),
}


def __getattr__(name: str):
    # ``tf.keras.datasets`` re-exports `convnp.datasets`, ``tf.keras.applications`` is
    # `convnp.applications`, loaded only when asked for
    if name == "datasets":
        import convnp.keras.datasets

        return convnp.keras.datasets
    if name == "preprocessing":  # Keras 2's image_dataset_from_directory and image helpers
        import convnp.keras.preprocessing

        return convnp.keras.preprocessing
    if name in _TOP_LEVEL:  # Keras 3's short names of its base classes and helpers
        module, attribute = _TOP_LEVEL[name]
        return getattr(importlib.import_module(module), attribute)
    if name == "version":
        return lambda: __version__
    if name == "tree":  # Keras 3's nested-structure functions
        import convnp.keras.tree

        return convnp.keras.tree
    if name == "config":  # Keras 3's global settings
        import convnp.keras.config

        return convnp.keras.config
    if name == "ops":  # Keras 3's tensor functions
        import convnp.keras.ops

        return convnp.keras.ops
    if name == "random":  # Keras 3's random functions
        import convnp.keras.random

        return convnp.keras.random
    if name == "DTypePolicy":  # Keras 3's top-level name of the dtype policy
        from convnp.keras.mixed_precision import DTypePolicy

        return DTypePolicy
    if name == "mixed_precision":  # dtype policies: float32 only
        import convnp.keras.mixed_precision

        return convnp.keras.mixed_precision
    if name == "dtype_policies":  # Keras 3's policy classes, get/serialize/deserialize
        import convnp.keras.dtype_policies

        return convnp.keras.dtype_policies
    if name == "visualization":  # Keras 3's drawing of boxes and masks (matplotlib galleries)
        import convnp.keras.visualization

        return convnp.keras.visualization
    if name == "applications":  # loaded only when asked for
        import convnp.keras.applications

        return convnp.keras.applications
    raise AttributeError(f"module 'convnp.keras' has no attribute {name!r}")
