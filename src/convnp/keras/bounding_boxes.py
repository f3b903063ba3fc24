"""``tf.keras.utils.bounding_boxes``: Keras 3.15's helpers for object-detection boxes.

``convert_format`` between the nine box formats Keras names, ``clip_to_image_size``, ``crop``
and ``pad`` (what the box-aware preprocessing layers do to boxes), ``affine_transform`` (the
boxes through a rotation/translation/scale/shear), ``compute_iou`` (the pairwise IoU table),
``compute_ciou`` (Complete IoU, the regression loss of YOLO-style detectors) and the anchor
codecs ``encode_box_to_deltas`` / ``decode_deltas_to_boxes``.

A format names the four numbers of a box, pixels unless it starts with ``rel_`` (then
fractions of the image's width and height):

=================  ========================================
``xyxy``           left, top, right, bottom
``yxyx``           top, left, bottom, right
``xywh``           left, top, width, height
``center_xywh``    centre x, centre y, width, height
``center_yxhw``    centre y, centre x, height, width
``rel_xyxy``, ``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh``: the same, relative
=================  ========================================

Everything is computed with `convnp.keras.ops`, so the results are tensors and a
``GradientTape`` sees through them (a CIoU loss trains). The numbers, dtypes, shapes and the
exceptions of misuse follow Keras 3.15 on TensorFlow 2.21, including two habits a program may
lean on: ``convert_format`` given a ``{"boxes", ...}`` dict writes the converted boxes into
that same dict and returns it, and ``clip_to_image_size`` marks a box clipped to nothing with
the label -1. Where TensorFlow stops on a dtype mismatch (float64 deltas with float32 anchors)
or on one image's boxes in ``affine_transform``, convnp computes the answer instead.
"""

from __future__ import annotations

import math

import numpy as np

from convnp.keras import ops

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou",
           "convert_format", "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
           "rel_xywh", "rel_center_xywh")


def _concrete(value, who: str):
    """``value`` itself, unless it is a symbolic KerasTensor: these functions work on data
    (Keras on TensorFlow refuses a KerasTensor with ValueError, and so does convnp)."""
    from convnp.layers.base import KerasTensor

    if isinstance(value, KerasTensor):
        raise ValueError(  # noqa: TRY004 (Keras' class for it)
            f"{who} takes boxes as arrays or tensors, not the symbolic input "
            f"{value.name!r} of a model being built; call it on data (in a Dataset.map, a "
            "loss or a custom layer's call)")
    return value


def _epsilon() -> float:
    from convnp.keras.backend import epsilon

    return epsilon()


def _columns(boxes):
    """The four coordinate columns of ``boxes`` (``(..., 4)``), each ``(..., 1)``."""
    return ops.split(boxes, 4, axis=-1)


def _join(*columns):
    return ops.concatenate(list(columns), axis=-1)


# Every conversion goes through xyxy in pixels. A relative format needs the image's size; the
# converters of absolute formats ignore it.
def _to_xyxy(boxes, source: str, height, width):
    a, b, c, d = _columns(boxes)
    if source == "xyxy":
        return boxes
    if source == "yxyx":
        return _join(b, a, d, c)
    if source == "xywh":
        return _join(a, b, a + c, b + d)
    if source == "center_xywh":
        return _join(a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if source == "center_yxhw":
        return _join(b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if source == "rel_xyxy":
        return _join(a * width, b * height, c * width, d * height)
    if source == "rel_yxyx":
        return _join(b * width, a * height, d * width, c * height)
    if source == "rel_xywh":
        return _join(a * width, b * height, (a + c) * width, (b + d) * height)
    # rel_center_xywh
    return _join((a - c / 2.0) * width, (b - d / 2.0) * height,
                 (a + c / 2.0) * width, (b + d / 2.0) * height)


def _from_xyxy(boxes, target: str, height, width):
    x1, y1, x2, y2 = _columns(boxes)
    if target == "xyxy":
        return boxes
    if target == "yxyx":
        return _join(y1, x1, y2, x2)
    if target == "xywh":
        return _join(x1, y1, x2 - x1, y2 - y1)
    if target in ("center_xywh", "center_yxhw"):
        cx, cy = x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0
        if target == "center_xywh":
            return _join(cx, cy, x2 - x1, y2 - y1)
        return _join(cy, cx, y2 - y1, x2 - x1)
    if target == "rel_xyxy":
        return _join(x1 / width, y1 / height, x2 / width, y2 / height)
    if target == "rel_yxyx":
        return _join(y1 / height, x1 / width, y2 / height, x2 / width)
    if target == "rel_xywh":
        return _join(x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    # rel_center_xywh
    return _join((x1 + (x2 - x1) / 2.0) / width, (y1 + (y2 - y1) / 2.0) / height,
                 (x2 - x1) / width, (y2 - y1) / height)


def _format_name(name, what: str) -> str:
    if not isinstance(name, str) or name.lower() not in FORMATS:
        raise ValueError(f"bounding boxes: {what} must be one of {list(FORMATS)} (any case), "
                         f"got {name!r}")
    return name.lower()


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """``boxes`` (``(..., 4)``, or a dict whose ``"boxes"`` are converted) from format
    ``source`` to format ``target``, as ``dtype``. ``height`` and ``width`` (the image's, in
    pixels) are needed when one format is relative and the other is not.

    A dict is changed in place and returned (Keras does the same). Between two relative
    formats the size is not needed: the fractions are converted as they are.
    """
    if isinstance(boxes, dict):
        if "boxes" not in boxes:
            raise ValueError(f"convert_format: a dict of boxes needs a 'boxes' entry, got the "
                             f"keys {sorted(boxes)}")
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height=height,
                                        width=width, dtype=dtype)
        return boxes
    shape = np.shape(_concrete(boxes, "convert_format"))
    if len(shape) == 0 or shape[-1] != 4:
        raise ValueError(f"convert_format: boxes must have 4 numbers on their last axis, got "
                         f"shape {tuple(shape)}")
    source = _format_name(source, "source")
    target = _format_name(target, "target")
    relative = source.startswith("rel_") or target.startswith("rel_")
    if relative and (height is None or width is None):
        raise ValueError(f"convert_format from {source!r} to {target!r} needs the image's "
                         f"height and width, got height={height}, width={width}")
    boxes = ops.cast(boxes, dtype)
    if source == target:
        return boxes
    if height is not None:
        height = ops.cast(height, dtype)
    if width is not None:
        width = ops.cast(width, dtype)
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _boxes_dict(bounding_boxes, who: str) -> dict:
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise TypeError(f"{who}: bounding_boxes must be a dict with a 'boxes' entry (and "
                        f"optionally 'labels'), got {type(bounding_boxes).__name__}")
    return bounding_boxes


def _only_xyxy(bounding_box_format, who: str, allowed=("xyxy",)) -> None:
    # Keras implements these for the listed formats alone and says so with this error
    if bounding_box_format not in allowed:
        raise NotImplementedError(f"{who} handles bounding_box_format {list(allowed)} only, "
                                  f"got {bounding_box_format!r}")


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """The boxes of ``bounding_boxes`` (a dict: ``"boxes"`` ``(N, 4)`` or ``(batch, N, 4)``,
    optional ``"labels"``) clipped to the image: pixels ``[0, width] x [0, height]`` for
    ``"xyxy"``, ``[0, 1]`` for ``"rel_xyxy"``. A box left with no area gets the label -1.

    Returns a new dict (other entries shared); the boxes keep their dtype.
    """
    bounding_boxes = _boxes_dict(bounding_boxes, "clip_to_image_size")
    _only_xyxy(bounding_box_format, "clip_to_image_size", ("xyxy", "rel_xyxy"))
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(f"clip_to_image_size with bounding_box_format='xyxy' needs the "
                         f"image's height and width, got height={height}, width={width}")
    boxes = ops.convert_to_tensor(_concrete(bounding_boxes["boxes"], "clip_to_image_size"))
    x1, y1, x2, y2 = _columns(boxes)
    if bounding_box_format == "xyxy":
        right, bottom = ops.cast(width, boxes.dtype), ops.cast(height, boxes.dtype)
    else:
        right = bottom = ops.cast(1, boxes.dtype)
    zero = ops.cast(0, boxes.dtype)
    boxes = _join(ops.clip(x1, zero, right), ops.clip(y1, zero, bottom),
                  ops.clip(x2, zero, right), ops.clip(y2, zero, bottom))
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    labels = bounding_boxes.get("labels")
    if labels is not None:
        x1, y1, x2, y2 = _columns(boxes)
        area = ops.squeeze((x2 - x1) * (y2 - y1), axis=-1)
        labels = ops.convert_to_tensor(labels)
        result["labels"] = ops.cast(ops.where(area > 0, labels, -1), labels.dtype)
    return result


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """``xyxy`` boxes seen from inside the crop whose top-left corner is at (``left``,
    ``top``) and whose size is ``height`` x ``width``: shifted by the corner and clipped to the
    crop. The boxes keep their dtype."""
    _only_xyxy(bounding_box_format, "crop")
    boxes = ops.convert_to_tensor(_concrete(boxes, "crop"))
    x1, y1, x2, y2 = _columns(boxes)
    return _join(ops.clip(x1 - left, 0, width), ops.clip(y1 - top, 0, height),
                 ops.clip(x2 - left, 0, width), ops.clip(y2 - top, 0, height))


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """``xyxy`` boxes moved by ``left`` and ``top``, as the image is padded on those sides
    (``height`` and ``width`` are accepted, as in Keras, and not needed)."""
    _only_xyxy(bounding_box_format, "pad")
    boxes = ops.convert_to_tensor(_concrete(boxes, "pad"))
    x1, y1, x2, y2 = _columns(boxes)
    return _join(x1 + left, y1 + top, x2 + left, y2 + top)


def _per_image(value, batch: int, dtype, name: str) -> np.ndarray:
    """One number per image: a scalar or a length-1 array is repeated over the batch."""
    a = np.asarray(value, dtype=dtype).reshape(-1)
    if a.size == 1:
        return np.repeat(a, batch)
    if a.size != batch:
        raise ValueError(f"affine_transform: {name} needs one value per image ({batch}), got "
                         f"{a.size}")
    return a


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                     width, center_x=None, center_y=None, bounding_box_format="xyxy"):
    """``xyxy`` boxes ``(batch, N, 4)`` through one affine transform per image: rotation by
    ``angle`` degrees about the centre (``center_x``, ``center_y``, fractions of the image,
    0.5 by default), translation by ``translate_x`` / ``translate_y`` (fractions of the
    image), ``scale``, and shear by ``shear_x`` / ``shear_y`` degrees; each parameter has one
    value per image. Each result is the axis-aligned box around the four moved corners.

    The transform is the one Keras' ``RandomAffine``-style layers apply to images, with the
    centre and the translations measured in ``(size - 1)`` pixels. One image's boxes
    ``(N, 4)`` and scalar parameters are also taken (Keras needs a batch). The dtype is the
    angle's when it is a float array or tensor, float32 otherwise.
    """
    _only_xyxy(bounding_box_format, "affine_transform")
    shape = np.shape(_concrete(boxes, "affine_transform"))
    if len(shape) not in (2, 3) or shape[-1] != 4:
        raise ValueError(f"affine_transform: boxes must be (batch, N, 4) or (N, 4), got shape "
                         f"{tuple(shape)}")
    unbatched = len(shape) == 2
    batch = 1 if unbatched else shape[0]
    kind = np.dtype(getattr(angle, "dtype", "float32"))  # a Python number is float32
    dtype = kind if kind.kind == "f" else np.dtype("float32")
    # the matrix maps output pixels to input pixels; the boxes go the other way, so every
    # angle is negated (as in Keras' inverse-matrix construction)
    rot = -_per_image(angle, batch, dtype, "angle") * (math.pi / 180.0)
    sx = -_per_image(shear_x, batch, dtype, "shear_x") * (math.pi / 180.0)
    sy = -_per_image(shear_y, batch, dtype, "shear_y") * (math.pi / 180.0)
    tx = -_per_image(translate_x, batch, dtype, "translate_x") * (width - 1)
    ty = -_per_image(translate_y, batch, dtype, "translate_y") * (height - 1)
    zoom = _per_image(scale, batch, dtype, "scale")
    cx = _per_image(0.5 if center_x is None else center_x, batch, dtype, "center_x") * (width - 1)
    cy = _per_image(0.5 if center_y is None else center_y, batch, dtype, "center_y") * (height - 1)
    # rotation with shear, as a 2x2 matrix [[d, -b], [-c, a]] scaled by zoom
    a = np.cos(rot - sy) / np.cos(sy)
    b = a * np.tan(sx) + np.sin(rot)
    c = -np.sin(rot - sy) / np.cos(sy)
    d = np.cos(rot) - c * np.tan(sx)
    m00, m01, m10, m11 = d * zoom, -b * zoom, -c * zoom, a * zoom
    m02 = cx - m00 * (cx + tx) - m01 * (cy + ty)
    m12 = cy - m10 * (cx + tx) - m11 * (cy + ty)
    matrix = np.stack([np.stack([m00, m01, m02], -1), np.stack([m10, m11, m12], -1)], 1)
    matrix = matrix.astype(dtype)  # (batch, 2, 3)

    values = ops.cast(boxes, dtype)
    if unbatched:
        values = ops.expand_dims(values, 0)
    x1, y1, x2, y2 = (values[..., i] for i in range(4))
    # the four corners (batch, N, 4, 2), then in homogeneous coordinates
    corners = ops.stack([ops.stack([x1, y1], -1), ops.stack([x2, y1], -1),
                         ops.stack([x2, y2], -1), ops.stack([x1, y2], -1)], axis=2)
    corners = ops.concatenate([corners, ops.ones_like(corners[..., :1])], axis=-1)
    moved = ops.einsum("bnkj,bij->bnki", corners, matrix)
    out = ops.concatenate([ops.min(moved, axis=2), ops.max(moved, axis=2)], axis=-1)
    return out[0] if unbatched else out


def _rank(boxes, name: str, who: str) -> int:
    rank = len(np.shape(_concrete(boxes, who)))
    if rank not in (2, 3):
        raise ValueError(f"{who}: {name} must be unbatched (N, 4) or batched (batch, N, 4), "
                         f"got shape {tuple(np.shape(boxes))}")
    return rank


def _image_size(image_shape):
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1,
                image_shape=None):
    """The intersection over union of every box of ``boxes1`` with every box of ``boxes2``:
    ``(M, 4)`` and ``(N, 4)`` give ``(M, N)``; when either is batched ``(batch, ., 4)`` the
    table is ``(batch, M, N)``. With ``use_masking``, a pair where either box has all four
    numbers negative (padding) gets ``mask_val``. A relative format needs ``image_shape``
    ``(height, width, channels)``. float32."""
    _rank(boxes1, "boxes1", "compute_iou")
    _rank(boxes2, "boxes2", "compute_iou")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(f"compute_iou with the relative format {bounding_box_format!r} needs "
                         "image_shape=(height, width, channels)")
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "yxyx", height=height, width=width)
    boxes2 = convert_format(boxes2, bounding_box_format, "yxyx", height=height, width=width)
    # boxes1's columns are (..., M, 1), boxes2's are made (..., 1, N): the pairs broadcast
    top1, left1, bottom1, right1 = _columns(boxes1)
    top2, left2, bottom2, right2 = (ops.swapaxes(c, -1, -2) for c in _columns(boxes2))
    zero = ops.cast(0, "float32")
    high = ops.maximum(zero, ops.minimum(bottom1, bottom2) - ops.maximum(top1, top2))
    wide = ops.maximum(zero, ops.minimum(right1, right2) - ops.maximum(left1, left2))
    intersection = high * wide
    area1 = (bottom1 - top1) * (right1 - left1)
    area2 = (bottom2 - top2) * (right2 - left2)
    iou = intersection / (area1 + area2 - intersection + _epsilon())
    if not use_masking:
        return iou
    padding1 = ops.max(boxes1, axis=-1, keepdims=True) < 0
    padding2 = ops.swapaxes(ops.max(boxes2, axis=-1, keepdims=True) < 0, -1, -2)
    masked = ops.logical_or(padding1, padding2)
    return ops.where(masked, ops.cast(mask_val, iou.dtype), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """The Complete IoU of each box of ``boxes1`` with the box at the same place in
    ``boxes2`` (shapes ``(..., 4)``, result ``(...)``, float32): the IoU less the squared
    distance of the centres over the squared diagonal of the box enclosing both, less an
    aspect-ratio term. A loss is ``1 - compute_ciou(...)``. Relative formats are refused, as
    in Keras 3.15 (even with ``image_shape``)."""
    if "rel" in bounding_box_format:
        raise ValueError(f"compute_ciou does not take the relative format "
                         f"{bounding_box_format!r} (Keras 3.15 refuses it, image_shape or "
                         "not); convert the boxes to pixels first")
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height=height, width=width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height=height, width=width)
    eps = _epsilon()
    left1, top1, right1, bottom1 = _columns(boxes1)
    left2, top2, right2, bottom2 = _columns(boxes2)
    width1, height1 = right1 - left1, bottom1 - top1 + eps
    width2, height2 = right2 - left2, bottom2 - top2 + eps
    intersection = (ops.maximum(ops.minimum(right1, right2) - ops.maximum(left1, left2), 0)
                    * ops.maximum(ops.minimum(bottom1, bottom2) - ops.maximum(top1, top2), 0))
    union = width1 * height1 + width2 * height2 - intersection + eps
    iou = ops.squeeze(intersection / (union + eps), axis=-1)
    enclosing_w = ops.maximum(right1, right2) - ops.minimum(left1, left2)
    enclosing_h = ops.maximum(bottom1, bottom2) - ops.minimum(top1, top2)
    diagonal = ops.squeeze(enclosing_w ** 2 + enclosing_h ** 2 + eps, axis=-1)
    centres = ops.squeeze(((left1 + right1) / 2 - (left2 + right2) / 2) ** 2
                          + ((top1 + bottom1) / 2 - (top2 + bottom2) / 2) ** 2, axis=-1)
    aspect = ops.squeeze((4 / math.pi ** 2) * (ops.arctan(width2 / height2)
                                                - ops.arctan(width1 / height1)) ** 2, axis=-1)
    alpha = aspect / (aspect - iou + (1 + eps))
    return iou - (centres / diagonal + aspect * alpha)


def _variance(variance):
    if variance is None:
        return None
    variance = ops.convert_to_tensor(variance, "float32")
    if len(variance.shape) == 0 or variance.shape[-1] != 4:
        raise ValueError(f"variance must hold 4 numbers, got {np.asarray(variance).tolist()}")
    return variance


def _centre_format(name, argument: str, who: str) -> str:
    if name not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"{who}: {argument} must be 'center_xywh' or 'center_yxhw', got "
                         f"{name!r}")
    return name


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format,
                         encoding_format="center_yxhw", variance=None, image_shape=None):
    """The regression targets of ``boxes`` (``(N, 4)`` or ``(batch, N, 4)``) against
    ``anchors`` (``(N, 4)``): the centre offsets over the anchor's size and the log of the
    size ratios, in ``encoding_format``'s order, divided by ``variance`` when given. float32."""
    variance = _variance(variance)
    _centre_format(encoding_format, "encoding_format", "encode_box_to_deltas")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height=height,
                             width=width)
    boxes = convert_format(boxes, box_format, encoding_format, height=height, width=width)
    anchor_size = ops.maximum(anchors[..., 2:], _epsilon())
    box_size = ops.maximum(boxes[..., 2:], _epsilon())
    deltas = ops.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              ops.log(box_size / anchor_size)], axis=-1)
    if variance is not None:
        deltas = deltas / variance
    return deltas


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format,
                           encoded_format="center_yxhw", variance=None, image_shape=None):
    """The boxes, in ``box_format``, that ``boxes_delta`` encode against ``anchors`` (the
    inverse of `encode_box_to_deltas`). ``anchors`` and ``boxes_delta`` may both be dicts of
    feature-pyramid levels (``{"P3": ..., "P4": ...}``): then a dict of boxes per level
    comes back."""
    variance = _variance(variance)
    _centre_format(encoded_format, "encoded_format", "decode_deltas_to_boxes")
    height, width = _image_size(image_shape)

    def one_level(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height=height,
                                width=width)
        delta = ops.cast(delta, "float32")
        if variance is not None:
            delta = delta * variance
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height=height, width=width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: one_level(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return one_level(anchors, boxes_delta)
