"""TensorFlow's control flow and Python-call ops, run eagerly: ``tf.map_fn``,
``tf.vectorized_map``, ``tf.cond``, ``tf.name_scope``, ``tf.py_function`` and
``tf.numpy_function``.

convnp has no graph, so each of these is ordinary Python: `map_fn` loops over the first axis and
stacks the results (the tape records every step, so gradients flow as in TensorFlow), `cond`
calls one branch. `py_function` passes tensors to the function, so what it computes with tf ops
is differentiated, as TensorFlow's tape does; `numpy_function` passes plain NumPy arrays, and no
gradient flows through it.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable

import numpy as np

from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.ops import _lift, convert_to_tensor, gather, stack
from convnp.tensor.tape import _flatten as _leaves
from convnp.tensor.tape import _unflatten, is_variable, new_tensor, value_of

__all__ = ["cond", "current_name_scope", "map_fn", "map_slices", "name_scope", "numpy_function",
           "py_function", "vectorized_map"]


def _rebuild(structure, leaves):
    """``structure`` refilled with ``leaves``, keeping its list and tuple types (namedtuples
    too), as TensorFlow's control flow does."""
    return _unflatten(structure, leaves, keep_types=True)


def _tensor(x):
    return x if isinstance(x, EagerTensor) or is_variable(x) else convert_to_tensor(x)


def _slices(fn: Callable, elems, who: str):
    """``(leaves, n, results)``: the checked tensors of ``elems``, their first size, and
    ``fn`` of each slice."""
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, got {type(fn).__name__}")
    leaves = [_tensor(e) for e in _leaves(elems)]
    if not leaves:
        raise ValueError(f"{who}: elems must hold at least one tensor")
    sizes = {np.shape(value_of(e))[0] if np.ndim(value_of(e)) else None for e in leaves}
    if None in sizes:
        raise ValueError(f"{who}: elems must be tensors of rank >= 1 (it maps over axis 0)")
    if len(sizes) != 1:
        raise ValueError(f"{who}: all elems must have the same first size, got "
                         f"{sorted(sizes)}")
    (n,) = sizes
    results = [fn(_rebuild(elems, [gather(e, i) for e in leaves])) for i in builtins.range(n)]
    return leaves, n, results


def _stacked(results) -> list:
    return [stack([_tensor(_leaves(r)[j]) for r in results])
            for j in builtins.range(len(_leaves(results[0])))]


def _empty(structure, dtypes):
    return _rebuild(structure, [new_tensor(np.zeros((0,), dtype=(
        np.float32 if d is None else as_dtype(d).dtype))) for d in dtypes])


def map_slices(fn: Callable, elems):
    """``fn`` of each slice of ``elems`` along axis 0, stacked; ``fn`` may return any
    structure and dtypes (those of its first result)."""
    leaves, n, results = _slices(fn, elems, "map")
    if n == 0:
        return _empty(elems, [e.dtype for e in leaves])
    return _rebuild(results[0], _stacked(results))


def map_fn(fn: Callable, elems, dtype=None, parallel_iterations=None, back_prop=True,
           swap_memory=False, infer_shape=True, name=None, fn_output_signature=None):
    """``fn`` applied to each slice ``elems[i]`` along the first axis, the results stacked.

    ``elems`` may be a (nested) tuple/list/dict of tensors with the same first size; ``fn``
    then gets the same structure of slices. Without ``fn_output_signature`` (or the older
    ``dtype``) ``fn`` must return the structure and dtypes it is given, as in TensorFlow.
    """
    leaves, n, results = _slices(fn, elems, "map_fn")
    signature = fn_output_signature if fn_output_signature is not None else dtype
    wanted = [e.dtype for e in leaves] if signature is None else [
        _signature_dtype(s) for s in _leaves(signature)]
    if n == 0:
        # nothing to call fn on: TensorFlow's eager result is an empty (0,) tensor per output,
        # shaped like fn_output_signature (or elems when there is none)
        return _empty(elems if signature is None else signature, wanted)
    out_leaves = _stacked(results)
    if len(wanted) != len(out_leaves):
        raise ValueError(f"map_fn: fn returned {len(out_leaves)} tensor(s) but "
                         f"{'elems hold' if signature is None else 'fn_output_signature lists'}"
                         f" {len(wanted)}; pass fn_output_signature when fn's output differs "
                         "from its input")
    for t, want in zip(out_leaves, wanted):
        if want is not None and t.dtype != want:
            raise InvalidArgumentError(f"map_fn: fn returned dtype {t.dtype.name} where "
                                       f"{want.name} was expected (fn_output_signature)")
    return _rebuild(results[0], out_leaves)


def _signature_dtype(signature):
    dtype = getattr(signature, "dtype", signature)
    return None if dtype is None else as_dtype(dtype)


def vectorized_map(fn: Callable, elems, fallback_to_while_loop=True, warn=True):
    """``tf.vectorized_map``: ``fn`` of each slice, stacked (convnp runs the loop; TensorFlow
    would vectorize it). ``fn`` may change the structure or dtype, as there."""
    return map_slices(fn, elems)


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` is true, else ``false_fn()``; only that branch runs."""
    if true_fn is None or not callable(true_fn):
        raise TypeError(f"cond: true_fn must be callable, got {type(true_fn).__name__}")
    if false_fn is None or not callable(false_fn):
        raise TypeError(f"cond: false_fn must be callable, got {type(false_fn).__name__}")
    p = np.asarray(value_of(pred))
    if p.size != 1:
        raise ValueError(f"cond: pred must be a scalar, got shape {p.shape}")
    return true_fn() if bool(p.reshape(())) else false_fn()


_scopes = threading.local()  # .current: this thread's scope prefix ("a/b/"), "" outside


def current_name_scope() -> str:
    """The prefix the open `name_scope` blocks of this thread make (``"a/b/"``; ``""`` when none
    is open). `convnp.summary` puts it before its tags, as TensorFlow does."""
    return getattr(_scopes, "current", "")


class name_scope:
    """``with tf.name_scope("block") as scope:``. convnp has no graph to name ops in; the scope
    is the prefix of the summary tags written inside it (``tf.summary.scalar("loss", ...)``
    inside ``name_scope("train")`` writes ``train/loss``). Scopes nest as TensorFlow's eager
    ones: ``"a"`` then ``"b"`` is ``"a/b/"``; a name ending in ``/`` is taken whole and ``""``
    goes back to the top."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise ValueError("name for name_scope must be a string.")  # noqa: TRY004 (as TF)
        self._name = name
        self._outer: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def __enter__(self) -> str:
        outer = current_name_scope()
        if not self._name or self._name.endswith("/"):
            scope = self._name
        else:
            scope = f"{outer}{self._name}/"
        self._outer.append(outer)
        _scopes.current = scope
        return scope

    def __exit__(self, *exc) -> None:
        _scopes.current = self._outer.pop()


def _outputs(result, Tout, who: str, keep_arrays: bool = False):
    if Tout is None:
        raise TypeError(f"{who}: missing required argument 'Tout' (the output dtype or a "
                        "list of them)")
    if isinstance(Tout, (list, tuple)):
        values = list(result) if isinstance(result, (list, tuple)) else [result]
        if len(values) != len(Tout):
            raise ValueError(f"{who}: func returned {len(values)} values, Tout lists "
                             f"{len(Tout)} dtypes")
        return [_typed(v, t, who, keep_arrays) for v, t in zip(values, Tout)]
    return _typed(result, Tout, who, keep_arrays)


def _typed(value, dtype, who: str, keep_arrays: bool = False):
    target = as_dtype(dtype)
    if isinstance(value, EagerTensor) or is_variable(value):
        t = _lift(value)
        if t.dtype != target:
            raise InvalidArgumentError(f"{who}: func returned dtype {t.dtype.name}, Tout "
                                       f"says {target.name}")
        return t if isinstance(t, EagerTensor) else convert_to_tensor(t)
    if isinstance(value, np.ndarray) and keep_arrays:
        return new_tensor(value)  # eager TensorFlow keeps a NumPy result's own dtype
    arr = np.asarray(value)
    if arr.dtype != target.dtype:
        if np.can_cast(arr.dtype, target.dtype, casting="same_kind") and not isinstance(
                value, np.ndarray):
            arr = arr.astype(target.dtype)  # Python numbers take Tout's dtype
        else:
            raise InvalidArgumentError(f"{who}: func returned dtype {arr.dtype}, Tout says "
                                       f"{target.name}")
    return new_tensor(arr)


def py_function(func: Callable, inp, Tout, name=None):
    """``func(*inp)`` called on tensors; its results as tensors of the ``Tout`` dtype(s).

    What ``func`` computes with tf ops on its arguments is recorded by a `GradientTape`.
    """
    if not callable(func):
        raise TypeError(f"py_function: func must be callable, got {type(func).__name__}")
    args = [_tensor(x) for x in (inp if isinstance(inp, (list, tuple)) else [inp])]
    return _outputs(func(*args), Tout, "py_function")


def numpy_function(func: Callable, inp, Tout, stateful=True, name=None):
    """``func(*inp)`` called on NumPy arrays; its results as tensors. No gradient flows back
    through it. As in eager TensorFlow, a NumPy array keeps its own dtype and a Python number
    takes ``Tout``'s."""
    if not callable(func):
        raise TypeError(f"numpy_function: func must be callable, got {type(func).__name__}")
    args = [np.array(value_of(_tensor(x)))
            for x in (inp if isinstance(inp, (list, tuple)) else [inp])]
    return _outputs(func(*args), Tout, "numpy_function", keep_arrays=True)
