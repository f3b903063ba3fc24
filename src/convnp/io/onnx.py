"""Export a convnp model to ONNX, with NumPy and the standard library only.

    from convnp.io.onnx import export
    export(model, "happy.onnx")             # opset 17
    # then, anywhere:  onnxruntime.InferenceSession("happy.onnx").run(None, {"input_layer": x})

The ONNX graph takes the same input as the model: NHWC float32 with a symbolic batch axis
(``"batch"``). ONNX's convolution and pooling operators are channels first only, so the graph
transposes once where channels-last data first meets such an operator (perm ``[0, 3, 1, 2]``
for images, ``[0, 2, 1]`` for sequences, ``[0, 4, 1, 2, 3]`` for volumes), stays channels
first from layer to layer, and transposes back only where Keras's order matters: before
`Flatten` (so the flattened order, and so the following Dense kernel, is Keras's), before
layers that work on the tensor as Keras has it, and for model outputs. Each value is
converted at most once per layout, however many layers read it (`convnp.io._onnx_graph`).

Layer mapping (``N`` = 1, 2, 3 where the layer exists in that many spatial dimensions):

=========================  ===============================================================
convnp layer               ONNX nodes
=========================  ===============================================================
InputLayer                 graph input ``(batch, H, W, C)``
ConvND                     Conv (``W = kernel.transpose(3, 2, 0, 1)`` for 2-D, ``group =
                           groups``, ``pads`` ``[begins..., ends...]``, ``dilations``; Conv1D's
                           'causal' pads before only) + activation
DepthwiseConv1D/2D         Conv with ``group = C`` (``W`` of shape ``(C * k, 1, *window)``)
SeparableConv1D/2D         the depthwise Conv, then a 1x1 Conv with the bias, + activation
ConvNDTranspose            ConvTranspose (Keras' crop as pads, extra rows as output_padding)
Dense                      Gemm (2-D input) or MatMul + Add (higher rank) + activation
BatchNormalization         BatchNormalization (inference: scale, B, mean, var, epsilon)
                           on the channel axis; Mul + Add on another axis
ReLU / Activation          Relu, Sigmoid, Tanh, Softmax (on the Keras last axis), LeakyRelu,
                           Elu, Selu, Softplus, Softsign, Exp, Clip (relu6), x * Sigmoid(x)
MaxPoolingND               MaxPool with explicit pads
AveragePoolingND           AveragePool with explicit pads, ``count_include_pad=0`` (TF's rule)
GlobalAverage/MaxPoolingND GlobalAveragePool / GlobalMaxPool, then Flatten unless keepdims
ZeroPaddingND, CroppingND  Pad (constant 0), Slice
UpSamplingND               Resize (nearest, floor of ``o / size``; UpSampling2D's bilinear on
                           half-pixel centres)
Flatten                    Transpose to NHWC, then Flatten(axis=1)
Dropout, SpatialDropoutND  nothing (inference is the identity); also the noise layers
Add, Concatenate           Add / Sum, Concat (NHWC axis mapped to NCHW where applied in NCHW)
TensorFlowOpLayer          Add / Sub / Mul / Div with the constant (either side; ``x / 255.0``,
                           ``preprocess_input``), Slice with step -1 for reversed channels
TFOpLambda                 the tensor function's operator (``keras.ops.mean`` -> ReduceMean,
                           ``x[:, ::2, None, 0]`` -> Slice, Squeeze, Unsqueeze; see
                           ``_op_lambda``), on the tensor as Keras has it
Lambda                     its function traced on symbolic tensors, then as TFOpLambda
a nested model             its own calls, inlined
a user's layer, a          its ``call`` traced as a Lambda's function, checked on one batch
subclassed model's call    against the layer itself
Rescaling, Normalization   Mul + Add, Sub + Div by the layer's constants
Resizing, CenterCrop       Resize on half-pixel centres (``sizes`` input), Slice, Pad
random augmentation        nothing (the identity at inference); also Identity,
                           ActivityRegularization
Group/Unit/RMS/Layer-      ReduceMean or ReduceSumSquare, Sub, Mul, Sqrt, Div (ONNX's
Normalization              LayerNormalization on trailing axes from opset 17)
Embedding                  Gather (float ids cast to int64; int32/int64 graph inputs kept)
RepeatVector, Dot, Masking Unsqueeze + Expand; Einsum; Equal, Not, ReduceMax, Mul
SimpleRNN, LSTM, GRU, RNN  ONNX's RNN / LSTM / GRU per cell (time-major; ``reverse`` for
                           go_backwards; initial states as initial_h/initial_c)
Bidirectional              one ``direction="bidirectional"`` operator (or one per layer),
                           merged as Keras merges (see `convnp.io._onnx_sequence`)
MultiHeadAttention         projections as MatMul + Add, MatMul, Softmax, MatMul (Einsum for
                           other attention_axes); causal/attention masks for sequences
EinsumDense                Einsum (+ Add, activation)
Attention,                 MatMul (dot) or Unsqueeze + Add + Tanh + ReduceSum (concat,
AdditiveAttention          additive), Softmax, MatMul
TimeDistributed            Reshape (steps into the batch), the inner layer, Reshape back
Pipeline                   its layers in turn
(functional-API layers)    see the exporters after ``_cropping`` (Sub, PRelu, Reshape, ...)
=========================  ===============================================================

The exporters are one table, `EXPORTERS` (layer class name -> function); its keys are the
exportable classes (users' layers aside: `_is_user_layer`). The model's own graph
(``model._graph.nodes``, the calls as written) is the walk, so shared layers and nested models
need nothing special. A call of any other layer raises
`ValueError` naming the layer and its type, before anything is built or written.
The file is written whole or not at all (temporary file, then `os.replace`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from convnp.io import _onnx_attention as attention
from convnp.io import _onnx_preprocessing as preprocessing
from convnp.io import _onnx_sequence as sequence
from convnp.io import protobuf as pb
from convnp.io._files import atomic_write
from convnp.io._onnx_graph import (
    BOOL,
    IDS,
    NCHW,
    PLAIN,
    Builder,
    Value,
    activation,
    axis_in,
    f32,
    has_activation,
    refuse,
)
from convnp.layers import _masks
from convnp.models import mask_flow

#: Lowest and highest opset this exporter writes. 13 is the first with Softmax on one axis
#: and Pad/Clip/... taking their parameters as inputs; 21 is the newest checked in tests.
MIN_OPSET = 13
MAX_OPSET = 21

# The IR version each opset first shipped with (onnx 1.8 .. 1.16); older readers accept it.
_IR_VERSION = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}

def _spatial(layer, x: Value) -> int:
    """The number of spatial axes of ``layer``'s window (1, 2 or 3), checked against ``x``."""
    n = len(getattr(layer, "kernel_size", None) or layer.pool_size)
    if x.rank != n + 2:
        raise refuse(layer, f"expects a {n + 2}-D input, got shape {x.shape}")
    return n


def _window_pads(layer, in_sizes: tuple) -> dict[str, Any]:
    """``pads`` ``[begin..., end...]`` (one of each per spatial axis) from convnp's geometry
    (TF's 'same': the odd extra at the end; 'causal': all before; `_same_pads` when a
    spatial size is unknown)."""
    kernel = getattr(layer, "kernel_size", None) or layer.pool_size
    dilation = getattr(layer, "dilation_rate", None) or (1,) * len(kernel)
    spread = [(f - 1) * d + 1 for f, d in zip(kernel, dilation)]
    if layer.padding == "valid":
        return {"pads": [0] * (2 * len(kernel))}
    if layer.padding == "causal":  # Conv1D: zeros only before the sequence
        return {"pads": [spread[0] - 1, 0]}
    return _same_pads(layer, in_sizes, spread, layer.strides)


def _same_pads(layer, in_sizes, spread, strides) -> dict[str, Any]:
    """TF's 'same' pads for windows of ``spread`` cells: explicit where the sizes are known,
    and for any size at stride 1 (the total ``spread - 1`` does not depend on it); else
    ``auto_pad="SAME_UPPER"``, which onnxruntime computes at run time for undilated windows
    only (TF has no stride above 1 together with dilation, so that is refused)."""
    from convnp.ops import padding as geometry

    strides = list(strides)
    if any(n is None for n in in_sizes):
        if all(s == 1 for s in strides):
            in_sizes = [16] * len(strides)  # a stand-in: the pads do not depend on it
        elif any(f != k for f, k in zip(spread, _kernel_of(layer))):
            raise refuse(layer, "a dilated window with strides on an input of unknown size has "
                                "no run-time 'same' padding in ONNX")
        else:
            return {"auto_pad": "SAME_UPPER"}
    pairs = [geometry.same_padding(n, f, s) for n, f, s in zip(in_sizes, spread, strides)]
    return {"pads": [p[0] for p in pairs] + [p[1] for p in pairs]}


def _kernel_of(layer) -> list[int]:
    """The undilated window of ``layer`` (its kernel or pool size; extract_patches' window)."""
    window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    return list(window) if window is not None else list(_patch_geometry(layer)[0])


def _window_kernel(kernel: np.ndarray, n: int) -> np.ndarray:
    """A Keras kernel ``(*window, a, b)`` as ONNX's ``(b, a, *window)``."""
    return np.transpose(kernel, (n + 1, n, *range(n)))


def _depthwise_kernel(kernel: np.ndarray, n: int) -> np.ndarray:
    """A Keras depthwise kernel ``(*window, C, k)`` as ONNX's grouped ``(C * k, 1, *window)``:
    Keras' output channel ``c * k + j`` is ONNX's (group c, filter j)."""
    channels, multiplier = kernel.shape[n], kernel.shape[n + 1]
    return np.transpose(kernel, (n, n + 1, *range(n))).reshape(
        channels * multiplier, 1, *kernel.shape[:n])


# -- exporters: one function per layer class (or family), collected in `EXPORTERS` -----------


def _conv_transpose(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """ConvTranspose (1-D to 3-D): Keras' crop as the begin pads, trailing zero rows as
    output_padding."""
    from convnp.ops import padding as geometry

    x = inputs[0]
    n = _spatial(layer, x)
    # kernel (*window, filters, n_C_in) -> ONNX (n_C_in, filters, *window)
    args = [b.get(x, NCHW), b.constant(f"{layer.name}/kernel",
                                      f32(_window_kernel(layer.kernel.value, n)))]
    if layer.bias is not None:
        args.append(b.constant(f"{layer.name}/bias", f32(layer.bias.value)))
    dilation = tuple(getattr(layer, "dilation_rate", None) or (1,) * n)
    sizes, outs = list(x.shape[1:-1]), list(out_shape[1:-1])
    if any(size is None for size in sizes):
        # Every output size is the input's times the stride plus a constant, so the crop and
        # the extra rows do not depend on the input's size: they are read off a stand-in
        # size, and ONNX's ConvTranspose gives each run's output size from the same pads.
        sizes = [16 if size is None else size for size in sizes]
        outs = list(layer.compute_output_shape((None, *sizes, x.shape[-1]))[1:-1])
    begin, end, extra = [], [], []
    for size, f, d, s, out in zip(sizes, layer.kernel_size, dilation, layer.strides, outs):
        spread = (f - 1) * d + 1
        full = (size - 1) * s + spread
        crop = geometry.transpose_crop(size, spread, s, layer.padding, out)
        begin.append(crop)
        end.append(max(full - crop - out, 0))
        extra.append(max(out - (full - crop), 0))
    y = b.node("ConvTranspose", args,
               f"{layer.name}/conv" if has_activation(layer) else layer.name,
               kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
               pads=begin + end, output_padding=extra, dilations=list(dilation), group=1)
    y = activation(b, layer.activation, y, NCHW, n + 2, layer.name, layer)
    return Value(out_shape, {NCHW: y})


def _upsampling(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Resize by the integer factors: nearest as floor(o / s) (UpSampling1D/2D/3D repeat
    each step), bilinear (UpSampling2D) on half-pixel centres."""
    size = layer.size if isinstance(layer.size, (tuple, list)) else (layer.size,)
    method = getattr(layer, "interpolation", "nearest")
    if method not in ("nearest", "bilinear", "area"):
        raise refuse(layer, f"its interpolation {method!r} has no exact ONNX Resize mode "
                            f"(nearest, bilinear and area export)")
    scales = b.constant(f"{layer.name}/scales", np.array([1, 1, *size], dtype=np.float32))
    if method in ("nearest", "area"):  # area enlarging by whole factors repeats each pixel
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    y = b.node("Resize", [b.get(inputs[0], NCHW), "", scales], layer.name, **attrs)
    return Value(out_shape, {NCHW: y})


def _border_pairs(given) -> list[tuple[int, int]]:
    """A ZeroPadding/Cropping layer's ``(before, after)`` per spatial axis (the 1-D layers keep
    one pair, the others one per axis)."""
    if isinstance(given[0], (int, np.integer)):
        return [tuple(given)]
    return [tuple(pair) for pair in given]


def _cropping(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    pairs = _border_pairs(layer.cropping)
    big = np.iinfo(np.int64).max
    starts = b.constant(f"{layer.name}/starts", np.array([p[0] for p in pairs], np.int64))
    ends = b.constant(f"{layer.name}/ends", np.array([-p[1] or big for p in pairs], np.int64))
    axes = b.constant(f"{layer.name}/axes", np.arange(2, 2 + len(pairs), dtype=np.int64))
    y = b.node("Slice", [b.get(inputs[0], NCHW), starts, ends, axes], layer.name)
    return Value(out_shape, {NCHW: y})


_MERGE_OPS = {"Subtract": "Sub", "Multiply": "Mul", "Maximum": "Max", "Minimum": "Min",
              "Average": "Mean"}


def _elementwise_merge(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Sub / Mul / Max / Min / Mean on the inputs in one layout (ONNX broadcasts as NumPy)."""
    layout = b.shared_layout(inputs)
    names = [b.get(v, layout) for v in inputs]
    op = _MERGE_OPS[type(layer).__name__]
    if op in ("Sub", "Mul"):  # binary: chain them
        y = names[0]
        for i, other in enumerate(names[1:], 1):
            y = b.node(op, [y, other], layer.name if i == len(names) - 1 else
                       f"{layer.name}/{i}")
    else:
        y = b.node(op, names, layer.name)
    return Value(out_shape, {layout: y})


def _elementwise_activation(b: Builder, layer, inputs: list[Value], out_shape: tuple
                            ) -> Value:
    layout, src = b.preferred(inputs[0])
    cls = type(layer).__name__
    if cls == "LeakyReLU":
        y = b.node("LeakyRelu", [src], layer.name, alpha=layer.negative_slope)
    elif cls == "ELU":
        y = b.node("Elu", [src], layer.name, alpha=layer.alpha)
    elif cls == "ThresholdedReLU":  # ONNX's ThresholdedRelu: x where x > alpha, else 0
        y = b.node("ThresholdedRelu", [src], layer.name, alpha=layer.theta)
    elif isinstance(layer.axis, list):  # Softmax over several axes: exp(x - max) / sum
        rank = inputs[0].rank
        axes = sorted({axis_in(layout, rank, a) for a in layer.axis})
        top = b.reduce("ReduceMax", src, axes, f"{layer.name}/max")
        e = b.node("Exp", [b.node("Sub", [src, top], f"{layer.name}/shifted")],
                   f"{layer.name}/exp")
        y = b.node("Div", [e, b.reduce("ReduceSum", e, axes, f"{layer.name}/sum")],
                   layer.name)
    else:  # Softmax
        y = b.node("Softmax", [src], layer.name,
                   axis=axis_in(layout, inputs[0].rank, layer.axis))
    return Value(out_shape, {layout: y})


def _prelu(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    slope = b.constant(f"{layer.name}/alpha", f32(layer.alpha.value))  # broadcasts on PLAIN
    return Value(out_shape, {PLAIN: b.node("PRelu", [b.get(inputs[0], PLAIN), slope],
                                            layer.name)})


def _identity(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """No node: dropout, noise and random augmentation layers are the identity at inference
    (a call fixed to ``training=True`` is refused), as are Identity and
    ActivityRegularization."""
    return inputs[0]


def _reshape(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    shape = b.constant(f"{layer.name}/shape", np.array([0, *layer.target_shape], np.int64))
    return Value(out_shape, {PLAIN: b.node("Reshape", [b.get(inputs[0], PLAIN), shape],
                                            layer.name)})


def _permute(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    return Value(out_shape, {PLAIN: b.node("Transpose", [b.get(inputs[0], PLAIN)],
                                            layer.name, perm=[0, *layer.dims])})


def _normalized(b: Builder, x: str, axes, epsilon: float, base: str) -> str:
    """``(x - mean) / sqrt(var + epsilon)`` over ``axes`` (the biased variance, as Keras's
    layer and group normalizations compute it)."""
    mean = b.reduce("ReduceMean", x, axes, f"{base}/mean")
    centered = b.node("Sub", [x, mean], f"{base}/centered")
    square = b.node("Mul", [centered, centered], f"{base}/square")
    variance = b.reduce("ReduceMean", square, axes, f"{base}/variance")
    std = b.node("Sqrt", [b.node("Add", [variance, b.scalar(f"{base}/epsilon", epsilon)],
                                 f"{base}/variance_epsilon")], f"{base}/std")
    return b.node("Div", [centered, std], f"{base}/normalized")


def _layer_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple
                         ) -> Value:
    """ONNX's LayerNormalization (opset >= 17) over trailing axes; the same arithmetic in
    ReduceMean, Sub, Mul, Sqrt and Div nodes at an earlier opset or over other axes."""
    from convnp.layers._utils import along_axes

    x = inputs[0]
    axes = layer._axes(x.rank)
    shape = tuple(x.shape[a] for a in axes)
    gamma = layer.gamma.value if layer.gamma is not None else np.ones(shape, np.float32)
    if b.opset >= 17 and axes == tuple(range(axes[0], x.rank)):
        args = [b.get(x, PLAIN), b.constant(f"{layer.name}/gamma", f32(gamma))]
        if layer.beta is not None:
            args.append(b.constant(f"{layer.name}/beta", f32(layer.beta.value)))
        y = b.node("LayerNormalization", args, layer.name, axis=axes[0],
                   epsilon=layer.epsilon)
        return Value(out_shape, {PLAIN: y})
    y = _normalized(b, b.get(x, PLAIN), axes, layer.epsilon, layer.name)
    last = layer.name if layer.beta is None else f"{layer.name}/scaled"
    y = b.node("Mul", [y, b.constant(f"{layer.name}/gamma",
                                     f32(along_axes(gamma, x.rank, axes)))], last)
    if layer.beta is not None:
        y = b.node("Add", [y, b.constant(f"{layer.name}/beta", f32(along_axes(
            layer.beta.value, x.rank, axes)))], layer.name)
    return Value(out_shape, {PLAIN: y})


def _group_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple
                         ) -> Value:
    """Channels first, the channels split into groups as ``(batch, groups, -1)`` (a group's
    channels and all their positions on one axis), normalized over that axis, reshaped back,
    then ``* gamma + beta`` per channel."""
    x = inputs[0]
    base = layer.name
    axis = layer._channel_axis(x.rank)
    channels = x.shape[axis]
    groups = layer._groups_for(channels)
    layout, back = PLAIN, None
    if axis == x.rank - 1 and x.rank in (3, 4, 5):
        layout, src = NCHW, b.get(x, NCHW)
    elif axis == 1:
        src = b.get(x, PLAIN)
    else:  # another channel axis: moved to 1 and back
        perm = [0, axis, *(a for a in range(1, x.rank) if a != axis)]
        src = b.node("Transpose", [b.get(x, PLAIN)], f"{base}/channels_first", perm=perm)
        back = [int(i) for i in np.argsort(perm)]
    last = ("transpose" if back else "beta" if layer.beta is not None
            else "gamma" if layer.gamma is not None else "reshape")

    def named(step: str) -> str:
        return base if step == last else f"{base}/{step}"

    grouped = b.node("Reshape", [src, b.ints(f"{base}/grouped_shape", [0, groups, -1])],
                     f"{base}/grouped")
    y = _normalized(b, grouped, [2], layer.epsilon, base)
    y = b.node("Reshape", [y, b.node("Shape", [src], f"{base}/shape")], named("reshape"))
    per_channel = (channels,) + (1,) * (x.rank - 2)
    if layer.gamma is not None:
        y = b.node("Mul", [y, b.constant(f"{base}/gamma_constant", f32(
            layer.gamma.value.reshape(per_channel)))], named("gamma"))
    if layer.beta is not None:
        y = b.node("Add", [y, b.constant(f"{base}/beta_constant", f32(
            layer.beta.value.reshape(per_channel)))], named("beta"))
    if back:
        y = b.node("Transpose", [y], base, perm=back)
    return Value(out_shape, {layout: y})


def _unit_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``x / sqrt(max(sum(x ** 2), 1e-12))`` over the layer's axes."""
    x = b.get(inputs[0], PLAIN)
    base = layer.name
    squares = b.reduce("ReduceSumSquare", x, layer._axes(inputs[0].rank), f"{base}/sum_square")
    floor = b.node("Max", [squares, b.scalar(f"{base}/epsilon", 1e-12)], f"{base}/clipped")
    norm = b.node("Sqrt", [floor], f"{base}/norm")
    return Value(out_shape, {PLAIN: b.node("Div", [x, norm], base)})


def _rms_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``x / sqrt(mean(x ** 2) + epsilon) * scale`` over the layer's axes."""
    from convnp.layers._utils import along_axes

    x = b.get(inputs[0], PLAIN)
    base = layer.name
    axes = layer._axes(inputs[0].rank)
    mean_square = b.reduce("ReduceMean", b.node("Mul", [x, x], f"{base}/square"), axes,
                           f"{base}/mean_square")
    rms = b.node("Sqrt", [b.node("Add", [mean_square, b.scalar(f"{base}/epsilon",
                                                               layer.epsilon)],
                                 f"{base}/plus_epsilon")], f"{base}/rms")
    scale = b.constant(f"{base}/scale", f32(along_axes(layer.scale.value, inputs[0].rank,
                                                       axes)))
    y = b.node("Mul", [b.node("Div", [x, rms], f"{base}/normalized"), scale], base)
    return Value(out_shape, {PLAIN: y})


def _layer_scale(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    gamma = b.constant(f"{layer.name}/gamma", f32(layer.gamma.value))  # on the last axis
    return Value(out_shape, {PLAIN: b.node("Mul", [b.get(inputs[0], PLAIN), gamma],
                                           layer.name)})


def _masking(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``x * any(x != mask_value, axis=-1)``; a layer reading the mask it makes is refused
    (see `convnp.io._onnx_sequence`)."""
    x = b.get(inputs[0], PLAIN)
    base = layer.name
    equal = b.node("Equal", [x, b.scalar(f"{base}/mask_value", layer.mask_value)],
                   f"{base}/equal")
    differs = b.node("Cast", [b.node("Not", [equal], f"{base}/differs")],
                     f"{base}/differs_float", to=pb.FLOAT)
    keep = b.reduce("ReduceMax", differs, [-1], f"{base}/keep")
    return Value(out_shape, {PLAIN: b.node("Mul", [x, keep], base)})


def _repeat_vector(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``(batch, features)`` -> ``(batch, n, features)``: Unsqueeze, then Expand."""
    base = layer.name
    column = b.node("Unsqueeze", [b.get(inputs[0], PLAIN), b.ints(f"{base}/axis", [1])],
                    f"{base}/unsqueezed")
    return Value(out_shape, {PLAIN: b.node("Expand", [column, b.ints(
        f"{base}/repeats", [1, layer.n, 1])], base)})


def _dot(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Einsum over the two summed axes, batch by batch (the first input's other axes, then
    the second's); with ``normalize``, both L2-normalized along them first."""
    base = layer.name
    x, y = inputs
    a, c = layer._resolved_axes([x.shape, y.shape])
    letters = iter("bcdefghijklmnopqrstuvwxy")
    x_letters = ["a"] + [next(letters) if i != a else "z" for i in range(1, x.rank)]
    y_letters = ["a"] + [next(letters) if i != c else "z" for i in range(1, y.rank)]
    out = "a" + "".join(v for v in x_letters[1:] if v != "z") + "".join(
        v for v in y_letters[1:] if v != "z")
    operands = []
    for value, axis, label in ((x, a, "x"), (y, c, "y")):
        src = b.get(value, PLAIN)
        if layer.normalize:
            squares = b.reduce("ReduceSumSquare", src, [axis], f"{base}/{label}_sum_square")
            norm = b.node("Sqrt", [b.node("Max", [squares, b.scalar(
                f"{base}/{label}_epsilon", 1e-12)], f"{base}/{label}_clipped")],
                f"{base}/{label}_norm")
            src = b.node("Div", [src, norm], f"{base}/{label}_normalized")
        operands.append(src)
    equation = f"{''.join(x_letters)},{''.join(y_letters)}->{out}"
    z = b.node("Einsum", operands, base if len(out) > 1 else f"{base}/einsum",
               equation=equation)
    if len(out) == 1:  # Keras keeps a features axis of 1
        z = b.node("Unsqueeze", [z, b.ints(f"{base}/axis", [1])], base)
    return Value(out_shape, {PLAIN: z})


def _conv(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Conv1D/2D/3D as Conv; DepthwiseConv1D/2D as a Conv with one group per input channel."""
    x = inputs[0]
    n = _spatial(layer, x)
    kernel = layer.kernel.value
    if type(layer).__name__.startswith("Depthwise"):
        onnx_kernel, group = _depthwise_kernel(kernel, n), kernel.shape[n]
    else:
        # grouped: ONNX's (n_out, n_C_prev / group, *window) is the same transpose
        onnx_kernel, group = _window_kernel(kernel, n), layer.groups
    args = [b.get(x, NCHW), b.constant(f"{layer.name}/kernel", f32(onnx_kernel))]
    if layer.bias is not None:
        args.append(b.constant(f"{layer.name}/bias", f32(layer.bias.value)))
    conv = b.node("Conv", args, f"{layer.name}/conv" if has_activation(layer) else layer.name,
                  kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                  dilations=list(layer.dilation_rate), group=group,
                  **_window_pads(layer, x.shape[1:-1]))
    y = activation(b, layer.activation, conv, NCHW, n + 2, layer.name, layer)
    return Value(out_shape, {NCHW: y})


def _separable_conv(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """The depthwise Conv, then a 1x1 Conv with the bias, then the activation (1-D, 2-D)."""
    x = inputs[0]
    base = layer.name
    n = _spatial(layer, x)
    channels = layer.depthwise_kernel.shape[n]
    depthwise = b.constant(f"{base}/depthwise_kernel",
                           f32(_depthwise_kernel(layer.depthwise_kernel.value, n)))
    mid = b.node("Conv", [b.get(x, NCHW), depthwise], f"{base}/depthwise",
                 kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                 dilations=list(layer.dilation_rate), group=channels,
                 **_window_pads(layer, x.shape[1:-1]))
    args = [mid, b.constant(f"{base}/pointwise_kernel",
                            f32(_window_kernel(layer.pointwise_kernel.value, n)))]
    if layer.bias is not None:
        args.append(b.constant(f"{base}/bias", f32(layer.bias.value)))
    conv = b.node("Conv", args, f"{base}/conv" if has_activation(layer) else base,
                  kernel_shape=[1] * n, strides=[1] * n, group=1)
    y = activation(b, layer.activation, conv, NCHW, n + 2, base, layer)
    return Value(out_shape, {NCHW: y})


def _dense(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Gemm on a 2-D input, MatMul + Add on a higher rank; then the activation."""
    x = inputs[0]
    base = layer.name
    kernel = b.constant(f"{base}/kernel", f32(layer.kernel.value))
    bias = None if layer.bias is None else b.constant(f"{base}/bias", f32(layer.bias.value))
    src = b.get(x, PLAIN)
    pre = f"{base}/linear" if has_activation(layer) else base
    if x.rank == 2:
        z = b.node("Gemm", [src, kernel] + ([bias] if bias else []), pre,
                   alpha=1.0, beta=1.0, transA=0, transB=0)
    else:
        z = b.node("MatMul", [src, kernel], f"{pre}/matmul" if bias else pre)
        if bias:
            z = b.node("Add", [z, bias], pre)
    y = activation(b, layer.activation, z, PLAIN, len(out_shape), base, layer)
    return Value(out_shape, {PLAIN: y})


def _batch_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple
                         ) -> Value:
    """BatchNormalization on the channel axis; Mul + Add (the inference map) on another; with
    the batch's own statistics where its call runs in training mode (`_mode`)."""
    x = inputs[0]
    base = layer.name
    n = layer.moving_mean.value.shape[0]
    gamma = layer.gamma.value if layer.gamma is not None else np.ones(n, np.float32)
    beta = layer.beta.value if layer.beta is not None else np.zeros(n, np.float32)
    layout, src = b.preferred(x)
    if x.rank == 4:
        layout, src = NCHW, b.get(x, NCHW)
    axis = axis_in(layout, x.rank, layer.axis)
    if _mode(layer, b):
        # ``layer(x, training=True)`` (the course's ResNet blocks): predict normalizes with
        # the mean and variance of the batch it is given, over every axis but the features
        axes = [a for a in range(x.rank) if a != axis]
        bshape = [1] * x.rank
        bshape[axis] = n
        mean = b.reduce("ReduceMean", src, axes, f"{base}/batch_mean")
        centred = b.node("Sub", [src, mean], f"{base}/centred")
        variance = b.reduce("ReduceMean", b.node("Mul", [centred, centred], f"{base}/square"),
                            axes, f"{base}/batch_variance")
        shifted = b.node("Add", [variance, b.constant(f"{base}/epsilon", np.array(
            layer.epsilon, np.float32))], f"{base}/variance_plus_epsilon")
        inverse = b.node("Reciprocal", [b.node("Sqrt", [shifted], f"{base}/std")],
                         f"{base}/inverse_std")
        normed = b.node("Mul", [centred, inverse], f"{base}/normalized")
        scaled = b.node("Mul", [normed, b.constant(f"{base}/gamma", f32(gamma).reshape(
            bshape))], f"{base}/scaled")
        y = b.node("Add", [scaled, b.constant(f"{base}/beta", f32(beta).reshape(bshape))],
                   base)
        return Value(out_shape, {layout: y})
    if axis == 1:
        args = [src,
                b.constant(f"{base}/gamma", f32(gamma)),
                b.constant(f"{base}/beta", f32(beta)),
                b.constant(f"{base}/moving_mean", f32(layer.moving_mean.value)),
                b.constant(f"{base}/moving_variance", f32(layer.moving_variance.value))]
        y = b.node("BatchNormalization", args, base, epsilon=float(layer.epsilon),
                   momentum=float(layer.momentum))
    else:
        # The inference map is affine per feature: y = x * scale + shift.
        inv_std = 1.0 / np.sqrt(layer.moving_variance.value.astype(np.float64)
                                + layer.epsilon)
        scale = gamma * inv_std
        shift = beta - layer.moving_mean.value * scale
        bshape = [1] * x.rank
        bshape[axis] = n
        s = b.constant(f"{base}/scale", f32(scale).reshape(bshape))
        t = b.constant(f"{base}/shift", f32(shift).reshape(bshape))
        y = b.node("Add", [b.node("Mul", [src, s], f"{base}/mul"), t], base)
    return Value(out_shape, {layout: y})


def _activation_layer(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    layout, src = b.preferred(inputs[0])
    y = activation(b, layer.activation, src, layout, inputs[0].rank, layer.name, layer)
    if y == src:  # linear
        return inputs[0]
    return Value(out_shape, {layout: y})


def _relu(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    layout, src = b.preferred(inputs[0])
    return Value(out_shape, {layout: _relu_layer(b, layer, src, layer.name)})


def _pooling(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """MaxPool / AveragePool over 1 to 3 spatial axes."""
    x = inputs[0]
    _spatial(layer, x)
    attrs = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                 **_window_pads(layer, x.shape[1:-1]))
    if type(layer).__name__.startswith("Average"):
        # TF averages over the real cells of a padded window only.
        y = b.node("AveragePool", [b.get(x, NCHW)], layer.name, count_include_pad=0, **attrs)
    else:
        y = b.node("MaxPool", [b.get(x, NCHW)], layer.name, **attrs)
    return Value(out_shape, {NCHW: y})


def _global_pooling(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """GlobalAveragePool / GlobalMaxPool, then Flatten unless keepdims."""
    base = layer.name
    op = ("GlobalAveragePool" if type(layer).__name__.startswith("GlobalAverage")
          else "GlobalMaxPool")
    keepdims = getattr(layer, "keepdims", False)
    pooled = b.node(op, [b.get(inputs[0], NCHW)], base if keepdims else f"{base}/pool")
    if keepdims:
        return Value(out_shape, {NCHW: pooled})
    return Value(out_shape, {PLAIN: b.node("Flatten", [pooled], base, axis=1)})


def _adaptive_pooling(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Adaptive pooling (1-D to 3-D): output cell ``i`` of ``o`` along an axis of ``n`` reads
    ``floor(i n / o)`` to ``ceil((i + 1) n / o) - 1``; the windows are boxes, so the pooling
    runs one axis at a time: per cell a Slice and a ReduceMean / ReduceMax over that axis, the
    cells Concat-ed (channels first)."""
    x = inputs[0]
    sizes = x.shape[1:-1]
    if any(size is None for size in sizes):
        raise refuse(layer, f"the input's spatial sizes must be known (input {x.shape}): the "
                            "windows are cut from them")
    reduce = "ReduceMax" if type(layer).__name__.startswith("AdaptiveMax") else "ReduceMean"
    base = layer.name
    y = b.get(x, NCHW)
    outs = [int(o) for o in np.atleast_1d(layer.output_size)]
    for k, (size, out) in enumerate(zip(sizes, outs)):
        axis = 2 + k
        cells = []
        for i in range(out):
            start, end = (i * size) // out, -(-((i + 1) * size) // out)
            cell = b.node("Slice", [y, b.ints(f"{base}/start{k}_{i}", [start]),
                                    b.ints(f"{base}/end{k}_{i}", [end]),
                                    b.ints(f"{base}/axis{k}_{i}", [axis])],
                          f"{base}/window{k}_{i}")
            cells.append(b.reduce(reduce, cell, [axis], f"{base}/cell{k}_{i}"))
        y = cells[0] if out == 1 else b.node("Concat", cells, f"{base}/axis{k}", axis=axis)
    return Value(out_shape, {NCHW: y})


def _zero_padding(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    pairs = _border_pairs(layer.padding)
    pads = b.constant(f"{layer.name}/pads", np.array(
        [0, 0, *(p[0] for p in pairs), 0, 0, *(p[1] for p in pairs)], dtype=np.int64))
    y = b.node("Pad", [b.get(inputs[0], NCHW), pads], layer.name, mode="constant")
    return Value(out_shape, {NCHW: y})


def _flatten(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    x = inputs[0]
    if x.rank == 2:
        return x
    # NHWC order, so that the flattened features line up with Keras's Dense kernel.
    return Value(out_shape, {PLAIN: b.node("Flatten", [b.get(x, PLAIN)], layer.name, axis=1)})


def _add(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    layout = b.shared_layout(inputs)
    names = [b.get(v, layout) for v in inputs]
    if len(names) == 1:
        return inputs[0]
    y = b.node("Add" if len(names) == 2 else "Sum", names, layer.name)
    return Value(out_shape, {layout: y})


def _custom_scale(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """InceptionResNetV2's ``shortcut + residual * scale``: a Mul by a constant, an Add."""
    layout = b.shared_layout(inputs)
    shortcut, residual = (b.get(v, layout) for v in inputs)
    scale = b.constant(f"{layer.name}/scale", np.array(layer.scale, dtype=np.float32))
    scaled = b.node("Mul", [residual, scale], f"{layer.name}/scaled")
    return Value(out_shape, {layout: b.node("Add", [shortcut, scaled], layer.name)})


def _concatenate(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    rank = inputs[0].rank
    layout = b.shared_layout(inputs)
    names = [b.get(v, layout) for v in inputs]
    y = b.node("Concat", names, layer.name, axis=axis_in(layout, rank, layer.axis))
    return Value(out_shape, {layout: y})


def _lambda_key(layer, shapes) -> tuple:
    return id(layer), tuple(tuple(shape) for shape in shapes)


def _trace_lambda(b: Builder, node, graph) -> None:
    """Run a Lambda's function on symbolic inputs of its call's shapes, as a functional model
    records the tensor operations (``x * 2``, ``keras.ops.mean``, ``tf.nn.relu``, ...), and
    keep that model in ``b.traced`` for `_lambda`; refuse a function that does not trace or
    uses an operation without an ONNX form."""
    layer = node.layer
    if node.template is not None:
        raise refuse(layer, "it is called with more than its input")
    kwargs = dict(layer.arguments)
    if layer._takes_training:
        kwargs["training"] = False
    _trace(b, node, graph, lambda given: layer.function(given, **kwargs), "its function")


def _is_user_layer(layer) -> bool:
    """A user's Layer subclass (or a subclassed model's call) whose ``call`` the user wrote:
    exported by tracing that call, as a Lambda's function is. A subclass of a built-in layer
    that keeps the built-in ``call`` is not (its other methods may differ; it is refused)."""
    if type(layer).__name__ == "ModelCall":
        return True
    if type(layer).__name__ in EXPORTERS:
        return False
    for klass in type(layer).__mro__:
        if "call" in vars(klass):
            return not klass.__module__.startswith("convnp.")
    return False


def _user_function(node) -> Callable:
    """What a user's layer (or subclassed model) computes from the symbolic inputs: its own
    ``call`` in inference mode (``training=False`` where it takes one), with the other
    arguments of the recorded call (``template``); a subclassed model's dict of outputs as
    its values in sorted-key order, as the model's graph has them."""
    from convnp.layers import taped
    from convnp.layers._slots import fill
    from convnp.models import subclassed

    layer = node.layer
    model = layer.model if type(layer).__name__ == "ModelCall" else layer
    if getattr(type(model), "_user_call", None) is not None:  # a subclassed model
        call = type(model)._user_call
        extra = {"training": False} if taped._accepts(call, "training") else {}
        return lambda given: subclassed.flat_outputs(model, call(model, given, **extra))
    call = taped.user_call_of(layer)
    extra = {"training": False} if taped._accepts(call, "training") else {}
    if node.template is None:
        return lambda given: call(layer, given, **extra)

    def with_template(given):
        inputs, args, kwargs = fill(node.template, list(given))
        return call(layer, inputs, *args, **{**kwargs, **extra})
    return with_template


def _trace_user_layer(b: Builder, node, graph) -> None:
    """A user's layer or subclassed model: its ``call`` traced on symbolic inputs
    (`_user_function`), then checked to compute what the layer computes. A layer called on
    symbolic tensors keeps the mode it was called with (``self.dropout(x,
    training=training)`` inside the call would stay ``training=False``), so the modes of the
    layers inside are put back afterwards: exporting leaves the model as it was."""
    if _mode(node.layer, b):
        raise refuse(node.layer, "its call is fixed to training=True (or it sits in a model "
                                 "called so); the exported graph computes inference")
    inside = _layers_within(node.layer)
    modes = [layer.__dict__.get("_fixed_training", _UNSET) for layer in inside]
    try:
        traced = _trace(b, node, graph, _user_function(node), "its call")
    finally:
        for layer, mode in zip(inside, modes):
            if mode is _UNSET:
                layer.__dict__.pop("_fixed_training", None)
            else:
                layer.__dict__["_fixed_training"] = mode
    _check_trace(node, graph, traced)


_UNSET = object()


def _layers_within(root) -> list:
    """The layers reachable from ``root``'s attributes (and lists, tuples, dicts of them),
    ``root`` included."""
    from convnp.layers.base import Layer

    seen: set[int] = set()
    found, stack = [], [root]
    while stack:
        item = stack.pop()
        if isinstance(item, Layer):
            if id(item) not in seen:
                seen.add(id(item))
                found.append(item)
                stack.extend(vars(item).values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def _check_trace(node, graph, traced) -> None:
    """Run the layer and its traced model on one batch of numbers, and refuse the layer if
    they differ: a ``call`` may do what tracing cannot see (Python branches on values, NumPy
    on the tensors, state of its own), and the file must compute what ``predict`` does.
    Unknown sizes after the batch are taken as 8; skipped when an input is not float (no
    batch to make up) or the layer refuses the made-up batch."""
    shapes = [graph.tensors[s].shape for s in node.inputs]
    dtypes = [str(getattr(graph.tensors[s], "dtype", "float32")) for s in node.inputs]
    if any(not dtype.startswith("float") for dtype in dtypes):
        return
    rng = np.random.default_rng(0)
    xs = [rng.uniform(0.0, 1.0, (2, *(8 if d is None else d for d in shape[1:])))
          .astype(np.float32) for shape in shapes]
    given = xs if node.multi else xs[0]
    try:
        want = node.run(given, training=False)
        got = traced.predict(given, verbose=0)
    except Exception:  # noqa: BLE001 (a made-up size the layer does not take)
        return
    wants = list(want) if isinstance(want, (list, tuple)) else [want]
    gots = list(got) if isinstance(got, (list, tuple)) else [got]
    for w, g in zip(wants, gots):
        w, g = np.asarray(w, dtype=np.float64), np.asarray(g, dtype=np.float64)
        scale = max(float(np.max(np.abs(w))) if w.size else 0.0, 1e-6)
        if w.shape != g.shape or not np.allclose(w, g, rtol=1e-4, atol=1e-4 * scale,
                                                 equal_nan=True):
            raise refuse(node.layer, "its call, traced on symbolic tensors, computes something "
                                     "else than the layer does (Python decisions on tensor "
                                     "values, NumPy on the tensors or state of its own are "
                                     "not seen by tracing); write it with tensor operations "
                                     "(keras.ops, tf.*) and layers")


def _trace(b: Builder, node, graph, function: Callable, what: str):
    """``function`` run once on symbolic inputs of the call's shapes (and dtypes), recorded
    as a functional model, checked exportable and kept in ``b.traced`` (for `_lambda`)."""
    from convnp.models import Input, Model

    layer = node.layer
    tensors = [graph.tensors[s] for s in node.inputs]
    shapes = [t.shape for t in tensors]
    key = _lambda_key(layer, shapes)
    if key in b.traced:
        return b.traced[key]
    try:
        inner = [Input(batch_shape=tuple(t.shape), dtype=str(getattr(t, "dtype", "float32")))
                 for t in tensors]
        given = inner if node.multi else inner[0]
        traced = Model(given, function(given))
    except Exception as error:  # noqa: BLE001 (a user's function may raise anything)
        raise refuse(layer, f"{what} could not be traced on symbolic tensors, so its "
                            f"operations are unknown ({type(error).__name__}: {error}); write "
                            "it with tensor operations (keras.ops, tf.*, arithmetic) or as "
                            "layers") from None
    try:
        _check_graph(traced, b)
    except ValueError as error:  # name the layer the user wrote, then what is inside it
        raise refuse(layer, f"{what} uses what cannot be exported: {error}") from None
    b.traced[key] = traced
    return traced


def _lambda(b: Builder, layer, inputs: list[Value], out_shape) -> Value:
    """A Lambda, a user's layer or a subclassed model's call: the operations its function
    made when traced (`_trace`), inlined."""
    traced = b.traced[_lambda_key(layer, [v.shape for v in inputs])]
    return _nested_model(b, traced, inputs, out_shape)


def _mode(layer, b: Builder) -> bool:
    """Whether ``layer``'s call runs in training mode at predict: fixed by
    ``layer(x, training=...)``, else that of the model it sits in (`Builder.training`)."""
    fixed = getattr(layer, "_fixed_training", None)
    return b.training if fixed is None else bool(fixed)


def _nested_model(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """A model used as a layer: its own calls, inlined (the same walk as the outer model), in
    the mode it is called in; the list of its outputs' values when it has several
    (`_output_pick` takes each)."""
    outer, b.training = b.training, _mode(layer, b)
    try:
        values = _emit_graph(b, layer, inputs)
    finally:
        b.training = outer
    return values[0] if len(values) == 1 else values


def _output_pick(b: Builder, layer, inputs: list, out_shape: tuple) -> Value:
    """One output of a call with several (`convnp.layers.base.OutputPick`): no node."""
    return inputs[0][layer.index]


# TensorFlowOpLayer op -> ONNX operator (the layer says which side its constant is on)
_TF_OPS = {"add": "Add", "sub": "Sub", "mul": "Mul", "truediv": "Div", "rsub": "Sub",
           "rtruediv": "Div"}


def _tf_op(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Arithmetic with a constant (``x / 127.5``, ``1.0 - x``), or the channel order reversed,
    on the tensor as Keras has it (a per-channel constant broadcasts on its last axis)."""
    x = b.get(inputs[0], PLAIN)
    if layer.op == "reverse_channels":
        # Slice(starts=-1, ends=before the first, axes=-1, steps=-1): the last axis reversed
        args = [b.constant(f"{layer.name}/{key}", np.array([value], np.int64)) for key, value
                in (("starts", -1), ("ends", np.iinfo(np.int64).min), ("axes", -1),
                    ("steps", -1))]
        return Value(out_shape, {PLAIN: b.node("Slice", [x, *args], layer.name)})
    c = b.constant(f"{layer.name}/value", f32(layer.value))
    operands = [c, x] if layer.constant_first else [x, c]
    return Value(out_shape, {PLAIN: b.node(_TF_OPS[layer.op], operands, layer.name)})


# -- tensor functions applied to KerasTensors (TFOpLambda) -------------------------------------
# By the function's public name (keras.ops' and TensorFlow's spellings), on the tensors as
# Keras has them (PLAIN layout). Arguments are read by name from the function's signature.

_LAMBDA_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp",
                 "log": "Log", "abs": "Abs", "absolute": "Abs", "sqrt": "Sqrt",
                 "negative": "Neg", "softplus": "Softplus", "softsign": "Softsign",
                 "floor": "Floor", "ceil": "Ceil", "erf": "Erf", "identity": "Identity",
                 "sin": "Sin", "cos": "Cos", "tan": "Tan", "sinh": "Sinh", "cosh": "Cosh",
                 "arctan": "Atan", "reciprocal": "Reciprocal", "sign": "Sign",
                 "round": "Round"}
#: keras.ops activations (their defaults are the activations' own: leaky_relu's slope 0.2,
#: elu's alpha 1, log_softmax's last axis), written by `activation`
_LAMBDA_ACTIVATIONS = ("silu", "swish", "elu", "selu", "relu6", "hard_sigmoid", "hard_silu",
                       "leaky_relu", "log_softmax")
_LAMBDA_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div",
                  "true_divide": "Div", "truediv": "Div", "maximum": "Max",
                  "minimum": "Min", "power": "Pow", "pow": "Pow", "matmul": "MatMul"}
_LAMBDA_REDUCE = {"mean": "ReduceMean", "reduce_mean": "ReduceMean", "sum": "ReduceSum",
                  "reduce_sum": "ReduceSum", "max": "ReduceMax", "reduce_max": "ReduceMax",
                  "min": "ReduceMin", "reduce_min": "ReduceMin"}
_LAMBDA_OTHER = ("square", "rsqrt", "log1p", "concatenate", "concat", "softmax", "reshape",
                 "transpose", "expand_dims", "squeeze", "clip", "clip_by_value", "get_item",
                 "tile", "extract_patches")
_LAMBDA_ONE_ARGUMENT = {*_LAMBDA_UNARY, *_LAMBDA_ACTIVATIONS, "square", "rsqrt", "log1p"}
_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)


def _lambda_arguments(layer) -> list:
    """The op's arguments in its signature's order (defaults filled in)."""
    import inspect

    bound = inspect.signature(layer.function).bind(*layer.args, **layer.kwargs)
    bound.apply_defaults()
    return list(bound.arguments.values())


def _check_op_lambda(layer) -> None:
    """Refuse what `_op_lambda` cannot write, before any node is made: another function, or
    an argument it would ignore set away from its default (``tf.matmul(a, b,
    transpose_b=True)``)."""
    import inspect

    name = layer.function.op_name
    known = {*_LAMBDA_UNARY, *_LAMBDA_ACTIVATIONS, *_LAMBDA_BINARY, *_LAMBDA_REDUCE,
             *_LAMBDA_OTHER, *_LAMBDA_MORE}
    if name not in known:
        raise refuse(layer, f"the tensor function {name!r} has no ONNX mapping (exported: "
                             f"{', '.join(sorted(known))})")
    if name == "extract_patches":
        _patch_geometry(layer)
        return
    if name in _LAMBDA_MORE:
        _more_plan(layer, name)
        return
    args = _lambda_arguments(layer)
    used = 1 if name in _LAMBDA_ONE_ARGUMENT else \
        3 if name in _LAMBDA_REDUCE or name.startswith("clip") else 2
    params = list(inspect.signature(layer.function).parameters.values())
    for param, value in zip(params[used:], args[used:]):
        if param.name != "name" and param.kind not in (param.VAR_POSITIONAL,
                                                       param.VAR_KEYWORD) \
                and not (value is param.default or (not isinstance(value, np.ndarray)
                                                     and value == param.default)):
            raise refuse(layer, f"{name}'s argument {param.name}={value!r} has no ONNX "
                                 "mapping")
    if name == "squeeze" and args[1] is None:
        raise refuse(layer, "squeeze needs its axis (it could drop the batch axis)")
    if name == "get_item":
        _slicing_plan(layer, args[1], len(layer.input_shape))


def _patch_geometry(layer) -> tuple[list[int], list[int], list[int], str]:
    """``(window, strides, rates, padding)`` of ``tf.image.extract_patches(images, sizes,
    strides, rates, padding)`` or ``keras.ops.image.extract_patches(images, size, strides,
    dilation_rate, padding)``: both spellings share the op's name, so the arguments are read
    by the names of its signature. Refuses what the one-hot convolution of `_op_lambda` cannot
    write (not a batch of NHWC images with known channels)."""
    import inspect

    bound = inspect.signature(layer.function).bind(*layer.args, **layer.kwargs)
    bound.apply_defaults()
    got = bound.arguments
    shape = tuple(layer.input_shape)
    if len(shape) != 4 or shape[-1] is None:
        raise refuse(layer, f"extract_patches needs a batch of images (batch, height, width, "
                            f"channels) with known channels, got shape {shape}")
    if got.get("data_format") not in (None, "channels_last"):
        raise refuse(layer, f"extract_patches' data_format={got['data_format']!r} is not "
                            "supported")

    def pair(value) -> list[int]:
        seq = np.asarray(value).reshape(-1).tolist()
        return [int(seq[0])] * 2 if len(seq) == 1 else [int(v) for v in seq]

    if "sizes" in got:  # TensorFlow's [1, rows, cols, 1] lists
        window, strides, rates = (pair(got[k])[1:3] for k in ("sizes", "strides", "rates"))
    else:
        window = pair(got["size"])
        strides = pair(got["strides"]) if got["strides"] else window
        rates = pair(got["dilation_rate"])
    return window, strides, rates, str(got["padding"]).upper()


def _extract_patches(b: Builder, layer, x: str, shape: tuple) -> str:
    """Patches as a convolution whose kernel copies one input value to each output channel:
    output channel ``(i * cols + j) * C + c`` takes channel ``c`` at window row ``i``, column
    ``j`` (TF's order: window rows, columns, then channels), so every output is an input value
    times one plus zeros, exactly. On NCHW data, then back to Keras's NHWC."""
    window, strides, rates, padding = _patch_geometry(layer)
    channels = int(shape[-1])
    kernel = np.zeros((window[0] * window[1] * channels, channels, *window), np.float32)
    for i in range(window[0]):
        for j in range(window[1]):
            for c in range(channels):
                kernel[(i * window[1] + j) * channels + c, c, i, j] = 1.0
    spread = [(k - 1) * r + 1 for k, r in zip(window, rates)]
    if padding == "VALID":
        pads: dict[str, Any] = {"pads": [0, 0, 0, 0]}
    else:
        pads = _same_pads(layer, shape[1:3], spread, strides)
    base = layer.name
    nchw = b.node("Transpose", [x], f"{base}/to_nchw", perm=[0, 3, 1, 2])
    conv = b.node("Conv", [nchw, b.constant(f"{base}/one_hot", kernel)], f"{base}/conv",
                  kernel_shape=window, strides=strides, dilations=rates, **pads)
    return b.node("Transpose", [conv], base, perm=[0, 2, 3, 1])


def _slicing_plan(layer, key, rank: int) -> tuple[list, list[int], list[int]]:
    """``x[key]`` as ``(Slice (start, end, axis, step) rows, axes to squeeze, axes to
    unsqueeze)``; refuses what is not basic indexing."""
    items = list(key) if isinstance(key, tuple) else [key]
    if sum(item is Ellipsis for item in items) > 1:
        raise refuse(layer, "an index with two Ellipses")
    used = sum(1 for item in items if item is not None and item is not Ellipsis)
    for at, item in enumerate(items):  # by identity: an array index compares elementwise
        if item is Ellipsis:
            items[at:at + 1] = [slice(None)] * (rank - used)
            break
    rows, squeeze, unsqueeze = [], [], []
    axis = out = 0
    for item in items:
        if item is None:
            unsqueeze.append(out)
            out += 1
        elif isinstance(item, slice):
            if not all(p is None or isinstance(p, (int, np.integer)) for p in
                       (item.start, item.stop, item.step)):
                raise refuse(layer, f"slice {item} is not made of integers")
            step = 1 if item.step is None else int(item.step)
            if item != slice(None) and item != slice(None, None, 1):
                start = item.start if item.start is not None else (0 if step > 0 else _INT64_MAX)
                stop = item.stop if item.stop is not None else (
                    _INT64_MAX if step > 0 else _INT64_MIN)
                rows.append((int(start), int(stop), axis, step))
            axis += 1
            out += 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            i = int(item)
            rows.append((i, i + 1 if i != -1 else _INT64_MAX, axis, 1))
            squeeze.append(axis)
            axis += 1
        else:
            raise refuse(layer, f"index {item!r:.40} is not an int, a slice, None or Ellipsis")
    if axis > rank:
        raise refuse(layer, f"an index of {axis} axes on a tensor of rank {rank}")
    if 0 in squeeze or any(row[2] == 0 for row in rows):
        raise refuse(layer, "indexing the batch axis")
    # Squeeze runs before Unsqueeze, whose axes are positions in the final output (`out`)
    return rows, squeeze, unsqueeze


def _op_lambda(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    from convnp.layers.op_layer import Slot

    name = layer.function.op_name
    if name in _LAMBDA_MORE:
        return _more_op(b, layer, name, inputs, out_shape)
    args = _lambda_arguments(layer)

    def operand(value, label: str) -> str:
        if isinstance(value, Slot):
            return b.get(inputs[value.index], PLAIN)
        return b.constant(f"{layer.name}/{label}", f32(value))

    def ints(label: str, values) -> str:
        return b.constant(f"{layer.name}/{label}", np.asarray(values, dtype=np.int64).ravel())

    x = operand(args[0], "x") if not isinstance(args[0], list) else None
    if name in _LAMBDA_UNARY:
        y = b.node(_LAMBDA_UNARY[name], [x], layer.name)
    elif name in _LAMBDA_BINARY:
        y = b.node(_LAMBDA_BINARY[name], [x, operand(args[1], "y")], layer.name)
    elif name in _LAMBDA_ACTIVATIONS:
        y = activation(b, name, x, PLAIN, len(out_shape), layer.name, layer)
    elif name == "square":
        y = b.node("Mul", [x, x], layer.name)
    elif name == "rsqrt":
        y = b.node("Reciprocal", [b.node("Sqrt", [x], f"{layer.name}/sqrt")], layer.name)
    elif name == "log1p":
        y = b.node("Log", [b.node("Add", [x, b.scalar(f"{layer.name}/one", 1.0)],
                                  f"{layer.name}/plus_one")], layer.name)
    elif name == "tile":
        repeats = [int(r) for r in np.atleast_1d(args[1])]
        repeats = [1] * (inputs[0].rank - len(repeats)) + repeats
        y = b.node("Tile", [x, ints("repeats", repeats)], layer.name)
    elif name in _LAMBDA_REDUCE:
        y = b.reduce(_LAMBDA_REDUCE[name], x, args[1], layer.name, keepdims=bool(args[2]))
    elif name in ("concatenate", "concat"):
        y = b.node("Concat", [operand(v, f"part{i}") for i, v in enumerate(args[0])],
                   layer.name, axis=int(args[1]))
    elif name == "softmax":
        y = b.node("Softmax", [x], layer.name, axis=-1 if args[1] is None else int(args[1]))
    elif name == "reshape":
        y = b.node("Reshape", [x, ints("shape", list(args[1]))], layer.name)
    elif name == "transpose":
        perm = None if args[1] is None else [int(a) for a in args[1]]
        y = b.node("Transpose", [x], layer.name, **({} if perm is None else {"perm": perm}))
    elif name == "expand_dims":
        y = b.node("Unsqueeze", [x, ints("axes", np.atleast_1d(args[1]))], layer.name)
    elif name == "squeeze":
        y = b.node("Squeeze", [x, ints("axes", np.atleast_1d(args[1]))], layer.name)
    elif name == "extract_patches":
        y = _extract_patches(b, layer, x, inputs[0].shape)
    elif name in ("clip", "clip_by_value"):
        low, high = (b.constant(f"{layer.name}/{k}", np.array(v, dtype=np.float32))
                     for k, v in (("min", args[1]), ("max", args[2])))
        y = b.node("Clip", [x, low, high], layer.name)
    else:  # get_item
        rows, squeeze, unsqueeze = _slicing_plan(layer, args[1], inputs[0].rank)
        y = x
        if rows:
            starts, ends, axes, steps = zip(*rows)
            y = b.node("Slice", [y, ints("starts", starts), ints("ends", ends),
                                 ints("axes", axes), ints("steps", steps)],
                       f"{layer.name}/slice" if squeeze or unsqueeze else layer.name)
        if squeeze:
            y = b.node("Squeeze", [y, ints("squeeze", squeeze)],
                       f"{layer.name}/squeeze" if unsqueeze else layer.name)
        if unsqueeze:
            y = b.node("Unsqueeze", [y, ints("unsqueeze", unsqueeze)], layer.name)
        if y == x:
            y = b.node("Identity", [x], layer.name)
    return Value(out_shape, {PLAIN: y})


# -- more tensor functions users write in Lambdas and their own layers ---------------------------
# Each has several spellings (TensorFlow's and keras.ops'), with different argument names, so
# `_more_plan` reads the arguments by name and says what to write (or refuses) before any node
# is made; `_more_op` writes it.

_COMPARISONS = {"greater": "Greater", "greater_equal": "GreaterOrEqual", "less": "Less",
                "less_equal": "LessOrEqual", "equal": "Equal"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_not": "Not"}
_LAMBDA_MORE = ("gelu", "l2_normalize", "normalize", "resize", "einsum", "stack", "pad",
                "depth_to_space", "space_to_depth", "cumsum", "reduce_std", "std",
                "reduce_variance", "var", "norm", "matmul", "cast", "argmax", "argmin",
                *_COMPARISONS, *_LOGICAL, "where", "split", "unstack", "batch_dot")


def _named_arguments(layer) -> dict:
    import inspect

    bound = inspect.signature(layer.function).bind(*layer.args, **layer.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _feature_axes(layer, axis, rank: int, what: str) -> list[int]:
    """``axis`` (an int or a list) as non-negative axes of a rank-``rank`` tensor; refused when
    it is None or holds the batch axis (the graph would mix the samples of a batch)."""
    if axis is None:
        raise refuse(layer, f"{what} over every axis (axis=None) mixes the samples of a batch; "
                            "give the axis")
    axes = [int(a) % rank for a in np.atleast_1d(axis)]
    if 0 in axes:
        raise refuse(layer, f"{what} over the batch axis mixes the samples of a batch")
    return axes


def _more_plan(layer, name: str) -> dict:
    """What `_more_op` writes for ``layer``: the arguments it needs, checked; refuses what
    has no exact ONNX form."""
    got = _named_arguments(layer)
    rank = len(layer.input_shape) if not isinstance(layer.input_shape, list) else None
    plan: dict = {"name": name}
    if name == "gelu":
        plan["approximate"] = bool(got["approximate"])
    elif name in ("l2_normalize", "normalize"):
        plan["axes"] = _feature_axes(layer, got["axis"], rank, name)
        if name == "normalize":
            if got["order"] != 2:
                raise refuse(layer, f"normalize's order={got['order']!r} is not exported "
                                    "(order 2 is)")
            from convnp import _settings

            eps = got["epsilon"] if got["epsilon"] is not None else _settings.epsilon()
            plan["inverse_cap"] = 1.0 / float(eps)
        else:
            plan["epsilon"] = float(got.get("epsilon", 1e-12))
    elif name == "resize":
        method = got.get("method", got.get("interpolation"))
        method = getattr(method, "value", method)
        flags = [key for key in ("preserve_aspect_ratio", "antialias", "crop_to_aspect_ratio",
                                 "pad_to_aspect_ratio") if got.get(key)]
        if str(method).lower() not in ("bilinear", "nearest") or flags:
            raise refuse(layer, f"resize exports 'bilinear' or 'nearest' without "
                                f"{', '.join(flags) or 'other options'} only, got "
                                f"{method!r}")
        if got.get("data_format") not in (None, "channels_last") or rank != 4:
            raise refuse(layer, "resize exports a batch of channels-last images only")
        plan["method"] = str(method).lower()
        plan["size"] = [int(v) for v in np.asarray(got["size"]).reshape(-1)]
    elif name == "einsum":
        equation = got.get("equation", got.get("subscripts"))
        if not isinstance(equation, str) or got.get("kwargs"):
            raise refuse(layer, "einsum needs its equation as a string and no other options")
        plan["equation"] = equation.replace(" ", "")
        plan["operands"] = list(got.get("inputs", got.get("operands")))
    elif name == "stack":
        values = got.get("values", got.get("x"))
        plan["values"] = list(values)
        plan["axis"] = int(got["axis"]) % (len(layer.output_shape))
        if plan["axis"] == 0:
            raise refuse(layer, "stack on axis 0 puts the tensors before the batch axis")
    elif name == "pad":
        mode = str(got["mode"]).lower()
        if mode not in ("constant", "reflect"):
            raise refuse(layer, f"pad's mode {got['mode']!r} has no ONNX form (constant and "
                                "reflect have)")
        pairs = np.asarray(got.get("paddings", got.get("pad_width")), dtype=np.int64)
        pairs = np.broadcast_to(pairs.reshape(-1, 2) if pairs.size > 1 else pairs,
                                (rank, 2)) if pairs.size <= 2 else pairs.reshape(rank, 2)
        if tuple(pairs[0]) != (0, 0):
            raise refuse(layer, "pad on the batch axis")
        plan.update(mode=mode, pads=[int(v) for v in pairs[:, 0]] +
                    [int(v) for v in pairs[:, 1]],
                    value=float(got.get("constant_values") or 0.0))
    elif name in ("depth_to_space", "space_to_depth"):
        if got.get("data_format", "NHWC") != "NHWC" or rank != 4:
            raise refuse(layer, f"{name} exports NHWC images only")
        plan["block"] = int(got["block_size"])
    elif name == "cumsum":
        if got.get("dtype") is not None:
            raise refuse(layer, "cumsum's dtype has no ONNX mapping")
        plan["axis"] = _feature_axes(layer, got["axis"], rank, name)[0]
        plan["exclusive"] = int(bool(got.get("exclusive", False)))
        plan["reverse"] = int(bool(got.get("reverse", False)))
    elif name in ("reduce_std", "std", "reduce_variance", "var"):
        plan["axes"] = _feature_axes(layer, got["axis"], rank, name)
        plan["keepdims"] = bool(got["keepdims"])
        plan["root"] = name in ("reduce_std", "std")
    elif name == "norm":
        order = got.get("ord")
        if order not in (None, "euclidean", 2, 2.0) or got["axis"] is None \
                or len(np.atleast_1d(got["axis"])) != 1:
            raise refuse(layer, "norm exports the euclidean norm over one given axis only")
        plan["axes"] = _feature_axes(layer, got["axis"], rank, name)
        plan["keepdims"] = bool(got["keepdims"])
    elif name == "matmul":
        extra = [key for key in ("a_is_sparse", "b_is_sparse", "output_type") if got.get(key)]
        if extra:
            raise refuse(layer, f"matmul's {', '.join(extra)} has no ONNX mapping")
        plan["flip"] = [bool(got.get("transpose_a") or got.get("adjoint_a")),
                        bool(got.get("transpose_b") or got.get("adjoint_b"))]
        plan["operands"] = [got.get("a", got.get("x1")), got.get("b", got.get("x2"))]
    elif name in _COMPARISONS or name in _LOGICAL:
        plan["operands"] = [v for k, v in got.items() if k != "name"][:1 if name ==
                                                                        "logical_not" else 2]
    elif name == "where":
        operands = [v for k, v in got.items() if k != "name"]
        if operands[1] is None or operands[2] is None:
            raise refuse(layer, "where with the condition alone (the coordinates of the true "
                                "entries) has no fixed shape; give both values")
        plan["operands"] = operands[:3]
    elif name in ("split", "unstack"):
        plan.update(_split_plan(layer, name, got, tuple(layer.input_shape)))
    elif name == "batch_dot":
        plan["operands"] = [got["x"], got["y"]]
        plan["axes"] = got["axes"]
    elif name in ("argmax", "argmin"):
        plan["axis"] = _feature_axes(layer, got["axis"], rank, name)[0]
        plan["keepdims"] = bool(got.get("keepdims", False))
    elif name == "cast" and _dtype_name(got["dtype"]) != "float32":
        raise refuse(layer, "cast exports to float32 only (the graph computes in float32)")
    return plan


def _split_plan(layer, name: str, got: dict, shape: tuple) -> dict:
    """The part sizes of ``tf.split(x, n or sizes, axis)``, ``keras.ops.split(x, sections or
    split points, axis)`` (NumPy's rule) or ``unstack`` (parts of one, squeezed), along a
    known axis that is not the batch."""
    axis = _feature_axes(layer, got["axis"], len(shape), name)[0]
    size = shape[axis]
    if size is None:
        raise refuse(layer, f"{name} needs the size of axis {axis} known, got shape {shape}")
    if name == "unstack":
        return {"axis": axis, "sizes": [1] * size, "squeeze": True}
    given = got.get("num_or_size_splits", got.get("indices_or_sections"))
    if np.ndim(given) == 0:
        sizes = [size // int(given)] * int(given)
    elif "num_or_size_splits" in got:  # TensorFlow: the sizes (one may be -1: the rest)
        sizes = [int(v) for v in np.asarray(given).reshape(-1)]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = size - (sum(sizes) + 1)
    else:  # keras.ops: the split points
        points = [0, *(int(v) for v in np.asarray(given).reshape(-1)), size]
        sizes = [max(end - start, 0) for start, end in itertools.pairwise(points)]
    return {"axis": axis, "sizes": sizes, "squeeze": False}


def _batch_dot(b: Builder, base: str, operands: list[str], ranks: list[int], axes) -> str:
    """Keras 2's ``K.batch_dot(x, y, axes)`` as one Einsum: per example, x's axis ``axes[0]``
    summed against y's ``axes[1]`` (by default x's last with y's last for a 2-D y, else y's
    second to last); x's other axes, then y's; two 2-D operands give ``(batch, 1)``."""
    x_rank, y_rank = ranks
    if axes is None:
        axes = [x_rank - 1, y_rank - 1 if y_rank == 2 else y_rank - 2]
    elif np.ndim(axes) == 0:
        axes = [axes, axes]
    ax, ay = int(axes[0]) % x_rank, int(axes[1]) % y_rank
    letters = "bcdefghijklmnopqrstuvwxyz"
    x_sub = ["a", *letters[:x_rank - 1]]
    y_sub = ["a", *letters[x_rank - 1:x_rank + y_rank - 2]]
    y_sub[ay] = x_sub[ax]
    out = [c for i, c in enumerate(x_sub) if i != ax] + [
        c for i, c in enumerate(y_sub) if i not in (0, ay)]
    equation = f"{''.join(x_sub)},{''.join(y_sub)}->{''.join(out)}"
    if x_rank == 2 and y_rank == 2:
        summed = b.node("Einsum", operands, f"{base}/summed", equation=equation)
        return b.node("Unsqueeze", [summed, b.ints(f"{base}/axis", [1])], base)
    return b.node("Einsum", operands, base, equation=equation)


def _dtype_name(dtype) -> str:
    """``tf.float32``, ``np.float32``, ``"float32"``, ... as ``"float32"``."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    return str(name)


def _more_op(b: Builder, layer, name: str, inputs: list[Value], out_shape: tuple) -> Value:
    """The nodes of a function of `_LAMBDA_MORE` (planned by `_more_plan`), on the tensors as
    Keras has them."""
    from convnp.io import _onnx_preprocessing
    from convnp.layers.op_layer import Slot

    plan = _more_plan(layer, name)
    base = layer.name

    def operand(value, label: str) -> str:
        if isinstance(value, Slot):
            return b.get(inputs[value.index], PLAIN)
        return b.constant(f"{base}/{label}", f32(value))

    def scalar(label: str, value: float) -> str:
        return b.constant(f"{base}/{label}", np.array(value, dtype=np.float32))

    x = b.get(inputs[0], PLAIN)
    if name == "gelu" and plan["approximate"]:
        # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        cube = b.node("Mul", [b.node("Mul", [x, x], f"{base}/square"), x], f"{base}/cube")
        inner = b.node("Add", [x, b.node("Mul", [cube, scalar("c", 0.044715)], f"{base}/cubic")],
                       f"{base}/inner")
        tanh = b.node("Tanh", [b.node("Mul", [inner, scalar("k", (2 / np.pi) ** 0.5)],
                                      f"{base}/scaled")], f"{base}/tanh")
        half = b.node("Mul", [b.node("Add", [tanh, scalar("one", 1.0)], f"{base}/plus_one"),
                              scalar("half", 0.5)], f"{base}/gate")
        y = b.node("Mul", [x, half], base)
    elif name == "gelu":
        y = activation(b, "gelu", x, PLAIN, len(out_shape), base, layer)
    elif name in ("l2_normalize", "normalize"):
        sums = b.reduce("ReduceSum", b.node("Mul", [x, x], f"{base}/square"), plan["axes"],
                        f"{base}/sum")
        if name == "l2_normalize":  # x * rsqrt(max(sum, epsilon))
            floor = b.node("Max", [sums, scalar("epsilon", plan["epsilon"])], f"{base}/floor")
            inverse = b.node("Reciprocal", [b.node("Sqrt", [floor], f"{base}/sqrt")],
                             f"{base}/inverse")
        else:  # x * min(rsqrt(sum), 1 / epsilon)
            raw = b.node("Reciprocal", [b.node("Sqrt", [sums], f"{base}/sqrt")],
                         f"{base}/raw_inverse")
            inverse = b.node("Min", [raw, scalar("cap", plan["inverse_cap"])],
                             f"{base}/inverse")
        y = b.node("Mul", [x, inverse], base)
    elif name == "resize":
        height, width = plan["size"]
        y = _onnx_preprocessing._resize(b, b.get(inputs[0], NCHW), base, height, width,
                                        plan["method"])
        return Value(out_shape, {NCHW: y})
    elif name == "einsum":
        y = b.node("Einsum", [operand(v, f"operand{i}") for i, v in
                              enumerate(plan["operands"])], base, equation=plan["equation"])
    elif name == "stack":
        axis = plan["axis"]
        parts = [b.node("Unsqueeze", [operand(v, f"part{i}"), b.ints(f"{base}/axis{i}", [axis])],
                        f"{base}/part{i}") for i, v in enumerate(plan["values"])]
        y = b.node("Concat", parts, base, axis=axis)
    elif name == "pad":
        y = b.node("Pad", [x, b.ints(f"{base}/pads", plan["pads"]),
                           scalar("value", plan["value"])], base, mode=plan["mode"])
    elif name in ("depth_to_space", "space_to_depth"):
        nchw = b.node("Transpose", [x], f"{base}/to_nchw", perm=[0, 3, 1, 2])
        attrs = {"mode": "DCR"} if name == "depth_to_space" else {}
        moved = b.node("DepthToSpace" if name == "depth_to_space" else "SpaceToDepth", [nchw],
                       f"{base}/moved", blocksize=plan["block"], **attrs)
        y = b.node("Transpose", [moved], base, perm=[0, 2, 3, 1])
    elif name == "cumsum":
        y = b.node("CumSum", [x, b.constant(f"{base}/axis", np.array(plan["axis"], np.int64))],
                   base, exclusive=plan["exclusive"], reverse=plan["reverse"])
    elif name in ("reduce_std", "std", "reduce_variance", "var"):
        mean = b.reduce("ReduceMean", x, plan["axes"], f"{base}/mean")
        centred = b.node("Sub", [x, mean], f"{base}/centred")
        last = f"{base}/variance" if plan["root"] else base
        y = b.reduce("ReduceMean", b.node("Mul", [centred, centred], f"{base}/square"),
                     plan["axes"], last, keepdims=plan["keepdims"])
        if plan["root"]:
            y = b.node("Sqrt", [y], base)
    elif name == "norm":
        sums = b.reduce("ReduceSum", b.node("Mul", [x, x], f"{base}/square"), plan["axes"],
                        f"{base}/sum", keepdims=plan["keepdims"])
        y = b.node("Sqrt", [sums], base)
    elif name == "matmul":
        sides = []
        for i, (value, flip) in enumerate(zip(plan["operands"], plan["flip"])):
            side = operand(value, "ab"[i])
            if flip:
                rank = (inputs[value.index].rank if isinstance(value, Slot)
                        else np.ndim(value))
                perm = [*range(rank - 2), rank - 1, rank - 2]
                side = b.node("Transpose", [side], f"{base}/{'ab'[i]}_transposed", perm=perm)
            sides.append(side)
        y = b.node("MatMul", sides, base)
    elif name in _COMPARISONS or name in _LOGICAL or name == "where":
        # booleans (a value of its own layout, cast to float where computed with, as Keras
        # casts them) and the choice between two values
        def boolean(value, label: str) -> str:
            if isinstance(value, Slot):
                return b.get(inputs[value.index], BOOL)
            return b.constant(f"{base}/{label}", np.asarray(value, dtype=bool))

        if name in _COMPARISONS:
            y = b.node(_COMPARISONS[name], [operand(v, f"operand{i}") for i, v in
                                            enumerate(plan["operands"])], base)
            return Value(out_shape, {BOOL: y})
        if name in _LOGICAL:
            y = b.node(_LOGICAL[name], [boolean(v, f"operand{i}") for i, v in
                                        enumerate(plan["operands"])], base)
            return Value(out_shape, {BOOL: y})
        condition, first, second = plan["operands"]
        y = b.node("Where", [boolean(condition, "condition"), operand(first, "x"),
                             operand(second, "y")], base)
    elif name == "batch_dot":
        y = _batch_dot(b, base, [operand(v, f"operand{i}") for i, v in
                                 enumerate(plan["operands"])],
                       [inputs[v.index].rank if isinstance(v, Slot) else np.ndim(v)
                        for v in plan["operands"]], plan["axes"])
    elif name in ("split", "unstack"):
        axis = plan["axis"]
        count = len(plan["sizes"])
        parts = b.nodes_with_outputs("Split", [x, b.ints(f"{base}/sizes", plan["sizes"])],
                                     [f"{base}/part{i}" for i in range(count)], axis=axis)
        shapes = out_shape if isinstance(out_shape, list) else [out_shape] * count
        values = []
        for i, (part, shape) in enumerate(zip(parts, shapes)):
            if plan["squeeze"]:
                part = b.node("Squeeze", [part, b.ints(f"{base}/axis{i}", [axis])],
                              f"{base}/item{i}")
            values.append(Value(shape, {PLAIN: part}))
        return values
    elif name in ("argmax", "argmin"):
        # int64 indices (ties: the first, as NumPy and TF): an integer value, cast to float
        # where a later layer computes with it, or to the op's integer type as an output
        y = b.node("ArgMax" if name == "argmax" else "ArgMin", [x], base, axis=plan["axis"],
                   keepdims=int(plan["keepdims"]))
        return Value(out_shape, {IDS: y})
    else:  # cast to float32: the graph's values are float32 already
        y = b.node("Identity", [x], base)
    return Value(out_shape, {PLAIN: y})


def _time_distributed(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """The steps folded into the batch (Reshape), the inner layer's nodes, unfolded (Reshape
    to the input's batch and steps, read at run time)."""
    x = inputs[0]
    base = layer.name
    src = b.get(x, PLAIN)
    folded = b.node("Reshape", [src, b.ints(f"{base}/folded_shape", [-1, *x.shape[2:]])],
                    f"{base}/folded")
    inner = layer.layer
    y = EXPORTERS[type(inner).__name__](b, inner, [Value((None, *x.shape[2:]),
                                                         {PLAIN: folded})],
                                        (None, *out_shape[2:]))
    batch_steps = b.node("Slice", [b.node("Shape", [src], f"{base}/shape"),
                                   b.ints(f"{base}/zero", [0]), b.ints(f"{base}/two", [2])],
                         f"{base}/batch_steps")
    shape = b.node("Concat", [batch_steps, b.ints(f"{base}/step_shape", out_shape[2:])],
                   f"{base}/unfolded_shape", axis=0)
    return Value(out_shape, {PLAIN: b.node("Reshape", [b.get(y, PLAIN), shape], base)})


def _spectral_normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple
                            ) -> Value:
    """SpectralNormalization at inference: its layer as it is (the kernel holds the last
    normalized weights; only training calls renormalize)."""
    inner = layer.layer
    return EXPORTERS[type(inner).__name__](b, inner, inputs, out_shape)


def _pipeline(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Each of the pipeline's layers in turn."""
    value = inputs[0]
    for inner in layer.layers:
        value = EXPORTERS[type(inner).__name__](b, inner, [value],
                                                inner.compute_output_shape(value.shape))
    return value


#: The random augmentation layers: the identity at inference (what predict computes).
_AUGMENTATION = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomCrop", "RandomBrightness", "RandomHeight", "RandomWidth", "RandomInvert",
    "RandomGrayscale", "RandomColorDegeneration", "RandomHue", "RandomSaturation",
    "RandomPosterization", "RandomSharpness", "RandomGaussianBlur", "RandomColorJitter",
    "RandomShear", "RandomErasing", "RandomPerspective", "RandomElasticTransform",
    "Solarization", "Equalization", "MixUp", "CutMix", "RandAugment", "AugMix",
)


#: One exporter per layer class name: ``exporter(builder, layer, inputs, output_shape)`` emits
#: the nodes of one call and returns its output value. The keys are exactly the classes that
#: can be exported; any other layer is refused by name before anything is written.
EXPORTERS: dict[str, Callable[..., Value]] = {
    **dict.fromkeys(("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D"),
                    _conv),
    "SeparableConv1D": _separable_conv, "SeparableConv2D": _separable_conv,
    **dict.fromkeys(("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
                    _conv_transpose),
    **dict.fromkeys((f"{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3)),
                    _pooling),
    **dict.fromkeys((f"Global{kind}Pooling{n}D" for kind in ("Max", "Average")
                     for n in (1, 2, 3)), _global_pooling),
    **dict.fromkeys((f"ZeroPadding{n}D" for n in (1, 2, 3)), _zero_padding),
    **dict.fromkeys((f"Adaptive{kind}Pooling{n}D" for kind in ("Average", "Max")
                     for n in (1, 2, 3)), _adaptive_pooling),
    **dict.fromkeys((f"Cropping{n}D" for n in (1, 2, 3)), _cropping),
    **dict.fromkeys((f"UpSampling{n}D" for n in (1, 2, 3)), _upsampling),
    **dict.fromkeys(("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                     *(f"SpatialDropout{n}D" for n in (1, 2, 3)), "Identity",
                     "ActivityRegularization", *_AUGMENTATION), _identity),
    "Rescaling": preprocessing.rescaling, "Normalization": preprocessing.normalization,
    "Resizing": preprocessing.resizing, "CenterCrop": preprocessing.center_crop,
    "GroupNormalization": _group_normalization, "UnitNormalization": _unit_normalization,
    "RMSNormalization": _rms_normalization, "LayerScale": _layer_scale,
    "Masking": _masking, "RepeatVector": _repeat_vector, "Dot": _dot,
    "Embedding": sequence.embedding, "Lambda": _lambda,
    **dict.fromkeys(sequence.RECURRENT, sequence.recurrent),
    "Bidirectional": sequence.bidirectional,
    "EinsumDense": attention.einsum_dense, "MultiHeadAttention": attention.multi_head_attention,
    "Attention": attention.dot_attention, "AdditiveAttention": attention.dot_attention,
    "TimeDistributed": _time_distributed, "Pipeline": _pipeline,
    "SpectralNormalization": _spectral_normalization,
    "Dense": _dense, "BatchNormalization": _batch_normalization,
    "Activation": _activation_layer, "ReLU": _relu,
    "Flatten": _flatten,
    "Add": _add, "CustomScaleLayer": _custom_scale, "Concatenate": _concatenate,
    **dict.fromkeys(_MERGE_OPS, _elementwise_merge),
    **dict.fromkeys(("LeakyReLU", "ELU", "ThresholdedReLU", "Softmax"),
                    _elementwise_activation),
    "PReLU": _prelu, "Reshape": _reshape, "Permute": _permute,
    "LayerNormalization": _layer_normalization, "TensorFlowOpLayer": _tf_op,
    "TFOpLambda": _op_lambda,
    **dict.fromkeys(("Sequential", "Functional", "Model"), _nested_model),
    "OutputPick": _output_pick,
}




def _relu_layer(b: Builder, layer, x: str, base: str) -> str:
    """Keras's ReLU(max_value, negative_slope, threshold) as ONNX nodes."""
    max_value = layer.max_value
    slope = float(layer.negative_slope)
    threshold = float(layer.threshold)
    if max_value is None and slope == 0.0 and threshold == 0.0:
        return b.node("Relu", [x], base)
    if threshold == 0.0 and max_value is None:
        return b.node("LeakyRelu", [x], base, alpha=slope)
    if threshold == 0.0 and slope == 0.0:
        low = b.constant(f"{base}/min", np.array(0.0, dtype=np.float32))
        high = b.constant(f"{base}/max", np.array(max_value, dtype=np.float32))
        return b.node("Clip", [x, low, high], base)
    # General form: x >= t ? x : slope * (x - t), then the cap where x >= max_value.
    t = b.constant(f"{base}/threshold", np.array(threshold, dtype=np.float32))
    k = b.constant(f"{base}/negative_slope", np.array(slope, dtype=np.float32))
    below = b.node("Mul", [b.node("Sub", [x, t], f"{base}/shifted"), k], f"{base}/below")
    keep = b.node("GreaterOrEqual", [x, t], f"{base}/linear_part")
    last = base if max_value is None else f"{base}/uncapped"
    y = b.node("Where", [keep, x, below], last)
    if max_value is not None:
        cap = b.constant(f"{base}/max_value", np.array(max_value, dtype=np.float32))
        capped = b.node("GreaterOrEqual", [x, cap], f"{base}/capped")
        y = b.node("Where", [capped, cap, y], base)
    return y


def _model_graph(model):
    """The model's own graph (`convnp.models.functional.Graph`): the one walk of its calls."""
    graph = getattr(model, "_graph", None)
    if graph is None or not getattr(model, "outputs", None):
        raise ValueError(f"cannot export model '{getattr(model, 'name', model)}' to ONNX: it is "
                         "not built (give the first layer an input_shape, start from Input(...), "
                         "or call build/predict first)")
    return graph


def _graph_checks() -> dict[str, Callable]:
    """Checks that must run before the general ones (by layer class): a recurrent layer
    reading a mask is refused for its mask, before the ops that make the mask are."""
    return {"Lambda": _trace_lambda, "RandomCrop": _check_random_crop,
            "TimeDistributed": _check_time_distributed, "Pipeline": _check_pipeline,
            "SpectralNormalization": _check_spectral_normalization,
            **dict.fromkeys(sequence.MASKED_CALLS, sequence.check_call),
            **dict.fromkeys((*sequence.RECURRENT, "Bidirectional"), sequence.check_recurrent),
            "MultiHeadAttention": attention.check_attention,
            **dict.fromkeys(("Attention", "AdditiveAttention"), attention.check_dot_attention)}


def _check_random_crop(b: Builder, node, graph) -> None:
    """RandomCrop passes images through unchanged at inference (Keras 3), so its output has
    the window's size only when the input has it too."""
    shape = graph.tensors[node.inputs[0]].shape
    layer = node.layer
    if tuple(shape[1:3]) != (layer.height, layer.width):
        raise refuse(layer, f"at inference it passes the {shape[1:3]} images through unchanged "
                            f"(as Keras 3 does), not the ({layer.height}, {layer.width}) its "
                            "output shape says; crop with CenterCrop for inference")


def _check_graph(model, b: Builder) -> None:
    """Refuse, before any node is made, a call of a layer that has no exporter (nested models
    and traced Lambda functions are checked call by call too)."""
    graph = _model_graph(model)
    checks = _graph_checks()
    for node in graph.nodes:
        check = checks.get(type(node.layer).__name__)
        if check is None and _is_user_layer(node.layer):
            check = _trace_user_layer
        if check is not None:
            check(b, node, graph)
    for node in graph.nodes:  # before the ops that make the mask are looked at
        if node.template is not None and "mask" in node.template[2]:
            raise refuse(node.layer, "its call reads a mask (from Masking, "
                                     "Embedding(mask_zero=True) or mask=...), which ONNX's "
                                     "operators cannot follow; export a model without the mask")
    for node in graph.nodes:
        _check_layer(node.layer, b)
    if mask_flow.tracks(graph):
        _refuse_run_time_masks(graph)


def _reads_masks(layer) -> bool:
    """Whether ``layer``'s output depends on the masks its inputs carry: its call takes
    ``mask`` or ``<name>_mask`` (recurrent layers, attention, GlobalAveragePooling1D, ...), or
    it is a merge computing with them (Multiply, Maximum, Minimum)."""
    if getattr(layer, "reads_masks", False):
        return True
    signature = _masks.call_signature(type(layer))
    return signature is not None and any(
        name == "mask" or name.endswith("_mask") for name in signature.parameters)


def _refuse_run_time_masks(graph) -> None:
    """A model that makes masks (Masking, Embedding(mask_zero=True)) hands them to the
    layers after it only while it runs (`convnp.models.mask_flow`), so they are not in the
    graph's calls: refuse a layer there, or in a nested model, whose output depends on them
    (ONNX's graph would compute it without the mask)."""
    for node in graph.nodes:
        inner = getattr(node.layer, "_graph", None)
        if inner is not None:
            _refuse_run_time_masks(inner)
        elif _reads_masks(node.layer) and not getattr(node.layer, "_makes_masks", False):
            raise refuse(node.layer, "this model carries masks (from Masking or "
                                     "Embedding(mask_zero=True)) and this layer's output "
                                     "depends on them, which ONNX's operators cannot follow; "
                                     "export a model without the mask")


def _check_layer(layer, b: Builder) -> None:
    """The checks every exported layer passes: an exporter, built, channels last, ..."""
    cls = type(layer).__name__
    if _is_user_layer(layer):
        return  # traced by `_trace_user_layer`, its operations checked there
    if cls not in EXPORTERS:
        raise refuse(layer, f"no ONNX exporter for this layer type (exportable: "
                            f"{', '.join(sorted(EXPORTERS))})")
    if not getattr(layer, "built", True):
        raise refuse(layer, "the layer is not built")
    if getattr(layer, "data_format", "channels_last") not in (None, "channels_last"):
        raise refuse(layer, f"data_format={layer.data_format!r} is not supported")
    if EXPORTERS[cls] is _identity and _mode(layer, b):
        raise refuse(layer, "its call is fixed to training=True (or it sits in a model called "
                            "so), where it is not the identity the exported (inference) graph "
                            "computes")
    if EXPORTERS[cls] is _nested_model:
        outer, b.training = b.training, _mode(layer, b)
        try:
            _check_graph(layer, b)
        finally:
            b.training = outer
    if EXPORTERS[cls] is _op_lambda:
        _check_op_lambda(layer)


def _check_inner(b: Builder, owner, inner) -> None:
    """A layer that another runs itself (TimeDistributed's, a Pipeline's): exportable, and
    not one whose export needs its own graph call (recurrent, attention, Lambda)."""
    cls = type(inner).__name__
    if cls in _graph_checks() or _is_user_layer(inner):
        raise refuse(owner, f"its layer '{inner.name}' of type {cls} cannot be exported "
                            "inside it")
    _check_layer(inner, b)


def _check_time_distributed(b: Builder, node, graph) -> None:
    layer = node.layer
    _check_inner(b, layer, layer.layer)
    shape, out = graph.tensors[node.inputs[0]].shape, graph.tensors[node.out].shape
    if any(d is None for d in (*shape[2:], *out[2:])):
        raise refuse(layer, f"the sizes after the steps must be known (input {shape}, "
                            f"output {out}): the steps are folded into the batch")


def _check_spectral_normalization(b: Builder, node, graph) -> None:
    layer = node.layer
    if _mode(layer, b):
        raise refuse(layer, "its call is fixed to training=True, where it renormalizes the "
                            "kernel on every call; the exported graph computes inference")
    _check_inner(b, layer, layer.layer)


def _check_pipeline(b: Builder, node, graph) -> None:
    for inner in node.layer.layers:
        _check_inner(b, node.layer, inner)


def _emit_graph(b: Builder, model, input_values: list[Value]) -> list[Value]:
    """Emit every call of ``model``'s graph, as written (``nodes``, not the fused schedule),
    on ``input_values``; return the values of its outputs."""
    graph = _model_graph(model)
    values: dict[int, Value] = dict(zip(graph.input_slots, input_values))
    for node in graph.nodes:
        args = [values[s] for s in node.inputs]
        b.call = node
        exporter = _lambda if _is_user_layer(node.layer) else \
            EXPORTERS[type(node.layer).__name__]
        values[node.out] = exporter(b, node.layer, args, graph.tensors[node.out].shape)
    return [values[s] for s in graph.output_slots]


#: integer input dtypes and their ONNX element types (the graph input keeps the model's type)
_INTEGER_INPUTS = {"uint8": pb.UINT8, "int8": pb.INT8, "uint16": pb.UINT16, "int16": pb.INT16,
                   "uint32": pb.UINT32, "int32": pb.INT32, "int64": pb.INT64}


def _dims(shape: tuple, input_name: str) -> list:
    dims: list = []
    for i, d in enumerate(shape):
        if d is None:
            dims.append("batch" if i == 0 else f"{input_name}_dim{i}")
        else:
            dims.append(int(d))
    return dims


def export_bytes(model, opset: int = 17) -> bytes:
    """Build the serialized ONNX ``ModelProto`` of ``model`` (inference mode).

    Args:
        model: a built convnp `Model` or `Sequential`.
        opset: ONNX opset of the default domain, ``13`` to ``21`` (default 17).

    Returns:
        The bytes of an ONNX file.

    Raises:
        ValueError: unbuilt model, an opset out of range, or a layer (or activation) that has
            no ONNX mapping; the message names the layer and its type.
    """
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be an int from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    opset = int(opset)
    graph = _model_graph(model)
    b = Builder(opset)
    _check_graph(model, b)
    graph_inputs, input_values = [], []
    for t in graph.inputs:
        name = b.name(t.layer.name if t.layer is not None else t.name)
        dtype = str(getattr(t, "dtype", "float32"))
        if dtype in _INTEGER_INPUTS:
            # ids (Embedding's) as int64 inside the graph; images as uint8 (before a
            # Rescaling) too, cast to float where a layer computes with them
            elem_type = _INTEGER_INPUTS[dtype]
            ids = name if dtype == "int64" else b.node("Cast", [name], f"{name}/ids",
                                                        to=pb.INT64)
            input_values.append(Value(t.shape, {IDS: ids}))
        else:
            elem_type = pb.FLOAT
            input_values.append(Value(t.shape, {PLAIN: name}))
        graph_inputs.append(pb.value_info_proto(name, _dims(t.shape, name), elem_type))
    output_values = _emit_graph(b, model, input_values)

    graph_outputs = []
    seen_outputs: set[str] = set()
    graph_input_names = {name for v in input_values for name in v.names.values()}
    for t, value in zip(graph.outputs, output_values):
        elem_type = pb.FLOAT
        if set(value.names) == {BOOL}:  # a comparison's result: booleans, as predict's
            elem_type, name = pb.BOOL, value.names[BOOL]
        elif IDS in value.names and PLAIN not in value.names and NCHW not in value.names:
            # integers (argmax's indices, an integer input passed through): the model's type
            dtype = str(getattr(t, "dtype", "int64"))
            elem_type = _INTEGER_INPUTS.get(dtype, pb.INT64)
            name = value.names[IDS]
            if elem_type != pb.INT64:
                name = b.node("Cast", [name], f"{t.layer.name}/{dtype}", to=elem_type)
        else:
            name = b.get(value, PLAIN)
        if name in graph_input_names or name in seen_outputs:
            # ONNX wants each graph output produced by a node, and named once.
            name = b.node("Identity", [name], f"{t.layer.name}/output")
        seen_outputs.add(name)
        graph_outputs.append(pb.value_info_proto(name, _dims(t.shape, name), elem_type))

    from convnp import __version__

    proto = pb.graph_proto(str(getattr(model, "name", "model")), b.nodes, graph_inputs,
                           graph_outputs, b.initializers,
                           doc_string="exported by convnp; input NHWC float32")
    return pb.model_proto(proto, ir_version=_IR_VERSION[opset], opset=opset,
                          producer_name="convnp", producer_version=__version__)


def export(model, path: str | os.PathLike, opset: int = 17) -> str:
    """Write ``model`` as an ONNX file.

    The graph input is NHWC float32 ``(batch, H, W, C)`` named after the model's input layer;
    the outputs are the model's outputs in Keras's layout. Inference semantics: BatchNorm
    uses its moving statistics and Dropout is the identity.

    Args:
        model: a built convnp model.
        path: where to write (conventionally ``*.onnx``).
        opset: ONNX opset, ``13`` to ``21`` (default 17).

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: see `export_bytes`; nothing is written then.
    """
    data = export_bytes(model, opset=opset)
    path = os.fspath(path)
    atomic_write(path, lambda f: f.write(data))
    return path


__all__ = ["EXPORTERS", "MAX_OPSET", "MIN_OPSET", "export", "export_bytes"]
