"""``tf.nest``: walk nested lists, tuples, namedtuples and dicts as TensorFlow does.

A *structure* is a list, a tuple (namedtuples included) or a mapping, holding structures or
*leaves* (anything else: numbers, arrays, tensors, strings, ``None``, sets). Mappings are
walked in sorted key order (their keys must be comparable), whatever order they were built in;
`pack_sequence_as` and `map_structure` give mappings back with the keys in their own order.

>>> import convnp as tf
>>> tf.nest.flatten({"b": 1, "a": [2, (3, None)]})
[2, 3, None, 1]
>>> tf.nest.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
{'b': 3, 'a': [1, 2]}
>>> tf.nest.map_structure(lambda x, y: x + y, (1, [2]), (10, [20]))
(11, [22])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["assert_same_structure", "flatten", "is_nested", "map_structure",
           "pack_sequence_as"]


def is_nested(seq) -> bool:
    """Whether ``seq`` is a structure (a list, tuple or mapping) rather than a leaf."""
    return isinstance(seq, (list, tuple, Mapping))


def _sorted_keys(mapping: Mapping) -> list:
    try:
        return sorted(mapping)
    except TypeError as exc:
        raise TypeError(f"tf.nest: the keys of a mapping must be sortable, got "
                        f"{list(mapping)!r}") from exc


def _children(structure) -> list:
    if isinstance(structure, Mapping):
        return [structure[k] for k in _sorted_keys(structure)]
    return list(structure)


def flatten(structure, expand_composites: bool = False) -> list:
    """The leaves of ``structure``, depth first (mappings by sorted key); a leaf alone gives
    ``[leaf]``."""
    if not is_nested(structure):
        return [structure]
    out: list = []
    for child in _children(structure):
        out.extend(flatten(child))
    return out


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _rebuild(structure, children: list):
    """A structure of ``structure``'s type holding ``children`` (in `_children` order)."""
    if isinstance(structure, Mapping):
        by_key = dict(zip(_sorted_keys(structure), children))
        values = [(k, by_key[k]) for k in structure]
        kind = type(structure)
        if hasattr(structure, "default_factory"):  # defaultdict keeps its factory
            return kind(structure.default_factory, values)
        try:
            return kind(values)
        except TypeError:  # a mapping type that cannot be built from pairs
            return dict(values)
    if _is_namedtuple(structure):
        return type(structure)(*children)
    if isinstance(structure, tuple):
        return tuple(children)
    return list(children) if type(structure) is list else type(structure)(children)


def _pack(structure, leaves: list, pos: int) -> tuple[Any, int]:
    if not is_nested(structure):
        return leaves[pos], pos + 1
    children = []
    for child in _children(structure):
        packed, pos = _pack(child, leaves, pos)
        children.append(packed)
    return _rebuild(structure, children), pos


def pack_sequence_as(structure, flat_sequence, expand_composites: bool = False):
    """``structure`` with its leaves replaced, in `flatten` order, by ``flat_sequence`` (a list
    or tuple with exactly as many items)."""
    if not isinstance(flat_sequence, (list, tuple)):
        raise TypeError(f"pack_sequence_as: flat_sequence must be a list or tuple, got "
                        f"{type(flat_sequence).__name__}")
    count = len(flatten(structure))
    if count != len(flat_sequence):
        raise ValueError(f"Could not pack sequence. Structure had {count} atoms, but "
                         f"flat_sequence had {len(flat_sequence)} items. Structure: "
                         f"{structure!r}, flat_sequence: {list(flat_sequence)!r}.")
    return _pack(structure, list(flat_sequence), 0)[0]


def _same_type(a, b) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return True
    if _is_namedtuple(a) and _is_namedtuple(b):
        return (type(a).__name__, a._fields) == (type(b).__name__, b._fields)
    return type(a) is type(b)


def _compare(a, b, check_types: bool, where: str) -> None:
    if is_nested(a) != is_nested(b):
        raise ValueError(f"The two structures don't have the same nested structure: at "
                         f"{where or 'the top'}, {a!r} against {b!r}.")
    if not is_nested(a):
        return
    if check_types and not _same_type(a, b):
        raise TypeError(f"The two structures don't have the same sequence type: at "
                        f"{where or 'the top'}, {type(a).__name__} against "
                        f"{type(b).__name__}.")
    either, both = (isinstance(a, Mapping) or isinstance(b, Mapping),
                    isinstance(a, Mapping) and isinstance(b, Mapping))
    if either and (not both or set(a) != set(b)):
        raise ValueError(f"The two structures don't have the same set of keys: at "
                             f"{where or 'the top'}, {list(a)!r} against {list(b)!r}.")
    if len(a) != len(b):
        raise ValueError(f"The two structures don't have the same number of elements: at "
                         f"{where or 'the top'}, {len(a)} against {len(b)}.")
    for i, (x, y) in enumerate(zip(_children(a), _children(b))):
        _compare(x, y, check_types, f"{where}[{i}]")


def assert_same_structure(nest1, nest2, check_types: bool = True,
                          expand_composites: bool = False) -> None:
    """Raise ``ValueError`` if the two differ in nesting, lengths or mapping keys, and (with
    ``check_types``) ``TypeError`` if a list meets a tuple or two namedtuple types differ."""
    _compare(nest1, nest2, bool(check_types), "")


def map_structure(func: Callable, *structure, check_types: bool = True,
                  expand_composites: bool = False):
    """``func`` applied to the leaves of the structures, leaf by leaf (all must have the same
    structure), packed as the first one."""
    if not callable(func):
        raise TypeError(f"map_structure: func must be callable, got {type(func).__name__}")
    if not structure:
        raise ValueError("Must provide at least one structure")
    for other in structure[1:]:
        assert_same_structure(structure[0], other, check_types=check_types)
    columns = zip(*(flatten(s) for s in structure))
    return pack_sequence_as(structure[0], [func(*leaves) for leaves in columns])
