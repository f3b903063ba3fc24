"""Where `Model.save`, `save_weights` and `load_weights` find the file-format code.

The file formats live in `convnp.io`, which sits *above* `models` (it rebuilds models from
files, so it imports them). `models` never imports `io`: `convnp.io.saving` puts its functions
in this table when it is imported (`register`), and a model method asks the table (`get`).

A program may build a model without ever touching `convnp.io`; the first file method then
loads the provider module named in `PROVIDER` (a registry entry by name, like a layer class
found by its registered name), whose import fills the table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: The module whose import registers the file functions.
PROVIDER = "convnp.io.saving"

#: The names a provider must register.
NAMES = ("save_model", "save_weights", "load_weights", "export_model", "get_compile_config",
         "compile_from_config", "keras_json_config", "model_from_keras_config")

_TABLE: dict[str, Callable[..., Any]] = {}


def register(name: str, function: Callable[..., Any]) -> None:
    """Make ``function`` the implementation of ``name`` (one of `NAMES`)."""
    if name not in NAMES:
        raise ValueError(f"unknown file hook {name!r}; expected one of {list(NAMES)}")
    if not callable(function):
        raise TypeError(f"file hook {name!r} must be callable, got {type(function).__name__}")
    _TABLE[name] = function


def get(name: str) -> Callable[..., Any]:
    """The registered implementation of ``name``, loading `PROVIDER` on first use."""
    if name not in NAMES:
        raise ValueError(f"unknown file hook {name!r}; expected one of {list(NAMES)}")
    if name not in _TABLE:
        importlib.import_module(PROVIDER)
    try:
        return _TABLE[name]
    except KeyError:
        raise RuntimeError(f"{PROVIDER} did not register the file hook {name!r}") from None
