"""``tf.Module``: a plain container that finds the Variables (and the other Modules) held in
its attributes.

TensorFlow's DeepDream tutorial writes its step as ``class DeepDream(tf.Module)`` with a
``tf.function`` ``__call__``; a Module is also how TensorFlow users group hand-made
Variables. What a program can notice is kept: ``variables``, ``trainable_variables``,
``non_trainable_variables`` and ``submodules`` are tuples, found by walking the attributes in
name order (into lists, tuples and dicts, then into each held Module after the Module's own),
each object once. Keras layers and models are not Modules in TensorFlow 2.21 (Keras 3), so
their weights are not walked into here either.
"""

from __future__ import annotations

import functools
import re

from convnp.tensor.control import name_scope
from convnp.tensor.tape import is_variable

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def _snake_case(class_name: str) -> str:
    """``DeepDream`` -> ``deep_dream``, ``HTTPServer`` -> ``http_server`` (a Module's default
    name, as TensorFlow derives it from the class). Not Keras's `convnp._names.snake_case`:
    here a digit before a capital starts a word too (TF 2.21 names a ``Conv2D`` Module
    ``conv2_d``, where Keras names the layer ``conv2d``)."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def _leaves(value):
    """The objects inside ``value`` when it is a list, tuple or dict (a dict by sorted key,
    as TensorFlow's nest reads it); ``value`` itself otherwise."""
    if isinstance(value, dict):
        try:
            keys = sorted(value)
        except TypeError:
            keys = list(value)
        for key in keys:
            yield from _leaves(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


class Module:
    """``tf.Module(name=None)``: see the module docstring. A subclass that does not call
    ``super().__init__()`` still finds its Variables (its ``name`` is then missing, as in
    TensorFlow)."""

    def __init__(self, name=None):
        if name is None:
            name = _snake_case(type(self).__name__)
        elif not isinstance(name, str):
            raise TypeError(f"tf.Module: name must be a string, got {type(name).__name__}")
        if not _IDENTIFIER.match(name):
            raise ValueError(f"tf.Module: {name!r} is not a valid module name (letters, "
                             f"digits and _ . -, not starting with a digit)")
        self._name = name
        self._scope_name = f"{name}/"

    @property
    def name(self) -> str:
        return self._name

    @property
    def name_scope(self) -> name_scope:
        """A ``with`` block whose summaries are named under this Module's name."""
        return name_scope(self._scope_name)

    @property
    def variables(self) -> tuple:
        return tuple(self._find(is_variable))

    @property
    def trainable_variables(self) -> tuple:
        return tuple(v for v in self.variables if getattr(v, "trainable", True))

    @property
    def non_trainable_variables(self) -> tuple:
        return tuple(v for v in self.variables if not getattr(v, "trainable", True))

    @property
    def submodules(self) -> tuple:
        return tuple(self._find(lambda leaf: isinstance(leaf, Module)))

    def _find(self, wanted) -> list:
        """Every object ``wanted`` accepts in this Module's attributes and, after them, in
        each held Module's (depth first), each once."""
        found, seen = [], set()
        visited = {id(self)}

        def walk(module):
            held = []
            attributes = vars(module)
            for key in sorted(attributes):
                for leaf in _leaves(attributes[key]):
                    if wanted(leaf) and id(leaf) not in seen:
                        seen.add(id(leaf))
                        found.append(leaf)
                    if isinstance(leaf, Module) and id(leaf) not in visited:
                        visited.add(id(leaf))
                        held.append(leaf)
            for sub in held:
                walk(sub)

        walk(self)
        return found

    @classmethod
    def with_name_scope(cls, method):
        """Decorates a method so that it runs inside its Module's ``name_scope``."""
        @functools.wraps(method)
        def scoped(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return scoped

    def __repr__(self) -> str:
        name = getattr(self, "_name", None)
        return f"<{type(self).__name__} name={name!r}>"
