"""Activation functions with their derivatives, looked up by Keras name.

`get(identifier)` returns an `Activation` object: `forward(x) -> y` and
`backward(dy, x, y) -> dx`. Layers call `forward` in `call` and `backward` in their own
backward pass, handing back both the input `x` and the output `y` so each function can use
whichever makes its derivative cheapest and most stable (sigmoid and tanh use `y`, relu uses `x`).

The plain functions (`relu(x)`, `sigmoid(x)`, `softmax(x, axis=-1)`, ...) mirror
`keras.activations.*` and can be passed as `activation=` to a layer; `get` maps them back to
the differentiable object. A user's function written in tensor ops is accepted too
(`CallableActivation`): its backward comes from `GradientTape`.

Called on a tensor or a Variable (a user's layer writing ``keras.activations.relu(x)`` or
``self.activation(x)`` in its ``call``), a function or an `Activation` object answers with a
tensor that the recording tapes follow (`_on_tensor`), as Keras's do: the object's own
``backward`` is the VJP; other arguments than the defaults go through the tensor ops. Plain
arrays take the NumPy path alone (the layers' own kernels call ``forward`` on arrays).

Called on a KerasTensor (``keras.activations.sigmoid(x)`` in a functional model's
definition), a function or object answers with a KerasTensor: the ``keras.ops`` function of
the same name (`_on_keras_tensor`), which becomes a layer of the model, as Keras 3 writes its
activations in ``keras.ops``.

Everything keeps the floating dtype it is given (float32 in, float32 out).
"""

from __future__ import annotations

import functools
import inspect
import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from convnp import _special
from convnp.ops import elementwise, last_axis
from convnp.ops import sparsemax as _sparsemax
from convnp.ops.elementwise import blockwise
from convnp.serialization import FunctionInConfig, Registry, get_registered_name
from convnp.tensor.symbolic import is_keras_tensor

__all__ = [
    "Activation",
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x


def _is_tensor(x) -> bool:
    """A tensor or a Variable (what a tape may follow), not a plain array or number."""
    return (isinstance(x, np.ndarray) and type(x) is not np.ndarray) or getattr(
        x, "_convnp_variable", False)


def _on_tensor(activation: Activation, x):
    """``activation`` applied to a tensor or Variable: a tensor, recorded on the active tapes
    with the activation's own backward as its VJP."""
    from convnp.tensor.tape import diagonal_second, new_tensor, record, recording, value_of

    a = _as_float(value_of(x))
    y = activation.forward(a)
    out = new_tensor(y)
    if recording():
        def backward(g):
            return activation.backward(np.asarray(g), a, y)

        def second_term(g, c):
            return activation.second_term(g, c, a, y)

        record([out], [x], lambda gs: [None if gs[0] is None else backward(gs[0])],
               second=diagonal_second(x, backward, second_term))
    return out


def _on_keras_tensor(name: str, x, options: dict):
    """The activation ``name`` with ``options`` (every argument but ``x``) on a KerasTensor:
    a KerasTensor made by keras.ops (through `convnp.tensor.symbolic.keras_op`: this module
    sits below keras.ops), as Keras 3's activations are written in keras.ops, so the model
    saves the op in Keras files too. ReLU with Keras's extra options goes through the tensor
    ops (`_relu_with`); linear is ``x`` itself."""
    from convnp.tensor import symbolic

    def op(function, *args, **kwargs):
        return symbolic.keras_op(function, args, kwargs)

    if name == "linear":
        return x
    if name == "exponential":
        return op("exp", x)
    if name == "mish":  # Keras 3's formula: x * tanh(softplus(x))
        return op("multiply", x, op("tanh", op("softplus", x)))
    if name == "relu":
        if options == {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}:
            return op("relu", x)
        return _relu_with(x, **options)
    return op(name, x, **options)


def _tensor_aware(function):
    """Let a plain function take tensors: at its default arguments it is its `Activation`
    object on the tape (`_on_tensor`); with others, `_WITH_ARGUMENTS` computes it in tensor
    ops (so the tapes follow those). On a KerasTensor it is `_on_keras_tensor`."""
    signature = inspect.signature(function)
    defaults = {k: p.default for k, p in signature.parameters.items()
                if p.default is not inspect.Parameter.empty}

    @functools.wraps(function)
    def run(x, *args, **kwargs):
        if is_keras_tensor(x):
            given = signature.bind(x, *args, **kwargs)
            given.apply_defaults()
            return _on_keras_tensor(function.__name__, x,
                                    {k: v for k, v in given.arguments.items() if k != "x"})
        if not _is_tensor(x):
            return function(x, *args, **kwargs)
        given = signature.bind(x, *args, **kwargs).arguments
        options = {k: v for k, v in given.items() if k in defaults}
        if all(v == defaults[k] for k, v in options.items()):
            return _on_tensor(_BY_NAME[function.__name__], x)
        return _WITH_ARGUMENTS[function.__name__](x, **{**defaults, **options})

    return run


# ----------------------------------------------------------------------------- plain functions


@_tensor_aware
def relu(x, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> np.ndarray:
    """max(x, 0), elementwise; Keras's options: ``x`` only above ``threshold`` (0 below),
    capped at ``max_value``, and ``negative_slope * (x - threshold)`` below the threshold."""
    x = _as_float(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return elementwise.relu(x)  # np.clip: np.maximum with a scalar is 4x slower here
    t = x.dtype.type
    y = np.where(x > t(threshold), x, t(0))
    if max_value is not None:
        y = np.minimum(y, t(max_value))
    if negative_slope:
        y = y + t(negative_slope) * np.minimum(x - t(threshold), t(0))
    return y.astype(x.dtype, copy=False)


@_tensor_aware
def sigmoid(x) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow for any finite x.

    Only exp(-|x|) is ever evaluated, which lies in (0, 1], so large |x| neither overflows
    nor warns; the two branches are the same function written two ways.
    """
    x = _as_float(x)
    return elementwise.sigmoid(x)


@_tensor_aware
def softmax(x, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) along `axis`, shifted by the max so no exp overflows (along the
    last axis by blocks of rows: `convnp.ops.last_axis`)."""
    x = _as_float(x)
    if last_axis.by_rows(x, axis):
        return last_axis.softmax_rows(x)
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


@_tensor_aware
def tanh(x) -> np.ndarray:
    """Hyperbolic tangent, elementwise (big arrays on all cores)."""
    x = _as_float(x)
    return blockwise(lambda out, xb: np.tanh(xb, out=out), np.empty(x.shape, x.dtype), [x])


@_tensor_aware
def linear(x) -> np.ndarray:
    """Identity (Keras's 'linear', also what `activation=None` means)."""
    return _as_float(x)


@_tensor_aware
def softplus(x) -> np.ndarray:
    """log(1 + exp(x)), stable for large |x|."""
    x = _as_float(x)
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


@_tensor_aware
def softsign(x) -> np.ndarray:
    """x / (1 + |x|)."""
    x = _as_float(x)
    return x / (x.dtype.type(1) + np.abs(x))


@_tensor_aware
def elu(x, alpha: float = 1.0) -> np.ndarray:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return elementwise.elu(_as_float(x), alpha)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


@_tensor_aware
def selu(x) -> np.ndarray:
    """scale * elu(x, alpha) with the self-normalizing constants."""
    return elementwise.elu(_as_float(x), _SELU_ALPHA, _SELU_SCALE)


@_tensor_aware
def silu(x) -> np.ndarray:
    """x * sigmoid(x) (also called swish)."""
    x = _as_float(x)
    return blockwise(_silu_block, np.empty(x.shape, x.dtype), [x], (x.dtype, bool))


def _silu_block(out, x, e, positive) -> None:
    elementwise.sigmoid_block(out, x, e, positive)
    with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as TensorFlow's, without a warning
        out *= x


swish = silu


@_tensor_aware
def leaky_relu(x, negative_slope: float = 0.2) -> np.ndarray:
    """x if x > 0 else negative_slope * x (Keras 3's default slope is 0.2)."""
    return elementwise.leaky_relu(_as_float(x), negative_slope)


@_tensor_aware
def relu6(x) -> np.ndarray:
    """min(max(x, 0), 6)."""
    x = _as_float(x)
    return np.clip(x, 0, 6).astype(x.dtype, copy=False)


@_tensor_aware
def exponential(x) -> np.ndarray:
    """exp(x)."""
    return np.exp(_as_float(x))


@_tensor_aware
def gelu(x, approximate: bool = False) -> np.ndarray:
    """x * Phi(x) with Phi the standard normal CDF (Keras' default, ``approximate=False``), or
    the tanh approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    x = _as_float(x)
    if approximate:
        return _special.gelu_tanh(x).astype(x.dtype, copy=False)
    return _special.gelu(x).astype(x.dtype, copy=False)  # float16 computes in float64


@_tensor_aware
def hard_sigmoid(x) -> np.ndarray:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear in between (Keras 3's definition)."""
    x = _as_float(x)
    return blockwise(_hard_sigmoid_block, np.empty(x.shape, x.dtype), [x])


def _hard_sigmoid_block(out, x) -> None:
    np.add(x, x.dtype.type(3), out=out)
    np.clip(out, 0, 6, out=out)
    out /= x.dtype.type(6)


@_tensor_aware
def hard_silu(x) -> np.ndarray:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    x = _as_float(x)
    return blockwise(_hard_silu_block, np.empty(x.shape, x.dtype), [x])


def _hard_silu_block(out, x) -> None:
    _hard_sigmoid_block(out, x)
    out *= x


def _hard_silu_gradient_block(out, dy, x, h, inside, below) -> None:
    """``dy * (h(x) + x h'(x))`` of one block, h the hard sigmoid: h' is 1/6 strictly
    inside (-3, 3) and 0 elsewhere (the ends included, as relu6's gradient in TensorFlow)."""
    _hard_sigmoid_block(h, x)
    np.greater(x, -3, out=inside)
    np.less(x, 3, out=below)
    inside &= below
    with np.errstate(invalid="ignore"):  # inf * 0: NaN at infinite x, as TensorFlow's
        np.multiply(x, inside, out=out)  # x inside, 0 outside: no branch per number
    out /= x.dtype.type(6)
    out += h
    out *= dy


hard_swish = hard_silu


@_tensor_aware
def mish(x) -> np.ndarray:
    """x * tanh(softplus(x))."""
    x = _as_float(x)
    return (x * np.tanh(softplus(x))).astype(x.dtype, copy=False)


@_tensor_aware
def log_softmax(x, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) along `axis`: x - logsumexp(x), without overflow."""
    x = _as_float(x)
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@_tensor_aware
def log_sigmoid(x) -> np.ndarray:
    """log(sigmoid(x)) = -softplus(-x)."""
    return -softplus(-_as_float(x))


@_tensor_aware
def hard_tanh(x) -> np.ndarray:
    """x clipped to [-1, 1]."""
    x = _as_float(x)
    return np.clip(x, -1, 1).astype(x.dtype, copy=False)


@_tensor_aware
def celu(x, alpha: float = 1.0) -> np.ndarray:
    """x if x >= 0 else alpha * (exp(x / alpha) - 1)."""
    x = _as_float(x)
    a = x.dtype.type(alpha)
    return np.where(x >= 0, x, a * np.expm1(np.minimum(x, 0) / a)).astype(x.dtype, copy=False)


# ------------------------------------------- Keras 3's newer activations (with arguments)
# Each has an `Activation` class that holds its arguments; on a tensor the function runs that
# object on the tape (`_on_tensor`), whatever the arguments.


def _with_options(make):
    """Let a function with arguments take tensors: ``make(**arguments)`` builds the
    `Activation` object that `_on_tensor` records (its backward is the VJP)."""

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def run(x, *args, **kwargs):
            if not _is_tensor(x) and not is_keras_tensor(x):
                return function(x, *args, **kwargs)
            bound = signature.bind(x, *args, **kwargs)
            bound.apply_defaults()
            options = {k: v for k, v in bound.arguments.items() if k != "x"}
            if is_keras_tensor(x):
                return _on_keras_tensor(function.__name__, x, options)
            return _on_tensor(make(**options), x)

        return run

    return decorate


def _threshold_number(function: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}")
    return float(value)


def _glu_halves(x: np.ndarray, axis: int):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"glu: axis {axis} is out of range for an input of shape {x.shape}")
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even (it is split in two "
                         f"halves), got shape {x.shape}")
    return np.split(x, 2, axis=axis)


@_with_options(lambda axis: _Glu(axis))
def glu(x, axis: int = -1) -> np.ndarray:
    """Gated linear unit: ``x`` split in two halves ``a, b`` along ``axis``, then
    ``a * sigmoid(b)`` (the output has half the size along ``axis``)."""
    a, b = _glu_halves(_as_float(x), axis)
    return a * sigmoid(b)


@_with_options(lambda threshold: _HardShrink(threshold))
def hard_shrink(x, threshold: float = 0.5) -> np.ndarray:
    """``x`` where ``|x| > threshold``, else 0."""
    x = _as_float(x)
    t = _threshold_number("hard_shrink", "threshold", threshold)
    return np.where(np.abs(x) > t, x, 0).astype(x.dtype, copy=False)


@_with_options(lambda threshold: _SoftShrink(threshold))
def soft_shrink(x, threshold: float = 0.5) -> np.ndarray:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    x = _as_float(x)
    t = x.dtype.type(_threshold_number("soft_shrink", "threshold", threshold))
    return np.where(x > t, x - t, np.where(x < -t, x + t, 0)).astype(x.dtype, copy=False)


@_tensor_aware
def sparse_plus(x) -> np.ndarray:
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` between."""
    x = _as_float(x)
    t = x.dtype.type
    middle = t(0.25) * np.square(x + t(1))
    return np.where(x <= -1, t(0), np.where(x >= 1, x, middle)).astype(x.dtype, copy=False)


@_with_options(lambda b: _Squareplus(b))
def squareplus(x, b: float = 4) -> np.ndarray:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU (``b >= 0``)."""
    x = _as_float(x)
    b = _threshold_number("squareplus", "b", b)
    if b < 0:
        raise ValueError(f"squareplus: b must be >= 0, got {b}")
    t = x.dtype.type
    return ((x + np.sqrt(np.square(x) + t(b))) / t(2)).astype(x.dtype, copy=False)


@_tensor_aware
def tanh_shrink(x) -> np.ndarray:
    """``x - tanh(x)``."""
    x = _as_float(x)
    return x - np.tanh(x)


@_tensor_aware
def sparse_sigmoid(x) -> np.ndarray:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    x = _as_float(x)
    t = x.dtype.type
    return np.clip((x + t(1)) * t(0.5), t(0), t(1)).astype(x.dtype, copy=False)


@_with_options(lambda axis: _Sparsemax(axis))
def sparsemax(x, axis: int = -1) -> np.ndarray:
    """Keras 3's sparsemax along ``axis``: ``max(x - tau, 0)``, a softmax with exact zeros
    (`convnp.ops.sparsemax`, Keras' formula)."""
    return _sparsemax.sparsemax(_as_float(x), _Sparsemax(axis).axis)[0]


@_with_options(lambda threshold, default_value: _Threshold(threshold, default_value))
def threshold(x, threshold: float, default_value: float) -> np.ndarray:
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = _as_float(x)
    t = _threshold_number("threshold", "threshold", threshold)
    value = _threshold_number("threshold", "default_value", default_value)
    return np.where(x > t, x, value).astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------- objects


class Activation:
    """An activation with its derivative.

    Attributes:
        name: the Keras name (what `serialize` returns and configs store).
        differentiable: whether `backward` is available.
    """

    name: str = "activation"
    differentiable: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input, given the upstream gradient `dy`, input `x`, output `y`."""
        raise NotImplementedError

    def curvature(self, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The second derivative at ``x`` (``y`` is the output there), for second-order
        gradients; None for an activation that is piecewise linear."""
        from convnp.tensor.tape import no_second_order_rule

        raise no_second_order_rule(f"the activation '{self.name}'")

    def second_term(self, dy: np.ndarray, u: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> np.ndarray | None:
        """The cotangent of ``x`` that ``backward(dy, x, y)`` gets from a cotangent ``u`` of
        its result: ``act''(x) * dy * u`` for an elementwise activation (None when the
        activation is piecewise linear)."""
        c = self.curvature(x, y)
        return None if c is None else c * dy * u

    def __call__(self, x) -> np.ndarray:
        if _is_tensor(x):  # in a user's call: a tensor the tapes follow
            return _on_tensor(self, x)
        if is_keras_tensor(x):  # in a functional model's definition: its function's op
            return self._keras_tensor_call(x)
        return self.forward(x)

    def _keras_tensor_call(self, x):
        """This activation on a KerasTensor: `_on_keras_tensor` with the arguments of the
        function of its name that the object holds (a `glu`'s ``axis``), else the defaults."""
        function = globals().get(self.name)
        if function is None:
            raise TypeError(f"the activation '{self.name}' cannot be applied to a "
                            f"KerasTensor: use it as a layer's activation= instead")
        options = {}
        for key, p in inspect.signature(function).parameters.items():
            if key == "x":
                continue
            options[key] = getattr(self, key, p.default)
            if options[key] is inspect.Parameter.empty:
                raise TypeError(f"the activation '{self.name}' needs its argument {key}= "
                                f"before it is applied, got none")
        return _on_keras_tensor(self.name, x, options)

    @property
    def __name__(self) -> str:
        # Keras activations are plain functions, and course graders read
        # `layer.activation.__name__` ('sigmoid', 'linear', ...).
        return self.name

    def __repr__(self) -> str:
        return f"<Activation '{self.name}'>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, types.FunctionType):
            # Keras's layer.activation is the function itself, so user code compares it with
            # one (``layer.activation == tf.keras.activations.relu``, guided backprop does):
            # equal when that function names this activation.
            try:
                other = get(other)
            except (TypeError, ValueError):
                return False
        return isinstance(other, Activation) and type(other) is type(self) and (
            other.name == self.name)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))


class _Relu(Activation):
    name = "relu"

    def forward(self, x):
        return relu(x)

    def backward(self, dy, x, y):
        # Derivative 0 at x == 0, as TensorFlow's ReluGrad does; one masked multiply (blocks
        # in cache, shared between the cores for big arrays)
        return elementwise.relu_gradient(dy, x)

    def curvature(self, x, y):
        return None  # piecewise linear


class _Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, x):
        return sigmoid(x)

    def backward(self, dy, x, y):
        return dy * y * (y.dtype.type(1) - y)

    def curvature(self, x, y):
        return y * (1 - y) * (1 - 2 * y)


class _Softmax(Activation):
    name = "softmax"

    def forward(self, x):
        return softmax(x, axis=-1)

    def backward(self, dy, x, y):
        # Jacobian-vector product of softmax: y * (dy - <dy, y>) along the class axis.
        if last_axis.by_rows(y, -1):
            return last_axis.softmax_rows_backward(dy, y)
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))

    def second_term(self, dy, u, x, y):
        # backward is y * (dy - <dy, y>): its derivative in y, contracted with u, is
        # u * dy - u <dy, y> - dy <u, y>, taken back through softmax's Jacobian
        inner = u * dy - u * np.sum(dy * y, axis=-1, keepdims=True) \
            - dy * np.sum(u * y, axis=-1, keepdims=True)
        return self.backward(inner, x, y)


class _Tanh(Activation):
    name = "tanh"

    def forward(self, x):
        return tanh(x)

    def backward(self, dy, x, y):
        return dy * (y.dtype.type(1) - y * y)

    def curvature(self, x, y):
        return -2 * y * (1 - y * y)


class _Linear(Activation):
    name = "linear"

    def forward(self, x):
        return linear(x)

    def backward(self, dy, x, y):
        return dy

    def curvature(self, x, y):
        return None  # piecewise linear


class _Softplus(Activation):
    name = "softplus"

    def forward(self, x):
        return softplus(x)

    def backward(self, dy, x, y):
        return dy * sigmoid(x)

    def curvature(self, x, y):
        s = sigmoid(x)
        return s * (1 - s)


class _Softsign(Activation):
    name = "softsign"

    def forward(self, x):
        return softsign(x)

    def backward(self, dy, x, y):
        d = x.dtype.type(1) + np.abs(x)
        return dy / (d * d)

    def curvature(self, x, y):
        d = x.dtype.type(1) + np.abs(x)
        return -2 * np.sign(x) / (d * d * d)


class _Elu(Activation):
    name = "elu"

    def forward(self, x):
        return elu(x)

    def backward(self, dy, x, y):
        # For x <= 0, d/dx (exp(x) - 1) = exp(x) = y + 1.
        return elementwise.elu_gradient(dy, x, y, 1.0).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        return np.where(x > 0, 0, y + 1).astype(y.dtype, copy=False)


class _Selu(Activation):
    name = "selu"

    def forward(self, x):
        return selu(x)

    def backward(self, dy, x, y):
        # For x <= 0, y = scale * alpha * (exp(x) - 1), so dy/dx = y + scale * alpha; at 0
        # the slope is `scale`, as TensorFlow's SeluGrad (which tests y < 0)
        return elementwise.elu_gradient(dy, x, y, _SELU_ALPHA, _SELU_SCALE,
                                        zero_is_positive=True).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        return np.where(x > 0, 0, y + _SELU_SCALE * _SELU_ALPHA).astype(y.dtype, copy=False)


class _Silu(Activation):
    name = "silu"

    def forward(self, x):
        return silu(x)

    def backward(self, dy, x, y):
        # s + x s (1 - s) = s (1 - y) + y with s = y / x from the forward output (no exp again;
        # 1/2 where x is 0)
        dtype = np.result_type(x, y)
        return blockwise(_silu_gradient_block, np.empty(np.shape(x), dtype), [dy, x, y],
                         (dtype,)).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        s = sigmoid(x)
        return s * (1 - s) * (2 + x * (1 - 2 * s))


def _silu_gradient_block(out, dy, x, y, s) -> None:
    one = out.dtype.type(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(y, x, out=s)  # 0 / 0 where x is 0, mended below (rare: not a masked copy)
    np.subtract(one, y, out=out)
    out *= s
    out += y
    out *= dy
    if not math.isfinite(np.add.reduce(out)):
        zero = x == 0
        out[zero] = dy[zero] * out.dtype.type(0.5)


class _LeakyRelu(Activation):
    name = "leaky_relu"

    def forward(self, x):
        return leaky_relu(x)

    def backward(self, dy, x, y):
        return elementwise.select_gradient(dy, x > 0, 1.0, 0.2)

    def curvature(self, x, y):
        return None  # piecewise linear


class _Relu6(Activation):
    name = "relu6"

    def forward(self, x):
        return relu6(x)

    def backward(self, dy, x, y):
        return np.multiply(dy, (x > 0) & (x < 6))  # a mask, not np.where's branch per number

    def curvature(self, x, y):
        return None  # piecewise linear


class _Exponential(Activation):
    name = "exponential"

    def forward(self, x):
        return exponential(x)

    def backward(self, dy, x, y):
        return dy * y

    def curvature(self, x, y):
        return y


class _Gelu(Activation):
    name = "gelu"

    def forward(self, x):
        return gelu(x)

    def backward(self, dy, x, y):
        # d/dx x * Phi(x) = Phi(x) + x * phi(x), in x's dtype, with Phi(x) = y / x
        return _special.gelu_gradient(dy, x, y).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        # d2/dx2 x * Phi(x) = phi(x) * (2 - x**2), phi the standard normal density
        phi = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return (phi * (2 - x * x)).astype(y.dtype, copy=False)


class _HardSigmoid(Activation):
    name = "hard_sigmoid"

    def forward(self, x):
        return hard_sigmoid(x)

    def backward(self, dy, x, y):
        return elementwise.select_gradient(dy, (x > -3) & (x < 3), 1 / 6)

    def curvature(self, x, y):
        return None  # piecewise linear


class _HardSilu(Activation):
    name = "hard_silu"

    def forward(self, x):
        return hard_silu(x)

    def backward(self, dy, x, y):
        # x * h(x): h(x) + x * h'(x), with h' = 1/6 inside (-3, 3)
        dy = np.asarray(dy, dtype=x.dtype)
        out = np.empty(np.broadcast_shapes(dy.shape, x.shape), x.dtype)
        return blockwise(_hard_silu_gradient_block, out, [np.broadcast_to(dy, out.shape), x],
                         (x.dtype, bool, bool))

    def curvature(self, x, y):
        # the slope h(x) + x h'(x) moves by 2 h'(x) = 1/3 inside (-3, 3)
        return np.where((x > -3) & (x < 3), x.dtype.type(1 / 3), x.dtype.type(0))


class _Mish(Activation):
    name = "mish"

    def forward(self, x):
        return mish(x)

    def backward(self, dy, x, y):
        # d/dx x * tanh(s(x)), s = softplus, s' = sigmoid
        t = np.tanh(softplus(x))
        return (dy * (t + x * (1 - t * t) * sigmoid(x))).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        # with t = tanh(softplus(x)), s = sigmoid(x): t' = (1 - t^2) s, and the slope
        # t + x t' moves by 2 t' + x t'', t'' = -2 t t' s + (1 - t^2) s (1 - s)
        t, s = np.tanh(softplus(x)), sigmoid(x)
        t1 = (1 - t * t) * s
        return 2 * t1 + x * (-2 * t * t1 * s + (1 - t * t) * s * (1 - s))


class _LogSoftmax(Activation):
    name = "log_softmax"

    def forward(self, x):
        return log_softmax(x, axis=-1)

    def backward(self, dy, x, y):
        # softmax(x) = exp(y); the Jacobian-vector product is dy - softmax * sum(dy)
        return dy - np.exp(y) * np.sum(dy, axis=-1, keepdims=True)


class _LogSigmoid(Activation):
    name = "log_sigmoid"

    def forward(self, x):
        return log_sigmoid(x)

    def backward(self, dy, x, y):
        return dy * sigmoid(-x)

    def curvature(self, x, y):
        s = sigmoid(x)
        return -s * (1 - s)


class _HardTanh(Activation):
    name = "hard_tanh"

    def forward(self, x):
        return hard_tanh(x)

    def backward(self, dy, x, y):
        # clip's gradient: 1 on the closed interval, the ends included (TensorFlow's)
        return np.where((x >= -1) & (x <= 1), dy, 0).astype(dy.dtype, copy=False)

    def curvature(self, x, y):
        return None  # piecewise linear


class _Celu(Activation):
    name = "celu"

    def forward(self, x):
        return celu(x)

    def backward(self, dy, x, y):
        # for x < 0, d/dx (exp(x) - 1) = exp(x) = y + 1 (alpha = 1). At 0 Keras's
        # max(x, 0) + expm1(min(x, 0)) gets 1 from each tie: TensorFlow's slope there is 2
        slope = np.where(x > 0, 1, np.where(x < 0, y + y.dtype.type(1), 2))
        return (dy * slope).astype(dy.dtype, copy=False)


class _WithOptions(Activation):
    """An activation whose arguments ride on the object (equal when they are equal)."""

    def _options(self) -> tuple:
        return ()

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and other._options() == self._options()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, self._options()))


class _Glu(_WithOptions):
    name = "glu"

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"glu: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def _options(self):
        return (self.axis,)

    def forward(self, x):
        return glu(x, self.axis)

    def backward(self, dy, x, y):
        a, b = _glu_halves(x, self.axis)
        gate = sigmoid(b)
        one = gate.dtype.type(1)
        return np.concatenate([dy * gate, dy * a * gate * (one - gate)],
                              axis=self.axis).astype(dy.dtype, copy=False)


class _HardShrink(_WithOptions):
    name = "hard_shrink"

    def __init__(self, threshold: float = 0.5):
        self.threshold = _threshold_number("hard_shrink", "threshold", threshold)

    def _options(self):
        return (self.threshold,)

    def forward(self, x):
        return hard_shrink(x, self.threshold)

    def backward(self, dy, x, y):
        return np.where(np.abs(x) > self.threshold, dy, 0).astype(dy.dtype, copy=False)


class _SoftShrink(_HardShrink):
    name = "soft_shrink"

    def forward(self, x):
        return soft_shrink(x, self.threshold)


class _SparsePlus(Activation):
    name = "sparse_plus"

    def forward(self, x):
        return sparse_plus(x)

    def backward(self, dy, x, y):
        t = x.dtype.type
        slope = np.where(x <= -1, t(0), np.where(x >= 1, t(1), t(0.5) * (x + t(1))))
        return (dy * slope).astype(dy.dtype, copy=False)


class _Squareplus(_WithOptions):
    name = "squareplus"

    def __init__(self, b: float = 4):
        self.b = _threshold_number("squareplus", "b", b)
        if self.b < 0:
            raise ValueError(f"squareplus: b must be >= 0, got {self.b}")

    def _options(self):
        return (self.b,)

    def forward(self, x):
        return squareplus(x, self.b)

    def backward(self, dy, x, y):
        t = x.dtype.type
        root = np.sqrt(np.square(x) + t(self.b))
        return (dy * (t(1) + x / root) / t(2)).astype(dy.dtype, copy=False)


class _SparseSigmoid(Activation):
    name = "sparse_sigmoid"

    def forward(self, x):
        return sparse_sigmoid(x)

    def backward(self, dy, x, y):
        inside = (x > -1) & (x < 1)  # slope 1/2 there, 0 outside (and at -1 and 1)
        return (dy * inside * dy.dtype.type(0.5)).astype(dy.dtype, copy=False)


class _Sparsemax(_WithOptions):
    name = "sparsemax"

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"sparsemax: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def _options(self):
        return (self.axis,)

    def forward(self, x):
        return sparsemax(x, self.axis)

    def backward(self, dy, x, y):
        _, vjp = _sparsemax.sparsemax(_as_float(x), self.axis)
        return vjp(dy).astype(dy.dtype, copy=False)


class _TanhShrink(Activation):
    name = "tanh_shrink"

    def forward(self, x):
        return tanh_shrink(x)

    def backward(self, dy, x, y):
        return (dy * np.square(np.tanh(x))).astype(dy.dtype, copy=False)


class _Threshold(_WithOptions):
    """``threshold`` has no defaults in Keras: by name (``activation="threshold"``) it is
    known, but calling it without its two arguments is refused, as in Keras."""

    name = "threshold"

    def __init__(self, threshold=None, default_value=None):
        self.given = threshold is not None and default_value is not None
        if self.given:
            self.threshold = _threshold_number("threshold", "threshold", threshold)
            self.default_value = _threshold_number("threshold", "default_value",
                                                   default_value)

    def _options(self):
        return (self.threshold, self.default_value) if self.given else ()

    def _check(self):
        if not self.given:
            raise TypeError("threshold(x, threshold, default_value) needs its two arguments; "
                            "as a layer's activation pass a function, e.g. "
                            "activation=lambda x: keras.activations.threshold(x, 0.5, 0.0)")

    def forward(self, x):
        self._check()
        return threshold(x, self.threshold, self.default_value)

    def backward(self, dy, x, y):
        self._check()
        return np.where(x > self.threshold, dy, 0).astype(dy.dtype, copy=False)


class CallableActivation(Activation):
    """A user's function used as an activation (``activation=lambda x: x * tf.sigmoid(x)``,
    ``activation=tf.nn.gelu``), written in tensor ops.

    The forward calls it on the values; `backward` runs it again under a `GradientTape` and
    asks the tape for the input gradient, so nobody writes a derivative.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        if isinstance(fn, SavedFunction):  # back from a config in memory
            fn = fn.function
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def forward(self, x):
        return np.asarray(self.fn(x))

    def __call__(self, x):
        # the user's function on the tensor itself, so that the tapes record its ops
        return self.fn(x) if _is_tensor(x) else self.forward(x)

    def config(self) -> SavedFunction:
        """What a layer's config holds for this activation (`SavedFunction`)."""
        return SavedFunction(self.fn)

    def backward(self, dy, x, y):
        from convnp.tensor.tape import GradientTape, new_tensor

        t = new_tensor(np.asarray(x))
        with GradientTape() as tape:
            tape.watch(t)
            out = self.fn(t)
        grad = tape.gradient(out, t, output_gradients=np.asarray(dy))
        if grad is None:
            return np.zeros_like(dy)
        return np.asarray(grad).astype(np.result_type(dy), copy=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallableActivation) and other.fn is self.fn

    def __hash__(self) -> int:
        return id(self.fn)


class SavedFunction(FunctionInConfig):
    """A user's activation function as a layer's config holds it: the function itself in
    memory; in a file, its name when it is registered (found again among the registered
    functions), else a `ValueError` that says what to do."""

    def __init__(self, function):
        super().__init__(function)
        self.__name__ = self.function_name

    def json_config(self) -> str:
        if self.registered_name() is not None:
            return self.__name__
        raise self.cannot_save("activation", "register it with "
                               "tf.keras.saving.register_keras_serializable() (it is then "
                               "saved by name), use a built-in activation, or save only the "
                               "weights")


# Tensor functions that are the built-in activation of the same name, with the same defaults
# (``activation=tf.nn.gelu`` runs, and saves, as ``"gelu"``).
_SAME_AS_BUILT_IN = ("relu", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu",
                     "silu", "swish", "relu6", "leaky_relu", "softmax", "log_softmax", "gelu",
                     "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid")


def _wrap(function: Any) -> Activation:
    if callable(getattr(function, "forward", None)) and callable(
            getattr(function, "backward", None)):
        return function  # duck-typed activation object
    if getattr(function, "_convnp_op", False) and function.op_name in _SAME_AS_BUILT_IN:
        return _BY_NAME[function.op_name]
    return CallableActivation(function)


# Each activation object under its Keras name, its plain function, and Keras's other
# spellings; a user's function becomes a CallableActivation (differentiated by the tape).
ACTIVATIONS = Registry("activation", Activation, build=lambda entry, spelling: entry,
                       wrap=_wrap)
for _function, _activation in (
        (relu, _Relu()), (sigmoid, _Sigmoid()), (softmax, _Softmax()), (tanh, _Tanh()),
        (linear, _Linear()), (softplus, _Softplus()), (softsign, _Softsign()), (elu, _Elu()),
        (selu, _Selu()), (silu, _Silu()), (leaky_relu, _LeakyRelu()), (relu6, _Relu6()),
        (exponential, _Exponential()), (gelu, _Gelu()), (hard_sigmoid, _HardSigmoid()),
        (hard_silu, _HardSilu()), (mish, _Mish()), (log_softmax, _LogSoftmax()),
        (log_sigmoid, _LogSigmoid()), (hard_tanh, _HardTanh()), (celu, _Celu()),
        (glu, _Glu()), (hard_shrink, _HardShrink()), (soft_shrink, _SoftShrink()),
        (sparse_plus, _SparsePlus()), (squareplus, _Squareplus()),
        (sparse_sigmoid, _SparseSigmoid()), (sparsemax, _Sparsemax()),
        (tanh_shrink, _TanhShrink()), (threshold, _Threshold())):
    ACTIVATIONS.add(_activation, _activation.name, snake=False, functions=(_function,))
ACTIVATIONS.add(ACTIVATIONS.entries["silu"], "swish", snake=False)
ACTIVATIONS.add(ACTIVATIONS.entries["linear"], "identity", snake=False)
ACTIVATIONS.add(ACTIVATIONS.entries["hard_silu"], "hard_swish", snake=False)
_BY_NAME = ACTIVATIONS.entries


# -- the functions on tensors, with other arguments than their defaults (in tensor ops) --------

def _relu_with(x, negative_slope, max_value, threshold):
    # Keras 3's formula, step by step, so that the slopes at the ties are TensorFlow's
    from convnp.tensor import nn, ops

    if negative_slope and max_value is None and threshold == 0:
        return nn.leaky_relu(x, alpha=negative_slope)
    if threshold != 0:
        y = ops.multiply(x, ops.cast(ops.greater(x, threshold), _dtype_of(x)))
    elif max_value == 6:
        y, max_value = nn.relu6(x), None
    else:
        y = nn.relu(x)
    if max_value is not None:
        y = ops.clip_by_value(y, 0.0, float(max_value))
    if negative_slope:
        y = ops.subtract(y, ops.multiply(negative_slope, nn.relu(ops.subtract(threshold, x))))
    return y


def _dtype_of(x):
    from convnp.tensor.tape import value_of

    if is_keras_tensor(x):  # a model's definition: no values yet, the dtype it will have
        return x.dtype
    return value_of(x).dtype


def _elu_with(x, alpha):
    from convnp.tensor import nn, ops

    y = nn.elu(x)
    return ops.where(ops.greater(x, 0.0), y, ops.multiply(y, alpha))


def _celu_with(x, alpha):
    from convnp.tensor import ops

    negative = ops.subtract(ops.exp(ops.divide(ops.minimum(x, 0.0), alpha)), 1.0)
    return ops.add(ops.maximum(x, 0.0), ops.multiply(negative, alpha))


def _tensor_nn(name: str, rename: dict | None = None):
    def run(x, **options):
        from convnp.tensor import nn

        return getattr(nn, name)(x, **{(rename or {}).get(k, k): v for k, v in options.items()})
    return run


_WITH_ARGUMENTS = {
    "relu": _relu_with, "elu": _elu_with, "celu": _celu_with,
    "leaky_relu": _tensor_nn("leaky_relu", {"negative_slope": "alpha"}),
    "gelu": _tensor_nn("gelu"), "softmax": _tensor_nn("softmax"),
    "log_softmax": _tensor_nn("log_softmax"),
}


def get(identifier: Any) -> Activation:
    """Resolve an activation identifier.

    Args:
        identifier: `None` (linear), a Keras name such as `"relu"`, an `Activation`,
            one of this module's plain functions, any object with `forward`/`backward`
            methods, a Keras config dict (`{"class_name": ..., "config": ...}`) or a plain
            callable in tensor ops (see `CallableActivation`).

    Returns:
        An object with `name`, `forward(x)` and `backward(dy, x, y)`.

    Raises:
        ValueError: unknown name (the message lists the close and the known ones).
        TypeError: an identifier of an unsupported type.
    """
    if identifier is None:
        return _BY_NAME["linear"]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return ACTIVATIONS.get(identifier)


def serialize(activation: Any) -> str:
    """The Keras name of an activation (what a layer's `get_config()` stores); a registered
    user function is written under its ``"package>name"``."""
    activation = get(activation)
    if isinstance(activation, CallableActivation):
        return get_registered_name(activation.fn)
    return activation.name


def deserialize(config: Any, custom_objects=None) -> Activation:
    """Inverse of `serialize`; also accepts Keras's `{"class_name": ..., "config": ...}` form."""
    if isinstance(config, dict):
        name = config.get("config", config.get("class_name"))
        if isinstance(name, dict):
            name = name.get("name", config.get("class_name"))
        if not isinstance(name, str):
            raise TypeError(f"cannot read an activation name from config {config!r}")
        config = name
    if isinstance(config, str):
        return ACTIVATIONS.get(config, custom_objects)
    return get(config)
