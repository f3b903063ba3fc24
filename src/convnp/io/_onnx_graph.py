"""The graph builder the ONNX exporters share (`convnp.io.onnx` holds the exporters' table).

A model tensor is a `Value`: its shape as Keras has it and its ONNX value names, one per
layout made so far. ``PLAIN`` is the tensor as Keras has it (channels last); ``NCHW`` is
channels first, the only layout of ONNX's convolution and pooling operators, for tensors of
rank 3 to 5 (``(N, C, W)``, ``(N, C, H, W)``, ``(N, C, D, H, W)``). `Builder.get` adds the
Transpose from one to the other the first time a layout is asked for, so each value is
transposed at most once per direction however many layers read it.
"""

from __future__ import annotations

import numpy as np

from convnp.io import protobuf as pb

NCHW = "nchw"  # channels first: (N, C, W), (N, C, H, W) or (N, C, D, H, W)
PLAIN = "plain"  # the tensor as Keras has it (channels last)
IDS = "ids"  # the tensor as int64 (Embedding's ids; an integer graph input)
BOOL = "bool"  # the tensor as booleans (a comparison's result, ``x > 0.5``)

#: the ranks that have a channels-first layout (sequences, images, volumes)
SPATIAL_RANKS = (3, 4, 5)


def to_channels_first(rank: int) -> list[int]:
    """The Transpose perm from channels last to channels first (``[0, 3, 1, 2]`` for 4-D)."""
    return [0, rank - 1, *range(1, rank - 1)]


def to_channels_last(rank: int) -> list[int]:
    """The Transpose perm back (``[0, 2, 3, 1]`` for 4-D)."""
    return [0, *range(2, rank), 1]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class Value:
    """A model tensor as ONNX values: its name in each layout made so far."""

    def __init__(self, shape: tuple, names: dict[str, str]):
        self.shape = tuple(shape)
        self.names = dict(names)

    @property
    def rank(self) -> int:
        return len(self.shape)


class Builder:
    """Collects nodes and initializers, and hands out unique value names."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[bytes] = []
        self.initializers: list[bytes] = []
        self._used: set[str] = set()
        #: the graph call being emitted (`convnp.models.functional.Node`); its ``template``
        #: holds the call's arguments when a layer is called with more than its input
        self.call = None
        #: the functions of the Lambda calls, traced into models (by `convnp.io.onnx`)
        self.traced: dict = {}
        #: whether the calls being checked or emitted run in training mode: inside a model
        #: called with ``training=True`` (`convnp.io.onnx._mode`)
        self.training = False

    def name(self, base: str) -> str:
        """A value/node name not used yet, derived from ``base``."""
        candidate = base
        count = 1
        while candidate in self._used:
            candidate = f"{base}_{count}"
            count += 1
        self._used.add(candidate)
        return candidate

    def constant(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        self.initializers.append(pb.tensor_proto(name, array))
        return name

    def ints(self, base: str, values) -> str:
        """An int64 vector constant (shapes, axes, pads, Slice bounds)."""
        return self.constant(base, np.asarray(values, dtype=np.int64).ravel())

    def scalar(self, base: str, value: float) -> str:
        """A float32 scalar constant (broadcasts against any tensor)."""
        return self.constant(base, np.array(value, dtype=np.float32))

    def node(self, op_type: str, inputs: list[str], output_base: str, **attributes) -> str:
        """Add one node with one output; return the output's name."""
        output = self.name(output_base)
        self.nodes.append(pb.node_proto(op_type, inputs, [output], name=output, **attributes))
        return output

    def nodes_with_outputs(self, op_type: str, inputs: list[str], output_bases: list[str],
                           **attributes) -> list[str]:
        """Add one node with several outputs (LSTM's ``Y, Y_h, Y_c``); return their names."""
        outputs = [self.name(base) for base in output_bases]
        self.nodes.append(pb.node_proto(op_type, inputs, outputs, name=outputs[0],
                                        **attributes))
        return outputs

    def reduce(self, op_type: str, x: str, axes, base: str, keepdims: bool = True) -> str:
        """A Reduce* node over ``axes``: its axes are an input from opset 18 (ReduceSum: 13),
        an attribute before."""
        axes = [int(a) for a in np.atleast_1d(axes)]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(f"{base}/axes", axes)], base,
                             keepdims=int(keepdims))
        return self.node(op_type, [x], base, axes=axes, keepdims=int(keepdims))

    # -- layouts --------------------------------------------------------------------------

    def get(self, value: Value, layout: str) -> str:
        """The name of ``value`` in ``layout``, adding a Transpose (or a Cast between float
        and ``IDS``) the first time."""
        if layout in value.names:
            return value.names[layout]
        if layout == IDS:
            source = self.get(value, PLAIN)
            name = self.node("Cast", [source], f"{source}/ids", to=pb.INT64)
        elif layout == BOOL:  # nonzero is true, as tf.cast(x, tf.bool)
            source = self.get(value, PLAIN)
            name = self.node("Cast", [source], f"{source}/bool", to=pb.BOOL)
        elif layout == PLAIN and BOOL in value.names and NCHW not in value.names:
            source = value.names[BOOL]
            name = self.node("Cast", [source], f"{source}/float", to=pb.FLOAT)
        elif layout == PLAIN and NCHW not in value.names:  # an integer graph input
            source = value.names[IDS]
            name = self.node("Cast", [source], f"{source}/float", to=pb.FLOAT)
        elif value.rank not in SPATIAL_RANKS:
            # Only sequences, images and volumes have two layouts; the rest stays as Keras has it.
            return self.get(value, PLAIN)
        elif layout == NCHW:
            source = self.get(value, PLAIN)
            name = self.node("Transpose", [source], f"{source}/nchw",
                             perm=to_channels_first(value.rank))
        else:
            source = value.names[NCHW]
            name = self.node("Transpose", [source], f"{source}/nhwc",
                             perm=to_channels_last(value.rank))
        value.names[layout] = name
        return name

    def preferred(self, value: Value) -> tuple[str, str]:
        """A layout ``value`` already has (NCHW first, to avoid transposes), and its name."""
        if value.rank in SPATIAL_RANKS and NCHW in value.names:
            return NCHW, value.names[NCHW]
        return PLAIN, self.get(value, PLAIN)

    def shared_layout(self, values: list[Value]) -> str:
        """The layout for an elementwise operator on ``values`` (same rank): NCHW when the
        first is already there, else PLAIN."""
        rank = values[0].rank
        if rank in SPATIAL_RANKS and NCHW in values[0].names and all(
                v.rank == rank for v in values):
            return NCHW
        return PLAIN


def axis_in(layout: str, rank: int, keras_axis: int) -> int:
    """Where Keras axis ``keras_axis`` of a rank-``rank`` tensor sits in ``layout``."""
    axis = keras_axis % rank
    if layout == NCHW and rank in SPATIAL_RANKS and axis:
        return 1 if axis == rank - 1 else axis + 1
    return axis


def activation(b: Builder, name_or_obj, x: str, layout: str, rank: int, base: str,
                layer) -> str:
    """Apply a Keras activation to value ``x``; return the output name."""
    name = getattr(name_or_obj, "name", name_or_obj) or "linear"
    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp"}
    if name in simple:
        return b.node(simple[name], [x], base)
    if name == "softmax":
        return b.node("Softmax", [x], base, axis=axis_in(layout, rank, -1))
    if name == "elu":
        return b.node("Elu", [x], base, alpha=1.0)
    if name == "selu":
        return b.node("Selu", [x], base, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if name == "leaky_relu":
        return b.node("LeakyRelu", [x], base, alpha=0.2)
    if name == "relu6":
        low = b.constant(f"{base}/min", np.array(0.0, dtype=np.float32))
        high = b.constant(f"{base}/max", np.array(6.0, dtype=np.float32))
        return b.node("Clip", [x, low, high], base)
    if name in ("silu", "swish"):
        gate = b.node("Sigmoid", [x], f"{base}/sigmoid")
        return b.node("Mul", [x, gate], base)
    if name == "mish":  # x * tanh(softplus(x)); ONNX's Mish op needs opset 18
        soft = b.node("Tanh", [b.node("Softplus", [x], f"{base}/softplus")], f"{base}/tanh")
        return b.node("Mul", [x, soft], base)
    if name == "log_softmax":
        return b.node("LogSoftmax", [x], base, axis=axis_in(layout, rank, -1))
    if name == "log_sigmoid":  # -softplus(-x)
        soft = b.node("Softplus", [b.node("Neg", [x], f"{base}/neg")], f"{base}/softplus")
        return b.node("Neg", [soft], base)
    if name == "hard_tanh":
        low = b.constant(f"{base}/min", np.array(-1.0, dtype=np.float32))
        high = b.constant(f"{base}/max", np.array(1.0, dtype=np.float32))
        return b.node("Clip", [x, low, high], base)
    if name == "celu":
        return b.node("Celu", [x], base, alpha=1.0)
    if name in ("hard_sigmoid", "hard_silu"):
        # Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)
        gate = b.node("HardSigmoid", [x], base if name == "hard_sigmoid" else f"{base}/gate",
                      alpha=1.0 / 6.0, beta=0.5)
        return gate if name == "hard_sigmoid" else b.node("Mul", [x, gate], base)
    if name == "gelu":
        # x * Phi(x) = x * 0.5 * (1 + erf(x / sqrt(2))); ONNX's Gelu op needs opset 20
        scaled = b.node("Mul", [x, b.constant(f"{base}/inv_sqrt2",
                                              np.array(2 ** -0.5, dtype=np.float32))],
                        f"{base}/scaled")
        erf = b.node("Erf", [scaled], f"{base}/erf")
        one = b.constant(f"{base}/one", np.array(1.0, dtype=np.float32))
        half = b.constant(f"{base}/half", np.array(0.5, dtype=np.float32))
        cdf = b.node("Mul", [b.node("Add", [erf, one], f"{base}/erf_plus_one"), half],
                     f"{base}/cdf")
        return b.node("Mul", [x, cdf], base)
    if name in ("hard_shrink", "soft_shrink"):
        # ONNX's Shrink: x -/+ bias beyond +-lambd, else 0 (bias 0: the hard shrink)
        limit = float(getattr(name_or_obj, "threshold", 0.5))
        return b.node("Shrink", [x], base, lambd=limit,
                      bias=limit if name == "soft_shrink" else 0.0)
    if name == "tanh_shrink":
        return b.node("Sub", [x, b.node("Tanh", [x], f"{base}/tanh")], base)
    if name == "squareplus":  # (x + sqrt(x * x + b)) / 2
        square = b.node("Mul", [x, x], f"{base}/square")
        shift = b.constant(f"{base}/b", np.array(getattr(name_or_obj, "b", 4.0), np.float32))
        root = b.node("Sqrt", [b.node("Add", [square, shift], f"{base}/plus_b")],
                      f"{base}/sqrt")
        half = b.constant(f"{base}/half", np.array(0.5, dtype=np.float32))
        return b.node("Mul", [b.node("Add", [x, root], f"{base}/sum"), half], base)
    if name == "sparse_plus":
        # (clip(x, -1, 1) + 1)**2 / 4 + relu(x - 1): 0 below -1, x above 1
        one = b.constant(f"{base}/one", np.array(1.0, dtype=np.float32))
        low = b.constant(f"{base}/min", np.array(-1.0, dtype=np.float32))
        clipped = b.node("Clip", [x, low, one], f"{base}/clip")
        lifted = b.node("Add", [clipped, one], f"{base}/lifted")
        quarter = b.constant(f"{base}/quarter", np.array(0.25, dtype=np.float32))
        middle = b.node("Mul", [b.node("Mul", [lifted, lifted], f"{base}/square"), quarter],
                        f"{base}/middle")
        above = b.node("Relu", [b.node("Sub", [x, one], f"{base}/minus_one")], f"{base}/above")
        return b.node("Add", [middle, above], base)
    if name == "sparse_sigmoid":  # clip((x + 1) / 2, 0, 1)
        half = b.constant(f"{base}/half", np.array(0.5, dtype=np.float32))
        zero = b.constant(f"{base}/zero", np.array(0.0, dtype=np.float32))
        one = b.constant(f"{base}/one", np.array(1.0, dtype=np.float32))
        lifted = b.node("Mul", [b.node("Add", [x, one], f"{base}/plus_one"), half],
                        f"{base}/lifted")
        return b.node("Clip", [lifted, zero, one], base)
    raise ValueError(f"cannot export layer '{layer.name}' ({type(layer).__name__}) to ONNX: "
                     f"activation {name!r} has no ONNX mapping")



def f32(array) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(array, dtype=np.float32))


def refuse(layer, why: str) -> ValueError:
    return ValueError(f"cannot export layer '{layer.name}' of type {type(layer).__name__} "
                      f"to ONNX: {why}")



def has_activation(layer) -> bool:
    return (getattr(layer.activation, "name", None) or "linear") != "linear"
