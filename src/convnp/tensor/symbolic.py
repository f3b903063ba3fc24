"""Tensor functions called on KerasTensors: the op becomes a layer of the model being built.

Keras lets a functional model's definition apply tensor functions to its symbolic tensors:
``keras.ops.mean(x, axis=[1, 2])``, ``tf.nn.relu(x)``, ``x[..., :3]``, ``x ** 2``. No numbers
exist yet, so the call is recorded instead: the op, with its other arguments as given, becomes
one layer of the model (`convnp.layers.op_layer.TFOpLambda`), run on every forward and
differentiated by the tape.

This module sits below the layers and never imports them. `accept_keras_tensors` wraps every
public function of a tensor module; a wrapped function that finds a `KerasTensor` among its
arguments (also inside a list or tuple argument, as ``concatenate([a, b])`` passes them) hands
the call to `hook`, which `convnp.layers.op_layer` sets when it is imported. A KerasTensor is
recognised by its class attribute ``_convnp_keras_tensor``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

#: ``(function, name, args, kwargs) -> KerasTensor``; set by `convnp.layers.op_layer`
hook: Callable[..., Any] | None = None
#: ``(name, args, kwargs) -> KerasTensor``: keras.ops' function ``name`` on KerasTensors, for
#: the modules below keras.ops that answer KerasTensors with it (`convnp.activations`); set
#: by `convnp.layers.op_layer`
keras_op: Callable[..., Any] | None = None


def is_keras_tensor(value) -> bool:
    return getattr(type(value), "_convnp_keras_tensor", False)


def holds_keras_tensor(args, kwargs) -> bool:
    """Whether a KerasTensor is among the arguments or one level inside a list/tuple one."""
    for value in (*args, *kwargs.values()):
        if is_keras_tensor(value):
            return True
        if type(value) in (list, tuple) and any(is_keras_tensor(v) for v in value):
            return True
    return False


def op_function(function: Callable, name: str, key: str | None = None) -> Callable:
    """``function`` that records itself as a layer when called on KerasTensors.

    The wrapper keeps the original as ``__wrapped__``, its public name as ``op_name`` (the
    layer's name) and the attribute of its module it sits in as ``op_key`` (``key``, default
    ``name``): ``module.op_key`` is how a saved model names it.
    """
    @functools.wraps(function)
    def op(*args, **kwargs):
        if holds_keras_tensor(args, kwargs):
            if hook is None:  # KerasTensors come from convnp.layers, which sets the hook
                raise RuntimeError("convnp.layers is not imported")
            return hook(op, name, args, kwargs)
        return function(*args, **kwargs)

    op.op_name = name
    op.op_key = key or name
    op._convnp_op = True
    return op


def is_op_function(value) -> bool:
    return callable(value) and getattr(value, "_convnp_op", False)


def accept_keras_tensors(namespace: dict, skip: tuple[str, ...] = (),
                         extra: dict[str, str] | None = None) -> None:
    """Wrap, in a module's ``namespace`` (its ``globals()``), every public function the
    module defines (not the ones it imports: their own module wraps them), except ``skip``.
    ``extra`` maps private helpers to the public names they go by elsewhere
    (``{"_image_resize": "resize"}``)."""
    module = namespace["__name__"]
    names = {name: name for name, value in namespace.items()
             if not name.startswith("_") and name not in skip
             and isinstance(value, types.FunctionType) and value.__module__ == module}
    names.update(extra or {})
    for key, public in names.items():
        value = namespace[key]
        if not is_op_function(value):
            namespace[key] = op_function(value, public, key)
