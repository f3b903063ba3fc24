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
import contextlib
import threading
from collections.abc import Callable

import numpy as np

from convnp.tensor import nest as _nest
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.errors import OutOfRangeError
from convnp.tensor.ops import _lift, convert_to_tensor, gather, identity, stack
from convnp.tensor.tape import _flatten as _leaves
from convnp.tensor.tape import _unflatten, is_variable, new_tensor, value_of
from convnp.tensor.tensor_array import TensorArray

__all__ = ["case", "cond", "control_dependencies", "current_name_scope", "foldl", "foldr",
           "group", "identity_n", "map_fn", "map_slices", "name_scope", "no_op",
           "numpy_function", "py_function", "scan", "switch_case", "tensor_tuple",
           "vectorized_map", "while_loop"]


def _rebuild(structure, leaves):
    """``structure`` refilled with ``leaves``, keeping its list and tuple types (namedtuples
    too), as TensorFlow's control flow does."""
    return _unflatten(structure, leaves, keep_types=True)


def _tensor(x):
    return x if isinstance(x, EagerTensor) or is_variable(x) else convert_to_tensor(x)


def _slices(fn: Callable, elems, who: str):
    """``(leaves, n, results)``: the checked tensors of ``elems``, their first size, and
    ``fn`` of each slice."""
    leaves, n, element = _scan_inputs(fn, elems, who)
    return leaves, n, [fn(element(i)) for i in builtins.range(n)]


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


def _truth(value, who: str) -> bool:
    p = np.asarray(value_of(value))
    if p.size != 1:
        raise InvalidArgumentError(f"{who}: the condition must be a scalar, got shape "
                                   f"{list(p.shape)}")
    return bool(p.reshape(()))


def _as_tensors(structure):
    """Every leaf as a tensor; TensorArrays (loop variables of while_loop) stay as they
    are."""
    return _nest.map_structure(
        lambda v: v if isinstance(v, TensorArray) else _tensor(v), structure)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds (and fewer than
    ``maximum_iterations`` steps ran), as eager TensorFlow runs it: a Python loop whose ops
    the tape records, so gradients flow through every step.

    ``body`` must return the structure of ``loop_vars`` (a list for a tuple is fine); the
    result is what the last ``body`` returned (``loop_vars`` if it never ran), every value a
    tensor."""
    if not callable(cond):
        raise TypeError("while_loop: 'cond' must be callable.")
    if not callable(body):
        raise TypeError("while_loop: 'body' must be callable.")
    if not isinstance(loop_vars, (list, builtins.tuple)) or not loop_vars:
        raise ValueError(f"while_loop: 'loop_vars' must be a non-empty list or tuple of "
                         f"tensors, got {loop_vars!r:.60}")
    limit = None if maximum_iterations is None else int(value_of(_tensor(maximum_iterations)))
    values = _as_tensors(loop_vars)
    steps = 0
    while (limit is None or steps < limit) and _truth(cond(*values), "while_loop"):
        result = body(*values)
        if not isinstance(result, (list, builtins.tuple)):
            # TensorFlow fails here too: unpacking the result into cond (TypeError) or, when
            # it is a dict or a step counter wraps the loop, comparing structures (ValueError)
            error = ValueError if isinstance(result, dict) or limit is not None else TypeError
            raise error(f"while_loop: body must return a list or tuple like loop_vars (one "
                        f"value a step is [value]), got {type(result).__name__}")
        try:
            _nest.assert_same_structure(list(loop_vars), list(result), check_types=False)
        except (ValueError, TypeError) as error:
            raise ValueError(f"while_loop: body must return the structure of loop_vars "
                             f"({error})") from None
        values = _as_tensors(result)
        steps += 1
    return values


def _scan_inputs(fn, elems, who: str):
    """``(leaves, n, element)``: the checked tensors of ``elems``, their first size, and
    ``element(i)``, slice ``i`` of them in the structure of ``elems``."""
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, got {type(fn).__name__}")
    leaves = [_tensor(e) for e in _leaves(elems)]
    if not leaves:
        raise ValueError(f"{who}: elems must hold at least one tensor")
    sizes = {np.shape(value_of(e))[0] if np.ndim(value_of(e)) else None for e in leaves}
    if None in sizes:
        raise ValueError(f"{who}: elems must be tensors of rank >= 1 (fn runs over axis 0)")
    if len(sizes) != 1:
        raise ValueError(f"{who}: all elems must have the same first size, got "
                         f"{sorted(sizes)}")
    (n,) = sizes

    def element(i):
        return _rebuild(elems, [gather(e, i) for e in leaves])

    return leaves, n, element


def _fold(fn, elems, initializer, reverse: bool, who: str, keep_all: bool):
    _, n, element = _scan_inputs(fn, elems, who)
    order = list(builtins.range(n - 1, -1, -1) if reverse else builtins.range(n))
    if initializer is None:
        if n == 0:
            raise OutOfRangeError(f"{who}: elems is empty and there is no initializer")
        total = element(order.pop(0))
        kept = [total]
    else:
        total = _as_tensors(initializer)
        kept = []
    for i in order:
        total = fn(total, element(i))
        kept.append(total)
    if not keep_all:
        return _as_tensors(total)
    if reverse:
        kept.reverse()
    if not kept:
        return _empty(total, [_tensor(t).dtype for t in _leaves(total)])
    return _rebuild(kept[0], _stacked(kept))


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
         swap_memory=False, infer_shape=True, reverse=False, name=None):
    """Every running value of ``a = fn(a, elems[i])``, stacked along a new first axis.

    Without ``initializer`` the first element is the first running value (and fn is called
    from the second on). ``reverse=True`` walks the elements from the last, the result still
    in the elements' order. Gradients flow through every step (TensorFlow's eager scan gives
    None for a Variable only captured by ``fn``; the value is the same)."""
    return _fold(fn, elems, initializer, bool(reverse), "scan", keep_all=True)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """The last value of ``a = fn(a, elems[i])`` for i from the first element; without
    ``initializer`` ``a`` starts as the first element (an empty ``elems`` is then an
    `OutOfRangeError`, as TensorFlow)."""
    return _fold(fn, elems, initializer, False, "foldl", keep_all=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """`foldl` from the last element to the first."""
    return _fold(fn, elems, initializer, True, "foldr", keep_all=False)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name=None):
    """The result of the function paired with the first true predicate, else of
    ``default``; with neither, `InvalidArgumentError` (TensorFlow's failed assertion).
    Predicates must be boolean tensors (a Python bool is a TypeError there too)."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(
        pred_fn_pairs)
    for pair in pairs:
        if not isinstance(pair, (list, builtins.tuple)) or len(pair) != 2:
            raise TypeError(f"case: each entry of pred_fn_pairs must be a (pred, fn) pair, "
                            f"got {pair!r:.60}")
        pred, fn = pair
        if not (isinstance(pred, EagerTensor) or is_variable(pred)):
            raise TypeError(f"case: pred must be a Tensor, got: {pred!r:.60}")
        if np.asarray(value_of(pred)).dtype != bool:
            raise TypeError(f"case: pred must be a bool tensor, got dtype "
                            f"{np.asarray(value_of(pred)).dtype}")
        if not callable(fn):
            raise TypeError(f"case: fn for pred {pred!r:.40} must be callable")
    if default is not None and not callable(default):
        raise TypeError("case: default must be callable")
    for pred, fn in pairs:
        if _truth(pred, "case"):
            return fn()
    if default is None:
        raise InvalidArgumentError("case: none of the predicates is true and there is no "
                                   "default")
    return default()


def switch_case(branch_index, branch_fns, default=None, name=None):
    """``branch_fns[branch_index]()``; an index outside the branches runs ``default`` (the
    last branch when there is none), as TensorFlow. ``branch_index`` must be an integer
    tensor (TensorFlow refuses a Python int with TypeError); ``branch_fns`` a list of
    functions, a list of ``(index, fn)`` pairs or a dict ``{index: fn}`` whose keys count
    from 0 without gaps."""
    if not (isinstance(branch_index, EagerTensor) or is_variable(branch_index)):
        raise TypeError(f"switch_case: 'branch_index' must be a Tensor, got "
                        f"{type(branch_index)}")
    index = np.asarray(value_of(branch_index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"switch_case: 'branch_index' must be an integer Tensor, got "
                        f"{index.dtype}")
    if index.ndim != 0:
        raise InvalidArgumentError(f"switch_case: branch_index must be a scalar, got shape "
                                   f"{list(index.shape)}")
    items = branch_fns.items() if isinstance(branch_fns, dict) else branch_fns
    items = list(items)
    if items and all(isinstance(v, (list, builtins.tuple)) and len(v) == 2 for v in items):
        keyed = dict(items)
        if sorted(keyed) != list(builtins.range(len(keyed))):
            raise ValueError(f"switch_case: branch indices (keys) must count from 0 without "
                             f"gaps, got {sorted(keyed)}")
        fns = [keyed[k] for k in builtins.range(len(keyed))]
    else:
        fns = items
    if not fns or not all(callable(f) for f in fns):
        raise TypeError("switch_case: branch_fns must be a non-empty list of callables (or "
                        "(index, callable) pairs)")
    if default is not None and not callable(default):
        raise TypeError("switch_case: default must be callable")
    i = int(index)
    if 0 <= i < len(fns):
        return fns[i]()
    return default() if default is not None else fns[-1]()


def no_op(name=None):
    """Nothing (eager TensorFlow returns None)."""


def group(*inputs, **kwargs):
    """Eager TensorFlow's `tf.group`: the inputs have already run, so None."""


def tensor_tuple(tensors, control_inputs=None, name=None):
    """``tf.tuple``: the tensors (None kept) as a new list; there is nothing to wait for
    eagerly."""
    return [None if t is None else identity(t) for t in tensors]


def control_dependencies(control_inputs):
    """A context that does nothing: eagerly every op has run when its line returns (``with
    tf.control_dependencies([update]):`` in ported graph code); ``as`` gives None."""
    return contextlib.nullcontext()


def identity_n(input, name=None):
    """A list of `identity` of each tensor (gradients pass through)."""
    return [identity(t) for t in input]


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
