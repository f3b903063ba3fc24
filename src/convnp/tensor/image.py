"""``tf.image``: resizing, cropping, flips, colour adjustments (and their random twins),
colour spaces, image quality measures, PNG/JPEG coding, non-max suppression.

Images are ``(h, w, c)`` or batches ``(m, h, w, c)``, as in TensorFlow. Functions that a
model can differentiate through (`resize`, flips, crops, pads, `rot90`, `transpose`, the
brightness/contrast/saturation/gamma adjustments, `per_image_standardization`,
`total_variation`, `image_gradients`, `sobel_edges`, `psnr`, `ssim`, `rgb_to_hsv`) are written
with tensor ops or record their own gradient, so a `GradientTape` sees them. `adjust_hue` has
no gradient (as in TensorFlow): a tape asked for one raises `LookupError`; `hsv_to_rgb` is
not differentiable (a tape's gradient through it is None, as TensorFlow's).

Random functions draw from `convnp.random` (the ``seed=`` rule is described there); the
``stateless_*`` twins take ``seed=(a, b)`` and give the same result for the same seed.
Coding needs Pillow (an optional package, imported when used).
"""

from __future__ import annotations

import heapq
import io as _io
from collections import namedtuple

import numpy as np

from convnp import random as _random
from convnp.ops.image_resize import RESIZE_METHODS as _RESIZE_METHODS
from convnp.ops.image_resize import resize_weights as _resize_weights
from convnp.ops.resize import separable as _separable
from convnp.tensor import manip as _manip
from convnp.tensor import ops as _ops
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.errors import InvalidArgumentError
from convnp.tensor.io import StringBytes
from convnp.tensor.ops import _convert, _lift, _op, _slice, constant, value_of

__all__ = ["ResizeMethod", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
           "adjust_jpeg_quality", "adjust_saturation", "central_crop",
           "combined_non_max_suppression", "convert_image_dtype", "crop_and_resize",
           "crop_to_bounding_box", "decode_image", "decode_jpeg", "decode_png",
           "draw_bounding_boxes", "encode_jpeg", "encode_png", "extract_patches",
           "flip_left_right", "flip_up_down", "grayscale_to_rgb", "hsv_to_rgb",
           "image_gradients", "non_max_suppression",
           "non_max_suppression_overlaps", "non_max_suppression_padded",
           "non_max_suppression_with_scores", "pad_to_bounding_box",
           "per_image_standardization", "psnr", "random_brightness", "random_contrast",
           "random_crop", "random_flip_left_right", "random_flip_up_down", "random_hue",
           "random_jpeg_quality", "random_saturation", "resize", "resize_with_crop_or_pad",
           "resize_with_pad",
           "rgb_to_grayscale", "rgb_to_hsv", "rgb_to_yiq", "rgb_to_yuv", "rot90",
           "sample_distorted_bounding_box", "sobel_edges", "ssim", "ssim_multiscale",
           "stateless_random_brightness", "stateless_random_contrast", "stateless_random_crop",
           "stateless_random_flip_left_right", "stateless_random_flip_up_down",
           "stateless_random_hue", "stateless_random_jpeg_quality",
           "stateless_random_saturation",
           "stateless_sample_distorted_bounding_box", "total_variation", "transpose",
           "yiq_to_rgb", "yuv_to_rgb"]


class ResizeMethod:
    """``tf.image.ResizeMethod``: the method names `resize` takes."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


def _interpolation(n_in: int, n_out: int, method: str, antialias: bool = False) -> np.ndarray:
    """Matrix (n_out, n_in) mapping input rows to output rows (half-pixel centers, TF2);
    the methods beyond bilinear and nearest come from `convnp.ops.image_resize`."""
    if method not in ("bilinear", "nearest") or (antialias and method == "bilinear"):
        return _resize_weights(n_in, n_out, method, antialias)
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


def _aspect_size(h: int, w: int, new_h: int, new_w: int) -> tuple[int, int]:
    """The size ``preserve_aspect_ratio=True`` resizes to: the input scaled by the smaller of
    the two ratios, rounded half to even (TensorFlow's float32 arithmetic)."""
    f32 = np.float32
    factor = min(f32(new_h) / f32(h), f32(new_w) / f32(w))
    return int(np.round(factor * f32(h))), int(np.round(factor * f32(w)))


def resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False,
           name=None) -> EagerTensor:
    """Resize ``(h, w, c)`` or ``(m, h, w, c)`` images to ``size = (new_h, new_w)``.

    ``method``: 'bilinear', 'nearest', 'bicubic' (Keys' cubic, a = -0.5), 'area', 'lanczos3',
    'lanczos5', 'gaussian' or 'mitchellcubic', with TensorFlow's half-pixel geometry;
    ``antialias=True`` widens the kernel when shrinking (ignored by 'nearest' and 'area', as
    in TensorFlow). ``preserve_aspect_ratio=True`` resizes to the largest size within
    ``size`` with the input's aspect ratio. As TensorFlow: float32 out, float64 images
    included (computed in float64, then rounded: `_resize` keeps them), except that
    'nearest' keeps the images' dtype (uint8 in, uint8 out). Every float path is
    differentiable (TensorFlow has no gradient for 'area'; here it is the transposed map).
    """
    out = _resize(images, size, method, preserve_aspect_ratio, antialias)
    nearest = isinstance(method, str) and method.lower() == "nearest"
    return out if nearest else _float32(out)


def _float32(t):
    """``t`` as TensorFlow's resize kernels and image measures give it: float32, whatever
    float they read (a recorded cast, so a tape reaches float64 inputs)."""
    return t if value_of(t).dtype == np.float32 else _ops.cast(t, np.float32)


def _resize(images, size, method="bilinear", preserve_aspect_ratio=False,
            antialias=False) -> EagerTensor:
    """`resize` keeping float64 images in float64 (keras.ops.image.resize does, as Keras's
    own backend casts back)."""
    if isinstance(method, str):
        method = method.lower()
    if method not in _RESIZE_METHODS:
        raise ValueError(f"resize: method must be one of {list(_RESIZE_METHODS)}, got "
                         f"{method!r}")
    x = _lift(images)
    a = value_of(x)
    if a.ndim not in (3, 4):
        raise ValueError(f"resize expects (h, w, c) or (m, h, w, c) images, got shape {a.shape}")
    h, w = a.shape[-3], a.shape[-2]
    sizes = np.asarray(value_of(size))
    if sizes.dtype.kind not in "iu":
        # TensorFlow refuses float sizes (ValueError) rather than truncating them: an octave's
        # ``shape * 1.4 ** i`` has to be cast to int by the program
        raise ValueError(f"resize: size must hold integers (new_height, new_width), got "
                         f"{sizes.dtype} values {sizes.tolist()}")
    new_h, new_w = (int(s) for s in sizes.reshape(-1))
    if new_h < 1 or new_w < 1:
        # TensorFlow's kernel error (InvalidArgumentError, a ValueError here)
        raise InvalidArgumentError(f"resize: size must be positive, got {[new_h, new_w]}")
    if preserve_aspect_ratio:
        new_h, new_w = _aspect_size(h, w, new_h, new_w)
    antialias = bool(antialias) and method not in ("nearest", "area")
    if method == "nearest" and a.dtype not in (np.float32, np.float64):
        # picking pixels: no arithmetic, so the dtype stays (no gradient for integers)
        rows = _interpolation(h, new_h, method).argmax(axis=1)
        cols = _interpolation(w, new_w, method).argmax(axis=1)
        return constant(np.take(np.take(a, rows, axis=-3), cols, axis=-2))
    if a.dtype.kind != "f" or a.dtype == np.float16:
        x = constant(a.astype(np.float32))
    dtype = value_of(x).dtype
    ry = _interpolation(h, new_h, method, antialias).astype(dtype)
    rx = _interpolation(w, new_w, method, antialias).astype(dtype)
    if a.ndim == 3:
        return _ops.squeeze(_resize_linear(_ops.expand_dims(x, 0), ry, rx), 0)
    return _resize_linear(x, ry, rx)


def _resize_linear(x, ry, rx) -> EagerTensor:
    """``(m, h, w, c)`` images through the ``(H, h)`` and ``(W, w)`` matrices of a resize
    (`convnp.ops.resize.separable`: two products, not one einsum over all six axes). The
    gradient is the same map with the matrices transposed, and so is its own gradient."""
    out = _separable(value_of(x), ry, rx)
    return _op(out, [x], lambda g: [_separable(np.asarray(g), ry.T, rx.T)],
               lambda g, t: [_resize_linear(g, ry.T, rx.T)])


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
    """The luminance ``0.2989 R + 0.5870 G + 0.1140 B`` as one channel, in the images' dtype.

    Integer images (uint8 from ``decode_jpeg``) stay integers, as TensorFlow gives them: it
    converts them to 0..1 floats, weighs the channels and converts back, i.e. multiplies by
    ``max + 0.5`` and truncates (no gradient: integers have none).
    """
    weights = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
    a = value_of(images) if isinstance(images, np.ndarray) else _convert(images)
    if a.dtype.kind in "iu":
        top = np.iinfo(a.dtype).max
        unit = a.astype(np.float32) * np.float32(1.0 / top)
        grey = (unit @ weights) * np.float32(top + 0.5)
        return constant(grey[..., None].astype(a.dtype))
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
    Image = _pillow(what)
    value = contents if isinstance(contents, (bytes, bytearray)) else value_of(contents)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype == object:
        value = value.item()  # a scalar string tensor from a TFRecord holds a bytes object
    data = value if isinstance(value, (bytes, bytearray)) else bytes(value)
    mode = {0: None, 1: "L", 3: "RGB", 4: "RGBA"}
    if channels not in mode:
        raise ValueError(f"{what}: channels must be 0, 1, 3 or 4, got {channels}")
    try:
        img = Image.open(_io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError, ValueError) as err:  # what Pillow raises for bad bytes
        raise InvalidArgumentError(
            f"{what}: expected the bytes of a PNG, JPEG, GIF, BMP or WebP image, got "
            f"{len(data)} bytes Pillow cannot decode ({err})") from None
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
    """Pixels of a JPEG, decoded by Pillow with libjpeg's accurate integer IDCT: exactly
    TensorFlow's ``dct_method="INTEGER_ACCURATE"``. TensorFlow's default (``""``, its fast
    IDCT) differs from it by a few levels per pixel (at most 4 on a test photo)."""
    return _decode(contents, int(channels), "decode_jpeg")


def decode_image(contents, channels=None, dtype=np.uint8, name=None,
                 expand_animations=True) -> EagerTensor:
    return _decode(contents, int(channels or 0), "decode_image")


# ----------------------------------------------------------------------------- non-max suppression


def _box_ious(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one ``[y1, x1, y2, x2]`` box with each row of ``others``.
    Corners may come in either order (TensorFlow sorts them); a pair where either box has
    no area has IoU 0."""
    lo = np.minimum(box[:2], box[2:])
    hi = np.maximum(box[:2], box[2:])
    olo = np.minimum(others[:, :2], others[:, 2:])
    ohi = np.maximum(others[:, :2], others[:, 2:])
    inter = np.prod(np.clip(np.minimum(hi, ohi) - np.maximum(lo, olo), 0.0, None), axis=1)
    area = np.prod(hi - lo)
    oarea = np.prod(ohi - olo, axis=1)
    union = area + oarea - inter
    ok = (area > 0) & (oarea > 0)
    return np.where(ok, inter / np.where(ok, union, 1.0), 0.0)


def _greedy_nms(similarity, scores: np.ndarray, max_output: int, threshold: float,
                score_threshold: float, soft_sigma: float = 0.0, at_threshold: bool = False):
    """TensorFlow's non-max suppression loop: (kept indices, their scores).

    Candidates scoring above ``score_threshold`` are taken best first. Hard suppression
    (``soft_sigma`` 0) drops a candidate whose similarity with a kept one exceeds
    ``threshold``. Soft suppression (Bodla et al.'s Gaussian) instead multiplies the score by
    ``exp(-similarity**2 / (2 * sigma))`` for each kept box and puts the candidate back in
    the queue with its lowered score, dropping it once that is at or below
    ``score_threshold``; a candidate is compared with each kept box only once.
    ``similarity(i, kept)`` gives candidate ``i``'s similarity with each index in ``kept``.
    ``at_threshold`` suppresses at a similarity equal to ``threshold`` too (the padded
    variant's rule). Scores are computed in the scores' own dtype, as TensorFlow does."""
    dtype = scores.dtype
    score_threshold = dtype.type(score_threshold)  # compared in the scores' dtype
    soft = soft_sigma > 0
    scale = dtype.type(-0.5 / soft_sigma) if soft else dtype.type(0.0)
    # the queue orders by score (highest first), then by index (lowest first)
    queue = [(-float(scores[i]), int(i), 0) for i in range(scores.shape[0])
             if scores[i] > score_threshold]
    heapq.heapify(queue)
    kept: list[int] = []
    kept_scores: list = []
    while len(kept) < max_output and queue:
        neg, i, compared = heapq.heappop(queue)
        original = dtype.type(-neg)
        score = original
        suppressed = False
        if compared < len(kept) and not soft:
            sims = similarity(i, kept[compared:])
            suppressed = bool(np.any(sims >= threshold if at_threshold else sims > threshold))
        elif compared < len(kept):
            for sim in similarity(i, kept[compared:][::-1]):  # the newest kept box first
                score = dtype.type(score * np.exp(scale * dtype.type(sim) * dtype.type(sim)))
                if score <= score_threshold:
                    break
        if suppressed:
            continue
        if score == original:
            kept.append(i)
            kept_scores.append(score)
        elif score > score_threshold:
            heapq.heappush(queue, (-float(score), i, len(kept)))
    return np.array(kept, dtype=np.int32), np.array(kept_scores, dtype=dtype)


def _nms_inputs(what: str, boxes, scores, max_output_size, iou_threshold, score_threshold,
                box_rank: int = 2):
    """Boxes ``(..., n, 4)`` as float32, scores ``(..., n)`` in their float dtype, and the
    checked size and thresholds, with TensorFlow's errors for a wrong shape or value.
    TensorFlow computes IoUs in float32 and compares them with a float32 threshold; so does
    convnp, so that an IoU at the threshold falls on the same side."""
    b = np.asarray(value_of(boxes), dtype=np.float32)
    s = np.asarray(value_of(scores))
    if s.dtype.kind != "f":
        s = s.astype(np.float32)
    if b.ndim != box_rank or b.shape[-1] != 4 or s.shape != b.shape[:-1]:
        raise InvalidArgumentError(f"{what}: expected boxes of shape (num_boxes, 4) and "
                                   f"scores of shape (num_boxes,), got {b.shape} and "
                                   f"{s.shape}")
    size = _check_int(what, max_output_size=max_output_size)["max_output_size"]
    if size < 0:
        raise InvalidArgumentError(f"{what}: max_output_size must be non-negative, got {size}")
    iou = np.float32(np.asarray(value_of(iou_threshold)))
    if not 0.0 <= iou <= 1.0:
        raise InvalidArgumentError(f"{what}: iou_threshold must be in [0, 1], got {iou}")
    return b, s, size, iou, float(np.asarray(value_of(score_threshold)))


def _iou_similarity(b: np.ndarray):
    return lambda i, kept: _box_ious(b[i], b[kept])


def non_max_suppression(boxes, scores, max_output_size, iou_threshold=0.5,
                        score_threshold=float("-inf"), name=None) -> EagerTensor:
    """Indices (int32) of the boxes kept by greedy non-max suppression, best score first.

    ``boxes`` are ``(n, 4)`` as ``[y1, x1, y2, x2]`` (any corner order, as TensorFlow).
    """
    b, s, size, iou, floor = _nms_inputs("non_max_suppression", boxes, scores,
                                         max_output_size, iou_threshold, score_threshold)
    kept, _ = _greedy_nms(_iou_similarity(b), s, size, iou, floor)
    return constant(kept)


def non_max_suppression_with_scores(boxes, scores, max_output_size, iou_threshold=0.5,
                                    score_threshold=float("-inf"), soft_nms_sigma=0.0,
                                    name=None) -> tuple:
    """``(selected_indices, selected_scores)``; with ``soft_nms_sigma > 0`` overlapping boxes
    are down-weighted instead of dropped (Soft-NMS), ``iou_threshold`` is then not used, and
    the scores returned are the lowered ones."""
    what = "non_max_suppression_with_scores"
    b, s, size, iou, floor = _nms_inputs(what, boxes, scores, max_output_size, iou_threshold,
                                         score_threshold)
    sigma = float(np.asarray(value_of(soft_nms_sigma)))
    if sigma < 0:
        raise InvalidArgumentError(f"{what}: soft_nms_sigma must be non-negative, got {sigma}")
    kept, kept_scores = _greedy_nms(_iou_similarity(b), s, size, iou, floor, sigma)
    return constant(kept), constant(kept_scores)


def non_max_suppression_overlaps(overlaps, scores, max_output_size, overlap_threshold=0.5,
                                 score_threshold=float("-inf"), name=None) -> EagerTensor:
    """Greedy suppression with a given ``(n, n)`` similarity matrix: a candidate ``i`` is
    dropped when ``overlaps[i, j]`` exceeds ``overlap_threshold`` for a kept box ``j``."""
    what = "non_max_suppression_overlaps"
    o = np.asarray(value_of(overlaps), dtype=np.float32)
    s = np.asarray(value_of(scores))
    if s.dtype.kind != "f":
        s = s.astype(np.float32)
    if o.ndim != 2 or o.shape[0] != o.shape[1] or s.shape != (o.shape[0],):
        raise InvalidArgumentError(f"{what}: expected overlaps of shape (n, n) and scores of "
                                   f"shape (n,), got {o.shape} and {s.shape}")
    size = _check_int(what, max_output_size=max_output_size)["max_output_size"]
    if size < 0:
        raise InvalidArgumentError(f"{what}: max_output_size must be non-negative, got {size}")
    kept, _ = _greedy_nms(lambda i, k: o[i, k], s, size,
                          np.float32(np.asarray(value_of(overlap_threshold))),
                          float(np.asarray(value_of(score_threshold))))
    return constant(kept)


def _padded_similarity(b: np.ndarray):
    """IoU as `non_max_suppression_padded` computes it: the corners are taken as they come
    (the caller has put them in the first box's order), and a tiny epsilon keeps an empty
    union from dividing by zero."""
    def ious(i, kept):
        box, others = b[i], b[kept]
        extent = np.clip(np.minimum(box[2:], others[:, 2:])
                         - np.maximum(box[:2], others[:, :2]), 0.0, None)
        inter = extent[:, 0] * extent[:, 1]
        union = np.prod(box[2:] - box[:2]) + np.prod(others[:, 2:] - others[:, :2], axis=1)
        return inter / (union - inter + np.float32(1e-8))
    return ious


def non_max_suppression_padded(boxes, scores, max_output_size, iou_threshold=0.5,
                               score_threshold=float("-inf"), pad_to_max_output_size=False,
                               name=None, sorted_input=False, canonicalized_coordinates=False,
                               tile_size=512) -> tuple:
    """``(selected_indices, valid_outputs)`` for one ``(n, 4)`` set or a batch
    ``(..., n, 4)``; the indices are padded with zeros to ``max_output_size`` when
    ``pad_to_max_output_size`` (which a batch requires), ``valid_outputs`` (int32) counts the
    real ones.

    TensorFlow computes this variant differently from `non_max_suppression`, and three of
    its rules show in the result, so convnp keeps them: a box is suppressed at an IoU equal
    to the threshold too; the corner order is read from the very first box and assumed for
    all (unless ``canonicalized_coordinates``, which promises ``[y_min, x_min, y_max,
    x_max]``); a box with no positive coordinate is never returned (TensorFlow marks
    suppressed boxes by zeroing them), though it still suppresses the boxes it overlaps.
    ``sorted_input`` and ``tile_size`` are speed hints and do not change the result."""
    what = "non_max_suppression_padded"
    rank = np.ndim(value_of(boxes))
    if rank > 2 and not pad_to_max_output_size:
        raise ValueError(f"{what}: pad_to_max_output_size must be True for a batch of boxes "
                         f"(boxes of rank {rank})")
    b, s, size, iou, floor = _nms_inputs(what, boxes, scores, max_output_size, iou_threshold,
                                         score_threshold, box_rank=max(rank, 2))
    batch = b.shape[:-2]
    flat_b = b.reshape((-1,) + b.shape[-2:])
    flat_s = s.reshape((-1, s.shape[-1]))
    if not canonicalized_coordinates and flat_b.shape[1]:
        first = flat_b[0, 0]
        y_lo, y_hi = (0, 2) if first[0] <= first[2] else (2, 0)
        x_lo, x_hi = (1, 3) if first[1] <= first[3] else (3, 1)
        flat_b = flat_b[..., [y_lo, x_lo, y_hi, x_hi]]
    indices = np.zeros((flat_b.shape[0], size), dtype=np.int32)
    valid = np.zeros(flat_b.shape[0], dtype=np.int32)
    for k in range(flat_b.shape[0]):
        kept, _ = _greedy_nms(_padded_similarity(flat_b[k]), flat_s[k], flat_b.shape[1],
                              iou, floor, at_threshold=True)
        kept = [i for i in kept if np.any(flat_b[k, i] > 0)][:size]
        indices[k, :len(kept)] = kept
        valid[k] = len(kept)
    if rank <= 2:
        out = indices[0] if pad_to_max_output_size else indices[0, :valid[0]]
        return constant(out), constant(valid[0])
    return constant(indices.reshape(batch + (size,))), constant(valid.reshape(batch))


class CombinedNonMaxSuppression(namedtuple(
        "CombinedNonMaxSuppression",
        ["nmsed_boxes", "nmsed_scores", "nmsed_classes", "valid_detections"])):
    """`combined_non_max_suppression`'s result, TensorFlow's named tuple.

    It can also be made from one iterable of the four values, as a plain tuple can, because
    code that rebuilds a tuple of the same type as ``type(t)(values)`` meets it: a layer of a
    functional model returning it (keras.io RetinaNet's ``DecodePredictions``) has its
    outputs rebuilt that way."""

    __slots__ = ()

    def __new__(cls, *fields, **named):
        if len(fields) == 1 and not named and not isinstance(fields[0], np.ndarray) \
                and hasattr(fields[0], "__iter__"):
            fields = tuple(fields[0])
        return super().__new__(cls, *fields, **named)


def combined_non_max_suppression(boxes, scores, max_output_size_per_class, max_total_size,
                                 iou_threshold=0.5, score_threshold=float("-inf"),
                                 pad_per_class=False, clip_boxes=True,
                                 name=None) -> CombinedNonMaxSuppression:
    """Non-max suppression per image and per class, then the best detections over classes.

    ``boxes`` are ``(batch, n, q, 4)`` with ``q`` 1 (one box for all classes) or the class
    count, ``scores`` ``(batch, n, classes)``. Each class keeps at most
    ``max_output_size_per_class`` boxes; the kept boxes of all classes are sorted by score
    and the first ``max_total_size`` returned, padded with zeros (to at most
    ``max_output_size_per_class * classes`` when ``pad_per_class``). With ``clip_boxes`` the
    returned coordinates are clipped to [0, 1] (suppression used them unclipped). Returns
    TensorFlow's named tuple: boxes, scores and classes float32, ``valid_detections`` int32
    per image."""
    what = "combined_non_max_suppression"
    b = np.asarray(value_of(boxes), dtype=np.float32)
    s = np.asarray(value_of(scores), dtype=np.float32)
    if b.ndim != 4 or b.shape[-1] != 4:
        raise InvalidArgumentError(f"{what}: boxes must be 4-D (batch, num_boxes, q, 4), got "
                                   f"shape {b.shape}")
    if s.ndim != 3 or s.shape[:2] != b.shape[:2]:
        raise InvalidArgumentError(f"{what}: scores must be 3-D (batch, num_boxes, "
                                   f"num_classes) matching boxes {b.shape}, got {s.shape}")
    classes = s.shape[2]
    if b.shape[2] not in (1, classes):
        raise InvalidArgumentError(f"{what}: the third dimension of boxes must be 1 or the "
                                   f"number of classes ({classes}), got {b.shape[2]}")
    sizes = _check_int(what, max_output_size_per_class=max_output_size_per_class,
                       max_total_size=max_total_size)
    per_class, total = sizes["max_output_size_per_class"], sizes["max_total_size"]
    if per_class <= 0 or total <= 0:
        raise InvalidArgumentError(f"{what}: max_output_size_per_class and max_total_size "
                                   f"must be > 0, got {per_class} and {total}")
    iou = np.float32(np.asarray(value_of(iou_threshold)))
    if not 0.0 <= iou <= 1.0:
        raise InvalidArgumentError(f"{what}: iou_threshold must be in [0, 1], got {iou}")
    floor = float(np.asarray(value_of(score_threshold)))
    width = min(total, per_class * classes) if pad_per_class else total
    out_boxes = np.zeros((b.shape[0], width, 4), dtype=np.float32)
    out_scores = np.zeros((b.shape[0], width), dtype=np.float32)
    out_classes = np.zeros((b.shape[0], width), dtype=np.float32)
    valid = np.zeros(b.shape[0], dtype=np.int32)
    for image in range(b.shape[0]):
        found = []  # (score, class, box) of every box a class kept
        for c in range(classes):
            class_boxes = b[image, :, c if b.shape[2] > 1 else 0]
            kept, kept_scores = _greedy_nms(_iou_similarity(class_boxes), s[image, :, c],
                                            per_class, iou, floor)
            found += [(score, c, class_boxes[i]) for i, score in zip(kept, kept_scores)]
        found.sort(key=lambda f: -f[0])  # stable: ties keep class order
        found = found[:width]
        valid[image] = len(found)
        for k, (score, c, box) in enumerate(found):
            out_boxes[image, k] = np.clip(box, 0.0, 1.0) if clip_boxes else box
            out_scores[image, k] = score
            out_classes[image, k] = c
    return CombinedNonMaxSuppression(constant(out_boxes), constant(out_scores),
                                     constant(out_classes), constant(valid))


# ----------------------------------------------------------------------------- helpers


def _image_array(image, what: str, ranks=(3, 4)) -> np.ndarray:
    a = _convert(image)
    if a.ndim not in ranks:
        want = " or ".join({3: "(h, w, c)", 4: "(m, h, w, c)"}.get(r, f"rank {r}") for r in ranks)
        raise ValueError(f"{what} expects {want} images, got shape {a.shape}")
    return a


def _rgb_array(image, what: str) -> np.ndarray:
    a = _convert(image)
    if a.ndim < 1 or a.shape[-1] != 3:
        # TensorFlow's error for it (a ValueError too)
        raise InvalidArgumentError(f"{what} expects 3 channels in the last axis, got shape {a.shape}")
    return a


def _no_gradient(what: str):
    def vjp(g):
        raise LookupError(f"tf.image.{what} has no gradient (TensorFlow registers none)")
    return vjp


def _as_float(image, what: str):
    """``(float tensor, convert back)``: integer images go to [0, 1] float32 and come back
    saturated, as TensorFlow's adjust_* functions do; float images stay as they are."""
    a = _convert(image)
    if a.dtype.kind == "f":
        return _lift(image), (lambda y: y)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} expects a float or integer image, got {a.dtype}")
    return (convert_image_dtype(a, np.float32),
            lambda y: convert_image_dtype(y, a.dtype, saturate=True))


def _check_int(what: str, **values) -> dict:
    out = {}
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            arr = np.asarray(value_of(v))
            if arr.shape != () or arr.dtype.kind not in "iu":
                raise TypeError(f"{what}: {key} must be an int, got {v!r}")
            v = arr
        out[key] = int(v)
    return out


# ----------------------------------------------------------------------------- geometry


def rot90(image, k=1, name=None) -> EagerTensor:
    """Rotate ``(h, w, c)`` or ``(m, h, w, c)`` images by ``k`` quarter turns counter-clockwise."""
    a = _image_array(image, "rot90")
    turns = _check_int("rot90", k=k)["k"] % 4
    axes = (a.ndim - 3, a.ndim - 2)
    return _op(np.rot90(a, turns, axes).copy(), [image],
               lambda g: [np.rot90(g, -turns, axes)])


def transpose(image, name=None) -> EagerTensor:
    """Swap height and width of ``(h, w, c)`` or ``(m, h, w, c)`` images."""
    a = _image_array(image, "transpose")
    h, w = a.ndim - 3, a.ndim - 2
    return _op(np.swapaxes(a, h, w).copy(), [image], lambda g: [np.swapaxes(g, h, w)])


def _box(image, what: str, offset_height, offset_width, target_height, target_width):
    """``(array, oh, ow, th, tw)`` after checking the image and the box's ints and signs."""
    a = _image_array(image, what)
    v = _check_int(what, offset_height=offset_height, offset_width=offset_width,
                   target_height=target_height, target_width=target_width)
    oh, ow, th, tw = v["offset_height"], v["offset_width"], v["target_height"], v["target_width"]
    if oh < 0 or ow < 0:
        raise ValueError(f"{what}: offsets must be >= 0, got {oh}, {ow}")
    if th <= 0 or tw <= 0:
        raise ValueError(f"{what}: target sizes must be > 0, got {th}, {tw}")
    return a, oh, ow, th, tw


def crop_to_bounding_box(image, offset_height, offset_width, target_height,
                         target_width) -> EagerTensor:
    """The ``target_height x target_width`` window whose top-left corner is at the offsets."""
    a, oh, ow, th, tw = _box(image, "crop_to_bounding_box", offset_height, offset_width,
                             target_height, target_width)
    h, w = a.shape[-3], a.shape[-2]
    if oh + th > h or ow + tw > w:
        raise ValueError(f"crop_to_bounding_box: the box at ({oh}, {ow}) of size ({th}, {tw}) "
                         f"does not fit in an image of size ({h}, {w})")
    return _slice(image, (Ellipsis, slice(oh, oh + th), slice(ow, ow + tw), slice(None)))


def pad_to_bounding_box(image, offset_height, offset_width, target_height,
                        target_width) -> EagerTensor:
    """Zeros around the image so it sits at the offsets of a ``target`` sized canvas."""
    a, oh, ow, th, tw = _box(image, "pad_to_bounding_box", offset_height, offset_width,
                             target_height, target_width)
    h, w = a.shape[-3], a.shape[-2]
    bottom, right = th - oh - h, tw - ow - w
    if bottom < 0 or right < 0:
        raise ValueError(f"pad_to_bounding_box: an image of size ({h}, {w}) at offset "
                         f"({oh}, {ow}) does not fit in ({th}, {tw})")
    pads = [(0, 0)] * (a.ndim - 3) + [(oh, bottom), (ow, right), (0, 0)]
    return _op(np.pad(a, pads), [image], lambda g: [g[..., oh:oh + h, ow:ow + w, :]])


def central_crop(image, central_fraction) -> EagerTensor:
    """The central ``central_fraction`` (in (0, 1]) of each side, as TensorFlow rounds it."""
    a = _image_array(image, "central_crop")
    fraction = float(central_fraction)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be within (0, 1], got "
                         f"{central_fraction}")
    if fraction == 1.0:
        return _lift(image)
    h, w = a.shape[-3], a.shape[-2]
    top = int((h - h * fraction) / 2)
    left = int((w - w * fraction) / 2)
    return crop_to_bounding_box(image, top, left, h - 2 * top, w - 2 * left)


def resize_with_crop_or_pad(image, target_height, target_width) -> EagerTensor:
    """Centre-crop and/or zero-pad to ``(target_height, target_width)``."""
    a = _image_array(image, "resize_with_crop_or_pad")
    v = _check_int("resize_with_crop_or_pad", target_height=target_height,
                   target_width=target_width)
    th, tw = v["target_height"], v["target_width"]
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_with_crop_or_pad: target sizes must be > 0, got {th}, {tw}")
    h, w = a.shape[-3], a.shape[-2]
    cropped = crop_to_bounding_box(image, max((h - th) // 2, 0), max((w - tw) // 2, 0),
                                   min(h, th), min(w, tw))
    return pad_to_bounding_box(cropped, max((th - h) // 2, 0), max((tw - w) // 2, 0), th, tw)


def resize_with_pad(image, target_height, target_width, method=ResizeMethod.BILINEAR,
                    antialias=False) -> EagerTensor:
    """Resize keeping the aspect ratio, then zero-pad (centred) to the target size; float32
    (float64 images too, as TensorFlow)."""
    out = _resize_with_pad(image, target_height, target_width, method, antialias)
    nearest = isinstance(method, str) and method.lower() == "nearest"
    return out if nearest else _float32(out)


def _resize_with_pad(image, target_height, target_width, method=ResizeMethod.BILINEAR,
                     antialias=False) -> EagerTensor:
    """`resize_with_pad` keeping float64 images in float64."""
    a = _image_array(image, "resize_with_pad")
    v = _check_int("resize_with_pad", target_height=target_height, target_width=target_width)
    th, tw = v["target_height"], v["target_width"]
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_with_pad: target sizes must be > 0, got {th}, {tw}")
    h, w = a.shape[-3], a.shape[-2]
    ratio = max(w / tw, h / th)
    new_h, new_w = h / ratio, w / ratio
    resized = _resize(image, (int(np.floor(new_h)), int(np.floor(new_w))), method=method,
                      antialias=antialias)
    return pad_to_bounding_box(resized, max(0, int((th - new_h) / 2)),
                               max(0, int((tw - new_w) / 2)), th, tw)


def extract_patches(images, sizes, strides, rates, padding) -> EagerTensor:
    """``(m, h, w, c)`` -> ``(m, out_h, out_w, kh * kw * c)``: each output pixel holds its
    ``sizes = [1, kh, kw, 1]`` window (dilated by ``rates``) flattened row by row."""
    a = _image_array(images, "extract_patches", ranks=(4,))
    lists = {"sizes": sizes, "strides": strides, "rates": rates}
    vals = {}
    for key, v in lists.items():
        seq = [int(x) for x in np.asarray(value_of(v)).reshape(-1)]
        if len(seq) != 4 or seq[0] != 1 or seq[3] != 1 or min(seq) < 1:
            # TF 2.21's InvalidArgumentError (a ValueError too)
            raise InvalidArgumentError(f"extract_patches: {key} must be [1, rows, cols, 1] "
                                       f"with positive entries, got {list(v)}")
        vals[key] = seq[1:3]
    mode = str(padding).upper()
    if mode not in ("VALID", "SAME"):
        raise InvalidArgumentError(f"extract_patches: padding must be 'VALID' or 'SAME', "
                                   f"got {padding!r}")
    index, pads = [], []
    for axis in (0, 1):
        n, k = a.shape[1 + axis], vals["sizes"][axis]
        s, r = vals["strides"][axis], vals["rates"][axis]
        span = (k - 1) * r + 1
        if mode == "VALID":
            out = max(0, -(-(n - span + 1) // s))
            before = 0
        else:
            out = -(-n // s)
            before = max((out - 1) * s + span - n, 0) // 2
        pads.append((before, max((out - 1) * s + span - n - before, 0)))
        index.append(np.arange(out)[:, None] * s + np.arange(k)[None, :] * r)
    padded = np.pad(a, [(0, 0), pads[0], pads[1], (0, 0)])
    rows, cols = index
    gathered = padded[:, rows[:, None, :, None], cols[None, :, None, :], :]
    m, oh, ow = a.shape[0], rows.shape[0], cols.shape[0]
    out = gathered.reshape(m, oh, ow, -1)

    def vjp(g):
        full = np.zeros(padded.shape, dtype=a.dtype if a.dtype.kind == "f" else np.float32)
        g6 = np.reshape(g, gathered.shape)
        np.add.at(full, (slice(None), rows[:, None, :, None], cols[None, :, None, :]), g6)
        return [full[:, pads[0][0]:pads[0][0] + a.shape[1], pads[1][0]:pads[1][0] + a.shape[2]]]

    return _op(out, [images], vjp)


# ----------------------------------------------------------------------------- colour


def grayscale_to_rgb(images, name=None) -> EagerTensor:
    """Repeat the single channel of ``(..., 1)`` images three times."""
    a = _convert(images)
    if a.ndim < 2 or a.shape[-1] != 1:
        raise ValueError(f"grayscale_to_rgb expects 1 channel in the last axis, got shape "
                         f"{a.shape}")
    return _ops.tile(images, [1] * (a.ndim - 1) + [3])


def _float_rgb(image, what: str) -> np.ndarray:
    a = _rgb_array(image, what)
    if a.dtype.kind != "f":
        raise TypeError(f"{what} expects a float image (use convert_image_dtype first), got "
                        f"{a.dtype}")
    return a


def _hsv_of(a: np.ndarray) -> np.ndarray:
    v = a.max(axis=-1)
    spread = v - a.min(axis=-1)
    s = np.where(v > 0, spread / np.where(v > 0, v, 1), 0)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    safe = np.where(spread > 0, spread, 1)
    # which channel is the largest picks the sector of the hue circle (red first on ties)
    h = np.where(r == v, (g - b) / safe,
                 np.where(g == v, 2 + (b - r) / safe, 4 + (r - g) / safe)) / 6
    h = np.where(spread > 0, h, 0)
    h = np.where(h < 0, h + 1, h)
    return np.stack([h, s, v], axis=-1).astype(a.dtype, copy=False)


def _rgb_of(a: np.ndarray) -> np.ndarray:
    h6, s, v = a[..., 0] * 6, a[..., 1], a[..., 2]
    red = np.clip(np.abs(h6 - 3) - 1, 0, 1)
    green = np.clip(2 - np.abs(h6 - 2), 0, 1)
    blue = np.clip(2 - np.abs(h6 - 4), 0, 1)
    # each channel lies between v * (1 - s) (grey part) and v, by its share of the hue
    out = np.stack([(1 - s + s * c) * v for c in (red, green, blue)], axis=-1)
    return out.astype(a.dtype, copy=False)


def _hsv_vjp(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of `_hsv_of` at RGB pixels ``a`` for the cotangent ``g`` of (h, s, v).

    With ``v`` the largest channel, ``m`` the smallest and ``d = v - m``: ``v`` moves with
    its channel; ``s = d / v``; the hue is ``(k + n / d) / 6`` in the sector of the largest
    channel (red first on ties, as `_hsv_of` picks it), ``n`` the difference of the other
    two channels in the circle's order and ``k`` 0, 2 or 4 (the wrap by +1 is a constant).
    Grey pixels (``d = 0``) have a constant hue, black ones (``v = 0``) a constant
    saturation: no gradient through those."""
    r, gr, b = a[..., 0], a[..., 1], a[..., 2]
    v = a.max(axis=-1)
    m = a.min(axis=-1)
    d = v - m
    channels = np.arange(3)
    red_max, green_max = r == v, (gr == v) & (r != v)
    top = np.where(red_max, 0, np.where(green_max, 1, 2))
    dv = (channels == top[..., None]).astype(a.dtype)  # d v / d channel
    # the smallest channel: blue first on ties (TensorFlow's gradient picks it so)
    low = 2 - a[..., ::-1].argmin(axis=-1)
    dm = (channels == low[..., None]).astype(a.dtype)
    dd = dv - dm
    # the hue's numerator n and its derivative: g - b, b - r or r - g by sector
    n = np.where(red_max, gr - b, np.where(green_max, b - r, r - gr))
    plus = np.where(top == 0, 1, np.where(top == 1, 2, 0))  # the channel n adds
    minus = np.where(top == 0, 2, np.where(top == 1, 0, 1))  # the channel n subtracts
    dn = (channels == plus[..., None]).astype(a.dtype) - (
        channels == minus[..., None]).astype(a.dtype)
    safe_d = np.where(d > 0, d, 1)[..., None]
    safe_v = np.where(v > 0, v, 1)[..., None]
    dh = np.where((d > 0)[..., None], (dn * safe_d - n[..., None] * dd) / (6 * safe_d ** 2), 0)
    ds = np.where((v > 0)[..., None], (dd * safe_v - d[..., None] * dv) / safe_v ** 2, 0)
    out = g[..., 0:1] * dh + g[..., 1:2] * ds + g[..., 2:3] * dv
    return out.astype(a.dtype, copy=False)


def rgb_to_hsv(images, name=None) -> EagerTensor:
    """Float RGB in [0, 1] -> HSV, each of hue, saturation, value in [0, 1]. Differentiable,
    as TensorFlow's (`_hsv_vjp`); `hsv_to_rgb` is not (TensorFlow gives no gradient)."""
    a = _float_rgb(images, "rgb_to_hsv")
    return _op(_hsv_of(a), [images], lambda g: [_hsv_vjp(a, np.asarray(g))])


def hsv_to_rgb(images, name=None) -> EagerTensor:
    """HSV (each in [0, 1]) -> float RGB."""
    a = _float_rgb(images, "hsv_to_rgb")
    # not recorded: TensorFlow marks it not differentiable, so a tape's gradient is None
    return _op(_rgb_of(a), [images])


_YUV = np.array([[0.299, -0.14714119, 0.61497538],
                 [0.587, -0.28886916, -0.51496512],
                 [0.114, 0.43601035, -0.10001026]])
_RGB_FROM_YUV = np.array([[1.0, 1.0, 1.0],
                          [0.0, -0.394642334, 2.03206185],
                          [1.13988303, -0.58062185, 0.0]])


def rgb_to_yuv(images) -> EagerTensor:
    """Float RGB -> YUV (Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615])."""
    a = _float_rgb(images, "rgb_to_yuv")
    return _ops.matmul(_lift(images), _YUV.astype(a.dtype))


def yuv_to_rgb(images) -> EagerTensor:
    a = _float_rgb(images, "yuv_to_rgb")
    return _ops.matmul(_lift(images), _RGB_FROM_YUV.astype(a.dtype))


_YIQ = np.array([[0.299, 0.59590059, 0.2115],
                 [0.587, -0.27455667, -0.52273617],
                 [0.114, -0.32134392, 0.31119955]])
_RGB_FROM_YIQ = np.array([[1.0, 1.0, 1.0],
                          [0.95598634, -0.27201283, -1.10674021],
                          [0.6208248, -0.64720424, 1.70423049]])


def rgb_to_yiq(images) -> EagerTensor:
    """Float RGB -> YIQ (NTSC): Y in [0, 1], I in [-0.5957, 0.5957], Q in [-0.5226,
    0.5226]; a matrix product, so it has a gradient."""
    a = _float_rgb(images, "rgb_to_yiq")
    return _ops.matmul(_lift(images), _YIQ.astype(a.dtype))


def yiq_to_rgb(images) -> EagerTensor:
    """The inverse of `rgb_to_yiq`."""
    a = _float_rgb(images, "yiq_to_rgb")
    return _ops.matmul(_lift(images), _RGB_FROM_YIQ.astype(a.dtype))


# ----------------------------------------------------------------------------- adjustments


def adjust_brightness(image, delta) -> EagerTensor:
    """``image + delta`` (integer images: in [0, 1] float, then back, saturated)."""
    x, back = _as_float(image, "adjust_brightness")
    return back(x + np.asarray(value_of(delta), dtype=value_of(x).dtype))


def adjust_contrast(images, contrast_factor) -> EagerTensor:
    """``(x - mean) * contrast_factor + mean`` with the mean of each channel of each image."""
    _image_array(images, "adjust_contrast")
    x, back = _as_float(images, "adjust_contrast")
    mean = _ops.reduce_mean(x, axis=(-3, -2), keepdims=True)
    factor = np.asarray(value_of(contrast_factor), dtype=value_of(x).dtype)
    return back((x - mean) * factor + mean)


def adjust_gamma(image, gamma=1, gain=1) -> EagerTensor:
    """``gain * image ** gamma`` (integer images: in [0, 1] float, then back)."""
    if float(gamma) < 0:
        raise ValueError(f"adjust_gamma: gamma must be non-negative, got {gamma}")
    x, back = _as_float(image, "adjust_gamma")
    dtype = value_of(x).dtype
    return back(np.asarray(gain, dtype=dtype) * x ** np.asarray(gamma, dtype=dtype))


def adjust_saturation(image, saturation_factor, name=None) -> EagerTensor:
    """Scale the HSV saturation by ``saturation_factor`` (clipped to [0, 1]), hue and value kept.

    Written without leaving RGB: each channel is ``v - (v - x) * r``, where ``v`` is the
    pixel's largest channel and ``r`` the saturation's scale after clipping, so it is
    differentiable.
    """
    _rgb_array(image, "adjust_saturation")
    x, back = _as_float(image, "adjust_saturation")
    a = value_of(x)
    v = _ops.reduce_max(x, axis=-1, keepdims=True)
    spread = v - _ops.reduce_min(x, axis=-1, keepdims=True)
    va, sa = value_of(v), value_of(spread)
    colourful = (va > 0) & (sa > 0)
    factor = max(float(saturation_factor), 0.0)
    ceiling = v / _ops.where(colourful, spread, np.ones_like(sa))
    ratio = _ops.minimum(ceiling, np.asarray(factor, dtype=a.dtype))
    out = v - (v - x) * ratio
    return back(_ops.where(np.broadcast_to(colourful, a.shape), out, x))


def adjust_hue(image, delta, name=None) -> EagerTensor:
    """Turn the hue of RGB images by ``delta`` (a fraction of the colour circle, in [-1, 1])."""
    a = _rgb_array(image, "adjust_hue")
    d = float(delta)
    if not -1.0 <= d <= 1.0:
        raise ValueError(f"adjust_hue: delta must be in the interval [-1, 1], got {delta}")
    x, back = _as_float(a, "adjust_hue")
    hsv = _hsv_of(value_of(x))
    hsv[..., 0] = np.mod(hsv[..., 0] + d, 1.0)
    return _op(value_of(back(constant(_rgb_of(hsv)))), [image], _no_gradient("adjust_hue"))


def per_image_standardization(image) -> EagerTensor:
    """Each image scaled to mean 0 and variance 1: ``(x - mean) / max(std, 1/sqrt(N))`` with
    ``N`` its number of values; integer images become float32."""
    a = _image_array(image, "per_image_standardization")
    x = _lift(image) if a.dtype.kind == "f" else constant(a.astype(np.float32))
    count = a.shape[-1] * a.shape[-2] * a.shape[-3]
    mean = _ops.reduce_mean(x, axis=(-3, -2, -1), keepdims=True)
    std = _ops.reduce_std(x, axis=(-3, -2, -1), keepdims=True)
    floor = np.asarray(1.0 / np.sqrt(count), dtype=value_of(x).dtype)
    return (x - mean) / _ops.maximum(std, floor)


# ----------------------------------------------------------------------------- random


def _draw_flip(image, axis_from_end: int, rng: np.random.Generator, what: str) -> EagerTensor:
    a = _image_array(image, what)
    axis = a.ndim - axis_from_end
    if a.ndim == 3:
        flip = np.array(rng.uniform() < 0.5)
    else:
        flip = (rng.uniform(size=a.shape[0]) < 0.5).reshape(-1, 1, 1, 1)
    out = np.where(flip, np.flip(a, axis), a)
    return _op(out, [image], lambda g: [np.where(flip, np.flip(g, axis), g)])


def random_flip_left_right(image, seed=None) -> EagerTensor:
    """Mirror horizontally with probability 1/2 (each image of a batch on its own)."""
    return _draw_flip(image, 2, _random._seeded(seed), "random_flip_left_right")


def random_flip_up_down(image, seed=None) -> EagerTensor:
    return _draw_flip(image, 3, _random._seeded(seed), "random_flip_up_down")


def stateless_random_flip_left_right(image, seed) -> EagerTensor:
    return _draw_flip(image, 2, _random._stateless(seed), "stateless_random_flip_left_right")


def stateless_random_flip_up_down(image, seed) -> EagerTensor:
    return _draw_flip(image, 3, _random._stateless(seed), "stateless_random_flip_up_down")


def _delta(what: str, max_delta, rng: np.random.Generator, upper=None) -> float:
    """One delta drawn uniformly from [-max_delta, max_delta), after checking max_delta."""
    d = float(max_delta)
    if d < 0 or (upper is not None and d > upper):
        bound = "non-negative" if upper is None else f"in the interval [0, {upper}]"
        raise ValueError(f"{what}: max_delta must be {bound}, got {max_delta}")
    return float(rng.uniform(-d, d))


def _factor(what: str, lower, upper, rng: np.random.Generator) -> float:
    """One factor drawn uniformly from [lower, upper), after checking the range."""
    lo, hi = float(lower), float(upper)
    if hi <= lo:
        raise ValueError(f"{what}: upper must be > lower, got lower={lower}, upper={upper}")
    if lo < 0:
        raise ValueError(f"{what}: lower must be non-negative, got {lower}")
    return float(rng.uniform(lo, hi))


def _named(fn, name: str, doc: str):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _delta_twins(adjust, name: str, upper=None):
    """``random_<name>(image, max_delta, seed=None)`` and its stateless twin (``seed=(a, b)``),
    both applying ``adjust`` with a delta drawn from [-max_delta, max_delta)."""
    def drawn(image, max_delta, seed=None):
        return adjust(image, _delta(f"random_{name}", max_delta, _random._seeded(seed), upper))

    def stateless(image, max_delta, seed):
        return adjust(image, _delta(f"stateless_random_{name}", max_delta,
                                    _random._stateless(seed), upper))

    doc = (f"`adjust_{name}` by one delta drawn uniformly from [-max_delta, max_delta)"
           + ("" if upper is None else f", max_delta <= {upper}") + ".")
    return (_named(drawn, f"random_{name}", doc),
            _named(stateless, f"stateless_random_{name}", doc + " Same seed, same result."))


def _factor_twins(adjust, name: str):
    """``random_<name>(image, lower, upper, seed=None)`` and its stateless twin, applying
    ``adjust`` with a factor drawn from [lower, upper)."""
    def drawn(image, lower, upper, seed=None):
        return adjust(image, _factor(f"random_{name}", lower, upper, _random._seeded(seed)))

    def stateless(image, lower, upper, seed):
        return adjust(image, _factor(f"stateless_random_{name}", lower, upper,
                                     _random._stateless(seed)))

    doc = f"`adjust_{name}` by one factor drawn uniformly from [lower, upper)."
    return (_named(drawn, f"random_{name}", doc),
            _named(stateless, f"stateless_random_{name}", doc + " Same seed, same result."))


random_brightness, stateless_random_brightness = _delta_twins(adjust_brightness, "brightness")
random_hue, stateless_random_hue = _delta_twins(adjust_hue, "hue", upper=0.5)
random_contrast, stateless_random_contrast = _factor_twins(adjust_contrast, "contrast")
random_saturation, stateless_random_saturation = _factor_twins(adjust_saturation, "saturation")


def adjust_jpeg_quality(image, jpeg_quality, dct_method="", name=None) -> EagerTensor:
    """The image after a JPEG round trip at ``jpeg_quality`` (0 to 100), in its own dtype
    (floats are taken as 0..1 and converted to uint8 and back, as TensorFlow converts them).

    One ``(h, w, 1 or 3)`` image, as TensorFlow takes it. The codec is Pillow's (the
    `encode_jpeg`/`decode_jpeg` pair): the same kind of loss, pixels within a few levels of
    TensorFlow's (its libjpeg settings differ); no gradient.
    """
    a = value_of(image) if isinstance(image, np.ndarray) else np.asarray(image)
    if a.ndim != 3 or a.shape[-1] not in (1, 3):
        raise InvalidArgumentError(f"adjust_jpeg_quality expects one (height, width, 1 or 3) "
                                   f"image, got shape {a.shape}")
    quality = int(np.asarray(jpeg_quality))
    if not 0 <= quality <= 100:
        raise InvalidArgumentError(f"adjust_jpeg_quality: jpeg_quality must be in [0, 100], "
                                   f"got {quality}")
    pixels = np.asarray(convert_image_dtype(a, np.uint8, saturate=True))
    decoded = decode_jpeg(encode_jpeg(pixels, quality=quality), channels=a.shape[-1])
    return convert_image_dtype(decoded, a.dtype)


def _jpeg_quality(what: str, lower, upper, rng: np.random.Generator) -> int:
    """One quality drawn uniformly from the ints in [lower, upper), after TensorFlow's
    check ``0 <= lower < upper <= 100``."""
    lo, hi = int(lower), int(upper)
    if not 0 <= lo < hi <= 100:
        raise ValueError(f"{what}: expected 0 <= min_jpeg_quality < max_jpeg_quality <= 100, "
                         f"got {lower} and {upper}")
    return int(rng.integers(lo, hi))


def random_jpeg_quality(image, min_jpeg_quality, max_jpeg_quality, seed=None) -> EagerTensor:
    """`adjust_jpeg_quality` at a quality drawn from [min_jpeg_quality, max_jpeg_quality)."""
    return adjust_jpeg_quality(image, _jpeg_quality(
        "random_jpeg_quality", min_jpeg_quality, max_jpeg_quality, _random._seeded(seed)))


def stateless_random_jpeg_quality(image, min_jpeg_quality, max_jpeg_quality,
                                  seed) -> EagerTensor:
    """`random_jpeg_quality` whose quality depends only on ``seed=(a, b)``."""
    return adjust_jpeg_quality(image, _jpeg_quality(
        "stateless_random_jpeg_quality", min_jpeg_quality, max_jpeg_quality,
        _random._stateless(seed)))


random_crop = _random.random_crop


def stateless_random_crop(value, size, seed, name=None) -> EagerTensor:
    """`random_crop` whose offset depends only on ``seed=(a, b)``."""
    return _random._crop_at_random(value, size, _random._stateless(seed))


# ----------------------------------------------------------------------------- measures


def total_variation(images, name=None) -> EagerTensor:
    """Sum of absolute differences between neighbouring pixels: a scalar for ``(h, w, c)``,
    one value per image for ``(m, h, w, c)``. Unsigned images are refused, as TensorFlow
    refuses them (their differences would wrap around instead of going negative)."""
    a = _image_array(images, "total_variation")
    if a.dtype.kind == "u":
        raise InvalidArgumentError(f"total_variation: unsigned images ({a.dtype}) have no "
                                   f"absolute differences; cast them to a float or signed "
                                   f"dtype first")
    x = _lift(images)
    if a.ndim == 3:
        down = x[1:, :, :] - x[:-1, :, :]
        across = x[:, 1:, :] - x[:, :-1, :]
        return _ops.reduce_sum(_ops.abs(down)) + _ops.reduce_sum(_ops.abs(across))
    down = x[:, 1:, :, :] - x[:, :-1, :, :]
    across = x[:, :, 1:, :] - x[:, :, :-1, :]
    return (_ops.reduce_sum(_ops.abs(down), axis=(1, 2, 3))
            + _ops.reduce_sum(_ops.abs(across), axis=(1, 2, 3)))


def image_gradients(image) -> tuple:
    """``(dy, dx)`` of ``(m, h, w, c)`` images: forward differences, zero in the last row
    (dy) and last column (dx)."""
    a = _image_array(image, "image_gradients", ranks=(4,))
    x = _lift(image)
    zeros_row = np.zeros((a.shape[0], 1) + a.shape[2:], dtype=a.dtype)
    zeros_col = np.zeros(a.shape[:2] + (1, a.shape[3]), dtype=a.dtype)
    dy = _ops.concat([x[:, 1:] - x[:, :-1], zeros_row], axis=1)
    dx = _ops.concat([x[:, :, 1:] - x[:, :, :-1], zeros_col], axis=2)
    return dy, dx


_SOBEL_DY = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64)


def sobel_edges(image) -> EagerTensor:
    """``(m, h, w, c)`` -> ``(m, h, w, c, 2)``: the vertical then horizontal Sobel responses,
    with the image mirrored (without repeating the edge) at its border."""
    a = _image_array(image, "sobel_edges", ranks=(4,))
    if a.shape[1] < 2 or a.shape[2] < 2:
        raise InvalidArgumentError(f"sobel_edges needs images of at least 2x2 pixels, got "
                                   f"{a.shape}")
    x = _lift(image) if a.dtype.kind == "f" else constant(a.astype(np.float32))
    h, w = a.shape[1], a.shape[2]
    mirror_rows = np.concatenate([[1], np.arange(h), [h - 2]])
    mirror_cols = np.concatenate([[1], np.arange(w), [w - 2]])
    padded = _ops.gather(_ops.gather(x, mirror_rows, axis=1), mirror_cols, axis=2)
    responses = []
    for kernel in (_SOBEL_DY, _SOBEL_DY.T):
        total = None
        for i in range(3):
            for j in range(3):
                if kernel[i, j] != 0:
                    term = padded[:, i:i + h, j:j + w, :] * kernel[i, j].astype(
                        value_of(x).dtype)
                    total = term if total is None else total + term
        responses.append(total)
    return _ops.stack(responses, axis=-1)


def _float_pair(a, b, max_val, what: str):
    """Both images and ``max_val`` as TensorFlow's measures take them: float32 in [0, 1]
    scale for integer images, float images as they are (the public measures then give
    float32, as TensorFlow converts every image to float32 first). The two broadcast
    against each other (one reference image for a batch of predictions), as TensorFlow's
    do; ssim's need the same last three axes (height, width, channels)."""
    av, bv = _convert(a), _convert(b)
    if av.ndim < 3 or bv.ndim < 3:
        raise ValueError(f"{what} expects images of rank >= 3, got shapes {av.shape} and "
                         f"{bv.shape}")
    try:
        shape = np.broadcast_shapes(av.shape, bv.shape)
    except ValueError:
        shape = None
    if shape is None or (what != "psnr" and av.shape[-3:] != bv.shape[-3:]):
        raise InvalidArgumentError(f"{what}: the two images must have the same shape (or "
                                   f"shapes that broadcast), got {av.shape} and {bv.shape}")
    if av.dtype.kind in "iu":
        scale = float(np.iinfo(av.dtype).max)
        x, y = convert_image_dtype(av, np.float32), convert_image_dtype(bv, np.float32)
        peak = float(max_val) / scale
    else:
        x, y, peak = _lift(a), _lift(b), float(max_val)
    if av.shape != shape:
        x = _manip.broadcast_to(x, shape)
    if bv.shape != shape:
        y = _manip.broadcast_to(y, shape)
    return x, y, peak


def psnr(a, b, max_val, name=None) -> EagerTensor:
    """Peak signal-to-noise ratio in dB over the last three axes: ``10 log10(max^2 / mse)``;
    float32, float64 images too (as TensorFlow)."""
    return _float32(_psnr(a, b, max_val))


def _psnr(a, b, max_val) -> EagerTensor:
    """`psnr` keeping float64 images in float64."""
    x, y, peak = _float_pair(a, b, max_val, "psnr")
    mse = _ops.reduce_mean(_ops.square(x - y), axis=(-3, -2, -1))
    dtype = value_of(x).dtype
    ten_over_ln10 = np.asarray(10.0 / np.log(10.0), dtype=dtype)
    with np.errstate(divide="ignore"):  # identical images: mse 0, psnr inf (as TensorFlow)
        log_mse = _ops.log(mse)
    return np.asarray(20.0 * np.log10(peak), dtype=dtype) - ten_over_ln10 * log_mse


def _gaussian_band(n: int, size: int, sigma: float) -> np.ndarray:
    """``(n - size + 1, n)`` matrix applying a normalized 1-D Gaussian window ('valid')."""
    coords = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-coords ** 2 / (2.0 * sigma ** 2))
    g /= g.sum()
    band = np.zeros((n - size + 1, n))
    for i in range(n - size + 1):
        band[i, i:i + size] = g
    return band


def _ssim_maps(x, y, peak: float, filter_size, filter_sigma, k1, k2, what: str):
    """``(index, cs)`` maps ``(n, H, W, c)`` of float images flattened to ``(n, h, w, c)``:
    the SSIM index (luminance times contrast-structure) and the contrast-structure term
    alone, over 'valid' Gaussian windows."""
    shape = value_of(x).shape
    size = int(filter_size)
    if size < 1 or shape[-3] < size or shape[-2] < size:
        # TensorFlow's InvalidArgumentError (a ValueError too)
        raise InvalidArgumentError(f"{what}: images of size {shape[-3:-1]} must be at least "
                                   f"filter_size ({filter_size}) high and wide")
    dtype = value_of(x).dtype
    rows = _gaussian_band(shape[-3], size, float(filter_sigma)).astype(dtype)
    cols = _gaussian_band(shape[-2], size, float(filter_sigma)).astype(dtype)

    def blur(t):
        return _resize_linear(t, rows, cols)

    c1 = np.asarray((float(k1) * peak) ** 2, dtype=dtype)
    c2 = np.asarray((float(k2) * peak) ** 2, dtype=dtype)
    mean_x, mean_y = blur(x), blur(y)
    both = mean_x * mean_y * 2
    squares = mean_x * mean_x + mean_y * mean_y
    luminance = (both + c1) / (squares + c1)
    cross = blur(x * y) * 2
    energy = blur(x * x + y * y)
    structure = (cross - both + c2) / (energy - squares + c2)
    return luminance * structure, structure


def ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         return_index_map=False) -> EagerTensor:
    """Structural similarity of ``(..., h, w, c)`` images (one value per image), with a
    Gaussian window of ``filter_size`` and ``filter_sigma``, averaged over pixels then
    channels; ``return_index_map=True`` gives the per-pixel map (averaged over channels).
    Float32, float64 images too (as TensorFlow)."""
    return _float32(_ssim(img1, img2, max_val, filter_size, filter_sigma, k1, k2,
                          return_index_map))


def _ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
          return_index_map=False) -> EagerTensor:
    """`ssim` keeping float64 images in float64 (keras.ops.image.ssim does)."""
    x, y, peak = _float_pair(img1, img2, max_val, "ssim")
    shape = value_of(x).shape
    flat = (-1,) + shape[-3:]
    index, _ = _ssim_maps(_ops.reshape(x, flat), _ops.reshape(y, flat), peak, filter_size,
                          filter_sigma, k1, k2, "ssim")
    if return_index_map:
        out = _ops.reduce_mean(index, axis=-1)
        return _ops.reshape(out, shape[:-3] + tuple(value_of(out).shape[1:]))
    out = _ops.reduce_mean(index, axis=(1, 2, 3))
    return _ops.reshape(out, shape[:-3])


_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ssim_multiscale(img1, img2, max_val, power_factors=_MS_SSIM_WEIGHTS, filter_size=11,
                    filter_sigma=1.5, k1=0.01, k2=0.03) -> EagerTensor:
    """Multi-scale SSIM (Wang et al. 2003) of ``(..., h, w, c)`` images, one value per
    image: the contrast-structure term at each of ``len(power_factors)`` scales (each half
    the size of the one before: 2x2 averages, odd sizes first padded by mirroring the last
    row/column) and the full SSIM at the coarsest, each per channel, clipped at 0, raised to
    its power factor and multiplied; then averaged over the channels. The coarsest scale
    must still be at least ``filter_size`` pixels high and wide. Float32, float64 images too (as
    TensorFlow)."""
    return _float32(_ssim_multiscale(img1, img2, max_val, power_factors, filter_size,
                                     filter_sigma, k1, k2))


def _ssim_multiscale(img1, img2, max_val, power_factors=_MS_SSIM_WEIGHTS, filter_size=11,
                     filter_sigma=1.5, k1=0.01, k2=0.03) -> EagerTensor:
    """`ssim_multiscale` keeping float64 images in float64."""
    x, y, peak = _float_pair(img1, img2, max_val, "ssim_multiscale")
    shape = value_of(x).shape
    flat = (-1,) + shape[-3:]
    images = [_ops.reshape(x, flat), _ops.reshape(y, flat)]
    factors = [float(f) for f in power_factors]
    terms = []
    for scale in range(len(factors)):
        if scale:
            h, w = value_of(images[0]).shape[1:3]
            pads = [[0, 0], [0, h % 2], [0, w % 2], [0, 0]]
            images = [_ops.reshape(_ops.reduce_mean(_ops.reshape(
                _pad_symmetric(t, pads), [-1, (h + h % 2) // 2, 2, (w + w % 2) // 2, 2,
                                         shape[-1]]), axis=(2, 4)),
                [-1, (h + h % 2) // 2, (w + w % 2) // 2, shape[-1]]) for t in images]
        index, cs = _ssim_maps(images[0], images[1], peak, filter_size, filter_sigma, k1, k2,
                               "ssim_multiscale")
        last = scale == len(factors) - 1
        per_channel = _ops.reduce_mean(index if last else cs, axis=(1, 2))
        terms.append(_ops.maximum(per_channel, 0) ** np.asarray(
            factors[scale], dtype=value_of(per_channel).dtype))
    total = terms[0]
    for t in terms[1:]:
        total = total * t
    out = _ops.reduce_mean(total, axis=-1)
    return _ops.reshape(out, shape[:-3])


def _pad_symmetric(t, pads):
    """``t`` padded by mirroring (the edge row/column repeated), recorded by the tape."""
    from convnp.tensor.sorting import pad

    return pad(t, pads, mode="SYMMETRIC")


# ----------------------------------------------------------------------------- boxes


def _crop_axis(lo, hi, n_in: int, n_out: int):
    """The sample positions (in input pixels) of one box along one axis, and their slopes
    with respect to the box's two coordinates (TensorFlow's rule: the box's ends map to the
    first and last samples; one sample sits at the middle). The positions are computed in
    float32 as TensorFlow's kernel does: which pixels a sample falls between (0.2 * 5 is 1
    in float32, a hair above 1 in float64) decides the values and the box gradients."""
    f32 = np.float32
    lo, hi, span = f32(lo), f32(hi), f32(n_in - 1)
    if n_out > 1:
        ratio = span / f32(n_out - 1)
        steps = np.arange(n_out, dtype=f32)
        where = lo * span + steps * ((hi - lo) * ratio)
        return (where.astype(np.float64), (span - steps * ratio).astype(np.float64),
                (steps * ratio).astype(np.float64))
    half = np.full(1, 0.5 * float(span))
    return np.full(1, float(f32(0.5) * (lo + hi) * span)), half, half


def crop_and_resize(image, boxes, box_indices, crop_size, method="bilinear",
                    extrapolation_value=0.0, name=None) -> EagerTensor:
    """Crops of ``image`` ``(m, h, w, c)`` at normalized ``boxes`` ``(n, 4)`` (``[y1, x1, y2,
    x2]``, 0..1 spanning the image; y1 > y2 flips the crop) from the images
    ``box_indices``, each resampled to ``crop_size`` ``(crop_h, crop_w)``: ``(n, crop_h,
    crop_w, c)`` float32 (the ROI crops of two-stage detectors). Samples outside the image
    get ``extrapolation_value``. Bilinear crops have gradients for the image and the boxes,
    nearest ones for the image."""
    what = "crop_and_resize"
    a = _image_array(image, what, ranks=(4,))
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{what}: image must be numeric, got {a.dtype}")
    b = np.asarray(_convert(boxes), dtype=np.float64)
    idx = np.asarray(_convert(box_indices))
    if b.ndim != 2 or b.shape[1] != 4:
        raise InvalidArgumentError(f"{what}: boxes must be (num_boxes, 4), got shape "
                                   f"{list(b.shape)}")
    if idx.shape != (b.shape[0],) or idx.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{what}: box_indices must be {b.shape[0]} ints (one per "
                                   f"box), got {idx.tolist()}")
    if np.any((idx < 0) | (idx >= a.shape[0])):
        from convnp.tensor.errors import OutOfRangeError

        raise OutOfRangeError(f"{what}: box_indices must lie in [0, {a.shape[0]}), got "
                              f"{idx.tolist()}")
    if method not in ("bilinear", "nearest"):
        raise InvalidArgumentError(f"{what}: method must be 'bilinear' or 'nearest', got "
                                   f"{method!r}")
    size = np.asarray(_convert(crop_size)).reshape(-1)
    if size.shape != (2,) or np.any(size < 1):
        raise InvalidArgumentError(f"{what}: crop_size must be two positive ints, got "
                                   f"{size.tolist()}")
    crop_h, crop_w = int(size[0]), int(size[1])
    _, h, w, c = a.shape
    x = a.astype(np.float64)
    fill = float(extrapolation_value)
    out = np.empty((b.shape[0], crop_h, crop_w, c))
    parts = []  # what the gradients need, per box
    for k, (y1, x1, y2, x2) in enumerate(b):
        ys, dy1, dy2 = _crop_axis(y1, y2, h, crop_h)
        xs, dx1, dx2 = _crop_axis(x1, x2, w, crop_w)
        inside = ((ys >= 0) & (ys <= h - 1))[:, None] & ((xs >= 0) & (xs <= w - 1))[None, :]
        src = x[idx[k]]
        if method == "nearest":
            # rounding half away from zero, as C's roundf
            rows = np.clip(np.floor(np.abs(ys) + 0.5) * np.sign(ys), 0, h - 1).astype(int)
            cols = np.clip(np.floor(np.abs(xs) + 0.5) * np.sign(xs), 0, w - 1).astype(int)
            crop = src[rows][:, cols]
            parts.append((rows, cols, inside))
        else:
            top = np.clip(np.floor(ys), 0, h - 1).astype(int)
            bottom = np.clip(np.ceil(ys), 0, h - 1).astype(int)
            left = np.clip(np.floor(xs), 0, w - 1).astype(int)
            right = np.clip(np.ceil(xs), 0, w - 1).astype(int)
            fy = (ys - np.floor(ys))[:, None, None]
            fx = (xs - np.floor(xs))[None, :, None]
            tl, tr = src[top][:, left], src[top][:, right]
            bl, br = src[bottom][:, left], src[bottom][:, right]
            upper = tl + (tr - tl) * fx
            lower = bl + (br - bl) * fx
            crop = upper + (lower - upper) * fy
            parts.append((top, bottom, left, right, fy, fx, inside, lower - upper,
                          (tr - tl) * (1 - fy) + (br - bl) * fy, (dy1, dy2, dx1, dx2)))
        out[k] = np.where(inside[:, :, None], crop, fill)

    def vjp(g):
        g = np.asarray(g, dtype=np.float64)
        d_image = np.zeros(x.shape)
        d_boxes = np.zeros(b.shape)
        for k, part in enumerate(parts):
            gk = np.where(part[-1 if method == "nearest" else 6][:, :, None], g[k], 0.0)
            target = d_image[idx[k]]
            if method == "nearest":
                rows, cols, _ = part
                np.add.at(target, (rows[:, None], cols[None, :]), gk)
                continue
            top, bottom, left, right, fy, fx, _, slope_y, slope_x, (dy1, dy2, dx1, dx2) = part
            r_t, r_b = top[:, None], bottom[:, None]
            c_l, c_r = left[None, :], right[None, :]
            np.add.at(target, (r_t, c_l), gk * (1 - fy) * (1 - fx))
            np.add.at(target, (r_t, c_r), gk * (1 - fy) * fx)
            np.add.at(target, (r_b, c_l), gk * fy * (1 - fx))
            np.add.at(target, (r_b, c_r), gk * fy * fx)
            along_y = (gk * slope_y).sum(axis=(1, 2))
            along_x = (gk * slope_x).sum(axis=(0, 2))
            d_boxes[k] = [along_y @ dy1, along_x @ dx1, along_y @ dy2, along_x @ dx2]
        return [d_image.astype(a.dtype) if a.dtype.kind == "f" else None,
                d_boxes.astype(np.float32) if method == "bilinear" else None, None, None]

    return _op(out.astype(np.float32), [image, boxes, box_indices, crop_size], vjp)


# TensorFlow's colours for boxes drawn without ``colors`` (RGBA), used in turn
_BOX_COLORS = np.array([[1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 0, 1],
                        [0.5, 0, 0.5, 1], [0.5, 0.5, 0, 1], [0.5, 0, 0, 1], [0, 0, 0.5, 1],
                        [0, 1, 1, 1], [1, 0, 1, 1]], dtype=np.float32)


def draw_bounding_boxes(images, boxes, colors, name=None) -> EagerTensor:
    """``images`` ``(m, h, w, depth)`` with the one-pixel outline of each normalized box of
    ``boxes`` ``(m, n, 4)`` (``[y_min, x_min, y_max, x_max]``) drawn over them, box ``i`` in
    ``colors[i % len(colors)]`` (TensorFlow's palette when ``colors`` is None). Edges
    outside the image are left out; later boxes cover earlier ones. Values only.

    A box's pixel rows and columns are TensorFlow's: the float32 product of a coordinate and
    ``size - 1`` cast to an integer, toward zero, so a box starting just above the image
    (``y_min = -0.1``) has its top edge on row 0."""
    what = "draw_bounding_boxes"
    a = _image_array(images, what, ranks=(4,))
    out = a.astype(a.dtype if a.dtype in (np.float16, np.float32) else np.float32)
    b = np.asarray(_convert(boxes), dtype=np.float32)
    if b.ndim != 3 or b.shape[0] != a.shape[0] or b.shape[2] != 4:
        raise InvalidArgumentError(f"{what}: boxes must be (batch, num_boxes, 4) for "
                                   f"{a.shape[0]} images, got shape {list(b.shape)}")
    palette = _BOX_COLORS if colors is None else np.asarray(_convert(colors), np.float32)
    depth = a.shape[3]
    if palette.ndim != 2 or palette.shape[0] == 0 or palette.shape[1] < depth:
        raise InvalidArgumentError(f"{what}: colors must be (num_colors, >= {depth}) for "
                                   f"{depth}-channel images, got shape {list(palette.shape)}")
    h, w = a.shape[1:3]
    for n, image_boxes in enumerate(b):
        for i, (y1, x1, y2, x2) in enumerate(image_boxes):
            colour = palette[i % len(palette), :depth].astype(out.dtype)
            r1, r2 = int(y1 * np.float32(h - 1)), int(y2 * np.float32(h - 1))
            c1, c2 = int(x1 * np.float32(w - 1)), int(x2 * np.float32(w - 1))
            if r1 > r2 or c1 > c2 or r1 >= h or r2 < 0 or c1 >= w or c2 < 0:
                continue  # an empty or off-image box: nothing to draw
            rows = slice(max(r1, 0), min(r2, h - 1) + 1)
            cols = slice(max(c1, 0), min(c2, w - 1) + 1)
            if r1 >= 0:
                out[n, r1, cols] = colour
            if r2 < h:
                out[n, r2, cols] = colour
            if c1 >= 0:
                out[n, rows, c1] = colour
            if c2 < w:
                out[n, rows, c2] = colour
    return _ops.convert_to_tensor(out)


# the result types' names as TensorFlow's
SampleDistortedBoundingBox = namedtuple("SampleDistortedBoundingBoxV2",
                                        ["begin", "size", "bboxes"])
StatelessSampleDistortedBoundingBox = namedtuple("StatelessSampleDistortedBoundingBox",
                                                 ["begin", "size", "bboxes"])


def _sample_box(rng: np.random.Generator, image_size, bounding_boxes, min_object_covered,
                aspect_ratio_range, area_range, max_attempts, use_image_if_no_bounding_boxes,
                result=SampleDistortedBoundingBox):
    what = "sample_distorted_bounding_box"
    size = np.asarray(_convert(image_size)).reshape(-1)
    if size.shape != (3,) or size.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{what}: image_size must be [height, width, channels] "
                                   f"ints, got {size.tolist()}")
    h, w = int(size[0]), int(size[1])
    boxes = np.asarray(_convert(bounding_boxes), dtype=np.float64).reshape(-1, 4)
    if boxes.size == 0:
        if not use_image_if_no_bounding_boxes:
            raise InvalidArgumentError(f"{what}: no bounding boxes given; pass "
                                       "use_image_if_no_bounding_boxes=True to use the whole "
                                       "image")
        boxes = np.array([[0.0, 0.0, 1.0, 1.0]])
    covered = float(value_of(min_object_covered)) if isinstance(
        min_object_covered, np.ndarray) else float(min_object_covered)
    lo_ratio, hi_ratio = (float(v) for v in aspect_ratio_range)
    lo_area, hi_area = (float(v) for v in area_range)
    # boxes in pixels: [y1, x1, y2, x2]
    pixel_boxes = boxes * np.array([h, w, h, w])
    for _ in range(int(max_attempts)):
        ratio = rng.uniform(lo_ratio, hi_ratio)
        area = rng.uniform(lo_area, hi_area) * h * w
        crop_h = round(float(np.sqrt(area / ratio)))
        crop_w = round(crop_h * ratio)
        if not (0 < crop_h <= h and 0 < crop_w <= w):
            continue
        y = int(rng.integers(0, h - crop_h + 1))
        x = int(rng.integers(0, w - crop_w + 1))
        # the part of each object box inside the crop, as a fraction of the box
        inter_h = np.minimum(pixel_boxes[:, 2], y + crop_h) - np.maximum(pixel_boxes[:, 0], y)
        inter_w = np.minimum(pixel_boxes[:, 3], x + crop_w) - np.maximum(pixel_boxes[:, 1], x)
        box_area = (pixel_boxes[:, 2] - pixel_boxes[:, 0]) * (pixel_boxes[:, 3]
                                                                - pixel_boxes[:, 1])
        inside = np.clip(inter_h, 0, None) * np.clip(inter_w, 0, None)
        fraction = np.where(box_area > 0, inside / np.where(box_area > 0, box_area, 1), 0)
        if np.any(fraction >= covered):
            break
    else:
        y, x, crop_h, crop_w = 0, 0, h, w  # no attempt worked: the whole image
    begin = _ops.convert_to_tensor(np.array([y, x, 0], dtype=np.int32))
    extent = _ops.convert_to_tensor(np.array([crop_h, crop_w, -1], dtype=np.int32))
    box = np.array([[[y / h, x / w, (y + crop_h) / h, (x + crop_w) / w]]], dtype=np.float32)
    return result(begin, extent, _ops.convert_to_tensor(box))


def sample_distorted_bounding_box(image_size, bounding_boxes, seed=0, min_object_covered=0.1,
                                  aspect_ratio_range=None, area_range=None, max_attempts=None,
                                  use_image_if_no_bounding_boxes=None, name=None):
    """A random crop for Inception-style augmentation: ``(begin, size, bboxes)``, where
    ``tf.slice(image, begin, size)`` cuts it (``size``'s channel entry is -1) and ``bboxes``
    ``(1, 1, 4)`` is the crop in normalized coordinates, for `draw_bounding_boxes`. Up to
    ``max_attempts`` (100) crops of aspect ratio in ``aspect_ratio_range`` (0.75..1.33)
    and area fraction in ``area_range`` (0.05..1) are drawn until one holds at least
    ``min_object_covered`` of some box; otherwise the whole image. The draws come from
    convnp's generator (the crops differ from TensorFlow's, their rules do not)."""
    return _sample_box(_random._seeded(seed or None), image_size, bounding_boxes,
                       min_object_covered, aspect_ratio_range or (0.75, 1.33),
                       area_range or (0.05, 1.0), max_attempts or 100,
                       bool(use_image_if_no_bounding_boxes))


def stateless_sample_distorted_bounding_box(image_size, bounding_boxes, seed,
                                            min_object_covered=0.1, aspect_ratio_range=None,
                                            area_range=None, max_attempts=None,
                                            use_image_if_no_bounding_boxes=None, name=None):
    """`sample_distorted_bounding_box` drawn from ``seed=(a, b)``: the same seed, the same
    crop."""
    return _sample_box(_random._stateless(seed),
                       image_size, bounding_boxes, min_object_covered,
                       aspect_ratio_range or (0.75, 1.33), area_range or (0.05, 1.0),
                       max_attempts or 100, bool(use_image_if_no_bounding_boxes),
                       StatelessSampleDistortedBoundingBox)


# ----------------------------------------------------------------------------- coding


def _pillow(what: str):
    try:
        from PIL import Image
    except ImportError as exc:  # optional dependency
        raise ImportError(f"tf.image.{what} needs Pillow: pip install pillow") from exc
    return Image


def _encodable(image, what: str, dtypes: tuple) -> np.ndarray:
    a = _convert(image)
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{what} expects an (h, w, c) image with 1 to 4 channels, got shape "
                         f"{a.shape}")
    if a.dtype not in dtypes:
        raise TypeError(f"{what} expects {' or '.join(str(np.dtype(d)) for d in dtypes)}, got "
                        f"{a.dtype}")
    return a


def encode_png(image, compression=-1, name=None) -> bytes:
    """PNG bytes of an ``(h, w, c)`` uint8 (or uint16 one-channel) image; write them with
    ``tf.io.write_file``. TensorFlow returns a string tensor; convnp returns the bytes, which
    have its ``.numpy()`` too (`StringBytes`)."""
    a = _encodable(image, "encode_png", (np.uint8, np.uint16))
    level = int(compression)
    if not -1 <= level <= 9:
        raise ValueError(f"encode_png: compression must be in [-1, 9], got {compression}")
    if a.dtype == np.uint16 and a.shape[-1] != 1:
        raise ValueError("encode_png: convnp writes uint16 images with one channel only")
    Image = _pillow("encode_png")
    modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
    picture = (Image.fromarray(a[..., 0].astype("<u2"), mode="I;16")
               if a.dtype == np.uint16 else
               Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a, mode=modes[a.shape[-1]]))
    buffer = _io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=6 if level < 0 else level)
    return StringBytes(buffer.getvalue())  # bytes with TensorFlow's .numpy()


def encode_jpeg(image, format="", quality=95, progressive=False, optimize_size=False,
                chroma_downsampling=True, density_unit="in", x_density=300, y_density=300,
                xmp_metadata="", name=None) -> bytes:
    """JPEG bytes of an ``(h, w, 1 or 3)`` uint8 image (Pillow's encoder), with TensorFlow's
    ``.numpy()`` (`StringBytes`)."""
    a = _encodable(image, "encode_jpeg", (np.uint8,))
    if a.shape[-1] not in (1, 3):
        raise ValueError(f"encode_jpeg expects 1 or 3 channels, got {a.shape[-1]}")
    if not 0 <= int(quality) <= 100:
        raise ValueError(f"encode_jpeg: quality must be in [0, 100], got {quality}")
    Image = _pillow("encode_jpeg")
    picture = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
    buffer = _io.BytesIO()
    picture.save(buffer, format="JPEG", quality=int(quality), progressive=bool(progressive),
                 optimize=bool(optimize_size), subsampling=2 if chroma_downsampling else 0)
    return StringBytes(buffer.getvalue())  # bytes with TensorFlow's .numpy()


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
