"""Weight-regularizer penalties as tensors a recording `GradientTape` differentiates.

``model.losses`` in a custom training loop (``loss += sum(model.losses)``) must carry the
penalty's gradient to its weight, as in Keras: each penalty is recorded with the
regularizer's own gradient as its vector-Jacobian product. ``fit`` adds the same gradient
itself (`convnp.models.engine`).
"""

from __future__ import annotations

import numpy as np

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


def weight_penalties(layers) -> list:
    """The penalties of the kernel/bias regularizers of ``layers`` (trainable ones)."""
    found = []
    for layer in layers:
        if not getattr(layer, "trainable", True):
            continue
        for name in ("kernel", "bias"):
            regularizer = getattr(layer, f"{name}_regularizer", None)
            variable = getattr(layer, name, None)
            if regularizer is not None and getattr(variable, "_convnp_variable", False):
                found.append(penalty(variable, regularizer))
    return found
