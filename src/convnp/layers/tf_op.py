"""`TensorFlowOpLayer`: one elementwise tensor operation recorded as a layer of a functional model.

Keras 2 turned a TensorFlow op applied to a symbolic tensor (``x / 127.5 - 1`` inside
``preprocess_input``) into such layers, and the course's graders list them by that class name,
with the output shape as a one-item list: ``['TensorFlowOpLayer', [(None, 160, 160, 3)], 0]``.
convnp makes them for the ``preprocess_input`` functions of `convnp.applications` applied to
KerasTensors, and for Python arithmetic between a KerasTensor and a number (``x / 255.0``,
``1.0 - x``: see `convnp.layers.base.KerasTensor`). The operations are elementwise with a
constant (scalar or one per channel) on either side, or the reversal of the channel order
(RGB <-> BGR).
"""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils, base, merging
from convnp.layers.base import KerasTensor, Layer, unique_name
from convnp.layers.registry import register
from convnp.tensor.tape import is_variable

OPS = ("truediv", "sub", "add", "mul", "rsub", "rtruediv", "reverse_channels")


@register
class TensorFlowOpLayer(Layer):
    """``y = x <op> value`` elementwise, ``y = value - x`` for ``"rsub"``, ``y = value / x`` for
    ``"rtruediv"``, or ``x[..., ::-1]`` for ``"reverse_channels"``.

    Args:
        op: one of ``"truediv"``, ``"sub"``, ``"add"``, ``"mul"``, ``"rsub"``, ``"rtruediv"``,
            ``"reverse_channels"``.
        value: the constant, a number or one per channel (unused by ``"reverse_channels"``).
        name: default ``tf_op_layer_<op>``, ``tf_op_layer_<op>_1``, ... (Keras 2's names).

    >>> import numpy as np
    >>> layer = TensorFlowOpLayer("truediv", 127.5)
    >>> layer(np.full((1, 1, 1, 3), 255.0, dtype="float32")).numpy().ravel().tolist()
    [2.0, 2.0, 2.0]
    """

    config_keys = ("op", "value")
    #: a Keras operation, not a layer: it reads no masks and drops them silently
    _mask_blind = True

    def __init__(self, op: str, value=None, **kwargs):
        if op not in OPS:
            raise ValueError(f"TensorFlowOpLayer: op must be one of {OPS}, got {op!r}")
        if op != "reverse_channels":
            array = np.asarray(value, dtype=np.float64)
            if value is None or array.ndim > 1 or not np.all(np.isfinite(array)) or (
                    op == "truediv" and np.any(array == 0)):
                raise ValueError(f"TensorFlowOpLayer {op!r}: value must be a finite number or "
                                 f"one per channel (non-zero to divide by), got {value!r}")
            value = array.tolist()
        if "name" not in kwargs or kwargs["name"] is None:
            from convnp.layers.base import unique_name

            kwargs["name"] = unique_name(f"tf_op_layer_{op}")
        super().__init__(**kwargs)
        self.op = op
        self.value = value

    def ensure_built(self, input_shape, on_data: bool = False) -> None:
        super().ensure_built(input_shape, on_data)
        # Keras 2 gave these layers' shapes as one-item lists, which the course's graders read
        if not isinstance(self.output_shape, list):
            self.output_shape = [tuple(self.output_shape)]

    def build(self, input_shape) -> None:
        if self.op != "reverse_channels" and np.ndim(self.value) == 1 and \
                input_shape[-1] is not None and len(self.value) != input_shape[-1]:
            raise ValueError(f"layer '{self.name}': {len(self.value)} values for "
                             f"{input_shape[-1]} channels")
        self.built = True

    @property
    def constant_first(self) -> bool:
        """Whether the constant is the left operand (``value - x``, ``value / x``)."""
        return self.op in ("rsub", "rtruediv")

    def _constant(self):
        return np.asarray(self.value, dtype=self.dtype)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        if self.op == "reverse_channels":
            return np.ascontiguousarray(x[..., ::-1])
        c = self._constant()
        if self.op == "rtruediv":
            self._cache = x  # d(c / x) = -c / x**2
            return np.divide(c, x)
        if self.op == "rsub":
            return np.subtract(c, x)
        return {"truediv": np.divide, "sub": np.subtract, "add": np.add,
                "mul": np.multiply}[self.op](x, c)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.op == "reverse_channels":
            return np.ascontiguousarray(dy[..., ::-1])
        if self.op == "truediv":
            return dy / self._constant()
        if self.op == "mul":
            return dy * self._constant()
        if self.op == "rsub":
            return -dy
        if self.op == "rtruediv":
            x = self.take_cache()
            return dy * (-self._constant() / (x * x))
        return dy


# Keras 3's names for these operations (``add``, ``add_1``, ...; merge layers share them)
_OPERATION_NAMES = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
                    "rsub": "subtract", "rtruediv": "true_divide"}


# TensorFlowOpLayer op -> (keras.ops function, whether the constant is its first argument)
_KERAS_OPS = {"add": ("add", False), "sub": ("subtract", False), "mul": ("multiply", False),
              "truediv": ("true_divide", False), "rsub": ("subtract", True),
              "rtruediv": ("true_divide", True)}


def keras_tensor_arithmetic(tensor: KerasTensor, other, op: str, merge: str | None,
                            name: str | None = None):
    """The KerasTensor of ``tensor <op> other`` (see `KerasTensor.__add__`); NotImplemented for
    an operand that is neither a KerasTensor nor numbers (Python then raises its TypeError).

    A number or a 1-D sequence (one per channel) makes a `TensorFlowOpLayer`, a constant of
    more dimensions the keras.ops function's op layer (`convnp.layers.op_layer`), and a
    KerasTensor the merge layer (or the ``true_divide`` op for ``a / b``)."""
    if isinstance(other, KerasTensor):
        if merge is None:  # a / b: Keras has no merge layer for it, but an op
            return base.keras_op_hook("true_divide", (tensor, other))
        merge_layer = {"Add": merging.Add, "Subtract": merging.Subtract,
                       "Multiply": merging.Multiply}[merge]
        layer = merge_layer(name=unique_name(_OPERATION_NAMES[op]),
                            dtype=_operand_dtype(tensor, other))
        mask_blind(layer)
        return layer([tensor, other])
    if is_variable(other):
        # ``x * self.w`` in a user's layer or model definition (TF 2.21 takes it): the
        # keras.ops function's op layer, holding the variable itself so it runs with the
        # variable's current value
        keras_name, constant_first = _KERAS_OPS[op]
        return base.keras_op_hook(keras_name, (other, tensor) if constant_first
                                  else (tensor, other))
    if isinstance(other, (bool, np.bool_)) or not isinstance(
            other, (int, float, np.integer, np.floating, list, tuple, np.ndarray)):
        return NotImplemented
    value = np.asarray(other)
    if value.dtype.kind not in "iuf":
        raise TypeError(f"KerasTensor arithmetic takes numbers, got {type(other).__name__} of "
                        f"shape {value.shape} and dtype {value.dtype}")
    if value.ndim > 1:  # a constant tensor: the keras.ops function, as an op layer
        keras_name, constant_first = _KERAS_OPS[op]
        return base.keras_op_hook(keras_name, (other, tensor) if constant_first
                                  else (tensor, other))
    value = float(value) if value.ndim == 0 else value.tolist()
    return TensorFlowOpLayer(op, value, name=unique_name(name or _OPERATION_NAMES[op]),
                             dtype=_operand_dtype(tensor))(tensor)


def mask_blind(layer):
    """A merge layer standing for Keras's tensor operation (``a + b``, ``keras.ops.add``):
    like the operation, it neither reads nor hands on masks, and drops them silently."""
    layer.supports_masking = False
    layer._mask_blind = True
    return layer


def _operand_dtype(*tensors: KerasTensor) -> str:
    """The float type an operation on ``tensors`` computes in: float64 when a producing layer
    computes in it (a float64 model stays float64), float32 otherwise."""
    wide = any(str(getattr(t.layer, "dtype", "float32")) == "float64" for t in tensors)
    return "float64" if wide else "float32"


# KerasTensor's operators reach the layers above through this hook (see `base.arithmetic_hook`)
base.arithmetic_hook = keras_tensor_arithmetic
