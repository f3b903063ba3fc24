"""`GradientTape`: reverse-mode differentiation of what user code computes eagerly.

How recording works:

* While a tape is active (inside its ``with`` block, not paused by `stop_recording`), every
  differentiable operation that reads a *connected* value appends one record to it: the keys
  of its inputs, its output tensors, and a vector-Jacobian product (VJP) closure holding the
  plain arrays it needs. A value is connected when it was `watch`-ed, is a trainable
  `Variable` read inside the block (``watch_accessed_variables=True``), or is the output of a
  record. Operations on unconnected values are not recorded at all.
* Keys are ``id()``s of the tensor or Variable objects; the tape keeps a reference to every
  connected object, so an id is never reused while the tape lives. A new tensor object is made
  for every op output, so two different values never share a key.
* Records come from `convnp.tensor.ops` functions (``tf.reduce_sum`` ...), from NumPy ufuncs
  on `EagerTensor`s and Variables (``a * b``, ``np.exp(t)``: `array_ufunc`), from indexing,
  and from layer and model calls (their own ``backward`` is the VJP: see `convnp.layers.base`).
* `gradient` walks the records backwards from the target, adding up the gradients a value
  receives from each of its readers, and returns one gradient per source (``None`` for a
  source the target does not depend on, as TensorFlow does).

`jacobian` and `batch_jacobian` run the records backwards once per target element (the
records stay until the last pass), seeding one element at a time.

Second-order gradients (a gradient penalty, a Hessian-vector product): when `gradient` runs
while other tapes record, those outer tapes must see the gradient's own arithmetic. A record
may carry a second, *differentiable* VJP (``second``): it computes the same input gradients
from tensors, so that the outer tapes record what it does (ufuncs, indexing, layer and model
calls: see `convnp.layers.second_order`). `gradient` uses it for each record whose output
gradients or inputs an outer tape follows; a record without one gives plain gradients that
refuse, by name, to be differentiated again (`_refuse_second_order`), instead of silently
leaving that term out. `jacobian` is first-order only. In-place NumPy operations (``out=``,
``+=`` on a tensor) are not recorded.
"""

from __future__ import annotations

import contextlib
import enum
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np

from convnp._floats import QUIET
from convnp.ops import _allocator, threads
from convnp.tensor import eager
from convnp.tensor.eager import EagerTensor
from convnp.tensor.errors import InvalidArgumentError

# ----------------------------------------------------------------------------- values


def is_variable(x) -> bool:
    return getattr(x, "_convnp_variable", False)


def value_of(x) -> np.ndarray:
    """The plain ndarray behind a tensor, a Variable or anything array-like (no copy)."""
    if isinstance(x, np.ndarray):
        return x.view(np.ndarray) if type(x) is not np.ndarray else x
    if is_variable(x):
        return x.value
    return as_array(x)


def as_array(x) -> np.ndarray:
    """``np.asarray(x)``, refusing what is not numbers or strings (NumPy would wrap it in an
    array of objects, which no op can compute with): a `KerasTensor` above all, the
    placeholder of a functional model being built."""
    array = np.asarray(x)
    if array.dtype == object:
        kind = type(x).__name__
        hint = (" A KerasTensor is a symbolic placeholder of a model being built: pass it to "
                "Keras layers only, and wrap other operations in keras.layers.Lambda."
                if kind == "KerasTensor" else "")
        raise TypeError(f"expected a tensor, an array, a number or a string, got {kind}.{hint}")
    return array


def new_tensor(array) -> EagerTensor:
    """A fresh tensor object viewing ``array`` (never one of an op's inputs)."""
    return np.asarray(array).view(EagerTensor)


def recording() -> bool:
    """Whether any tape is recording now (ops skip all bookkeeping when not)."""
    return bool(eager.active_tapes)


def connected(x) -> bool:
    """Whether an active tape follows ``x`` (an op reading it would be recorded)."""
    return any(tape._key(x) is not None for tape in eager.active_tapes)


def record(outputs: Sequence[Any], inputs: Sequence[Any], vjp: Callable,
           second: Callable | None = None) -> None:
    """Append one op to every recording tape that sees a connected input.

    ``vjp(output_grads)`` gets one gradient per output (``None`` for an output nothing
    depends on) and returns one gradient per input (``None`` where there is none).
    ``second``, when given, is the same VJP computed so that tapes recording around the
    `gradient` call can differentiate it again: it takes the output gradients as tensors (or
    arrays, or None) and returns tensors whose computation the active tapes recorded.
    """
    tapes = eager.active_tapes
    for tape in tapes:
        keys = [tape._key(x) for x in inputs]
        if any(k is not None for k in keys):
            elsewhere = () if len(tapes) == 1 else _followed_elsewhere(tape, inputs, keys)
            tape._records.append((keys, list(outputs), vjp, second, elsewhere))
            for out in outputs:
                tape._connected[id(out)] = out


def _followed_elsewhere(tape, inputs: Sequence[Any], keys: list) -> tuple:
    """The inputs of a record that ``tape`` does not follow but another active tape does
    (a Variable an inner tape with ``watch_accessed_variables=False`` leaves to the outer
    one): when ``tape`` computes the record's VJP, those tapes must record it, since it
    depends on these inputs too."""
    return tuple(x for x, k in zip(inputs, keys) if k is None and any(
        other is not tape and other._key(x) is not None for other in eager.active_tapes))


@contextlib.contextmanager
def paused():
    """No tape records in the block (a computation whose result is handed on as plain
    arrays, recorded, if at all, by its caller as one operation)."""
    saved = list(eager.active_tapes)
    eager.active_tapes.clear()
    try:
        yield
    finally:
        eager.active_tapes[:] = saved


#: For the VJP `gradient` is running now (innermost last): whether each input of its record
#: needs a gradient (it is a source, or was computed from one). See `wanted_inputs`.
_WANTED: list[list[bool]] = []


def wanted_inputs() -> list[bool] | None:
    """Inside a VJP that `GradientTape.gradient` runs: one flag per input of the record,
    True where that input's gradient reaches a source (a layer call asked only for the input
    gradient, as a saliency map is, may skip its weights'). None outside such a call."""
    return _WANTED[-1] if _WANTED else None


def followed(x) -> bool:
    """Whether some active tape follows ``x`` (a trainable Variable counts when a tape watches
    the variables it reads: it is watched from now on, as any read would)."""
    return x is not None and any(tape._key(x) is not None for tape in eager.active_tapes)


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape`` (undo NumPy broadcasting)."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# ----------------------------------------------------------------------------- the tape


class UnconnectedGradients(enum.Enum):
    """``tf.UnconnectedGradients``: what `GradientTape.gradient` gives for a source the target
    does not depend on (``NONE``: None, TensorFlow's default; ``ZERO``: zeros of its shape).
    The strings ``"none"`` and ``"zero"`` are accepted as well."""

    NONE = "none"
    ZERO = "zero"


def _unconnected_mode(value) -> str:
    mode = value.value if isinstance(value, UnconnectedGradients) else value
    if mode not in ("none", "zero"):
        raise ValueError(f"unconnected_gradients must be 'none' or 'zero' (or "
                         f"tf.UnconnectedGradients.NONE / .ZERO), got {value!r}")
    return mode


class GradientTape:
    """Records operations for automatic differentiation, as ``tf.GradientTape``.

    >>> import convnp as tf
    >>> x = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     y = x * x
    >>> float(tape.gradient(y, x))
    6.0

    Args:
        persistent: allow several `gradient` calls (otherwise the records are freed by the
            first one).
        watch_accessed_variables: watch every trainable `Variable` read inside the block.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        # (input keys, outputs, VJP, differentiable VJP or None, inputs only other tapes
        # follow)
        self._records: list[tuple[list, list, Callable, Callable | None, tuple]] = []
        self._connected: dict[int, Any] = {}
        self._watched: dict[int, Any] = {}
        self._used = False
        self._entered = False

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self in eager.active_tapes:
            raise ValueError("this GradientTape is already recording (nested `with` on it)")
        # a training loop on a tape allocates the same big arrays every step, as fit does:
        # the same one-time malloc tuning (page faults cost a step of x * x on 2M numbers 8x)
        _allocator.ensure_tuned()
        # and its kernels share the cores as in fit: one region for the block holds BLAS to
        # one thread throughout, where each kernel taking its own region let BLAS's threads
        # spin between kernels on the core a kernel's second thread wanted (a WGAN-GP critic
        # step ran 1.56x slower)
        region = threads.parallel_region()
        region.__enter__()
        self._region = region
        eager.active_tapes.append(self)
        self._entered = True
        return self

    def __exit__(self, *exc) -> None:
        if self in eager.active_tapes:
            eager.active_tapes.remove(self)
        region, self._region = getattr(self, "_region", None), None
        if region is not None:
            region.__exit__(None, None, None)  # the block's own error propagates as it is

    @contextlib.contextmanager
    def stop_recording(self):
        """Operations inside this block are not recorded on this tape."""
        if self not in eager.active_tapes:
            raise ValueError("stop_recording() needs the tape to be recording (inside `with`)")
        eager.active_tapes.remove(self)
        try:
            yield
        finally:
            eager.active_tapes.append(self)

    def reset(self) -> None:
        """Forget everything recorded so far (the tape keeps recording)."""
        self._records.clear()
        self._connected = dict(self._watched)

    # -- what is differentiated ------------------------------------------------------------------
    def watch(self, tensor) -> None:
        """Differentiate with respect to ``tensor`` (a tensor, Variable, or a list/tuple/dict
        of them). Plain Python numbers cannot be watched (they have no identity)."""
        for leaf in _flatten(tensor):
            if not (isinstance(leaf, np.ndarray) or is_variable(leaf)):
                # ValueError, as TensorFlow's watch of a Python number, string or None
                raise ValueError(
                    f"GradientTape.watch expects tensors or Variables, got "
                    f"{type(leaf).__name__}; convert it first with tf.constant(...)")
            self._watched[id(leaf)] = leaf
            self._connected[id(leaf)] = leaf

    def watched_variables(self) -> tuple:
        return tuple(v for v in self._watched.values() if is_variable(v))

    def _key(self, x) -> int | None:
        key = id(x)
        if key in self._connected:
            return key
        if self._watch_accessed and is_variable(x) and x.trainable:
            self._watched[key] = x
            self._connected[key] = x
            return key
        return None

    # -- gradients -------------------------------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """d sum(target) / d source for each source, in the structure of ``sources``.

        Args:
            target: a tensor (or a list of tensors, whose gradients add up).
            sources: a Variable or tensor, or a (nested) list/tuple/dict of them.
            output_gradients: gradients of something downstream w.r.t. ``target`` (same
                structure as ``target``), instead of ones.
            unconnected_gradients: ``"none"`` (TensorFlow's default: None for a source the
                target does not depend on) or ``"zero"`` (or `UnconnectedGradients`).

        Raises:
            RuntimeError: a second call on a non-persistent tape.
        """
        unconnected = _unconnected_mode(unconnected_gradients)
        self._check_usable("gradient")
        targets = _flatten(target)
        seeds = [None] * len(targets) if output_gradients is None else _flatten(
            output_gradients)
        if len(seeds) != len(targets):
            raise ValueError(f"output_gradients has {len(seeds)} items for {len(targets)} "
                             "targets")
        flat_sources = _checked_sources(sources, "gradient")
        with self._hidden(), threads.parallel_region():  # (the region: see __enter__)
            # its own backward is not recorded on this tape
            # tapes still recording around this call differentiate what it computes
            outer = bool(eager.active_tapes)
            grads: dict[int, Any] = {}
            for t, given in zip(targets, seeds):
                _accumulate(grads, id(t), _seed(t, given, outer))
            self._used = True  # only now: a refused call leaves a non-persistent tape usable
            found = self._source_gradients(grads, flat_sources, outer)
        self._release()
        result = []
        for s, g in zip(flat_sources, found):
            if g is None:
                result.append(new_tensor(np.zeros_like(value_of(s))) if unconnected == "zero"
                              else None)
            else:
                result.append(g if isinstance(g, EagerTensor) else new_tensor(g))
        return _unflatten(sources, result)

    @contextlib.contextmanager
    def _hidden(self):
        """This tape stops recording in the block (if it was recording)."""
        if self not in eager.active_tapes:
            yield
            return
        position = eager.active_tapes.index(self)
        eager.active_tapes.remove(self)
        try:
            yield
        finally:
            eager.active_tapes.insert(position, self)

    def _check_usable(self, what: str) -> None:
        if not self._entered:
            raise RuntimeError(f"GradientTape.{what}: this tape never recorded anything; "
                               "compute the target inside `with tf.GradientTape() as tape:` "
                               f"and call tape.{what} after it")
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or of jacobians); use persistent=True")

    def _release(self) -> None:
        """Free the records of a non-persistent tape once its one computation is done."""
        if not self._persistent:
            self._records = []
            self._connected = {}

    def _source_gradients(self, grads: dict, flat_sources: list, outer: bool = False) -> list:
        """Run the records back from the seeded ``grads`` (by id) and return each source's
        gradient as an array of its shape and float dtype, or None when nothing reached it.
        The records stay (a jacobian runs them once per target element). With ``outer``,
        the VJPs are computed so that the active tapes record them (a gradient that an outer
        tape follows comes back as that tensor)."""
        with np.errstate(**QUIET):
            self._backward(grads, {id(s) for s in flat_sources}, outer)
        found = []
        for s in flat_sources:
            g = grads.get(id(s))
            base = value_of(s)
            if g is not None and outer and followed(g):
                found.append(_fitted(g, base))
                continue
            if g is not None:
                g = np.asarray(value_of(g))
                if g.shape != base.shape:
                    g = np.broadcast_to(g, base.shape)
                if g.dtype != base.dtype and base.dtype.kind == "f":
                    g = g.astype(base.dtype)
            found.append(g)
        return found

    def _backward(self, grads: dict, keep: set, outer: bool = False) -> None:
        """Run the recorded VJPs from the last to the first, adding up ``grads`` (by id);
        the gradients of ids not in ``keep`` are dropped once used. With ``outer``, a record
        whose output gradients or inputs an active tape follows runs its differentiable VJP
        (or, lacking one, gives gradients that refuse to be differentiated again)."""
        reaching = self._reaching(keep)
        for keys, outputs, vjp, second, elsewhere in reversed(self._records):
            outs = [grads.get(id(o)) for o in outputs]
            if all(g is None for g in outs):
                continue
            for o in outputs:
                if id(o) not in keep:
                    grads.pop(id(o), None)
            _WANTED.append([key is not None and key in reaching for key in keys])
            try:
                results = self._run_vjp(keys, vjp, second, outs, outer, elsewhere)
            finally:
                _WANTED.pop()
            for key, g in zip(keys, results):
                if key is not None and g is not None:
                    _accumulate(grads, key, g)

    def _reaching(self, sources: set) -> set:
        """The ids of the sources and of every value recorded from them: the inputs whose
        gradients a backward pass to ``sources`` needs (`wanted_inputs`)."""
        reaching = set(sources)
        for keys, outputs, *_ in self._records:
            if any(key in reaching for key in keys if key is not None):
                reaching.update(id(o) for o in outputs)
        return reaching

    def _run_vjp(self, keys, vjp, second, outs, outer: bool, elsewhere: tuple = ()) -> list:
        """One record's input gradients: its differentiable VJP when a tape recording
        around this `gradient` follows what it reads (or, lacking one, gradients that refuse
        to be differentiated again), else the plain one."""
        if outer and (any(followed(g) for g in outs) or any(
                key is not None and followed(self._connected.get(key)) for key in keys)
                or any(followed(x) for x in elsewhere)):
            if second is not None:
                return second(outs)
            return refusing_gradients(vjp([_plain(g) for g in outs]),
                                      outs + [self._connected.get(k) for k in keys if k]
                                      + list(elsewhere))
        return vjp([_plain(g) for g in outs] if outer else outs)

    def jacobian(self, target, sources, unconnected_gradients="none",
                 parallel_iterations=None, experimental_use_pfor=True):
        """d target[i...] / d source[j...] for each source: an array of shape
        ``target.shape + source.shape``, in the structure of ``sources`` (None for a source
        the target does not depend on, unless ``unconnected_gradients="zero"``).

        One backward pass runs per element of ``target`` (``parallel_iterations`` and
        ``experimental_use_pfor`` are TensorFlow's vectorisation settings, accepted and
        unused)."""
        unconnected = _unconnected_mode(unconnected_gradients)
        self._check_usable("jacobian")
        if not (isinstance(target, np.ndarray) or is_variable(target)):
            raise TypeError(f"jacobian() target must be a tensor, got {type(target).__name__}")
        flat_sources = _checked_sources(sources, "jacobian")
        out_shape = np.shape(value_of(target))
        rows = self._seeded_rows(target, flat_sources, out_shape, batch=False)
        return self._jacobian_result(sources, flat_sources, rows, out_shape, unconnected,
                                     target)

    def batch_jacobian(self, target, source, unconnected_gradients="none",
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per example: d target[b, i...] / d source[b, j...], shape ``(batch,) +
        target.shape[1:] + source.shape[1:]``. As TensorFlow, it assumes example ``b`` of
        the target depends on example ``b`` of the source only (a pass seeds one target
        position in every example at once)."""
        _unconnected_mode(unconnected_gradients)
        self._check_usable("batch_jacobian")
        (src,) = _checked_sources([source], "batch_jacobian")
        t_shape, s_shape = np.shape(value_of(target)), np.shape(value_of(src))
        if len(t_shape) < 2 or len(s_shape) < 2:
            raise ValueError(f"batch_jacobian: target and source must have rank 2 or more "
                             f"(a batch axis and the values), got shapes {tuple(t_shape)} "
                             f"and {tuple(s_shape)}")
        if t_shape[0] != s_shape[0]:
            raise ValueError(f"batch_jacobian: the first (batch) axes of target and source "
                             f"must match, got shapes {tuple(t_shape)} and {tuple(s_shape)}")
        (rows,) = self._seeded_rows(target, [src], t_shape, batch=True)
        if rows is None:  # zeros, even by default: TensorFlow's batch_jacobian gives them
            self._finish_jacobian([], target, [src])
            return new_tensor(np.zeros(t_shape + s_shape[1:], _float_dtype(value_of(src))))
        # rows[j] is (batch,) + s_shape[1:]: the gradient of target[:, j] for every example
        per_example = np.stack(rows, axis=1).reshape(t_shape + s_shape[1:])
        out = new_tensor(per_example)
        self._finish_jacobian([out], target, [src])
        return out

    def _seeded_rows(self, target, flat_sources, out_shape, batch: bool) -> list:
        """One backward pass per target position (per position within an example with
        ``batch``); for each source, the list of its gradients (zeros where one pass did not
        reach it), or None when no pass reached it."""
        self._used = True
        per_example = out_shape[1:] if batch else out_shape
        count = int(np.prod(per_example, dtype=np.int64))
        dtype = _float_dtype(value_of(target))
        rows: list[list | None] = [[] for _ in flat_sources]
        reached = [False] * len(flat_sources)
        for k in range(count):
            seed = np.zeros((out_shape[0] if batch else 1, count), dtype=dtype)
            seed[:, k] = 1
            found = self._source_gradients({id(target): seed.reshape(out_shape)},
                                           flat_sources)
            for i, (s, g) in enumerate(zip(flat_sources, found)):
                reached[i] = reached[i] or g is not None
                rows[i].append(np.zeros(np.shape(value_of(s)), _float_dtype(value_of(s)))
                               if g is None else np.array(g))
        return [r if hit else None for r, hit in zip(rows, reached)]

    def _jacobian_result(self, sources, flat_sources, rows, out_shape, unconnected, target):
        result = []
        for s, r in zip(flat_sources, rows):
            shape = tuple(out_shape) + tuple(np.shape(value_of(s)))
            if r is None:
                result.append(None if unconnected == "none" else new_tensor(
                    np.zeros(shape, _float_dtype(value_of(s)))))
            else:
                result.append(new_tensor(np.stack(r).reshape(shape) if r else
                                         np.zeros(shape, _float_dtype(value_of(s)))))
        self._finish_jacobian([r for r in result if r is not None], target, flat_sources)
        return _unflatten(sources, result)

    def _finish_jacobian(self, results: list, target, flat_sources: list) -> None:
        self._release()
        if eager.active_tapes:
            _refuse_second_order(results, [target, *flat_sources])


def _checked_sources(sources, who: str) -> list:
    flat = _flatten(sources)
    for s in flat:
        if not (isinstance(s, np.ndarray) or is_variable(s)):
            raise TypeError(f"{who}() sources must be Variables or tensors, got "
                            f"{type(s).__name__}")
    return flat


def _refuse_second_order(gradients: list, depends_on: list) -> None:
    """Make gradients that were computed in plain NumPy unusable by any tape still recording.

    TensorFlow records the arithmetic of ``gradient`` itself on the tapes around it, so a
    gradient penalty (WGAN-GP: the norm of d critic / d images, differentiated again with
    respect to the critic's weights) gets its second-order term. Where convnp has no
    differentiable VJP for an operation (a record without ``second``, or `jacobian`), giving
    an outer tape nothing would let its gradient silently leave that term out, so each outer
    tape that follows one of ``depends_on`` gets one record whose VJP refuses by name when,
    and only when, a gradient flows back into these values.
    """
    if not gradients:
        return

    def vjp(_):
        raise NotImplementedError(
            "convnp cannot differentiate this gradient again: a tape recording around "
            "GradientTape.gradient (or jacobian, which is first-order only) needs the "
            "derivative of a VJP that convnp computes in plain NumPy only. "
            + _SECOND_ORDER_SUPPORT)

    for tape in eager.active_tapes:
        keys = [tape._key(x) if x is not None else None for x in depends_on]
        if any(k is not None for k in keys):
            tape._records.append((keys, list(gradients), vjp, None, ()))
            for g in gradients:
                tape._connected[id(g)] = g


def no_second_order_rule(what: str) -> NotImplementedError:
    """The error for a second-order gradient through ``what`` (a layer, an activation),
    which has no second-order rule."""
    return NotImplementedError(
        f"convnp cannot differentiate the gradient of {what} again (a second-order gradient, "
        f"as a gradient penalty takes): it has no second-order rule. {_SECOND_ORDER_SUPPORT}")


#: What second-order gradients go through (for the errors of what they do not).
_SECOND_ORDER_SUPPORT = (
    "Second-order gradients go through tensor arithmetic and math (ufuncs), matmul, "
    "einsum/tensordot, reduce_sum/reduce_mean/reduce_max/reduce_min, indexing, "
    "reshape/transpose, concat/stack, tile, reverse, constant pad, cumsum, cast, where, "
    "clip_by_value, erf, tf.nn's "
    "relu/relu6/leaky_relu/elu/selu/gelu/softplus/sigmoid/softmax/log_softmax and its "
    "cross-entropies with logits, the activations (relu, leaky_relu, elu, selu, tanh, "
    "sigmoid, softplus, silu/swish, gelu, exponential, softmax, linear, softsign, mish, "
    "hard_silu, log_sigmoid), the losses mean_squared_error, mean_absolute_error, huber, "
    "binary_crossentropy, and categorical and sparse_categorical_crossentropy (from "
    "logits or probabilities), and the layers Dense, Conv1D, Conv2D, Conv2DTranspose, "
    "DepthwiseConv2D, the activation layers, BatchNormalization, LayerNormalization, "
    "GroupNormalization, UnitNormalization, Dropout, Flatten, Reshape, Rescaling, PReLU, "
    "Softmax, Multiply, padding, cropping, upsampling, max and average pooling, Add, "
    "Subtract, Average, Concatenate, users' layers written in these, and models made of "
    "them. Wrap the inner gradient in tf.stop_gradient(...) if its second-order term is "
    "not needed.")


def diagonal_second(x_obj, backward: Callable, second_term: Callable) -> Callable:
    """`record`'s ``second`` for a function applied number by number to ``x_obj`` (an
    activation on a tensor): its VJP ``backward(g)`` multiplies by the derivative, so the
    cotangent of ``g`` goes back through ``backward`` too, and ``second_term(g, c)`` (the
    second derivative times ``g`` and the cotangent ``c``; None when zero) is the input's."""

    def second(grads: list) -> list:
        g = grads[0]
        plain = _plain(g)
        dx = new_tensor(backward(plain))

        def outer_vjp(cotangents: list) -> list:
            c = np.asarray(value_of(cotangents[0]))
            term = second_term(plain, c)
            if term is None:
                # piecewise linear (ReLU): no curvature, but the gradient still read x, so
                # x's gradient is zeros, not None (TensorFlow's d2 of a ReLU is zeros, and
                # a third tape over it must not meet None)
                term = np.zeros(np.shape(value_of(x_obj)), c.dtype)
            return [backward(c), term]

        record([dx], [g, x_obj], outer_vjp)
        return [dx]

    return second


def refusing_gradients(results: list, depends_on: list) -> list:
    """``results`` (plain gradients) as tensors that refuse to be differentiated by the
    active tapes (`_refuse_second_order`)."""
    tensors = [None if g is None else new_tensor(g) for g in results]
    _refuse_second_order([t for t in tensors if t is not None],
                         [x for x in depends_on if x is not None])
    return tensors


def _plain(g):
    """A gradient as the plain array first-order VJPs take."""
    return None if g is None else np.asarray(value_of(g))


def _seed(target, given, outer: bool):
    """The gradient ``gradient`` starts from at ``target``: ones, or ``output_gradients``
    (broadcast to the target's shape); kept as the tensor given when an outer tape follows
    it (a vector-Jacobian product with a cotangent that depends on other variables)."""
    shape = np.shape(value_of(target))
    if given is None:
        return np.ones(shape, dtype=_float_dtype(value_of(target)))
    if outer and followed(given) and np.shape(value_of(given)) == shape:
        return given
    seed = np.asarray(value_of(given))
    if seed.shape != shape:
        try:
            if np.broadcast_shapes(seed.shape, shape) != shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"GradientTape.gradient: output_gradients of shape "
                             f"{seed.shape} do not match the target of shape "
                             f"{shape}") from None
        seed = np.broadcast_to(seed, shape)
    return seed


def _fitted(g, base: np.ndarray):
    """A followed gradient tensor with the shape and float dtype of its source ``base``
    (recorded operations, so the outer tapes keep following it)."""
    if np.shape(value_of(g)) != base.shape:
        g = g + np.zeros(base.shape, dtype=np.asarray(value_of(g)).dtype)
    if np.asarray(value_of(g)).dtype != base.dtype and base.dtype.kind == "f":
        g = g.astype(base.dtype)
    return g


def _float_dtype(a: np.ndarray):
    return a.dtype if a.dtype.kind == "f" else np.float32


def _accumulate(grads: dict, key: int, g) -> None:
    if key in grads:
        old = grads[key]
        grads[key] = old + g if np.shape(old) == np.shape(g) else np.add(old, g)
    else:
        grads[key] = g


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    if isinstance(structure, dict):
        return [leaf for k in structure for leaf in _flatten(structure[k])]
    return [structure]


def _unflatten(structure, leaves: list, keep_types: bool = False):
    """``structure`` (nested lists, tuples and dicts) with its leaves replaced, in order, by
    ``leaves``. Lists and tuples come back plain, or with ``keep_types`` as their own types
    (namedtuples included)."""
    it = iter(leaves)

    def build(s):
        if isinstance(s, (list, tuple)):
            items = [build(item) for item in s]
            if keep_types:
                return type(s)(*items) if hasattr(s, "_fields") else type(s)(items)
            return items if isinstance(s, list) else tuple(items)
        if isinstance(s, dict):
            return {k: build(s[k]) for k in s}
        return next(it)

    return build(structure)


def stop_gradient(x) -> EagerTensor:
    """The same values, with no gradient flowing back through them (``tf.stop_gradient``)."""
    return new_tensor(value_of(x))


# ----------------------------------------------------------------------------- ufuncs


def _sum_to(g, x):
    return unbroadcast(g, np.shape(x))


def _matmul_vjp(x, y, g):
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    g2 = g
    if x.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if y.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    gx = g2 @ np.swapaxes(y2, -1, -2)
    gy = np.swapaxes(x2, -1, -2) @ g2
    if x.ndim == 1:
        gx = gx[..., 0, :]
    if y.ndim == 1:
        gy = gy[..., 0]
    return unbroadcast(gx, x.shape), unbroadcast(gy, y.shape)


def _power(base, exponent):
    """``np.power(base, exponent)``, with a whole exponent 3 or 4 of a float array as
    products: NumPy's float pow makes one libm call a number (55 ns here: ``x ** 3`` of 2M
    numbers took 110 ms against 0.4 ms for ``x * x * x``). The products differ from pow by
    an ulp at most. (Exponents 2, 1, 0.5 and -1 have NumPy's own fast paths.)"""
    if (isinstance(base, np.ndarray) and base.dtype.kind == "f" and np.ndim(exponent) == 0
            and np.asarray(exponent).dtype.kind in "iuf" and exponent in (3, 4)):
        base = base.astype(np.result_type(base, exponent), copy=False)  # np.power's dtype
        square = base * base
        return square * base if exponent == 3 else np.multiply(square, square, out=square)
    return np.power(base, exponent)


def _safe_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1)), 0)


# Each rule: (inputs, output, output gradient) -> gradient per input (before unbroadcasting).
_UNARY = {
    np.negative: lambda x, z, g: -g,
    np.positive: lambda x, z, g: g,
    np.exp: lambda x, z, g: g * z,
    np.exp2: lambda x, z, g: g * z * np.log(2.0),
    np.expm1: lambda x, z, g: g * (z + 1),
    np.log: lambda x, z, g: g / x,
    np.log2: lambda x, z, g: g / (x * np.log(2.0)),
    np.log10: lambda x, z, g: g / (x * np.log(10.0)),
    np.log1p: lambda x, z, g: g / (1 + x),
    np.sqrt: lambda x, z, g: g / (2 * z),
    np.square: lambda x, z, g: 2 * x * g,
    np.absolute: lambda x, z, g: g * np.sign(x),
    np.reciprocal: lambda x, z, g: -g * z * z,
    np.tanh: lambda x, z, g: g * (1 - z * z),
    np.sin: lambda x, z, g: g * np.cos(x),
    np.cos: lambda x, z, g: -g * np.sin(x),
    np.tan: lambda x, z, g: g * (1 + z * z),
    np.sinh: lambda x, z, g: g * np.cosh(x),
    np.cosh: lambda x, z, g: g * np.sinh(x),
    np.arctan: lambda x, z, g: g / (1 + x * x),
    np.arcsin: lambda x, z, g: g / np.sqrt(1 - x * x),
    np.arccos: lambda x, z, g: -g / np.sqrt(1 - x * x),
    np.arcsinh: lambda x, z, g: g / np.sqrt(x * x + 1),
    np.arccosh: lambda x, z, g: g / np.sqrt(x * x - 1),
    np.arctanh: lambda x, z, g: g / (1 - x * x),
    np.conjugate: lambda x, z, g: g,
}

# Each rule: a pair (gradient for the first input, gradient for the second), each a function
# of (inputs, output, output gradient), before unbroadcasting. Only the sides a tape can
# follow are computed: ``x ** 3`` needs no log of x for its constant exponent.
_BINARY = {
    np.add: (lambda x, y, z, g: g, lambda x, y, z, g: g),
    np.subtract: (lambda x, y, z, g: g, lambda x, y, z, g: -g),
    np.multiply: (lambda x, y, z, g: g * y, lambda x, y, z, g: g * x),
    np.true_divide: (lambda x, y, z, g: g / y, lambda x, y, z, g: -g * x / (y * y)),
    np.power: (lambda x, y, z, g: g * y * _power(x, y - 1),
               lambda x, y, z, g: g * z * _safe_log(x)),
    np.float_power: (lambda x, y, z, g: g * y * np.float_power(x, y - 1),
                     lambda x, y, z, g: g * z * _safe_log(x)),
    np.maximum: (lambda x, y, z, g: g * (x >= y), lambda x, y, z, g: g * (x < y)),
    np.minimum: (lambda x, y, z, g: g * (x <= y), lambda x, y, z, g: g * (x > y)),
    np.fmax: (lambda x, y, z, g: g * (x >= y), lambda x, y, z, g: g * (x < y)),
    np.fmin: (lambda x, y, z, g: g * (x <= y), lambda x, y, z, g: g * (x > y)),
    # x mod y = x - floor(x / y) * y, floor being piecewise constant (TensorFlow's rule)
    np.remainder: (lambda x, y, z, g: g, lambda x, y, z, g: -g * np.floor_divide(x, y)),
    np.arctan2: (lambda x, y, z, g: g * y / (x * x + y * y),
                 lambda x, y, z, g: -g * x / (x * x + y * y)),
}

# ufuncs whose result is piecewise constant or not a number: no gradient flows, no error.
_NO_GRADIENT = {
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.isnan, np.isinf,
    np.isfinite, np.sign, np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.signbit,
    np.left_shift, np.right_shift, np.fmod,
}


def _reduce_vjp(ufunc, x, z, g, axis, keepdims):
    if axis is None:
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    if not keepdims:
        g = np.expand_dims(g, axes)
        z = np.expand_dims(z, axes)
    if ufunc is np.add:
        return np.broadcast_to(g, x.shape)
    if ufunc in (np.maximum, np.minimum):
        mask = (x == z)
        return g * mask / mask.sum(axis=axes, keepdims=True)  # ties share, as TensorFlow
    if ufunc is np.multiply:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x != 0, g * z / np.where(x != 0, x, 1),
                            g * _prod_without(x, axes))
    raise NotImplementedError(f"no gradient rule for np.{ufunc.__name__}.reduce")


def _prod_without(x, axes):
    # product of the other entries along `axes`, for zeros (slow path, only used with zeros)
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    moved = np.moveaxis(x, axes, range(len(axes)))
    flat = moved.reshape((-1,) + moved.shape[len(axes):])
    res = np.empty_like(flat, dtype=out.dtype)
    for i in range(flat.shape[0]):
        rest = np.delete(flat, i, axis=0)
        res[i] = rest.prod(axis=0)
    res = res.reshape(moved.shape)
    return np.moveaxis(res, range(len(axes)), axes)


def array_ufunc(ufunc, method, *inputs, **kwargs):
    """NumPy's ufunc protocol for `EagerTensor` and `Variable`: compute on plain arrays,
    return tensors, and record a VJP on active tapes for differentiable ufuncs."""
    plain = [value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else x
             for x in inputs]
    if method == "__call__" and len(inputs) == 2:
        plain = in_tensor_dtype(inputs, plain)
        if ufunc is np.equal or ufunc is np.not_equal:
            plain = _strings_as_bytes(plain)
    out = kwargs.get("out")
    if out is not None and eager.active_tapes and any(
            t._key(x) is not None for t in eager.active_tapes for x in inputs
            if isinstance(x, np.ndarray) or is_variable(x)):
        raise NotImplementedError(f"np.{ufunc.__name__} with out= (in place) on a watched value "
                                  "cannot be recorded; write `y = f(x)` instead")
    if out is not None:
        kwargs["out"] = tuple(value_of(o) for o in out)
    with np.errstate(**QUIET):
        try:
            if ufunc is np.power and method == "__call__" and not kwargs:
                result = _power(*plain)
            else:
                result = getattr(ufunc, method)(*plain, **kwargs)
        except ValueError as error:
            # shapes that do not broadcast (or do not multiply, for @) are TensorFlow's
            # InvalidArgumentError, a ValueError too
            if isinstance(error, InvalidArgumentError) or not any(
                    words in str(error) for words in _SHAPE_MISMATCH):
                raise
            raise InvalidArgumentError(f"{ufunc.__name__}: {error}") from None
    if out is not None:
        return out[0] if len(out) == 1 else out
    if isinstance(result, tuple):
        return tuple(new_tensor(r) for r in result)
    if method not in ("__call__", "reduce", "accumulate", "reduceat", "outer", "at"):
        return result
    if method == "at":
        return None
    tensor = new_tensor(result)
    if eager.active_tapes and ufunc not in _NO_GRADIENT and result.dtype.kind in "fc" \
            and any(isinstance(x, np.ndarray) or is_variable(x) for x in inputs):
        _record_ufunc(ufunc, method, inputs, plain, tensor, kwargs)
    return tensor


# NumPy's words for operands whose shapes do not fit together (and for int ** -1, which
# TensorFlow refuses with the same error)
_SHAPE_MISMATCH = ("could not be broadcast", "mismatch in its core dimension",
                   "negative integer powers")


def _text_kind(value) -> str | None:
    """"bytes" or "str" for a string value or array of them (object arrays by their first
    element), None for anything else."""
    if isinstance(value, (bytes, np.bytes_)):
        return "bytes"
    if isinstance(value, str):
        return "str"
    if isinstance(value, np.ndarray) and value.size:
        if value.dtype.kind in "SU":
            return "bytes" if value.dtype.kind == "S" else "str"
        if value.dtype == object:
            return _text_kind(value.flat[0])
    return None


def _strings_as_bytes(plain) -> list:
    """TensorFlow's strings are bytes, and it compares them with Python ``str`` by their
    UTF-8 bytes (``path_parts[-2] == class_names`` with names as ``str``): when one side of
    an equality holds bytes and the other str, both become bytes arrays. NumPy alone would
    answer a single False (there is no loop comparing the two kinds)."""
    kinds = {_text_kind(v) for v in plain}
    if kinds != {"bytes", "str"}:
        return plain

    def as_bytes(value):
        array = np.asarray(value, dtype=object if isinstance(value, np.ndarray)
                           and value.dtype == object else None)
        out = np.empty(array.shape, dtype=object)
        out.ravel()[:] = [v.encode() if isinstance(v, str) else bytes(v)
                          for v in array.ravel().tolist()]
        return out.astype(bytes)

    return [as_bytes(v) for v in plain]


def in_tensor_dtype(inputs, plain) -> list:
    """A NumPy operand of a tensor takes the tensor's dtype, as TensorFlow converts it
    (``float32 tensor * np.ones(2)`` is float32 there, where NumPy would promote to float64):
    numbers of any kind for a float tensor, integers for an integer one. Two tensors, and
    NumPy floats with an integer tensor (which TensorFlow would truncate), keep NumPy's
    rules."""
    is_tensor = [isinstance(x, EagerTensor) or is_variable(x) for x in inputs]
    if sum(is_tensor) != 1:
        return plain
    tensor, other = plain[is_tensor.index(True)], is_tensor.index(False)
    value = plain[other]
    kinds = "fiu" if tensor.dtype.kind == "f" else "iu" if tensor.dtype.kind in "iu" else ""
    if type(value) in (list, tuple):
        # a Python list is converted to the tensor's dtype too (float32 tensor + [1.0, 2.0]
        # is float32 in TensorFlow); one that does not fit it keeps NumPy's rules below
        try:
            value = np.asarray(value)
        except (ValueError, TypeError):
            return plain
        if value.dtype.kind not in "biufc":
            return plain
    if (isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in kinds
            and value.dtype != tensor.dtype):
        plain = list(plain)
        plain[other] = value.astype(tensor.dtype)
    return plain


def _record_ufunc(ufunc, method, inputs, plain, tensor, kwargs) -> None:
    z = tensor.view(np.ndarray)
    # the differentiable VJPs (`record`'s ``second``) run the same rules on the operands
    # themselves (tensors and Variables the tapes follow) and on the output tensor
    operands = [x if isinstance(x, EagerTensor) or is_variable(x) else p
                for x, p in zip(inputs, plain)]
    if method == "__call__" and ufunc in _UNARY and len(plain) == 1:
        (x,) = plain
        rule = _UNARY[ufunc]
        record([tensor], inputs, lambda gs: [rule(x, z, gs[0])],
               second=lambda gs: [rule(operands[0], tensor, gs[0])])
        return
    if method == "__call__" and ufunc in _BINARY:
        x, y = (np.asarray(p) for p in plain)
        # a plain number or array beside a tensor: no tape follows it, so no gradient
        sides = [rule if isinstance(v, EagerTensor) or is_variable(v) else None
                 for rule, v in zip(_BINARY[ufunc], inputs)]

        def vjp(gs):
            return [None if rule is None else _sum_to(rule(x, y, z, gs[0]), p)
                    for rule, p in zip(sides, (x, y))]

        def second(gs):
            return [None if rule is None
                    else _summed_to(rule(operands[0], operands[1], tensor, gs[0]), p.shape)
                    for rule, p in zip(sides, (x, y))]

        record([tensor], inputs, vjp, second)
        return
    if method == "__call__" and ufunc is np.matmul:
        x, y = (np.asarray(p) for p in plain)
        record([tensor], inputs, lambda gs: list(_matmul_vjp(x, y, gs[0])),
               second=lambda gs: _matmul_second(operands[0], operands[1], x.shape, y.shape,
                                                gs[0]))
        return
    if method == "__call__" and ufunc.__name__ == "clip":
        x = np.asarray(plain[0])
        lo, hi = plain[1], plain[2]
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        record([tensor], inputs[:1], lambda gs: [gs[0] * mask],
               second=lambda gs: [gs[0] * mask])
        return
    if method == "reduce":
        x = np.asarray(plain[0])
        axis = kwargs.get("axis", 0)
        keepdims = kwargs.get("keepdims", False)
        second = None
        if ufunc is np.add:  # a sum's VJP spreads the gradient back: linear, whatever x is
            def second(gs):
                return [_spread(gs[0], x, axis, keepdims)]
        elif ufunc in (np.maximum, np.minimum):
            def second(gs):
                # spread back to the places that won, ties sharing: linear in the gradient
                # (a global max pooling written as tf.reduce_max inside a critic)
                share = _reduce_vjp(ufunc, x, z, np.ones(z.shape, _float_dtype(x)), axis,
                                    keepdims)
                return [_spread(gs[0], x, axis, keepdims) * share]
        record([tensor], inputs[:1],
               lambda gs: [_reduce_vjp(ufunc, x, z, gs[0], axis, keepdims)], second)
        return
    keys = [x for x in inputs if isinstance(x, np.ndarray) or is_variable(x)]
    if any(t._key(k) is not None for t in eager.active_tapes for k in keys):
        raise NotImplementedError(
            f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} has no gradient "
            "rule in convnp's GradientTape; use the tf.* function or compute it outside the "
            "tape (tape.stop_recording())")


# -- differentiable VJPs: recorded operations only (ufuncs, ufunc reductions, and the
#    tensor methods that go through the recorded ops while a tape is active)

def _reshaped(t, shape: tuple):
    """``t`` with ``shape``, recorded when ``t`` is a tensor or Variable."""
    if isinstance(t, EagerTensor) or is_variable(t):
        return eager._hooks["method"]("reshape", t, (tuple(shape),), {})
    return np.reshape(t, shape)


def _swapped(t):
    """``t`` with its last two axes swapped, recorded when ``t`` is a tensor or Variable."""
    perm = list(range(np.ndim(value_of(t))))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    if isinstance(t, EagerTensor) or is_variable(t):
        return eager._hooks["method"]("transpose", t, (perm,), {})
    return np.transpose(t, perm)


def _summed_to(g, shape: tuple):
    """`unbroadcast` in recorded operations: ``g`` summed down to ``shape``."""
    shape = tuple(shape)
    if g is None or np.shape(value_of(g)) == shape:
        return g
    extra = np.ndim(value_of(g)) - len(shape)
    if extra > 0:
        g = np.add.reduce(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(value_of(g))[i] != 1)
    if axes:
        g = np.add.reduce(g, axis=axes, keepdims=True)
    return g if np.shape(value_of(g)) == shape else _reshaped(g, shape)


def _spread(g, x: np.ndarray, axis, keepdims: bool):
    """The VJP of ``np.add.reduce(x, axis)`` in recorded operations: ``g`` broadcast back
    over the summed axes (an addition to zeros of x's shape, which the tapes record)."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(
        a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    if not keepdims:
        kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        g = _reshaped(g, kept)
    return g + np.zeros(x.shape, dtype=_float_dtype(x))


def _matmul_second(x, y, x_shape: tuple, y_shape: tuple, g) -> list:
    """`_matmul_vjp` in recorded operations (``x``, ``y``: the operands, tensors or arrays)."""
    g_shape = np.shape(value_of(g))
    x2 = _reshaped(x, (1,) + x_shape) if len(x_shape) == 1 else x
    y2 = _reshaped(y, y_shape + (1,)) if len(y_shape) == 1 else y
    g2_shape = list(g_shape)
    if len(x_shape) == 1:
        g2_shape.insert(len(g2_shape) - (0 if len(y_shape) == 1 else 1), 1)
    if len(y_shape) == 1:
        g2_shape.append(1)
    g2 = _reshaped(g, tuple(g2_shape)) if tuple(g2_shape) != tuple(g_shape) else g
    gx = np.matmul(g2, _swapped(y2))
    gy = np.matmul(_swapped(x2), g2)
    if len(x_shape) == 1:
        shape = np.shape(value_of(gx))
        gx = _reshaped(gx, shape[:-2] + shape[-1:])
    if len(y_shape) == 1:
        gy = _reshaped(gy, np.shape(value_of(gy))[:-1])
    return [_summed_to(gx, x_shape), _summed_to(gy, y_shape)]


def getitem(tensor, key, tensor_type=EagerTensor):
    """Indexing with a recorded VJP (scatter-add of the gradient into the indexed places);
    the result is a ``tensor_type`` (an `EagerTensor` subclass)."""
    base = value_of(tensor)
    plain_key = _plain_key(key)
    item = base[plain_key]
    if is_variable(tensor):  # a snapshot, as TensorFlow's read: a later assign leaves it
        item = np.array(item)
    out = np.asarray(item).view(tensor_type)
    if eager.active_tapes:
        shape, dtype = base.shape, _float_dtype(base)

        def vjp(gs):
            g = np.zeros(shape, dtype=dtype)
            if _basic(plain_key):  # each element at most once: a plain write
                g[plain_key] = gs[0]
            else:  # an index array may repeat places: their gradients add up
                np.add.at(g, plain_key, gs[0])
            return [g]

        def second(gs):
            # the scatter is linear in the gradient: its own VJP gathers the same places
            scattered = new_tensor(vjp([_plain(gs[0])])[0])
            record([scattered], [gs[0]], lambda ts: [np.asarray(ts[0])[plain_key]],
                   second=lambda ts: [getitem(ts[0], plain_key)])
            return [scattered]

        record([out], [tensor], vjp, second)
    return out


def _basic(key) -> bool:
    """Whether ``key`` is NumPy basic indexing (ints, slices, None, ``...``), which never
    reaches one element twice."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, slice) or (
        isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
        for k in parts)


def _plain_key(key):
    if isinstance(key, tuple):
        return tuple(value_of(k) if isinstance(k, np.ndarray) else k for k in key)
    return value_of(key) if isinstance(key, np.ndarray) else key


def warn_none_gradients(names: list[str]) -> None:
    warnings.warn(f"Gradients do not exist for variables {names} when minimizing the loss. "
                  "If using `model.compile()`, did you forget to provide a `loss` argument?",
                  UserWarning, stacklevel=3)


eager._hooks.update(ufunc=array_ufunc, getitem=getitem)
