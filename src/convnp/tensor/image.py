"""``tf.image``: resize, flips, dtype conversion, PNG/JPEG decoding, non-max suppression.

`resize` is written as two interpolation matrices applied by `einsum`, so it is
differentiable. Decoding needs Pillow (an optional package, imported when used).
"""

from __future__ import annotations

import io as _io

import numpy as np

from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.ops import _convert, _lift, _op, constant, einsum, value_of

__all__ = ["convert_image_dtype", "decode_image", "decode_jpeg", "decode_png",
           "flip_left_right", "flip_up_down", "non_max_suppression", "resize",
           "rgb_to_grayscale"]


def _interpolation(n_in: int, n_out: int, method: str) -> np.ndarray:
    """Matrix (n_out, n_in) mapping input rows to output rows (half-pixel centers, TF2)."""
    scale = n_in / n_out
    centers = (np.arange(n_out) + 0.5) * scale - 0.5
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    if method == "nearest":
        src = np.minimum(np.floor((np.arange(n_out) + 0.5) * scale), n_in - 1).astype(int)
        m[rows, src] = 1.0
        return m
    lower = np.clip(np.floor(centers), 0, n_in - 1).astype(int)
    upper = np.clip(np.ceil(centers), 0, n_in - 1).astype(int)
    frac = centers - np.floor(centers)
    frac = np.where(centers < 0, 0.0, frac)
    np.add.at(m, (rows, lower), 1 - frac)
    np.add.at(m, (rows, upper), frac)
    return m


def resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False,
           name=None) -> EagerTensor:
    """Resize ``(h, w, c)`` or ``(m, h, w, c)`` images to ``size = (new_h, new_w)``; float32
    out (as TensorFlow), 'bilinear' or 'nearest'."""
    if method not in ("bilinear", "nearest"):
        raise NotImplementedError(f"resize: method {method!r} is not supported (bilinear, "
                                  "nearest)")
    if preserve_aspect_ratio or antialias:
        raise NotImplementedError("resize: preserve_aspect_ratio and antialias are not "
                                  "supported")
    x = _lift(images)
    a = value_of(x)
    if a.ndim not in (3, 4):
        raise ValueError(f"resize expects (h, w, c) or (m, h, w, c) images, got shape {a.shape}")
    if a.dtype.kind != "f" or a.dtype == np.float16:
        x = constant(a.astype(np.float32))
    h, w = a.shape[-3], a.shape[-2]
    new_h, new_w = (int(s) for s in np.asarray(value_of(size)).reshape(-1))
    dtype = value_of(x).dtype
    ry = _interpolation(h, new_h, method).astype(dtype)
    rx = _interpolation(w, new_w, method).astype(dtype)
    spec = "Hh,Ww,hwc->HWc" if a.ndim == 3 else "Hh,Ww,nhwc->nHWc"
    return einsum(spec, ry, rx, x)


def _flip(image, axis_from_end: int) -> EagerTensor:
    a = value_of(image) if isinstance(image, np.ndarray) else _convert(image)
    axis = a.ndim - axis_from_end
    return _op(np.flip(a, axis).copy(), [image], lambda g: [np.flip(g, axis)])


def flip_left_right(image) -> EagerTensor:
    """Mirror ``(h, w, c)`` or ``(m, h, w, c)`` images horizontally."""
    return _flip(image, 2)


def flip_up_down(image) -> EagerTensor:
    return _flip(image, 3)


def rgb_to_grayscale(images, name=None) -> EagerTensor:
    weights = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
    a = value_of(images) if isinstance(images, np.ndarray) else _convert(images)
    w = weights.astype(a.dtype if a.dtype.kind == "f" else np.float32)
    return _op((a @ w)[..., None].astype(w.dtype, copy=False), [images],
               lambda g: [g * w])


def convert_image_dtype(image, dtype, saturate=False, name=None) -> EagerTensor:
    """Convert between integer images (0..max) and float images (0..1), as TensorFlow."""
    a = value_of(image) if isinstance(image, np.ndarray) else np.asarray(image)
    target = as_dtype(dtype).dtype
    if a.dtype == target:
        return image if isinstance(image, EagerTensor) else constant(a)
    if a.dtype.kind in "iu" and target.kind == "f":
        return constant((a.astype(np.float64) / np.iinfo(a.dtype).max).astype(target))
    if a.dtype.kind == "f" and target.kind in "iu":
        info = np.iinfo(target)
        scaled = a.astype(np.float64) * (info.max + 0.5)
        if saturate:
            scaled = np.clip(scaled, info.min, info.max)
        return constant(scaled.astype(target))
    if a.dtype.kind == "f" and target.kind == "f":
        return constant(a.astype(target))
    if a.dtype.kind in "iu" and target.kind in "iu":
        ratio = (np.iinfo(a.dtype).max + 1) / (np.iinfo(target).max + 1)
        return constant((a.astype(np.float64) / ratio).astype(target))
    raise TypeError(f"convert_image_dtype: cannot convert {a.dtype} to {target}")


def _decode(contents, channels: int, what: str) -> EagerTensor:
    try:
        from PIL import Image
    except ImportError as exc:  # optional dependency
        raise ImportError(f"tf.image.{what} needs Pillow: pip install pillow") from exc
    data = contents if isinstance(contents, (bytes, bytearray)) else bytes(value_of(contents))
    img = Image.open(_io.BytesIO(data))
    mode = {0: None, 1: "L", 3: "RGB", 4: "RGBA"}
    if channels not in mode:
        raise ValueError(f"{what}: channels must be 0, 1, 3 or 4, got {channels}")
    if mode[channels] is not None:
        img = img.convert(mode[channels])
    elif img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return constant(arr)


def decode_png(contents, channels=0, dtype=np.uint8, name=None) -> EagerTensor:
    return _decode(contents, int(channels), "decode_png")


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True,
                try_recover_truncated=False, acceptable_fraction=1, dct_method="",
                name=None) -> EagerTensor:
    return _decode(contents, int(channels), "decode_jpeg")


def decode_image(contents, channels=None, dtype=np.uint8, name=None,
                 expand_animations=True) -> EagerTensor:
    return _decode(contents, int(channels or 0), "decode_image")


def non_max_suppression(boxes, scores, max_output_size, iou_threshold=0.5,
                        score_threshold=float("-inf"), name=None) -> EagerTensor:
    """Indices (int32) of the boxes kept by greedy non-max suppression, best score first.

    ``boxes`` are ``(n, 4)`` as ``[y1, x1, y2, x2]`` (any corner order, as TensorFlow).
    """
    b = np.asarray(value_of(boxes), dtype=np.float64)
    s = np.asarray(value_of(scores), dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4 or s.shape != (b.shape[0],):
        raise ValueError(f"non_max_suppression expects boxes (n, 4) and scores (n,), got "
                         f"{b.shape} and {s.shape}")
    y1, y2 = np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2])
    x1, x2 = np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3])
    area = (y2 - y1) * (x2 - x1)
    order = [i for i in np.argsort(-s, kind="stable") if s[i] > score_threshold]
    keep: list[int] = []
    for i in order:
        if len(keep) >= int(max_output_size):
            break
        ok = True
        for j in keep:
            ih = max(0.0, min(y2[i], y2[j]) - max(y1[i], y1[j]))
            iw = max(0.0, min(x2[i], x2[j]) - max(x1[i], x1[j]))
            inter = ih * iw
            union = area[i] + area[j] - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return constant(np.array(keep, dtype=np.int32))
