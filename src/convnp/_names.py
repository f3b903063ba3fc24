"""Keras's automatic names: one counter per base name, shared by every family that names
itself from its class when the user gives no name (layers and models, and a user's own
metric and loss classes), as Keras 3 keeps one table for all of them. A leaf module, so that
the metrics and losses can use it without importing the layers."""

from __future__ import annotations

import re
from collections import defaultdict

_name_counts: dict[str, int] = defaultdict(int)


def snake_case(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization``, ``Conv2D`` -> ``conv2d``,
    ``MyMetric`` -> ``my_metric`` (characters that cannot be in a name are dropped)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """Keras-style automatic names: ``conv2d``, ``conv2d_1``, ``conv2d_2``, ..."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def auto_name(class_name: str) -> str:
    """The name Keras gives an object of class ``class_name`` made without one: its snake
    case, numbered from the second on (``my_metric``, ``my_metric_1``, ...)."""
    return unique_name(snake_case(class_name))


def next_uid(prefix: str) -> int:
    """Advance the automatic-name counter of ``prefix`` by one and return it (Keras's
    ``backend.get_uid``: 1 the first time; a layer named afterwards takes the next number)."""
    _name_counts[prefix] += 1
    return _name_counts[prefix]


def reset_names() -> None:
    """Forget automatic names (what `keras.backend.clear_session()` does)."""
    _name_counts.clear()
