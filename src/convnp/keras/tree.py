"""``keras.tree``: Keras 3's functions on nested structures, over `convnp.tensor.nest`.

The same structures as ``tf.nest``: lists, tuples (namedtuples too) and mappings; anything
else (``None``, arrays, tensors, strings) is a leaf. Where Keras 3 differs from ``tf.nest``
this follows Keras: an ``OrderedDict`` is walked in its own order (other mappings by sorted
key, as ``tf.nest`` walks them all); a structure mismatch of any kind, a list against a tuple
included, is a `ValueError`; paths are tuples of keys and indices.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

from convnp.tensor import nest as _nest

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
           "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
           "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]


class MAP_TO_NONE:
    """What a `traverse` function returns to put ``None`` in the result (its ``None`` means
    "go on into this node")."""


is_nested = _nest.is_nested


def _keys(mapping: Mapping) -> list:
    return list(mapping) if isinstance(mapping, OrderedDict) else _nest._sorted_keys(mapping)


def _children(node) -> list:
    if isinstance(node, Mapping):
        return [node[k] for k in _keys(node)]
    return list(node)


def _rebuild(node, children: list):
    if isinstance(node, OrderedDict):
        return type(node)(zip(_keys(node), children))
    return _nest._rebuild(node, children)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first; a leaf alone gives ``[leaf]``."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise `ValueError` unless ``a`` and ``b`` nest alike (same kinds of containers, same
    lengths, same mapping keys). ``check_types`` is accepted, as Keras still does."""
    try:
        _nest.assert_same_structure(a, b, check_types=True)
    except TypeError as err:
        raise ValueError(str(err)) from None


def pack_sequence_as(structure, flat_sequence):
    """``structure`` with its leaves replaced by ``flat_sequence`` (in `flatten` order)."""
    if not isinstance(flat_sequence, (list, tuple)):
        raise TypeError(f"pack_sequence_as: flat_sequence must be a list or tuple, got "
                        f"{type(flat_sequence).__name__}")
    leaves = iter(flat_sequence)
    count = len(flatten(structure))
    if count != len(flat_sequence):
        raise ValueError(f"pack_sequence_as: the structure has {count} leaves, the sequence "
                         f"{len(flat_sequence)} items")

    def pack(node):
        if not is_nested(node):
            return next(leaves)
        return _rebuild(node, [pack(child) for child in _children(node)])

    return pack(structure)


def map_structure(func: Callable, *structures):
    """``func`` on the leaves of one or more structures nested alike, packed as the first."""
    if not callable(func):
        raise TypeError(f"map_structure: func must be callable, got {type(func).__name__}")
    if not structures:
        raise ValueError("map_structure needs at least one structure")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    columns = zip(*(flatten(s) for s in structures))
    return pack_sequence_as(structures[0], [func(*leaves) for leaves in columns])


def _paths(structure, prefix: tuple) -> list[tuple[tuple, object]]:
    if not is_nested(structure):
        return [(prefix, structure)]
    if isinstance(structure, Mapping):
        return [pair for k in _keys(structure) for pair in _paths(structure[k], prefix + (k,))]
    return [pair for i, child in enumerate(structure) for pair in _paths(child, prefix + (i,))]


def flatten_with_path(structure) -> list[tuple[tuple, object]]:
    """``(path, leaf)`` pairs in `flatten` order; a path is the keys and indices down to the
    leaf (``("b", 1, 0)``)."""
    return _paths(structure, ())


def assert_same_paths(a, b) -> None:
    """Raise `ValueError` unless ``a`` and ``b`` have the same set of leaf paths (the kinds
    of containers may differ)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(f"`a` and `b` don't have the same paths.\nPaths in `a` missing in "
                         f"`b`:\n{paths_a - paths_b}\nPaths in `b` missing in `a`:\n"
                         f"{paths_b - paths_a}")


def traverse(func: Callable, structure, top_down: bool = True):
    """Walk ``structure`` calling ``func`` on every node, containers included.

    Top down: a node for which ``func`` returns something other than None is replaced by it
    and not entered; None goes on into it. Bottom up: ``func`` sees each node after its
    children (rebuilt), and what it returns (other than None) replaces the node. In both,
    `MAP_TO_NONE` stands for a ``None`` result.
    """
    def result(value, node):
        if value is None:
            return node
        return None if value is MAP_TO_NONE else value

    def down(node):
        value = func(node)
        if value is not None:
            return None if value is MAP_TO_NONE else value
        if not is_nested(node):
            return node
        return _rebuild(node, [down(child) for child in _children(node)])

    def up(node):
        if is_nested(node):
            node = _rebuild(node, [up(child) for child in _children(node)])
        return result(func(node), node)

    return down(structure) if top_down else up(structure)


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """``func`` on the parts of ``structures`` that sit at the leaves of
    ``shallow_structure`` (each structure nests like it down to there), packed as it."""
    if not structures:
        raise ValueError("map_structure_up_to needs at least one structure")

    def parts(shallow, deep, where):
        if not is_nested(shallow):
            return [deep]
        if not is_nested(deep) or (isinstance(shallow, Mapping) != isinstance(deep, Mapping)):
            raise ValueError(f"Structures don't have the same nested structure: at "
                             f"{where or 'the top'}, {shallow!r} against {deep!r}")
        if isinstance(shallow, Mapping):
            if set(shallow) != set(deep):
                raise ValueError(f"Structures don't have the same keys at {where or 'the top'}"
                                 f": {sorted(shallow)} against {sorted(deep)}")
        elif len(shallow) != len(deep):
            raise ValueError(f"Structures don't have the same number of elements at "
                             f"{where or 'the top'}: {len(shallow)} against {len(deep)}")
        out = []
        for i, (s, d) in enumerate(zip(_children(shallow), _children(deep))):
            out.extend(parts(s, d, f"{where}[{i}]"))
        return out

    columns = zip(*(parts(shallow_structure, s, "") for s in structures))
    return pack_sequence_as(shallow_structure, [func(*values) for values in columns])


def lists_to_tuples(structure):
    """``structure`` with every list turned into a tuple (mappings and tuples kept)."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(child) for child in _children(structure)]
    if type(structure) is list:
        return tuple(children)
    return _rebuild(structure, children)


def map_shape_structure(func: Callable, structure):
    """``func`` on every shape in ``structure``: a tuple or list of ints and Nones is one
    shape (a leaf), not a container."""
    def is_shape(node):
        return isinstance(node, (tuple, list)) and all(
            v is None or isinstance(v, int) for v in node)

    def walk(node):
        if is_shape(node) or not is_nested(node):
            return func(node)
        return _rebuild(node, [walk(child) for child in _children(node)])

    return walk(structure)
