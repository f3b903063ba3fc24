"""Optimizers with Keras 3's exact update rules, names, configs and variables.

One module per idea: `base` (the `Optimizer` class every rule extends: slots, step count,
clipping, weight decay, gradient accumulation, the moving average of the weights, loss
scaling, state and config), `rules` (Keras's classic rules, SGD to Ftrl), `adafactor`,
`muon`, `schedule_free` (ScheduleFreeAdamW): one newer rule each, `loss_scale`
(LossScaleOptimizer, dynamic loss scaling around another optimizer), `multi`
(MultiOptimizer and OptimizerMap: one optimizer per group of variables). This package file
only gathers them and names them for ``optimizer="adam"`` and Keras configs.
"""

from __future__ import annotations

from typing import Any

from convnp.optimizers.adafactor import Adafactor
from convnp.optimizers.base import OPTIMIZERS, Optimizer
from convnp.optimizers.loss_scale import LossScaleOptimizer
from convnp.optimizers.multi import MultiOptimizer, OptimizerMap
from convnp.optimizers.muon import Muon
from convnp.optimizers.rules import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Ftrl,
    Lamb,
    Lion,
    Nadam,
    RMSprop,
)
from convnp.optimizers.schedule_free import ScheduleFreeAdamW

__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb",
           "Lion", "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer",
           "OptimizerMap", "RMSprop", "ScheduleFreeAdamW", "deserialize", "get", "serialize"]

_BUILTIN = (SGD, Adam, RMSprop, AdamW, Adagrad, Adamax, Nadam, Adadelta, Lion, Ftrl,
            Lamb, LossScaleOptimizer, Adafactor, Muon, ScheduleFreeAdamW, MultiOptimizer)
# Keras's spellings: the class name in any case ("adam", "Adam", "ADAM").
for _cls in _BUILTIN:
    OPTIMIZERS.add(_cls, _cls.__name__.lower(), snake=False)
_CLASSES: dict[str, type[Optimizer]] = {c.__name__: c for c in _BUILTIN}


def get(identifier: Any) -> Optimizer:
    """Resolve an optimizer: `"adam"`, `"sgd"`, `"rmsprop"` (any case), an `Optimizer`, or a
    Keras config dict. A name gives a fresh optimizer with Keras's defaults.

    Raises:
        ValueError: unknown name (the message lists the close and the known ones).
        TypeError: another type.
    """
    return OPTIMIZERS.get(identifier)


def serialize(optimizer: Any) -> dict[str, Any]:
    """Keras-style `{"class_name": ..., "config": ...}`."""
    return OPTIMIZERS.serialize(optimizer)


def deserialize(config: Any, custom_objects=None) -> Optimizer:
    """Inverse of `serialize` (a name string is accepted too)."""
    return OPTIMIZERS.deserialize(config, custom_objects)


# ``tf.optimizers`` is this package (TensorFlow 2.21's is Keras's optimizers module), so it
# answers Keras's sub-modules too: keras.io's RetinaNet writes
# ``tf.optimizers.schedules.PiecewiseConstantDecay``. Loaded on first use: the sub-modules
# import this package.
_KERAS_SUBMODULES = {"schedules": "convnp.schedules",
                     "legacy": "convnp.keras.optimizers.legacy",
                     "experimental": "convnp.keras.optimizers.experimental"}


def __getattr__(name: str):
    if name not in _KERAS_SUBMODULES:
        raise AttributeError(f"module 'convnp.optimizers' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_KERAS_SUBMODULES[name])
    globals()[name] = module
    return module
