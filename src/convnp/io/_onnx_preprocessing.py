"""ONNX exporters of the preprocessing layers that compute something at inference:
`Rescaling`, `Normalization`, `Resizing` and `CenterCrop` (the random augmentation layers are
the identity at inference; `convnp.io.onnx` maps them so).

Resizing follows ``tf.image.resize`` without antialiasing, as convnp's (`convnp.ops.image`):
output row ``o`` of ``n_out`` reads the input at ``(o + 0.5) * n / n_out - 0.5``, which is
ONNX Resize's ``coordinate_transformation_mode="half_pixel"``; bilinear is ``mode="linear"``
and nearest takes the row ``floor((o + 0.5) * n / n_out)``, which is ``round_prefer_ceil`` of
the same coordinate. The output size is given as Resize's ``sizes`` (the batch and channel
sizes read from the input's Shape), never as float scales whose product could round down.
"""

from __future__ import annotations

import numpy as np

from convnp.io._onnx_graph import NCHW, PLAIN, Builder, Value, f32, refuse


def rescaling(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``x * scale + offset`` in whatever layout the input has (scalars broadcast); per-channel
    lists as constants on the plain (channels-last) layout, broadcast as the layer does."""
    if isinstance(layer.scale, list) or isinstance(layer.offset, list):
        x = b.get(inputs[0], PLAIN)
        scale = b.constant(f"{layer.name}/scale", f32(np.asarray(layer.scale)))
        offset = b.constant(f"{layer.name}/offset", f32(np.asarray(layer.offset)))
        y = b.node("Add", [b.node("Mul", [x, scale], f"{layer.name}/scaled"), offset],
                   layer.name)
        return Value(out_shape, {PLAIN: y})
    layout, x = b.preferred(inputs[0])
    last = layer.name if layer.offset == 0 else f"{layer.name}/scaled"
    y = b.node("Mul", [x, b.scalar(f"{layer.name}/scale", layer.scale)], last)
    if layer.offset != 0:
        y = b.node("Add", [y, b.scalar(f"{layer.name}/offset", layer.offset)], layer.name)
    return Value(out_shape, {layout: y})


def normalization(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert``: ``mean + x * std``) with the
    layer's statistics as constants broadcast as Keras broadcasts them."""
    from convnp import _settings

    mean, variance = (f32(a) for a in layer._statistics())
    std = np.maximum(np.sqrt(variance), np.float32(_settings.epsilon()))
    x = b.get(inputs[0], PLAIN)
    m = b.constant(f"{layer.name}/mean", mean)
    s = b.constant(f"{layer.name}/std", std)
    if layer.invert:
        y = b.node("Add", [b.node("Mul", [x, s], f"{layer.name}/scaled"), m], layer.name)
    else:
        y = b.node("Div", [b.node("Sub", [x, m], f"{layer.name}/centered"), s], layer.name)
    return Value(out_shape, {PLAIN: y})


def _known_size(layer, x: Value) -> tuple[int, int]:
    if x.rank != 4:
        raise refuse(layer, f"expects images (batch, height, width, channels), got shape "
                            f"{x.shape}")
    n_H, n_W = x.shape[1:3]
    if n_H is None or n_W is None:
        raise refuse(layer, "the input's height and width must be known to export its "
                            f"aspect-ratio crop or pad (input shape {x.shape})")
    return n_H, n_W


def _crop(b: Builder, x: str, base: str, top: int, left: int, height: int,
          width: int) -> str:
    """Rows ``top:top + height`` and columns ``left:left + width`` of NCHW ``x``."""
    return b.node("Slice", [x, b.ints(f"{base}/starts", [top, left]),
                            b.ints(f"{base}/ends", [top + height, left + width]),
                            b.ints(f"{base}/axes", [2, 3])], base)


def _resize(b: Builder, x: str, base: str, height: int, width: int,
            interpolation: str) -> str:
    """NCHW ``x`` resized to ``height x width`` with TensorFlow's half-pixel centres."""
    shape = b.node("Shape", [x], f"{base}/shape")
    batch_channels = b.node("Slice", [shape, b.ints(f"{base}/zero", [0]),
                                      b.ints(f"{base}/two", [2])], f"{base}/batch_channels")
    sizes = b.node("Concat", [batch_channels, b.ints(f"{base}/size", [height, width])],
                   f"{base}/sizes", axis=0)
    if interpolation == "nearest":
        attrs = {"mode": "nearest", "nearest_mode": "round_prefer_ceil"}
    else:
        attrs = {"mode": "linear"}
    return b.node("Resize", [x, "", "", sizes], base,
                  coordinate_transformation_mode="half_pixel", **attrs)


def resizing(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Resize (after Keras' centred aspect-ratio crop, or its padding with ``fill_value``)."""
    from convnp.ops import image as image_ops

    x = inputs[0]
    base = layer.name
    if layer.interpolation not in ("bilinear", "nearest") or layer.antialias:
        # ONNX's Resize has no kernel that gives TensorFlow's numbers for the others
        raise refuse(layer, f"exports interpolation 'bilinear' or 'nearest' without "
                            f"antialias only, got {layer.interpolation!r}"
                            f"{' with antialias' if layer.antialias else ''}")
    src = b.get(x, NCHW)
    if layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio:
        n_H, n_W = _known_size(layer, x)
        if layer.crop_to_aspect_ratio:
            top, left, crop_h, crop_w = image_ops.aspect_crop_box(n_H, n_W, layer.height,
                                                                  layer.width)
            if (crop_h, crop_w) != (n_H, n_W):
                src = _crop(b, src, f"{base}/crop", top, left, crop_h, crop_w)
        else:
            # the same rows and columns convnp pads (its rule, read off a one-pixel-deep image)
            _, top, left = image_ops.aspect_pad(np.zeros((1, n_H, n_W, 1), np.float32),
                                                layer.height, layer.width)
            if top or left:
                pads = b.ints(f"{base}/pads", [0, 0, top, left, 0, 0, top, left])
                src = b.node("Pad", [src, pads, b.scalar(f"{base}/fill", layer.fill_value)],
                             f"{base}/pad", mode="constant")
    elif x.rank != 4:
        raise refuse(layer, f"expects images (batch, height, width, channels), got shape "
                            f"{x.shape}")
    y = _resize(b, src, base, layer.height, layer.width, layer.interpolation)
    return Value(out_shape, {NCHW: y})


def center_crop(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """The central window (Slice), or, for an image smaller than it, Keras' aspect-ratio crop
    and a bilinear resize."""
    from convnp.ops import image as image_ops

    x = inputs[0]
    n_H, n_W = _known_size(layer, x)
    src = b.get(x, NCHW)
    height, width = layer.height, layer.width
    if n_H >= height and n_W >= width:
        y = _crop(b, src, layer.name, (n_H - height) // 2, (n_W - width) // 2, height, width)
        return Value(out_shape, {NCHW: y})
    top, left, crop_h, crop_w = image_ops.aspect_crop_box(n_H, n_W, height, width)
    if (crop_h, crop_w) != (n_H, n_W):
        src = _crop(b, src, f"{layer.name}/crop", top, left, crop_h, crop_w)
    return Value(out_shape, {NCHW: _resize(b, src, layer.name, height, width, "bilinear")})
