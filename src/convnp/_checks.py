"""Checks of numeric constructor arguments shared by the leaf modules (losses, metrics,
optimizers, schedules, regularizers, initializers): a bad value raises before any work, with
the expected range and the received value in the message."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class NotSavableError(NotImplementedError, ValueError):
    """A user's model or layer that cannot be written as a Keras file or given a config: a
    GAN with no call of its own, or a class whose get_config leaves out constructor
    arguments. TF 2.21 raises NotImplementedError there (Keras asks the class for a
    get_config); convnp has long raised ValueError, so the error is both and either
    ``except`` catches it. (Here, in a leaf module, so that layers and file writers share it.)"""


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                 *, low_open: bool = False, high_open: bool = False,
                 integer: bool = False) -> Any:
    """``value`` as a float (an int with ``integer=True``) after checking it is a finite real
    number within ``[low, high]`` (an open end with ``low_open`` / ``high_open``).

    Raises:
        TypeError: not a real number (bools and strings included).
        ValueError: NaN, infinite, out of range, or not whole when ``integer``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    number = float(value)
    if integer and math.isfinite(number) and number != int(number):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be {_range(low, high, low_open, high_open)}, got "
                         f"{value!r}")
    return int(number) if integer else number


def _range(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"a finite number {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"a finite number {'<' if high_open else '<='} {high}"
    return "a finite number"
