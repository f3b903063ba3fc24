"""Keras 3's newer ``keras.ops`` / ``keras.ops.nn`` functions for CNN code: ``custom_gradient``,
``depth_to_space``/``space_to_depth``, ``psnr``, the adaptive pools, ``fold``/``unfold``
(PyTorch's channels_first layout, as Keras defines them), ``sparsemax`` and
``sparse_sigmoid``, ``ctc_loss``, ``ctc_decode``. Values, dtypes and gradients follow Keras 3.15
on TensorFlow (``tests/fixtures/keras_ops_parity.npz``, ``tests/fixtures/ctc_decode.npz``).
Re-exported by `convnp.keras.ops`.
"""

from __future__ import annotations

import numpy as np

from convnp.ops import adaptive_pool as _adaptive
from convnp.ops import ctc_decode as _ctc_decode
from convnp.ops import sparsemax as _sparsemax
from convnp.tensor import custom as _custom
from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.tape import value_of


def _arr(x) -> np.ndarray:
    return _ops._convert(x)


# -- custom_gradient ------------------------------------------------------------------------


def custom_gradient(f):
    """``keras.ops.custom_gradient``: on TensorFlow's backend it is ``tf.custom_gradient``
    (`convnp.tensor.custom`): ``f(*args)`` returns ``(y, grad_fn)`` and ``grad_fn(*upstream)``
    gives the gradients of ``f``'s tensor arguments (``grad(*args, upstream=None)``, as
    Keras's examples write it, works too)."""
    return _custom.custom_gradient(f, who="keras.ops.custom_gradient")


# -- shapes of pixels -----------------------------------------------------------------------


def _check_format(data_format, who: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"keras.ops.{who}: data_format must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}")


def _pixels_op(fn, x, block_size, data_format, who: str):
    """``fn`` (TensorFlow's NHWC op) on channels_last or channels_first images."""
    _check_format(data_format, who)
    if data_format == "channels_last":
        return fn(x, block_size)
    y = fn(_ops.transpose(x, [0, 2, 3, 1]), block_size)
    return _ops.transpose(y, [0, 3, 1, 2])


def depth_to_space(x, block_size, data_format="channels_last"):
    """``(m, h, w, b*b*c)`` -> ``(m, h*b, w*b, c)`` (TensorFlow's channel order)."""
    return _pixels_op(_nn.depth_to_space, x, block_size, data_format, "depth_to_space")


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of `depth_to_space`."""
    return _pixels_op(_nn.space_to_depth, x, block_size, data_format, "space_to_depth")


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB of the whole of ``x1`` against ``x2`` (one number:
    ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))``)."""
    a, b = _arr(x1), _arr(x2)
    if a.shape != b.shape:
        raise ValueError(f"keras.ops.psnr: x1 and x2 must have the same shape, got {a.shape} "
                         f"and {b.shape}")
    dtype = b.dtype if b.dtype.kind == "f" else np.dtype(np.float32)
    diff = _ops.subtract(_ops.cast(x1, dtype), _ops.cast(x2, dtype))
    mse = _ops.reduce_mean(_ops.square(diff))
    ten_over_ln10 = np.asarray(10.0 / np.log(10.0), dtype=dtype)
    peak = np.asarray(20.0 * np.log10(float(max_val)), dtype=dtype)
    with np.errstate(divide="ignore"):
        return _ops.subtract(peak, _ops.multiply(ten_over_ln10, _ops.log(mse)))


# -- adaptive pooling -----------------------------------------------------------------------


def _adaptive_2d(x, size: tuple, mode: str):
    a = _arr(x)
    y, cache = _adaptive.adaptive_pool_forward(a, size, mode)
    return _ops._op(y, [x], lambda g: [_adaptive.adaptive_pool_backward(
        np.asarray(g, dtype=a.dtype), cache)])


def _sizes(output_size, n: int, who: str) -> tuple:
    sizes = (output_size,) * n if isinstance(output_size, (int, np.integer)) else tuple(
        output_size)
    if len(sizes) != n or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"keras.ops.{who}: output_size must be a positive int or {n} of "
                         f"them, got {output_size!r}")
    return tuple(int(s) for s in sizes)


def _adaptive_pool(inputs, output_size, data_format, mode: str, who: str):
    a = _arr(inputs)
    if a.ndim not in (3, 4, 5):
        raise ValueError(f"keras.ops.{who} supports 1D, 2D or 3D inputs (rank 3, 4 or 5), "
                         f"got shape {a.shape}")
    if a.dtype.kind != "f":
        raise TypeError(f"keras.ops.{who}: expected float inputs, got {a.dtype}")
    data_format = data_format or "channels_last"
    _check_format(data_format, who)
    n = a.ndim - 2
    size = _sizes(output_size, n, who)
    x = inputs
    if data_format == "channels_first":
        x = _ops.transpose(x, [0, *range(2, a.ndim), 1])
    shape = tuple(value_of(x).shape)
    if n == 1:
        y = _ops.squeeze(_adaptive_2d(_ops.expand_dims(x, 2), (size[0], 1), mode), [2])
    elif n == 2:
        y = _adaptive_2d(x, size, mode)
    else:  # boxes: (rows, columns) of every depth slice, then depth (as the 3-D layers)
        m, d, h, w, c = shape
        slices = _adaptive_2d(_ops.reshape(x, [m * d, h, w, c]), size[1:], mode)
        cells = _ops.reshape(slices, [m, d, size[1] * size[2], c])
        y = _ops.reshape(_adaptive_2d(cells, (size[0], size[1] * size[2]), mode),
                         [m, *size, c])
    if data_format == "channels_first":
        y = _ops.transpose(y, [0, a.ndim - 1, *range(1, a.ndim - 1)])
    return y


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (1-D, 2-D or 3-D inputs), windows as
    `AdaptiveAveragePooling2D`'s."""
    return _adaptive_pool(inputs, output_size, data_format, "average",
                          "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size``; the gradient goes to each window's first
    maximum."""
    return _adaptive_pool(inputs, output_size, data_format, "max", "adaptive_max_pool")


# -- fold / unfold (PyTorch's layout: (N, C, H, W) images, (N, C*kh*kw, L) blocks) ---------


def _two(value, name: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum
                                 for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got "
                         f"{value!r}")
    return int(pair[0]), int(pair[1])


def _block_index(size, kernel_size, dilation, padding, stride, who: str):
    """Flat indices into the zero-padded ``(H + 2p, W + 2p)`` image of every kernel tap of
    every block: ``(kh*kw, L)``, and the padded size."""
    k = _two(kernel_size, f"keras.ops.{who}: kernel_size", 1)
    d = _two(dilation, f"keras.ops.{who}: dilation", 1)
    p = _two(padding, f"keras.ops.{who}: padding", 0)
    s = _two(stride, f"keras.ops.{who}: stride", 1)
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    n_h = (hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    n_w = (wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    if n_h < 1 or n_w < 1:
        raise ValueError(f"keras.ops.{who}: a {k} kernel (dilation {d}) does not fit an image "
                         f"of {size} padded by {p}")
    rows = (np.arange(k[0]) * d[0])[:, None, None, None] + (np.arange(n_h) * s[0])[None, None,
                                                                                     :, None]
    cols = (np.arange(k[1]) * d[1])[None, :, None, None] + (np.arange(n_w) * s[1])[None, None,
                                                                                     None, :]
    index = (rows * wp + cols).reshape(k[0] * k[1], n_h * n_w)
    return index, (hp, wp), p


def _unfold_array(a: np.ndarray, index, padded, p) -> np.ndarray:
    n, c = a.shape[:2]
    full = np.zeros((n, c, *padded), dtype=a.dtype)
    full[:, :, p[0]:p[0] + a.shape[2], p[1]:p[1] + a.shape[3]] = a
    blocks = full.reshape(n, c, -1)[:, :, index]  # (n, c, kh*kw, L)
    return blocks.reshape(n, c * index.shape[0], index.shape[1])


def _fold_array(b: np.ndarray, index, padded, p, size) -> np.ndarray:
    n = b.shape[0]
    c = b.shape[1] // index.shape[0]
    full = np.zeros((n, c, padded[0] * padded[1]), dtype=b.dtype)
    taps = b.reshape(n, c, *index.shape)
    np.add.at(full, (slice(None), slice(None), index), taps)
    full = full.reshape(n, c, *padded)
    return full[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of ``(N, C, H, W)`` images as columns: ``(N, C*kh*kw, L)``, channel
    major then kernel row then column (PyTorch's ``unfold``)."""
    a = _arr(x)
    if a.ndim != 4:
        raise ValueError(f"keras.ops.unfold expects (N, C, H, W) inputs, got shape {a.shape}")
    index, padded, p = _block_index(a.shape[2:], kernel_size, dilation, padding, stride,
                                    "unfold")
    out = _unfold_array(a, index, padded, p)
    return _ops._op(out, [x], lambda g: [_fold_array(np.asarray(g, a.dtype), index, padded, p,
                                                     a.shape[2:])])


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The inverse arrangement of `unfold`: columns ``(N, C*kh*kw, L)`` summed back into
    ``(N, C, *output_size)`` images (overlapping taps add up)."""
    b = _arr(x)
    size = _two(output_size, "keras.ops.fold: output_size", 1)
    if b.ndim != 3:
        raise ValueError(f"keras.ops.fold expects (N, C*kh*kw, L) inputs, got shape {b.shape}")
    index, padded, p = _block_index(size, kernel_size, dilation, padding, stride, "fold")
    if b.shape[1] % index.shape[0] or b.shape[2] != index.shape[1]:
        raise ValueError(f"keras.ops.fold: inputs of shape {b.shape} do not hold "
                         f"{index.shape[1]} blocks of C x {index.shape[0]} taps")
    out = _fold_array(b, index, padded, p, size)
    return _ops._op(out, [x], lambda g: [_unfold_array(np.asarray(g, b.dtype), index, padded,
                                                       p)])


# -- sparse activations ---------------------------------------------------------------------


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between (slope 1/2 there, 0 outside)."""
    a = _arr(x)
    a = a if a.dtype.kind == "f" else a.astype(np.float32)
    out = np.clip(0.5 * (a + 1), 0, 1).astype(a.dtype)
    inside = ((a > -1) & (a < 1)).astype(a.dtype) * 0.5
    return _ops._op(out, [x], lambda g: [np.asarray(g) * inside])


def sparsemax(x, axis=-1):
    """Keras 3's sparsemax along ``axis`` (`convnp.ops.sparsemax`: Keras' formula, which for
    a support of more than one entry differs from Martins & Astudillo's)."""
    a = _arr(x)
    if a.dtype.kind != "f":
        raise TypeError(f"keras.ops.sparsemax: expected a float tensor, got {a.dtype}")
    if not -a.ndim <= int(axis) < a.ndim:
        raise ValueError(f"keras.ops.sparsemax: axis {axis} is out of range for rank {a.ndim}")
    out, vjp = _sparsemax.sparsemax(a, axis)
    return _ops._op(out, [x], lambda g: [vjp(g)])




# -- CTC ------------------------------------------------------------------------------------


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _ctc_one(logp: np.ndarray, labels: np.ndarray, blank: int) -> tuple[float, np.ndarray]:
    """``(-log p(labels | logp), d loss / d logits)`` for one sequence ``logp`` ``(T, C)``
    (log-probabilities), by the forward-backward recursions in log space over the labels
    with blanks between them."""
    steps = logp.shape[0]
    extended = np.full(2 * len(labels) + 1, blank)
    extended[1::2] = labels
    size = extended.size
    # a label may be reached from two back when it differs from the one before its blank
    skip = np.zeros(size, bool)
    skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    alpha = np.full((steps, size), -np.inf)
    beta = np.full((steps, size), -np.inf)
    emit = logp[:, extended]
    alpha[0, :2] = emit[0, :2]
    for t in range(1, steps):
        prev = alpha[t - 1]
        best = np.logaddexp(prev, np.concatenate([[-np.inf], prev[:-1]]))
        best = np.where(skip, np.logaddexp(best, np.concatenate([[-np.inf, -np.inf],
                                                                  prev[:-2]])), best)
        alpha[t] = best + emit[t]
    beta[-1, -2:] = emit[-1, -2:]
    later_skip = np.concatenate([skip[2:], [False, False]])
    for t in range(steps - 2, -1, -1):
        nxt = beta[t + 1]
        best = np.logaddexp(nxt, np.concatenate([nxt[1:], [-np.inf]]))
        best = np.where(later_skip, np.logaddexp(best, np.concatenate([nxt[2:],
                                                                        [-np.inf, -np.inf]])),
                        best)
        beta[t] = best + emit[t]
    total = np.logaddexp(alpha[-1, -1], alpha[-1, -2]) if size > 1 else alpha[-1, -1]
    occupancy = alpha + beta - emit  # log of sum over paths through (t, s)
    posterior = np.zeros_like(logp)
    for k in np.unique(extended):
        mask = extended == k
        with np.errstate(invalid="ignore"):
            posterior[:, k] = np.exp(np.logaddexp.reduce(occupancy[:, mask], axis=1) - total)
    return -total, np.exp(logp) - posterior


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The CTC loss of each sequence: ``-log p(target | output)``, ``output`` the logits
    ``(batch, steps, classes)`` (softmax over classes), ``target`` ``(batch, max_length)``
    label ids read up to ``target_length``, ``output`` up to ``output_length``, ``mask_index``
    the blank class. Computed in float32 (as TensorFlow), returned in the output's float
    dtype; an impossible alignment gives inf. The gradient goes to the logits."""
    labels = np.asarray(_arr(target)).astype(np.int64)
    logits = _arr(output)
    if logits.ndim != 3 or labels.ndim != 2 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"keras.ops.ctc_loss expects target (batch, length) and output "
                         f"(batch, steps, classes), got {labels.shape} and {logits.shape}")
    dtype = logits.dtype if logits.dtype.kind == "f" else np.dtype(np.float32)
    lengths = np.broadcast_to(np.asarray(_arr(target_length)).astype(np.int64),
                              (labels.shape[0],))
    steps = np.broadcast_to(np.asarray(_arr(output_length)).astype(np.int64),
                            (labels.shape[0],))
    blank = int(mask_index) % logits.shape[2]
    if np.any(lengths > labels.shape[1]) or np.any(steps > logits.shape[1]) or np.any(
            steps < 1):
        raise ValueError("keras.ops.ctc_loss: target_length must be at most the target's "
                         "length and output_length within [1, steps]")
    logp = _log_softmax(logits.astype(np.float32).astype(np.float64))
    losses = np.zeros(labels.shape[0])
    grads = np.zeros(logits.shape)
    for i in range(labels.shape[0]):
        losses[i], grads[i, :steps[i]] = _ctc_one(logp[i, :steps[i]], labels[i, :lengths[i]],
                                                  blank)
    out = losses.astype(np.float32).astype(dtype)
    return _ops._op(out, [output],
                    lambda g: [(np.asarray(g)[:, None, None] * grads).astype(dtype)])


def _whole_number(value, name: str, minimum: int, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _decode_arguments(inputs, sequence_lengths, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``inputs`` as a float array ``(batch, steps, classes)`` and ``sequence_lengths`` as
    ints ``(batch,)`` within ``[0, steps]``, or a clear error."""
    scores = np.asarray(_arr(inputs))
    if scores.ndim != 3:
        raise ValueError(f"{who} expects inputs of shape (batch_size, max_length, num_classes), "
                         f"got shape {scores.shape}")
    if scores.dtype.kind not in "fiub":
        raise TypeError(f"{who} expects float inputs, got {scores.dtype}")
    if scores.shape[2] < 1:
        raise ValueError(f"{who}: inputs have no classes (shape {scores.shape})")
    lengths = np.asarray(_arr(sequence_lengths))
    if lengths.shape != (scores.shape[0],):
        raise ValueError(f"{who} expects sequence lengths of shape ({scores.shape[0]},) (one per "
                         f"sequence of the batch), got shape {lengths.shape}")
    if lengths.dtype.kind not in "fiu" or not np.all(lengths == np.round(lengths)):
        raise TypeError(f"{who} expects whole-number sequence lengths, got {lengths!r}")
    lengths = lengths.astype(np.int64)
    if np.any(lengths < 0) or np.any(lengths > scores.shape[1]):
        raise ValueError(f"{who}: sequence lengths must be within [0, {scores.shape[1]}] (the "
                         f"inputs' max_length), got {lengths.tolist()}")
    return scores, lengths


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decode CTC outputs ``inputs`` ``(batch, max_length, num_classes)`` read up to
    ``sequence_lengths`` ``(batch,)``, ``mask_index`` the blank class (None: the last one).

    ``"greedy"``: each step's best class, blanks dropped and (``merge_repeated``) a class
    equal to the step before's; decoded ``(1, batch, max_length)``, scores ``(batch, 1)``:
    minus the sum of the chosen inputs. ``"beam_search"``: TensorFlow's prefix beam search
    over the softmax of ``inputs`` (log-softmax per step; ``merge_repeated`` is not used, as
    in Keras on TensorFlow), ``beam_width`` prefixes kept; decoded
    ``(top_paths, batch, max_length)`` best first, scores ``(batch, top_paths)``: their
    log-probabilities. Labels are int32, padded with -1; scores float32 (float64 for float64
    inputs). Keras 3.15 on TensorFlow gives the same (``tests/fixtures/ctc_decode.npz``)."""
    who = "keras.ops.ctc_decode"
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"{who}: invalid strategy {strategy!r}. Supported values are "
                         "'greedy' and 'beam_search'.")
    beam_width = _whole_number(beam_width, "beam_width", 1, who)
    top_paths = _whole_number(top_paths, "top_paths", 1, who)
    if strategy == "beam_search" and top_paths > beam_width:
        raise ValueError(f"{who}: top_paths ({top_paths}) must be at most beam_width "
                         f"({beam_width})")
    if not isinstance(merge_repeated, (bool, np.bool_)):
        raise TypeError(f"{who}: merge_repeated must be a bool, got {merge_repeated!r}")
    scores, lengths = _decode_arguments(inputs, sequence_lengths, who)
    classes = scores.shape[2]
    if mask_index is None:
        blank = classes - 1
    elif isinstance(mask_index, bool) or not isinstance(mask_index, (int, np.integer)) or not (
            -classes <= mask_index < classes):
        raise ValueError(f"{who}: mask_index must be None or a class index in [{-classes}, "
                         f"{classes}), got {mask_index!r}")
    else:
        blank = int(mask_index) % classes
    dtype = np.dtype(np.float64) if scores.dtype == np.float64 else np.dtype(np.float32)
    scores = scores.astype(dtype)
    if strategy == "greedy":
        decoded, score = _ctc_decode.greedy_decode(scores, lengths, blank,
                                                   bool(merge_repeated))
    else:
        decoded, score = _ctc_decode.beam_search_decode(scores, lengths, blank, beam_width,
                                                        top_paths)
    return (_ops.constant(decoded.astype(np.int32)), _ops.constant(score.astype(dtype)))


_symbolic.accept_keras_tensors(globals(), skip=("custom_gradient",))
