"""Keras's masks: which steps of a sequence count, and how a layer call hands them on.

A mask is a boolean tensor ``(batch, steps)`` (``Embedding(mask_zero=True)``'s ids that are
not 0, `Masking`'s steps that are not all padding). Keras 3 keeps it on the tensor it belongs
to, as ``tensor._keras_mask``, and its ``Layer.__call__`` does three things with it:

1. a layer whose ``call`` takes ``mask`` gets the mask of its input when none is given (one
   tensor: its mask; a list of tensors: the list of their masks);
2. after the call, a layer that ``supports_masking`` gives its output the mask its
   ``compute_mask(inputs, mask)`` returns (Keras's default: the input's mask, unchanged);
3. a layer that does not support masking drops the mask, with a warning.

Here those three steps work on KerasTensors (the masks are then tensors of the model, made by
``keras.ops`` functions that become op layers, as Keras records them), on eager results
(arrays carrying ``_keras_mask``), and, inside a model's graph, on the masks the graph
carries beside its values (`convnp.models.functional`: what Keras does at run time, so a model
used as a layer receives and hands on masks). The functions below compute a mask from masks
either symbolically (KerasTensors: ``keras.ops`` op layers) or on arrays (NumPy).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any

import numpy as np


def is_symbolic(value) -> bool:
    return getattr(value, "_convnp_keras_tensor", False) is True


def mask_of(value):
    """The mask ``value`` carries (None without); for a list or tuple of tensors the list of
    their masks."""
    if isinstance(value, (list, tuple)):
        return [mask_of(v) for v in value]
    return getattr(value, "_keras_mask", None)


def any_mask(mask) -> bool:
    """Whether ``mask`` (a mask, None, or a list of them) holds a mask."""
    if isinstance(mask, (list, tuple)):
        return any(any_mask(m) for m in mask)
    return mask is not None


def set_mask(tensor, mask) -> None:
    """Attach ``mask`` to ``tensor`` (a KerasTensor or an eager result), as Keras's
    ``set_keras_mask``; a plain value that cannot carry attributes is left alone."""
    try:
        tensor._keras_mask = mask
    except AttributeError:
        pass


def flat(value) -> list:
    """``value`` as a flat list (a list or tuple of tensors, or one)."""
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in flat(v)]
    return [value]


@functools.cache
def call_signature(cls) -> inspect.Signature | None:
    """The signature of the ``call`` a layer class wrote (a user's under the tape's
    wrapper), ``self`` included; None when Python cannot read it."""
    call = cls.call
    call = getattr(call, "__wrapped__", call)
    try:
        return inspect.signature(call)
    except (TypeError, ValueError):
        return None


def call_takes_mask(layer) -> bool:
    """Keras's ``_call_has_mask_arg``: whether the layer's ``call`` takes ``mask`` (it is
    then given its input's mask). A merge layer made by arithmetic on KerasTensors
    (``a * b``, a keras.ops function in Keras) takes none."""
    if getattr(layer, "_mask_blind", False):
        return False
    signature = call_signature(type(layer))
    return signature is not None and "mask" in signature.parameters


def _is_tensor(value) -> bool:
    return is_symbolic(value) or isinstance(value, np.ndarray)


def _tensor_argument(value) -> bool:
    """Keras's test for a call argument that is a tensor, or a non-empty list, tuple or dict
    holding only tensors (and Nones)."""
    if _is_tensor(value):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)) and value:
        leaves = flat(value)
        return any(_is_tensor(v) for v in leaves) and all(
            v is None or _is_tensor(v) for v in leaves)
    return False


def tensor_arguments(layer, inputs, args: tuple = (), kwargs: dict | None = None):
    """``(tensor arguments by name, the call's parameters)`` of ``layer.call(inputs, *args,
    **kwargs)``, or None when the call cannot be bound (its own error comes later)."""
    signature = call_signature(type(layer))
    if signature is None:
        return None
    kwargs = {k: v for k, v in (kwargs or {}).items() if k != "training"}
    try:
        bound = signature.bind(layer, inputs, *args, **kwargs)
    except TypeError:
        return None
    given = dict(list(bound.arguments.items())[1:])
    for name, param in signature.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            given.update(given.pop(name, {}))
        elif param.kind is param.VAR_POSITIONAL:
            given.pop(name, None)
    return {k: v for k, v in given.items() if _tensor_argument(v)}, given, signature.parameters


def auto_masks(layer, inputs, args: tuple = (), kwargs: dict | None = None) -> dict:
    """The mask arguments Keras 3 fills in for a call (its step "populate mask
    arguments"): with one tensor argument, ``mask`` (when the call takes it and none is
    given) is that argument's mask; with several, each ``<name>_mask`` the call takes is the
    mask of the argument ``<name>`` (`MultiHeadAttention`'s ``query_mask``, ...). Only masks
    that exist are returned. (So a recurrent layer called with ``initial_state`` gets no
    mask from its input, as in Keras.)"""
    if getattr(layer, "_mask_blind", False):
        return {}
    found = tensor_arguments(layer, inputs, args, kwargs)
    if found is None:
        return {}
    tensors, given, params = found
    wanted = {}
    if len(tensors) == 1:
        if "mask" in params and given.get("mask") is None:
            wanted["mask"] = mask_of(next(iter(tensors.values())))
    else:
        for name, value in tensors.items():
            if f"{name}_mask" in params and given.get(f"{name}_mask") is None:
                wanted[f"{name}_mask"] = mask_of(value)
    return {k: m for k, m in wanted.items() if any_mask(m)}


def warn_dropped(layer) -> None:
    """Keras's warning when a layer that does not support masking gets a masked input."""
    warnings.warn(f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input "
                  "with a mask attached to it. However, this layer does not support masking "
                  "and will therefore destroy the mask information. Downstream layers will "
                  "not see the mask.", stacklevel=4)


def hand_on(layer, inputs, outputs, previous) -> None:
    """Step 2 and 3 of the module docstring for one call: ``outputs`` (a tensor or a list of
    them) of ``layer`` called on ``inputs`` whose mask was ``previous``."""
    masked = previous is not None and any_mask(previous)
    if not masked and not getattr(layer, "_makes_masks", False):
        return  # nothing to hand on, and no mask of its own to make (the common call)
    if not layer.supports_masking:
        if masked and not getattr(layer, "_mask_blind", False):
            warn_dropped(layer)
        return
    outs = flat(outputs)
    if all(mask_of(o) is not None for o in outs):
        return  # the call set them (Keras: "mask already computed")
    masks = layer.compute_mask(inputs, previous)
    if masks is None:
        return
    for out, mask in zip(outs, flat(masks)):
        if mask is not None and mask_of(out) is None:
            set_mask(out, mask)


# -- mask arithmetic, on KerasTensors (op layers, as Keras records them) or arrays ----------------


# ``(keras.ops function name, args, kwargs) -> KerasTensor``: set by `convnp.layers.op_layer`
# (the op functions live above the layers; they are loaded by the time tensors exist)
keras_op_hook: Any = None


class _Ops:
    """``_ops().name(*args, **kwargs)``: the keras.ops function on KerasTensors."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: keras_op_hook(name, args, kwargs)


def _ops() -> _Ops:
    return _Ops()


def _either(*values) -> bool:
    return any(is_symbolic(v) for v in values)


def as_bool(mask):
    """A mask given as numbers (``> 0.5`` keeps) or booleans, as booleans."""
    if is_symbolic(mask):
        return mask if mask.dtype == "bool" else _ops().cast(mask, "bool")
    mask = np.asarray(mask)
    return mask if mask.dtype == bool else mask.astype(bool)


def logical_or(a, b):
    if _either(a, b):
        return _ops().logical_or(a, b)
    return np.logical_or(a, b)


def any_along(mask, axis: int = -1, keepdims: bool = False):
    if is_symbolic(mask):
        return _ops().any(mask, axis=axis, keepdims=keepdims)
    return np.any(mask, axis=axis, keepdims=keepdims)


def expand_dims(mask, axis: int):
    if is_symbolic(mask):
        return _ops().expand_dims(mask, axis)
    return np.expand_dims(mask, axis)


def ones_like(x):
    if is_symbolic(x):
        return _ops().ones_like(x, dtype="bool")
    return np.ones(np.shape(x), dtype=bool)


def zeros_like(x):
    if is_symbolic(x):
        return _ops().zeros_like(x, dtype="bool")
    return np.zeros(np.shape(x), dtype=bool)


def concatenate(masks: list, axis: int):
    if _either(*masks):
        return _ops().concatenate(masks, axis=axis)
    return np.concatenate(masks, axis=axis)


def not_equal(x, value):
    if is_symbolic(x):
        return _ops().not_equal(x, value)
    return np.asarray(x) != value


def ndim(x) -> int:
    return len(x.shape) if is_symbolic(x) else np.ndim(x)


def spread(mask, shape: tuple) -> np.ndarray:
    """A ``(batch, steps)`` mask over a value of ``shape`` (``(batch, steps, ...)``): Keras's
    ``broadcast_to(expand_dims(mask, -1), shape)`` (arrays only)."""
    return np.broadcast_to(np.expand_dims(np.asarray(mask, dtype=bool), -1), shape)
