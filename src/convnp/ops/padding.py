"""Window geometry: the one home of the output-size formula and of 'same' padding.

Both the fast kernels and the reference loops read their hyperparameters through this
module, so the two can never disagree about shapes, and bad input is refused the same way
before any work is done.

Conventions (NHWC, as in the course notes):

* a *pair* is ``(height, width)``; an int ``k`` means ``(k, k)``;
* padding is ``((top, bottom), (left, right))`` once resolved;
* ``"same"`` follows TensorFlow: the output has ``ceil(n / s)`` rows, and when the total
  padding is odd the extra row/column goes at the bottom/right;
* the output size along one axis is ``floor((n + before + after - f) / s) + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def int_pair(value, name: str, form: str = "") -> Pair:
    """An int ``n`` read as ``(n, n)``, or a pair of ints (no range check).

    Raises:
        ValueError: anything else; the message names ``name`` and the pair's ``form``, e.g.
            ``" (h, w)"``.
    """
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{name} must be an int or a pair of ints{form}, got {value!r}")


def as_pair(value, name: str, minimum: int = 1) -> Pair:
    """Read an int or a ``(h, w)`` pair of ints, each at least ``minimum``."""
    pair = int_pair(value, name, " (h, w)")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def same_padding(n: int, f: int, s: int) -> Pair:
    """TensorFlow's 'same' padding along one axis: ``(before, after)``, extra at the end."""
    n_out = -(-n // s)  # ceil(n / s)
    total = max((n_out - 1) * s + f - n, 0)
    return total // 2, total - total // 2


def resolve_padding(pad, in_hw: Pair, kernel: Pair, stride: Pair) -> Pads:
    """Turn any accepted ``pad`` into ``((top, bottom), (left, right))``.

    Accepted: an int, a ``(h, w)`` pair, a pair of pairs ``((top, bottom), (left, right))``,
    ``"same"`` or ``"valid"`` (case-insensitive).
    """
    if isinstance(pad, str):
        mode = pad.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return (
                same_padding(in_hw[0], kernel[0], stride[0]),
                same_padding(in_hw[1], kernel[1], stride[1]),
            )
        raise ValueError(f"pad must be 'same', 'valid', an int or pairs of ints, got {pad!r}")
    if (
        isinstance(pad, (tuple, list))
        and len(pad) == 2
        and all(isinstance(p, (tuple, list)) for p in pad)
    ):
        top, bottom = as_pair(pad[0], "pad (top, bottom)", minimum=0)
        left, right = as_pair(pad[1], "pad (left, right)", minimum=0)
        return (top, bottom), (left, right)
    p_h, p_w = as_pair(pad, "pad", minimum=0)
    return (p_h, p_h), (p_w, p_w)


def output_size(n: int, f: int, s: int, before: int, after: int) -> int:
    """``floor((n + before + after - f) / s) + 1``: the count of window positions."""
    return (n + before + after - f) // s + 1


@dataclass(frozen=True)
class Geometry:
    """Everything a sliding-window op needs to know about its windows.

    Attributes:
        kernel: window size ``(f_h, f_w)``.
        stride: ``(s_h, s_w)``.
        pads: ``((top, bottom), (left, right))``.
        out_hw: output size ``(n_H, n_W)``.
    """

    kernel: Pair
    stride: Pair
    pads: Pads
    out_hw: Pair
    dilation: Pair = (1, 1)

    @property
    def is_padded(self) -> bool:
        return any(self.pads[0]) or any(self.pads[1])

    @property
    def span(self) -> Pair:
        """Rows and columns one window covers: ``(f - 1) * d + 1`` (the kernel when d is 1)."""
        return dilated_kernel(self.kernel, self.dilation)

    def tap_slices(self):
        """Yield ``(i, j, rows, cols)`` for every kernel tap ``(i, j)``, row-major: the strided
        slices of the padded input that this tap reads across all window positions."""
        f_h, f_w = self.kernel
        s_h, s_w = self.stride
        d_h, d_w = self.dilation
        n_H, n_W = self.out_hw
        h_span = s_h * (n_H - 1) + 1
        w_span = s_w * (n_W - 1) + 1
        for i in range(f_h):
            for j in range(f_w):
                yield (i, j, slice(i * d_h, i * d_h + h_span, s_h),
                       slice(j * d_w, j * d_w + w_span, s_w))


def dilated_kernel(kernel: Pair, dilation: Pair) -> Pair:
    """The extent of a kernel whose taps are ``dilation`` apart: ``(f - 1) * d + 1``."""
    return ((kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1)


def window_geometry(in_hw: Pair, kernel, stride, pad, dilation=1) -> Geometry:
    """Validate window hyperparameters against an input size and compute the output size.

    ``dilation`` spaces the kernel taps (``d - 1`` skipped pixels between them); padding and
    output sizes are those of a window of the dilated extent, as in TensorFlow.
    """
    kernel = as_pair(kernel, "f (window size)")
    stride = as_pair(stride, "stride")
    dilation = as_pair(dilation, "dilation")
    span = dilated_kernel(kernel, dilation)
    pads = resolve_padding(pad, in_hw, span, stride)
    padded = (in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]))
    if span[0] > padded[0] or span[1] > padded[1]:
        what = f"window {kernel}" + (f" dilated by {dilation} to {span}" if span != kernel
                                     else "")
        raise ValueError(
            f"{what} is larger than the padded input {padded} "
            f"(input {tuple(in_hw)}, pads {pads})"
        )
    out_hw = (
        output_size(in_hw[0], span[0], stride[0], *pads[0]),
        output_size(in_hw[1], span[1], stride[1], *pads[1]),
    )
    return Geometry(kernel, stride, pads, out_hw, dilation)


def layer_output_hw(in_hw, kernel: Pair, stride: Pair, padding: str,
                    dilation: Pair = (1, 1)) -> tuple:
    """Output ``(n_H, n_W)`` of a Keras layer with ``padding`` ``"same"`` or ``"valid"``.

    Unlike `window_geometry`, an input size may be ``None`` (unknown until data arrives);
    that axis of the output is then ``None`` too.

    Raises:
        ValueError: a known input size is smaller than the window (with ``"valid"``).
    """
    kernel = dilated_kernel(tuple(kernel), tuple(dilation))
    return layer_window_axes(in_hw, kernel, stride, padding)[1]


def layer_window_axes(in_sizes, spread, stride, padding: str) -> tuple[tuple, tuple]:
    """``(pads, out)``: per spatial axis (any number of them), the ``(before, after)`` pads
    of a Keras layer's ``"same"`` or ``"valid"`` window and its output size. ``spread`` is
    the window's extent (dilation included). An input size may be ``None``; that axis' pads
    and output size are then ``None`` too.

    Raises:
        ValueError: a known input size is smaller than the window (with ``"valid"``).
    """
    pads, out = [], []
    for n, f, s in zip(in_sizes, spread, stride):
        if n is None:
            pads.append(None)
            out.append(None)
            continue
        before, after = same_padding(n, f, s) if padding == "same" else (0, 0)
        if n + before + after < f:
            raise ValueError(f"window {tuple(spread)} is larger than the input "
                             f"{tuple(in_sizes)} with padding={padding!r}")
        pads.append((before, after))
        out.append(output_size(n, f, s, before, after))
    return tuple(pads), tuple(out)


# ---------------------------------------------------------------------------------------------
# Input checks shared by the fast and the reference ops.


def check_batch(A, name: str) -> np.ndarray:
    """Return ``A`` as an array of shape ``(m, n_H, n_W, n_C)`` or raise."""
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (m, n_H, n_W, n_C), "
                        f"got {type(A).__name__}")
    if A.ndim != 4:
        raise ValueError(f"{name} must have 4 dimensions (m, n_H, n_W, n_C), got shape {A.shape}")
    if A.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
    return A


def float_dtype(*arrays) -> np.dtype:
    """The dtype an op computes in: the inputs' common float type (ints become float64)."""
    dtype = np.result_type(*arrays)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def single_step_operands(a_slice_prev, W, b):
    """Check the arguments of ``conv_single_step``; return them as arrays and their dtype.

    Raises:
        ValueError: the slice and the filter differ in shape, or ``b`` is not one value.
    """
    a_slice_prev, W, b = np.asarray(a_slice_prev), np.asarray(W), np.asarray(b)
    if a_slice_prev.shape != W.shape:
        raise ValueError(f"conv_single_step: W must have the slice's shape {a_slice_prev.shape}, "
                         f"got {W.shape}")
    if b.size != 1:
        raise ValueError(f"conv_single_step: b must hold exactly one value (shape (1, 1, 1)), "
                         f"got shape {b.shape}")
    return a_slice_prev, W, b, float_dtype(a_slice_prev, W, b)


def read_hparameters(hparameters, required: tuple[str, ...], op: str) -> dict:
    """Check that ``hparameters`` is a dict holding every required key."""
    if not isinstance(hparameters, dict):
        raise TypeError(f"{op}: hparameters must be a dict with keys {required}, "
                        f"got {type(hparameters).__name__}")
    missing = [key for key in required if key not in hparameters]
    if missing:
        raise ValueError(f"{op}: hparameters is missing {missing}; expected keys {required}, "
                         f"got {sorted(hparameters)}")
    return hparameters


def _kernel_op_geometry(A_prev, W, b, hparameters, op: str, w_layout: str,
                        n_C_out) -> Geometry:
    """The checks conv and depthwise conv share; ``n_C_out(W)`` is the count of biases."""
    check_batch(A_prev, "A_prev")
    if not isinstance(W, np.ndarray) or W.ndim != 4:
        raise ValueError(f"{op}: W must be an array of shape {w_layout}, "
                         f"got {getattr(W, 'shape', type(W).__name__)}")
    if W.shape[2] != A_prev.shape[3]:
        raise ValueError(f"{op}: W expects {W.shape[2]} input channels (W.shape={W.shape}) "
                         f"but A_prev has {A_prev.shape[3]} (A_prev.shape={A_prev.shape})")
    n_C = n_C_out(W)
    if not isinstance(b, np.ndarray) or b.size != n_C:
        raise ValueError(f"{op}: b must be an array of shape (1, 1, 1, {n_C}), "
                         f"got {getattr(b, 'shape', type(b).__name__)}")
    hp = read_hparameters(hparameters, ("stride", "pad"), op)
    return window_geometry(A_prev.shape[1:3], W.shape[:2], hp["stride"], hp["pad"],
                           hp.get("dilation", 1))


def conv_geometry(A_prev, W, b, hparameters, op: str = "conv_forward") -> Geometry:
    """Validate the arguments of ``conv_forward`` and return the window geometry."""
    return _kernel_op_geometry(A_prev, W, b, hparameters, op, "(f_h, f_w, n_C_prev, n_C)",
                               lambda W: W.shape[3])


def depthwise_geometry(A_prev, W, b, hparameters, op: str = "depthwise_conv_forward") -> Geometry:
    """Validate the arguments of ``depthwise_conv_forward`` and return the window geometry.

    ``W`` is ``(f_h, f_w, n_C_prev, depth_multiplier)`` (Keras' ``depthwise_kernel``) and ``b``
    holds ``n_C_prev * depth_multiplier`` values.
    """
    return _kernel_op_geometry(A_prev, W, b, hparameters, op,
                               "(f_h, f_w, n_C_prev, depth_multiplier)",
                               lambda W: W.shape[2] * W.shape[3])


POOL_MODES = ("max", "average")


def pool_geometry(A_prev, hparameters, mode: str, op: str = "pool_forward") -> Geometry:
    """Validate the arguments of ``pool_forward`` and return the window geometry.

    ``hparameters`` needs ``"f"`` and ``"stride"``; ``"pad"`` is optional (default 0, as in
    the notes). Max pooling never picks a padded cell; average pooling divides by the count
    of real cells in each window (TensorFlow's rule for 'same').
    """
    if mode not in POOL_MODES:
        raise ValueError(f"{op}: mode must be one of {POOL_MODES}, got {mode!r}")
    check_batch(A_prev, "A_prev")
    hp = read_hparameters(hparameters, ("f", "stride"), op)
    geometry = window_geometry(A_prev.shape[1:3], hp["f"], hp["stride"], hp.get("pad", 0))
    # A pad as wide as the window would create windows of padding alone, which have no
    # maximum and no average; TensorFlow's 'same' never does that.
    (top, bottom), (left, right) = geometry.pads
    f_h, f_w = geometry.kernel
    if max(top, bottom) >= f_h or max(left, right) >= f_w:
        raise ValueError(f"{op}: each pooling pad must be smaller than the window {geometry.kernel}, "
                         f"got pads {geometry.pads}")
    return geometry


def explicit_pads(pad) -> Pads:
    """Pads for `zero_pad`: an int, a ``(h, w)`` pair or ``((top, bottom), (left, right))``."""
    if isinstance(pad, str):  # a wrong value, not type: 'same' needs a kernel size
        raise ValueError(  # noqa: TRY004
            f"zero_pad needs explicit pad sizes (int, pair or pair of pairs), got {pad!r}")
    return resolve_padding(pad, (0, 0), (1, 1), (1, 1))


def cache_items(cache, names: tuple[str, ...], op: str) -> tuple:
    """The items of a course cache tuple (``names`` says which), refusing anything else."""
    if not isinstance(cache, tuple) or len(cache) != len(names):
        raise TypeError(
            f"{op}: cache must be the tuple {names} returned by a forward function, "
            f"got {type(cache).__name__}"
            + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        )
    return tuple(cache)


# ---------------------------------------------------------------------------------------------
# Transposed convolution (Keras' Conv2DTranspose): the adjoint of a strided convolution.


def transpose_output_size(n: int, f: int, s: int, padding: str,
                          output_padding: int | None = None) -> int:
    """Keras' output length of a transposed convolution along one axis.

    Without ``output_padding``: ``n * s + max(f - s, 0)`` for ``"valid"`` and ``n * s`` for
    ``"same"``. With it: ``(n - 1) * s + f - 2 * pad + output_padding`` where ``pad`` is 0
    (``"valid"``) or ``f // 2`` (``"same"``).
    """
    if output_padding is None:
        return n * s + max(f - s, 0) if padding == "valid" else n * s
    pad = 0 if padding == "valid" else f // 2
    return (n - 1) * s + f - 2 * pad + output_padding


def transpose_crop(n: int, f: int, s: int, padding: str, out: int) -> int:
    """How many leading rows of the full scatter ``(n - 1) * s + f`` a transposed convolution
    drops: the top/left padding of the forward convolution from ``out`` back to ``n``
    (TensorFlow's rule, which puts an odd extra at the bottom/right, so ``total // 2``)."""
    if padding == "valid":
        return 0
    return max((n - 1) * s + f - out, 0) // 2
