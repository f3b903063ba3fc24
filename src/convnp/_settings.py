"""Keras 3's process-wide settings that change what convnp computes (``tf.keras.config``):
the fuzz factor ``epsilon`` and the debugging caps on epochs and steps.

They live here, in a leaf module, because losses, metrics, layers and the training loops read
them; `convnp.keras.config` is the public face. Keras also reads the caps from the
environment variables ``KERAS_MAX_EPOCHS`` and ``KERAS_MAX_STEPS_PER_EPOCH`` (to shorten a
script's run without editing it); a value set here wins over them.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

#: Keras's default ``epsilon()``.
DEFAULT_EPSILON = 1e-7

_epsilon = [DEFAULT_EPSILON]
_UNSET = object()
_caps = {"max_epochs": _UNSET, "max_steps_per_epoch": _UNSET}
_ENVIRONMENT = {"max_epochs": "KERAS_MAX_EPOCHS",
                "max_steps_per_epoch": "KERAS_MAX_STEPS_PER_EPOCH"}


def epsilon() -> float:
    """The small number losses clip probabilities by and normalizations add to divisors
    (``1e-7`` unless `set_epsilon` changed it)."""
    return _epsilon[0]


def set_epsilon(value) -> None:
    """Set `epsilon`: a positive finite float (Keras takes anything; a zero, negative or NaN
    epsilon would make the clipped logarithms of the losses infinite)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"set_epsilon: expected a positive finite number, got {value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise ValueError(f"set_epsilon: expected a positive finite number, got {value!r}")
    _epsilon[0] = float(value)


def _positive_or_none(name: str, value):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"set_{name}: expected a positive int or None, got {value!r}")
    if value < 1:
        raise ValueError(f"set_{name}: expected a positive int or None, got {value!r}")
    return int(value)


def set_cap(name: str, value) -> None:
    """Set the cap ``name`` (``"max_epochs"`` or ``"max_steps_per_epoch"``); None lifts it."""
    _caps[name] = _positive_or_none(name, value)


def cap(name: str) -> int | None:
    """The cap ``name``: what `set_cap` set, else the environment variable's value, else
    None (no cap). A malformed environment value raises `ValueError` naming the variable."""
    value = _caps[name]
    if value is not _UNSET:
        return value
    text = os.environ.get(_ENVIRONMENT[name], "").strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{_ENVIRONMENT[name]} must be a positive int, got {text!r}")
    return number


def capped_epochs(epochs: int, stacklevel: int = 4) -> int:
    """``epochs`` held to the `max_epochs` cap, with Keras's warning when it is cut (pointing
    ``stacklevel`` frames up: the user's ``fit`` line, through fit's core-sharing wrapper)."""
    limit = cap("max_epochs")
    if limit is None or epochs <= limit:
        return epochs
    warnings.warn(f"Limiting epochs to {limit}", UserWarning, stacklevel=stacklevel)
    return limit


def capped_steps(steps: int | None, available: int | None, stacklevel: int = 4) -> int | None:
    """The steps of an epoch (of fit, evaluate or predict) held to the `max_steps_per_epoch`
    cap: ``steps`` as asked (None: all ``available`` batches, None when unknown), cut to the
    cap with Keras's warning when it would run more."""
    limit = cap("max_steps_per_epoch")
    wanted = steps if steps is not None else available
    if limit is None or (wanted is not None and wanted <= limit):
        return steps
    warnings.warn(f"Limiting steps_per_epoch to {limit}", UserWarning, stacklevel=stacklevel)
    return limit
