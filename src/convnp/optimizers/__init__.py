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
from convnp.optimizers.base import OPTIMIZERS, Optimizer, keras_object
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


def get(identifier: Any) -> Optimizer | None:
    """Resolve an optimizer: `"adam"`, `"sgd"`, `"rmsprop"` (any case), an `Optimizer`, or a
    Keras config dict. A name gives a fresh optimizer with Keras's defaults; None gives None,
    as Keras 3's ``optimizers.get(None)``.

    Raises:
        ValueError: unknown name (the message lists the close and the known ones), or an
            identifier of another type (Keras 3's "Could not interpret optimizer
            identifier"; a TypeError too, as convnp raised before).
    """
    if identifier is None:
        return None
    try:
        return OPTIMIZERS.get(identifier)
    except TypeError as error:
        if isinstance(error, ValueError):
            raise
        raise _UninterpretableError(str(error)) from None


class _UninterpretableError(TypeError, ValueError):
    """An optimizer identifier of a type `get` cannot read: Keras 3 raises ValueError,
    convnp's registries TypeError; this is both."""


def serialize(optimizer: Any) -> dict[str, Any] | None:
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` of an optimizer
    (``"module": "keras.optimizers"`` for convnp's own, None and the registered name for a
    user's class); None gives None."""
    if optimizer is None:
        return None
    if isinstance(optimizer, Optimizer):
        return keras_object(optimizer)
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
