"""Weight-regularizer penalties as tensors a recording `GradientTape` differentiates.

``model.losses`` in a custom training loop (``loss += sum(model.losses)``) must carry the
penalty's gradient to its weight, as in Keras: each penalty is recorded with the
regularizer's own gradient as its vector-Jacobian product. ``fit`` adds the same gradient
itself (`convnp.models.engine`).
"""

from __future__ import annotations

import numpy as np

from convnp.layers.taped import held
from convnp.tensor.tape import new_tensor, record, recording


def penalty(variable, regularizer):
    """``regularizer(variable)`` as a 0-d tensor of the variable's float type."""
    value = variable.value
    out = new_tensor(np.asarray(regularizer(value), dtype=value.dtype))
    if recording():
        record([out], [variable], lambda grads: [
            None if grads[0] is None else regularizer.gradient(variable.value)
            * np.asarray(grads[0], dtype=value.dtype)])
    return out


def regularized_weights(root) -> list[tuple]:
    """``(variable, regularizer)`` for every regularized trainable weight of ``root`` and
    what it holds: kernel/bias regularizers, ``add_weight(regularizer=...)``, in nested
    models, users' layers and subclassed models too. A layer that is not trainable is skipped
    with everything in it. A pair reached twice (a recurrent cell's kernel is both its
    ``kernel`` with ``kernel_regularizer`` and an ``add_weight(regularizer=...)``) counts once."""
    found: list[tuple] = []
    for obj in held(root, skip=lambda obj: not getattr(obj, "trainable", True)):
        for name in ("kernel", "bias"):
            regularizer = getattr(obj, f"{name}_regularizer", None)
            variable = getattr(obj, name, None)
            if regularizer is not None and getattr(variable, "_convnp_variable", False):
                found.append((variable, regularizer))
        found.extend(obj.__dict__.get("_weight_regularizers", ()))
    unique = {(id(v), id(r)): (v, r) for v, r in found if getattr(v, "trainable", True)}
    return list(unique.values())
