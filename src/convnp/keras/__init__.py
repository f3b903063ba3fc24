"""The ``tf.keras``-shaped namespace: ``import convnp as tf`` then ``tf.keras.layers.Conv2D``.

Re-exports only; the code lives in `convnp.layers`, `convnp.models` and the leaf modules.
"""

from convnp.keras import (
    activations,
    backend,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
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
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "utils",
]
