"""Merge layers, called on a list of tensors: `Add`, `Subtract`, `Multiply`, `Average`,
`Maximum`, `Minimum`, `Concatenate`, `Dot`, and Keras' lowercase functions (`add`,
`concatenate`, ...) that build the layer and call it in one step.

Masks, as Keras 3's merge layers treat them: the elementwise merges give their output the OR
of their inputs' masks (none when an input has none); `Concatenate` joins the masks along its
axis, an input without one counting as all kept; `Dot`'s output has none. `Multiply`,
`Maximum` and `Minimum` also compute with the masks of their inputs (a masked value is left
out: 1 in a product, never the winner of a maximum or minimum).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _masks, _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops.padding import int_pair


class _Merge(Layer):
    """Shared input handling: a non-empty list of inputs, cast to the layer dtype."""

    supports_masking = True

    def _check_masks(self, inputs, mask) -> bool:
        """Keras's checks of a merge's masks; whether there are any."""
        if mask is None:
            return False
        cls = type(self).__name__
        if not isinstance(mask, (list, tuple)):  # Keras raises ValueError for these
            raise ValueError(  # noqa: TRY004
                f"{cls} '{self.name}': `mask` should be a list, got {mask!r:.80}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(  # noqa: TRY004
                f"{cls} '{self.name}': `inputs` should be a list, got {type(inputs).__name__}")
        if len(mask) != len(inputs):
            raise ValueError(f"{cls} '{self.name}': the lists `inputs` and `mask` should have "
                             f"the same length, got {len(inputs)} inputs and {len(mask)} masks")
        return True

    def compute_mask(self, inputs, mask=None):
        """Keras's: the OR of the inputs' masks, None when one has none."""
        if not self._check_masks(inputs, mask) or any(m is None for m in mask):
            return None
        output = mask[0]
        for m in mask[1:]:
            output = _masks.logical_or(output, m)
        return output

    def _check_list(self, input_shape) -> list[tuple]:
        cls = type(self).__name__
        if not isinstance(input_shape, list) or not input_shape:
            raise TypeError(f"{cls} must be called on a list of inputs, got a single input of "
                            f"shape {tuple(input_shape) if input_shape is not None else None}")
        return [tuple(s) for s in input_shape]

    def _check_shapes(self, shapes: list[tuple]) -> None:
        raise NotImplementedError

    def build(self, input_shape) -> None:
        self._check_shapes(self._check_list(input_shape))
        self.built = True

    def _arrays(self, inputs) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{type(self).__name__} must be called on a list of inputs, "
                            f"got {type(inputs).__name__}")
        arrays = [_utils.as_dtype(x, self.dtype) for x in inputs]
        # Checked on every call: a built merge layer accepts any list of shapes otherwise.
        self._check_shapes([a.shape for a in arrays])
        return arrays


def _same(a, b) -> bool:
    return a is None or b is None or a == b


def _broadcast_shape(shapes: list[tuple], cls: str) -> tuple:
    """The common shape of elementwise-merged inputs: equal ranks, and on each axis equal
    sizes or 1 (broadcast, as Keras' merge layers allow: ``(m, 1, 1, C) * (m, H, W, C)``).
    ``None`` (unknown) matches anything."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ValueError(f"{cls} needs inputs of one shape (dimensions of 1 broadcast), got "
                         f"shapes {shapes}")
    out = []
    for dims in zip(*shapes):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{cls} needs inputs of one shape (dimensions of 1 broadcast), "
                             f"got shapes {shapes}")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes an input of ``shape`` was broadcast along."""
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class _Elementwise(_Merge):
    """A merge computed value by value on inputs of one (broadcastable) shape.

    Subclasses give `_combine(arrays) -> (y, saved)` and `_input_grads(dy, saved, arrays)`;
    the base checks shapes, keeps the arrays when the gradient needs them and sums the
    gradients back over broadcast axes. ``n_inputs`` fixes the input count (Subtract: 2).
    """

    n_inputs: int | None = None
    keeps_inputs = True  # whether backward needs the input arrays

    def _check_shapes(self, shapes: list[tuple]) -> None:
        cls = type(self).__name__
        if self.n_inputs is not None and len(shapes) != self.n_inputs:
            raise ValueError(f"{cls} takes exactly {self.n_inputs} inputs, got {len(shapes)} "
                             f"(shapes {shapes})")
        _broadcast_shape(shapes, cls)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        return _broadcast_shape(shapes, type(self).__name__)

    #: whether the call computes with its inputs' masks (Keras's Multiply, Maximum, Minimum)
    reads_masks = False

    def call(self, inputs, training: bool = False, mask=None) -> np.ndarray:
        arrays = self._arrays(inputs)
        shapes = [a.shape for a in arrays]
        if self.reads_masks and mask is not None and any(m is not None for m in mask):
            self._check_masks(inputs, mask)
            keep = [None if m is None else _masks.spread(m, a.shape)
                    for m, a in zip(mask, arrays)]
            y, saved = self._combine_masked(arrays, keep)
            self._cache = (shapes, ("masked", saved), arrays if self.keeps_inputs else None)
            return y
        y, saved = self._combine(arrays)
        self._cache = (shapes, saved, arrays if self.keeps_inputs else None)
        return y

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        shapes, saved, arrays = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        if isinstance(saved, tuple) and saved and saved[0] == "masked":
            grads = self._input_grads_masked(dy, saved[1], arrays, len(shapes))
        else:
            grads = self._input_grads(dy, saved, arrays, len(shapes))
        return [_unbroadcast(g, s) for g, s in zip(grads, shapes)]

    def _combine(self, arrays):
        raise NotImplementedError

    def _input_grads(self, dy, saved, arrays, count):
        raise NotImplementedError

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule of the linear merges (Add, Subtract, Average, which set
        ``second_order_kind = "linear"``): the tangents merged as the inputs were, zeros
        standing for an input without one."""
        if self.second_order_kind != "linear":
            raise second_order.refuse(f"{type(self).__name__} '{self.name}'")
        shapes = self._cache[0]
        tangents = [np.zeros(shape, dtype=np.asarray(dy).dtype) if t is None else t
                    for t, shape in zip(t_dx, shapes)]
        return second_order.call_keeping(self, tangents), [None] * len(shapes), {}


@register
class Add(_Elementwise):
    """Elementwise sum of a list of inputs of one shape (dimensions of 1 broadcast).

    ``backward(dy)`` returns ``[dy, dy, ...]`` (one per input; the same array, not copies,
    since no layer writes into a gradient it is given). Caches the input shapes.

    >>> import numpy as np
    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    second_order_kind = "linear"  # see _Elementwise.second_order

    keeps_inputs = False

    def _combine(self, arrays):
        y = arrays[0] + arrays[1] if len(arrays) > 1 else arrays[0].copy()
        for x in arrays[2:]:
            y = y + x
        return y, None

    def _input_grads(self, dy, saved, arrays, count):
        return [dy] * count


@register
class Subtract(_Elementwise):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import numpy as np
    >>> Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))]).tolist()
    [[4.0, 4.0]]
    """

    second_order_kind = "linear"  # see _Elementwise.second_order

    n_inputs = 2
    keeps_inputs = False

    def _combine(self, arrays):
        return arrays[0] - arrays[1], None

    def _input_grads(self, dy, saved, arrays, count):
        return [dy, -dy]


@register
class Multiply(_Elementwise):
    """Elementwise product of the inputs (e.g. squeeze-and-excitation's channel gates,
    ``(m, 1, 1, C) * (m, H, W, C)``). Caches the inputs.

    >>> import numpy as np
    >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)]).tolist()
    [[6.0, 6.0]]
    """

    def _combine(self, arrays):
        y = arrays[0]
        for x in arrays[1:]:
            y = y * x
        return (y if len(arrays) > 1 else y.copy()), None

    def _input_grads(self, dy, saved, arrays, count):
        grads = []
        for i in range(count):
            g = dy
            for j, x in enumerate(arrays):
                if j != i:
                    g = g * x
            grads.append(g)
        return grads

    def second_order(self, dy, t_dx, t_weights: dict):
        """The product is linear in each input: the tangent of ``dy`` is the sum over the
        inputs of the product with that input's tangent in its place, and input ``i``
        gets ``dy`` times the products where another input's tangent stands in for it
        (summed back to its shape, as the inputs broadcast)."""
        shapes, saved, arrays = self._cache
        if isinstance(saved, tuple) and saved and saved[0] == "masked":
            raise second_order.refuse(f"Multiply '{self.name}' (called with a mask)")
        dy = _utils.as_dtype(dy, self.dtype)

        def product(replaced: dict):
            out = None
            for k, x in enumerate(arrays):
                factor = replaced.get(k, x)
                out = factor if out is None else out * factor
            return out

        tangents = {i: np.asarray(t, self.dtype) for i, t in enumerate(t_dx) if t is not None}
        t_dy = None
        for i, t in tangents.items():
            t_dy = second_order.plus(t_dy, product({i: t}))
        x_bars = []
        for i, shape in enumerate(shapes):
            total = None
            for j, t in tangents.items():
                if j != i:
                    total = second_order.plus(total, product({i: self.dtype.type(1), j: t}))
            x_bars.append(None if total is None else _unbroadcast(
                np.broadcast_to(dy * total, dy.shape), shape))
        return t_dy, x_bars, {}

    reads_masks = True

    def _combine_masked(self, arrays, keep):
        """Keras's masked product: a masked value counts as 1; when every input has a mask,
        the output is 0 where none keeps the value."""
        one = self.dtype.type(1)
        factors = [x if k is None else np.where(k, x, one) for x, k in zip(arrays, keep)]
        y = factors[0]
        for x in factors[1:]:
            y = y * x
        kept = None
        if all(k is not None for k in keep):
            kept = keep[0]
            for k in keep[1:]:
                kept = np.logical_or(kept, k)
            y = np.where(kept, y, self.dtype.type(0))
        elif len(factors) == 1:
            y = y.copy()
        return y, (factors, keep, kept)

    def _input_grads_masked(self, dy, saved, arrays, count):
        factors, keep, kept = saved
        if kept is not None:
            dy = np.where(kept, dy, self.dtype.type(0))
        grads = []
        for i in range(count):
            g = dy
            for j, x in enumerate(factors):
                if j != i:
                    g = g * x
            if keep[i] is not None:
                g = np.where(keep[i], g, self.dtype.type(0))
            grads.append(g)
        return grads


@register
class Average(_Elementwise):
    """Elementwise mean of the inputs.

    >>> import numpy as np
    >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)]).tolist()
    [[2.0, 2.0]]
    """

    second_order_kind = "linear"  # see _Elementwise.second_order

    keeps_inputs = False

    def _combine(self, arrays):
        total = arrays[0]
        for x in arrays[1:]:
            total = total + x
        return total / self.dtype.type(len(arrays)), None

    def _input_grads(self, dy, saved, arrays, count):
        return [dy / self.dtype.type(count)] * count


class _Extremum(_Elementwise):
    """Elementwise maximum or minimum; the gradient goes to the winning input (the first one
    on ties, as TensorFlow's chained ``maximum`` sends it). Caches the winners' indices."""

    keeps_inputs = False
    _pick = staticmethod(np.argmax)

    def _combine(self, arrays):
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        stacked = np.stack([np.broadcast_to(a, shape) for a in arrays])
        winner = self._pick(stacked, axis=0)
        return np.take_along_axis(stacked, winner[None], axis=0)[0], winner

    def _input_grads(self, dy, winner, arrays, count):
        return [np.where(winner == i, dy, 0).astype(dy.dtype, copy=False) for i in range(count)]

    reads_masks = True

    def _combine_masked(self, arrays, keep):
        """Keras's masked maximum (minimum): the first best of the values kept (an input with
        no mask keeps all); where none is kept, the first input's value."""
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        better = np.greater if self._pick is np.argmax else np.less
        out = np.broadcast_to(arrays[0], shape)
        held = np.ones(shape, bool) if keep[0] is None else np.broadcast_to(keep[0], shape)
        winner = np.zeros(shape, dtype=np.intp)
        for i, (x, k) in enumerate(zip(arrays[1:], keep[1:]), start=1):
            x = np.broadcast_to(x, shape)
            kept = np.ones(shape, bool) if k is None else np.broadcast_to(k, shape)
            takes = kept & (~held | better(x, out))
            out = np.where(takes, x, out)
            winner = np.where(takes, i, winner)
            held = held | kept
        return np.array(out, dtype=self.dtype), winner

    def _input_grads_masked(self, dy, winner, arrays, count):
        return self._input_grads(dy, winner, arrays, count)


@register
class Maximum(_Extremum):
    """Elementwise maximum of the inputs.

    >>> import numpy as np
    >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """


@register
class Minimum(_Extremum):
    """Elementwise minimum of the inputs.

    >>> import numpy as np
    >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    _pick = staticmethod(np.argmin)


@register
class Concatenate(_Merge):
    """Join a list of inputs along ``axis`` (default -1, the channels).

    All other dimensions must agree. ``backward(dy)`` returns the slices of ``dy`` for each
    input (views). Caches the split points.

    >>> import numpy as np
    >>> tuple(Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape)
    (2, 4)
    """

    config_keys = ("axis",)

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def _check_shapes(self, shapes: list[tuple]) -> None:
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate needs inputs of one rank, got shapes {shapes}")
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate: axis {self.axis} is not a non-batch axis of inputs "
                             f"of rank {rank} (shapes {shapes})")
        axis = self.axis % rank
        first = shapes[0]
        for shape in shapes[1:]:
            if not all(_same(a, b) for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
                raise ValueError(f"Concatenate (axis={self.axis}) needs inputs that agree on "
                                 f"every other axis, got shapes {shapes}")

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        axis = self.axis % len(shapes[0])
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == axis:
                out.append(None if any(d is None for d in dims) else sum(dims))
            else:
                out.append(next((d for d in dims if d is not None), None))
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        """Keras's: the inputs' masks spread over their values (all kept for an input with
        none), joined along the axis, then ``any`` over the last axis."""
        if not self._check_masks(inputs, mask) or all(m is None for m in mask):
            return None
        parts = []
        for x, m in zip(inputs, mask):
            if m is None:
                parts.append(_masks.ones_like(x))
            elif _masks.ndim(m) < _masks.ndim(x):
                parts.append(_masks.logical_or(_masks.expand_dims(m, -1),
                                               _masks.zeros_like(x)))
            else:
                parts.append(m)
        return _masks.any_along(_masks.concatenate(parts, axis=self.axis), axis=-1)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        arrays = self._arrays(inputs)
        axis = self.axis % arrays[0].ndim
        self._cache = (axis, np.cumsum([a.shape[axis] for a in arrays[:-1]]))
        return np.concatenate(arrays, axis=axis)

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        axis, splits = self.take_cache()
        return np.split(_utils.as_dtype(dy, self.dtype), splits, axis=axis)

    def second_order_reads_input(self) -> bool:
        return False  # its backward cuts the gradient into pieces

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: the tangents concatenated as the inputs were (zeros of the
        input's part for one without a tangent)."""
        axis, splits = self._cache
        dy = np.asarray(dy)
        bounds = [0, *[int(b) for b in splits], dy.shape[axis]]
        parts = []
        for t, start, stop in zip(t_dx, bounds[:-1], bounds[1:]):
            shape = list(dy.shape)
            shape[axis] = stop - start
            parts.append(np.zeros(shape, dtype=dy.dtype) if t is None else t)
        return np.concatenate(parts, axis=axis), [None] * len(parts), {}


def _l2_normalize(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``x / ||x||`` along ``axis`` (Keras' epsilon 1e-12 on the squared norm) and the norm."""
    norm = np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), x.dtype.type(1e-12)))
    return x / norm, norm


def _l2_normalize_backward(du: np.ndarray, u: np.ndarray, norm: np.ndarray,
                           axis: int) -> np.ndarray:
    return (du - u * np.sum(u * du, axis=axis, keepdims=True)) / norm


@register
class Dot(_Merge):
    """Dot products between the samples of two inputs, summed over one axis of each.

    For inputs ``(m, n)`` and ``(m, n)`` with ``axes=1`` the output is ``(m, 1)``; for
    ``(m, a, d)`` and ``(m, b, d)`` with ``axes=2``, ``(m, a, b)`` (Keras' ``batch_dot``:
    the remaining axes of the first input, then of the second).

    Args:
        axes: an int (the same axis of both inputs) or a pair; not the batch axis.
        normalize: L2-normalize both inputs along their summed axis first, so the output is
            the cosine similarity.

    Caches both inputs (normalized) and their norms.

    >>> import numpy as np
    >>> Dot(axes=1)([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])]).tolist()
    [[11.0]]
    """

    def compute_mask(self, inputs, mask=None):
        return None  # Keras's: the products have no steps to mask

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axes = int_pair(axes, "Dot: axes")
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes: list[tuple]) -> tuple[int, int]:
        out = []
        for axis, shape in zip(self.axes, shapes):
            rank = len(shape)
            if not -rank <= axis < rank or axis % rank == 0:
                raise ValueError(f"Dot: axis {axis} is not a non-batch axis of an input of "
                                 f"shape {shape}")
            out.append(axis % rank)
        return tuple(out)

    def _check_shapes(self, shapes: list[tuple]) -> None:
        if len(shapes) != 2:
            raise ValueError(f"Dot takes exactly 2 inputs, got {len(shapes)} (shapes {shapes})")
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"Dot needs inputs of rank >= 2, got shapes {shapes}")
        a, b = self._resolved_axes(shapes)
        if not _same(shapes[0][a], shapes[1][b]):
            raise ValueError(f"Dot: axis {a} of the first input ({shapes[0][a]}) and axis {b} "
                             f"of the second ({shapes[1][b]}) must have one size; got shapes "
                             f"{shapes}")

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        a, b = self._resolved_axes(shapes)
        rest = [d for i, d in enumerate(shapes[0][1:], 1) if i != a] + [
            d for i, d in enumerate(shapes[1][1:], 1) if i != b]
        return (shapes[0][0], *(rest or [1]))

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x, y = self._arrays(inputs)
        a, b = self._resolved_axes([x.shape, y.shape])
        norms = None
        if self.normalize:
            (x, nx), (y, ny) = _l2_normalize(x, a), _l2_normalize(y, b)
            norms = (nx, ny)
        # (m, rest_x, d) @ (m, d, rest_y): one batched matrix product.
        xm = np.moveaxis(x, a, -1)
        ym = np.moveaxis(y, b, 1)
        rest_x, rest_y = xm.shape[1:-1], ym.shape[2:]
        m, d = x.shape[0], x.shape[a]
        out = np.matmul(xm.reshape(m, -1, d), ym.reshape(m, d, -1))
        self._cache = (x, y, (a, b), norms)
        return out.reshape((m, *rest_x, *rest_y) if rest_x or rest_y else (m, 1))

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        x, y, (a, b), norms = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        xm, ym = np.moveaxis(x, a, -1), np.moveaxis(y, b, 1)
        m, d = x.shape[0], x.shape[a]
        g = dy.reshape(m, -1, int(np.prod(ym.shape[2:], dtype=int)))
        dxm = np.matmul(g, np.swapaxes(ym.reshape(m, d, -1), 1, 2)).reshape(xm.shape)
        dym = np.matmul(np.swapaxes(xm.reshape(m, -1, d), 1, 2), g).reshape(ym.shape)
        dx, dyy = np.moveaxis(dxm, -1, a), np.moveaxis(dym, 1, b)
        if norms is not None:
            dx = _l2_normalize_backward(dx, x, norms[0], a)
            dyy = _l2_normalize_backward(dyy, y, norms[1], b)
        return [np.ascontiguousarray(dx), np.ascontiguousarray(dyy)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axes": self.axes if self.axes[0] != self.axes[1] else self.axes[0],
                       "normalize": self.normalize})
        return config


# Keras' functional spellings: build the layer from the keyword arguments, call it on the list.

def _merge_function(layer_class: type):
    """``fn(inputs, **kwargs)`` that does ``layer_class(**kwargs)(inputs)`` (Keras' ``add``...)."""
    def merge(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)

    merge.__name__ = merge.__qualname__ = layer_class.__name__.lower()
    merge.__doc__ = f"``{layer_class.__name__}(**kwargs)(inputs)``."
    return merge


add = _merge_function(Add)
subtract = _merge_function(Subtract)
multiply = _merge_function(Multiply)
average = _merge_function(Average)
maximum = _merge_function(Maximum)
minimum = _merge_function(Minimum)


def concatenate(inputs, axis: int = -1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)`` (the course's U-Net uses ``axis=3``)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize: bool = False, **kwargs):
    """``Dot(axes=axes, normalize=normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
