"""Objects by name: one registry per family, and users' own objects.

Every family of named objects (losses, metrics, optimizers, initializers, activations,
regularizers, learning-rate schedules, layers) keeps a `Registry`: each Keras spelling of a
name (``"glorot_uniform"``, ``"GlorotUniform"``, ``"mse"``, ``"MSE"``, ...) points at one entry,
and the registry does what the families share: look a name up (with the close matches in the
error), turn an identifier into an object (`Registry.get`) and an object into Keras's
``{"class_name": ..., "config": ...}`` and back (`Registry.serialize` / `deserialize`).

Users' classes and functions join through Keras's API, kept here for every family at once:

* `register_keras_serializable(package="Custom", name=None)` files an object under
  ``"package>name"``; `get_registered_name` / `get_registered_object` read that list back.
* ``custom_objects={"Name": obj}`` arguments, and `CustomObjectScope` / `custom_object_scope`
  blocks (per thread), make names known for a while.

A name is looked up in this order: the call's ``custom_objects``, the open scopes (innermost
first), the family's own names, registered names (``"package>name"``), then, ignoring case
(families that allow it), the family's names, and last a registered object by its bare name.
This module imports nothing else of convnp, so every other module may use it.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Self

# the Keras API (what tf.keras.saving and tf.keras.utils re-export); `Registry`,
# `Configurable` and `snake_case` are for convnp's own modules
__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "serialize_keras_object",
]

# "package>name" -> the user's class or function, and back
_CUSTOM: dict[str, Any] = {}
_NAME_OF: dict[Any, str] = {}
_SCOPES = threading.local()


def snake_case(name: str) -> str:
    """Keras's snake-case spelling of a class name: ``GlorotUniform`` -> ``glorot_uniform``,
    ``MeanIoU`` -> ``mean_io_u``, ``AUC`` -> ``auc``."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# ----------------------------------------------------------------------- users' own objects


def register_keras_serializable(package: str = "Custom", name: str | None = None
                                ) -> Callable[[Any], Any]:
    """Decorator filing a class or function under ``"package>name"`` (``name`` defaults to its
    ``__name__``), so configs and model files that name it load without ``custom_objects``.

    A class must have ``get_config``. Registering the name again replaces the old object (a
    notebook cell run twice).

    >>> @register_keras_serializable(package="Demo")
    ... def doubled(x):
    ...     return 2 * x
    >>> get_registered_name(doubled)
    'Demo>doubled'
    >>> get_registered_object("Demo>doubled") is doubled
    True
    """
    if not isinstance(package, str) or ">" in package or not package:
        raise ValueError(f"package must be a non-empty string without '>', got {package!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name must be a non-empty string or None, got {name!r}")

    def decorate(obj: Any) -> Any:
        if isinstance(obj, type) and not callable(getattr(obj, "get_config", None)):
            raise TypeError(f"cannot register {obj.__name__}: a class needs a get_config() "
                            "method to be saved and loaded")
        if not callable(obj):
            raise TypeError(f"register_keras_serializable expects a class or a function, got "
                            f"{type(obj).__name__}: {obj!r}")
        key = f"{package}>{name or obj.__name__}"
        old = _CUSTOM.get(key)
        if old is not None:
            _NAME_OF.pop(old, None)
        _CUSTOM[key] = obj
        _NAME_OF[obj] = key
        return obj

    return decorate


def get_registered_name(obj: Any) -> str:
    """``"package>name"`` of a registered object, else its ``__name__``."""
    try:
        registered = _NAME_OF.get(obj)
    except TypeError:  # unhashable
        registered = None
    return registered or getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects() -> dict[str, Any]:
    """The dict of registered objects (``"package>name"`` -> object); adding to it by hand
    makes a name known too (Keras's ``get_custom_objects().update(...)``)."""
    return _CUSTOM


def _scopes() -> list[dict[str, Any]]:
    stack = getattr(_SCOPES, "stack", None)
    if stack is None:
        stack = _SCOPES.stack = []
    return stack


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` makes the names known inside the
    block (this thread only); `custom_object_scope` is the same class."""

    def __init__(self, *custom_objects: Mapping[str, Any] | None):
        merged: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, Mapping):
                raise TypeError(f"custom objects must be a dict of name -> object, got "
                                f"{type(objects).__name__}: {objects!r}")
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> Self:
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc: object) -> None:
        _scopes().pop()


custom_object_scope = CustomObjectScope


def get_registered_object(name: str, custom_objects: Mapping[str, Any] | None = None,
                          module_objects: Mapping[str, Any] | None = None) -> Any:
    """The object called ``name`` in the open scopes, the registered objects,
    ``custom_objects`` or ``module_objects`` (in that order); None when none has it."""
    for objects in (*reversed(_scopes()), _CUSTOM, custom_objects or {}, module_objects or {}):
        if name in objects:
            return objects[name]
    return None


def serialize_keras_object(obj: Any) -> Any:
    """``{"class_name": registered name, "config": obj.get_config()}``; a function or class
    gives its registered name, and None, numbers, strings and lists are kept as they are."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, type) or not callable(getattr(obj, "get_config", None)):
        if callable(obj):
            return get_registered_name(obj)
        raise TypeError(f"cannot serialize {type(obj).__name__}: it has no get_config()")
    return {"class_name": get_registered_name(type(obj)), "config": obj.get_config()}


def deserialize_keras_object(config: Any, custom_objects: Mapping[str, Any] | None = None,
                             module_objects: Mapping[str, Any] | None = None) -> Any:
    """Inverse of `serialize_keras_object`: a name gives the object it names, a config dict a
    new object from its class's ``from_config``."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        if found is None:
            raise ValueError(f"unknown object {config!r}: register it with "
                             "register_keras_serializable or pass it in custom_objects")
        return found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"expected a name or a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    name = config.get("registered_name") or config["class_name"]
    cls = get_registered_object(name, custom_objects, module_objects)
    if cls is None and name != config["class_name"]:
        cls = get_registered_object(config["class_name"], custom_objects, module_objects)
    if not isinstance(cls, type):
        raise ValueError(f"unknown class {name!r}: register it with "  # noqa: TRY004
                         "register_keras_serializable or pass it in custom_objects")
    return cls.from_config(dict(config.get("config") or {}))


class FunctionInConfig:
    """A user's Python function as a config holds it: callable as the function itself in
    memory (``from_config(obj.get_config())`` works); a file writer meets it through
    ``json_config`` (each kind says what to write or why it cannot: convnp never writes Python
    code)."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __eq__(self, other) -> bool:
        return isinstance(other, FunctionInConfig) and other.function is self.function

    def __hash__(self) -> int:
        return hash(id(self.function))

    @property
    def function_name(self) -> str:
        return getattr(self.function, "__name__", type(self.function).__name__)

    def registered_name(self) -> str | None:
        """The ``"package>name"`` the function is registered under, None if it is not."""
        name = get_registered_name(self.function)
        return name if get_registered_object(name) is self.function else None

    def cannot_save(self, kind: str, instead: str) -> ValueError:
        """The error a file writer raises for this function (``kind``: "activation",
        ...; ``instead``: what saves)."""
        return ValueError(f"the {kind} function {self.function_name!r} cannot be saved: convnp "
                          f"never writes Python code to a file; {instead}")


# ----------------------------------------------------------------------- one family's names


class Configurable:
    """What the families' base classes share: ``get_config()`` (the constructor's
    arguments), ``from_config(config)`` (``cls(**config)``) and a repr showing the config."""

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        return cls(**config)

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except (NotImplementedError, ValueError):  # a user's object without a config
            return f"<{type(self).__name__}>"
        return f"{type(self).__name__}({config})"



class Registry:
    """The names of one family of objects.

    Args:
        kind: what the family is called in messages (``"loss"``, ``"initializer"``, ...).
        base: the family's base class: its instances pass `get` unchanged, its subclasses are
            instantiated, and a registered user class outside it is not found by bare name.
        ignore_case: also accept a name in any case (``"ADAM"``, ``"Glorot_Uniform"``).
        build: ``build(entry, spelling)`` makes the object a name stands for; default
            ``entry()`` (a new object with Keras's defaults).
        wrap: ``wrap(callable)`` for a plain callable that is no entry (a user's function),
            or None to refuse callables with a TypeError.
    """

    def __init__(self, kind: str, base: type | None = None, *, ignore_case: bool = True,
                 build: Callable[[Any, str], Any] | None = None,
                 wrap: Callable[[Any], Any] | None = None):
        self.kind = kind
        self.base = base
        self.ignore_case = ignore_case
        self.entries: dict[str, Any] = {}
        self.functions: dict[Any, Any] = {}
        self._build = build or (lambda entry, spelling: entry())
        self._wrap = wrap

    # -- filling ------------------------------------------------------------------------
    def add(self, entry: Any, *names: str, snake: bool = True, functions: tuple = ()) -> Any:
        """File ``entry`` under its ``__name__``, its snake-case name (``snake=True``), each of
        ``names``, and each of ``functions`` (plain functions that stand for it, also by their
        ``__name__``). Returns ``entry``, so it works as a class decorator too."""
        own = getattr(entry, "__name__", None)
        spellings = [own] if isinstance(own, str) else []
        if snake and spellings:
            spellings.append(snake_case(own))
        for function in functions:
            self.functions[function] = entry
            spellings.append(function.__name__)
        for spelling in (*spellings, *names):
            self.entries[spelling] = entry
        return entry

    def names(self) -> list[str]:
        """Every spelling, sorted."""
        return sorted(self.entries)

    # -- looking up -----------------------------------------------------------------------
    def _fits(self, obj: Any) -> bool:
        return not (isinstance(obj, type) and self.base is not None
                    and not issubclass(obj, self.base))

    def find(self, name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """The entry (or user's object) called ``name``, or None (see the module docstring
        for the order)."""
        if not isinstance(name, str):
            return None
        for objects in (custom_objects or {}, *reversed(_scopes()), self.entries, _CUSTOM):
            if name in objects:
                return objects[name]
        if self.ignore_case:
            folded = name.lower()
            for spelling, entry in self.entries.items():
                if spelling.lower() == folded:
                    return entry
        for key, obj in _CUSTOM.items():
            if key.partition(">")[2] == name and self._fits(obj):
                return obj
        return None

    def unknown(self, name: Any) -> ValueError:
        """The error for a name nobody has: the closest spellings first, then all of them."""
        close = difflib.get_close_matches(str(name), self.entries, n=4, cutoff=0.5)
        if self.ignore_case:
            folded = {spelling.lower(): spelling for spelling in self.entries}
            close += [folded[s] for s in difflib.get_close_matches(
                str(name).lower(), folded, n=4, cutoff=0.5) if folded[s] not in close]
        hint = f"; did you mean {', '.join(repr(c) for c in close[:4])}?" if close else "."
        return ValueError(f"unknown {self.kind} {name!r}{hint} Known {self.kind} names: "
                          f"{self.names()}")

    def lookup(self, name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """Like `find`, but an unknown name raises `unknown`'s ValueError."""
        found = self.find(name, custom_objects)
        if found is None:
            raise self.unknown(name)
        return found

    # -- identifiers -> objects -------------------------------------------------------------
    def get(self, identifier: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """An object of the family from a name, an object of it (returned as is), a config
        dict, one of its classes, one of the functions standing for an entry, or (with
        ``wrap``) any callable.

        Raises:
            ValueError: an unknown name (with the close matches) or a bad config.
            TypeError: an identifier of another type.
        """
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            spelling = identifier.strip()
            return self.build(self.lookup(spelling, custom_objects), spelling)
        if isinstance(identifier, dict):
            return self.deserialize(identifier, custom_objects)
        if isinstance(identifier, type) and self.base is not None \
                and issubclass(identifier, self.base):
            return identifier()
        try:
            entry = self.functions.get(identifier)
        except TypeError:  # unhashable
            entry = None
        if entry is not None:
            return self.build(entry, identifier.__name__)
        if callable(identifier) and self._wrap is not None:
            return self._wrap(identifier)
        raise TypeError(f"{self.kind} must be a name, a {self.kind} object or a config dict"
                        f"{' or a callable' if self._wrap is not None else ''}; got "
                        f"{type(identifier).__name__}: {identifier!r}")

    def build(self, entry: Any, spelling: str) -> Any:
        """The object ``entry`` stands for (a user's plain function goes through ``wrap``)."""
        if isinstance(entry, type) or self._wrap is None or (
                self.base is not None and isinstance(entry, self.base)):
            return self._build(entry, spelling)
        return self._wrap(entry)

    # -- objects <-> configs ----------------------------------------------------------------
    def get_optional(self, identifier: Any, custom_objects=None) -> Any:
        """`get`, passing None through (a layer's optional regularizer or constraint)."""
        return None if identifier is None else self.get(identifier, custom_objects)

    def serialize_optional(self, obj: Any) -> dict[str, Any] | None:
        """`serialize`, passing None through."""
        return None if obj is None else self.serialize(obj)

    def serialize(self, obj: Any) -> dict[str, Any]:
        """``{"class_name": ..., "config": obj.get_config()}`` (a registered user class is
        written under its ``"package>name"``)."""
        obj = self.get(obj)
        if not callable(getattr(obj, "get_config", None)):
            raise TypeError(f"cannot serialize {self.kind} {obj!r}: it has no get_config()")
        return {"class_name": get_registered_name(type(obj)), "config": obj.get_config()}

    def deserialize(self, config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """Inverse of `serialize`; a name string is accepted too (as `get`)."""
        if isinstance(config, str):
            return self.get(config, custom_objects)
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"{self.kind} config must be a dict with 'class_name' and "
                             f"'config'; got {config!r}")
        name = config.get("registered_name") or config["class_name"]
        cls = self.find(name, custom_objects) or self.lookup(config["class_name"],
                                                                custom_objects)
        if not isinstance(cls, type):
            return self.build(cls, str(name))
        settings = config.get("config") or {}
        if not isinstance(settings, dict):
            raise ValueError(  # noqa: TRY004 - a bad config is a ValueError, by contract
                f"{self.kind} config of {name!r} must be a dict, got {settings!r}")
        # the objects the config names inside it (an optimizer's schedule) are looked up in
        # ``custom_objects`` too, as Keras passes them down
        with CustomObjectScope(custom_objects):
            return cls.from_config(dict(settings))
