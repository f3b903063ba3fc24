"""Fast depthwise convolution: sums over the window taps, no GEMM.

A depthwise convolution filters each input channel on its own: with ``depth_multiplier``
``k``, input channel ``c`` gives the ``k`` output channels ``c * k .. c * k + k - 1`` (Keras'
order), each the cross-correlation of that channel with its own ``f_h x f_w`` filter. There is
no sum over channels, so a matrix product has nothing to gain. Instead every window tap of
every output pixel is a strided view of the padded input (`_Taps`, no copy), and one
`np.einsum` per group of examples sums the ``f_h * f_w`` products per output number:

- forward: ``Z[e, h, w, c] = sum_ij taps[e, i, j, h, w, c] * W[i, j, c]``;
- filter gradient: ``dW[i, j, c] = sum_ehw taps[e, i, j, h, w, c] * dZ[e, h, w, c]``, the same
  view contracted the other way;
- input gradient, stride 1: the correlation of ``dZ`` (zero-padded by what the window spans)
  with the flipped filters, the forward's einsum again, written straight into ``dA_prev``;
  with a stride, one multiply-add per tap into the strided positions it reaches, clipped to
  the unpadded input.

At stride 1 each group of examples is padded in a frame reused from group to group
(`PaddedInput`), not the whole batch at once.

Groups of examples are sized so that their slices stay in cache, and are shared between the
cores (`convnp.ops.threads`). The readable loop twin is
`convnp.ops.reference.depthwise_conv_forward`.

Shapes: ``A_prev`` ``(m, n_H_prev, n_W_prev, n_C_prev)``, ``W`` ``(f_h, f_w, n_C_prev, k)``,
``b`` ``(1, 1, 1, n_C_prev * k)``, output ``(m, n_H, n_W, n_C_prev * k)``. Functions keep
the float dtype they are given (ints compute in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops.conv import _pad
from convnp.ops.elementwise import ColumnTile
from convnp.ops.padding import Geometry, depthwise_geometry, float_dtype
from convnp.ops.reductions import column_sums
from convnp.ops.threads import map_rows

# Below this many output numbers per example group the work is not worth sharing.
_MIN_SPLIT = 1 << 15
# Numbers of the largest array an example group touches (whole examples, at least one).
# Groups of 1M numbers against 64K (MobileNetV2, same process, alternating steps): training
# 0.93-0.96x, predict 0.95x; the einsums' per-call work outweighs keeping a group in L2.
_CHUNK = 1 << 20
# Shape classes of the filter gradient (`_filter_gradient`).
_FEW_CHANNELS = 64
_WIDE_ROWS = 16


@dataclass
class PaddedInput:
    """The input of a depthwise conv, read padded group by group of examples.

    At stride 1 the input is kept as it is and each group is copied into a zero-bordered
    frame kept per thread (`group`): only the frame's middle is rewritten, so its border
    stays zero from one group to the next. A padded copy of the whole batch instead wrote a
    new array as large as the input, which the einsums then read back from memory. Measured
    on MobileNetV2's stride-1 depthwise convs (same process, alternating): forward
    0.78-0.87x, backward (which pads its groups again) 1.05-1.15x; the whole model's predict
    0.98x, its train step 1.01x, with no padded copy kept between the passes. At stride 2
    the frames were slower (forward 1.2-1.4x): the whole batch is padded once there.

    Attributes:
        array: the input (``padded`` False) or its padded copy.
        pads: ``((top, bottom), (left, right))``.
        padded: whether ``array`` is padded already.
    """

    array: np.ndarray
    pads: tuple
    padded: bool

    @classmethod
    def of(cls, A: np.ndarray, geometry: Geometry) -> PaddedInput:
        if not any(np.ravel(geometry.pads)):  # nothing to pad
            return cls(A, geometry.pads, True)
        if geometry.stride == (1, 1):  # padded group by group
            return cls(A, geometry.pads, False)
        return cls(_pad(A, geometry.pads), geometry.pads, True)

    def unpadded(self) -> np.ndarray:
        """The input as the forward was given it (a padded copy's middle)."""
        if not self.padded:
            return self.array
        (top, bottom), (left, right) = self.pads
        x = self.array
        return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right]

    def group(self, start: int, stop: int, state: dict) -> np.ndarray:
        """Examples ``start:stop``, padded; ``state``: the thread's dict for its frame."""
        if self.padded:
            return self.array[start:stop]
        (top, bottom), (left, right) = self.pads
        e, (_, n_H, n_W, n_C) = stop - start, self.array.shape
        frame = state.get("input")
        if frame is None or frame.shape[0] < e:
            frame = state["input"] = np.zeros((e, n_H + top + bottom, n_W + left + right, n_C),
                                              dtype=self.array.dtype)
        frame = frame[:e]
        frame[:, top:top + n_H, left:left + n_W] = self.array[start:stop]
        return frame


@dataclass
class DepthwiseCache:
    """What `depthwise_conv_backward` needs; callers treat it as opaque.

    Attributes:
        source: the input, read padded group by group (`PaddedInput`), in the compute dtype.
        W: the filters ``(f_h, f_w, n_C_prev, k)`` in the compute dtype.
        input_shape: shape of ``A_prev``.
        geometry: kernel, stride, dilation, pads and output size.
    """

    source: PaddedInput
    W: np.ndarray
    input_shape: tuple[int, int, int, int]
    geometry: Geometry


class _Taps:
    """The window taps of a depthwise problem, as a strided view of a padded group.

    ``view(src)[e, i, j, h, w, ...]`` is the value of ``src`` that tap ``(i, j)`` reads for
    output pixel ``(h, w)`` (trailing channel axes kept). When ``merged`` (horizontal stride
    1, one channel axis) the taps of one output row read a contiguous run of ``n_W * n_C``
    numbers, so ``(w, c)`` is one long axis: the einsums' inner loops then run over whole rows
    instead of ``n_C`` numbers, and the filters are tiled along it (`along_rows`).
    """

    def __init__(self, kernel, stride, dilation, out_hw, merged: bool):
        self.kernel, self.stride, self.dilation, self.out_hw = kernel, stride, dilation, out_hw
        self.merged = merged and stride[1] == 1

    def view(self, src: np.ndarray) -> np.ndarray:
        (f_h, f_w), (s_h, s_w), (d_h, d_w) = self.kernel, self.stride, self.dilation
        n_H, n_W = self.out_hw
        se, sh, sw = src.strides[:3]
        head = (src.shape[0], f_h, f_w, n_H)
        steps = (se, sh * d_h, sw * d_w, sh * s_h)
        if self.merged:
            shape, strides = (*head, n_W * src.shape[3]), (*steps, src.strides[3])
        else:
            shape = (*head, n_W, *src.shape[3:])
            strides = (*steps, sw * s_w, *src.strides[3:])
        return as_strided(src, shape, strides, writeable=False)

    def along_rows(self, W2: np.ndarray) -> np.ndarray:
        """Filters ``(f_h, f_w, n_C)`` laid out to match the view's last axis."""
        return np.tile(W2, (1, 1, self.out_hw[1])) if self.merged else W2

    def rows(self, out: np.ndarray) -> np.ndarray:
        """An output group ``(e, n_H, n_W, ...)`` seen like the view's output axes."""
        if self.merged:  # a view (the einsum writes through it), never a copy
            return np.reshape(out, (out.shape[0], out.shape[1], -1), copy=False)
        return out


def _in_groups(rows: slice, group: int):
    """Consecutive ``(start, stop)`` ranges of at most ``group`` examples covering ``rows``."""
    for start in range(rows.start, rows.stop, group):
        yield start, min(start + group, rows.stop)


def _split_examples(task, m: int, per_example: int) -> list:
    """Run ``task(rows)`` over the batch, shared between cores when the work is large."""
    return map_rows(task, m, max(1, _MIN_SPLIT // max(per_example, 1)))


def _group_size(per_example: int) -> int:
    return max(1, _CHUNK // max(per_example, 1))


def depthwise_conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                           hparameters: dict):
    """Filter each channel of a batch with its own ``depth_multiplier`` filters.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: filters, shape ``(f_h, f_w, n_C_prev, depth_multiplier)``.
        b: biases, shape ``(1, 1, 1, n_C_prev * depth_multiplier)``.
        hparameters: ``{"stride", "pad"}`` as for `conv_forward`, and optionally
            ``"dilation": int | (d_h, d_w)`` (default 1).

    Returns:
        ``(Z, cache)``: ``Z`` of shape ``(m, n_H, n_W, n_C_prev * depth_multiplier)``, output
        channel ``c * depth_multiplier + k`` being input channel ``c`` under filter
        ``W[:, :, c, k]``; and the opaque cache (the padded input) for
        `depthwise_conv_backward`.
    """
    geometry = depthwise_geometry(A_prev, W, b, hparameters)
    dtype = float_dtype(A_prev, W, b)
    A = A_prev.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    _, _, n_C_prev, k = W.shape
    m = A.shape[0]
    n_H, n_W = geometry.out_hw

    source = PaddedInput.of(A, geometry)
    bias = b.astype(dtype, copy=False).reshape(n_C_prev, k)
    has_bias = bool(bias.any())
    taps = _Taps(geometry.kernel, geometry.stride, geometry.dilation, geometry.out_hw, k == 1)
    Z = np.empty((m, n_H, n_W, n_C_prev * k), dtype=dtype)
    if k == 1:
        spec, weights, bias = "eijhx,ijx->ehx", taps.along_rows(W[..., 0]), bias[:, 0]
        if not taps.merged:
            spec = "eijhwc,ijc->ehwc"
        Z4 = Z
    else:
        spec, weights, Z4 = "eijhwc,ijck->ehwck", W, Z.reshape(m, n_H, n_W, n_C_prev, k)
    group = _group_size(n_H * n_W * n_C_prev * k)
    # the bias repeated along a flat block: one flat add instead of a broadcast over rows of
    # n_C numbers (ConvMixer's 64 channels: 68 against 132 us for 16 examples of 16x16)
    bias_tile = ColumnTile(bias, total_rows=m * n_H * n_W) if has_bias else None

    def forward(rows: slice) -> None:
        state = {}
        for start, stop in _in_groups(rows, group):
            part = Z4[start:stop]
            np.einsum(spec, taps.view(source.group(start, stop, state)), weights,
                      out=taps.rows(part))
            if bias_tile is not None:
                bias_tile.add_to(Z[start:stop].reshape(-1, Z.shape[3]))

    _split_examples(forward, m, Z[0].size)
    return Z, DepthwiseCache(source, W, A.shape, geometry)


def depthwise_conv_backward(dZ: np.ndarray, cache: DepthwiseCache,
                            compute_dA_prev: bool = True):
    """Gradients of a depthwise convolution.

    Args:
        dZ: gradient of the cost w.r.t. ``Z``, shape ``(m, n_H, n_W, n_C_prev * k)``.
        cache: the cache returned by `depthwise_conv_forward`.
        compute_dA_prev: set False to skip the input gradient (``dA_prev`` is then ``None``).

    Returns:
        ``(dA_prev, dW, db)`` of shapes ``(m, n_H_prev, n_W_prev, n_C_prev)``,
        ``(f_h, f_w, n_C_prev, k)`` and ``(1, 1, 1, n_C_prev * k)``.
    """
    if not isinstance(cache, DepthwiseCache):
        raise TypeError(f"depthwise_conv_backward: cache must come from "
                        f"convnp.ops.depthwise_conv_forward, got {type(cache).__name__}")
    W, geometry = cache.W, cache.geometry
    _, _, n_C_prev, k = W.shape
    m, n_H_prev, n_W_prev, _ = cache.input_shape
    n_H, n_W = geometry.out_hw
    expected = (m, n_H, n_W, n_C_prev * k)
    if not isinstance(dZ, np.ndarray) or dZ.shape != expected:
        raise ValueError(f"depthwise_conv_backward: dZ must have shape {expected}, "
                         f"got {getattr(dZ, 'shape', type(dZ).__name__)}")
    dtype = W.dtype
    # one C-ordered buffer: the row views below reshape it in place (a gradient arriving
    # through a Concatenate or Permute is a strided view)
    dZ = np.ascontiguousarray(dZ, dtype=dtype)
    db = column_sums(dZ.reshape(-1, n_C_prev * k)).astype(dtype).reshape(1, 1, 1, -1)
    # k == 1 drops the multiplier axis everywhere: the einsums then see one channel axis
    dZ5 = dZ if k == 1 else dZ.reshape(m, n_H, n_W, n_C_prev, k)
    filter_grad = _filter_gradient(cache.source, geometry, n_C_prev, k)
    input_grad = None
    dA = None
    if compute_dA_prev:
        dA = np.empty(cache.input_shape, dtype=dtype)
        input_grad = _input_gradient(W, geometry, cache.input_shape)
    group = _group_size(max(n_H_prev * n_W_prev, n_H * n_W) * n_C_prev * k)

    def backward(rows: slice) -> np.ndarray:
        dW_part = np.zeros(W.shape, dtype=np.float64)
        state = {}
        for start, stop in _in_groups(rows, group):
            dW_part += filter_grad(start, stop, dZ5[start:stop], state)
            if input_grad is not None:
                input_grad(dZ5[start:stop], dA[start:stop], state)
        return dW_part

    parts = _split_examples(backward, m, max(dZ[0].size, n_H_prev * n_W_prev * n_C_prev))
    dW = sum(parts[1:], parts[0]).astype(dtype)
    return dA, dW, db


def _filter_gradient(source: PaddedInput, geometry: Geometry, n_C: int, k: int):
    """``grad(start, stop, g, state)``: float64 ``dW`` ``(f_h, f_w, n_C, k)`` of examples
    ``start:stop`` of the input ``source`` given their output gradient ``g`` (``(e, n_H,
    n_W, n_C[, k])``); ``state``: the thread's dict for `PaddedInput.group`.

    Three ways to contract the same view, chosen by shape (measured on MobileNetV2's layers,
    CPU time per group): few channels on wide rows, one einsum per tap over whole rows (each
    tap's ``n_W * n_C`` sums stay in L1: 0.6x the single einsum for 48x48x32); wide rows
    with many channels, one einsum over whole rows; narrow images, one einsum with the
    channels as the inner axis (0.6x the row einsum for 12x12x192 and 6x6x384)."""
    f_h, f_w = geometry.kernel
    n_W = geometry.out_hw[1]
    rows = _Taps(geometry.kernel, geometry.stride, geometry.dilation, geometry.out_hw,
                 k == 1 and (n_C < _FEW_CHANNELS or n_W >= _WIDE_ROWS))
    pixels = _Taps(geometry.kernel, geometry.stride, geometry.dilation, geometry.out_hw, False)
    per_tap = rows.merged and n_C < _FEW_CHANNELS

    def grad(start: int, stop: int, g: np.ndarray, state: dict) -> np.ndarray:
        src = source.group(start, stop, state)
        if k > 1:
            return np.einsum("eijhwc,ehwck->ijck", pixels.view(src), g).astype(np.float64)
        if not rows.merged:
            return np.einsum("eijhwc,ehwc->ijc", pixels.view(src), g).astype(np.float64)[
                ..., None]
        view, g_rows = rows.view(src), rows.rows(g)
        if per_tap:
            sums = np.empty(view.shape[1:3] + view.shape[-1:], dtype=g.dtype)
            for i in range(f_h):
                for j in range(f_w):
                    np.einsum("ehx,ehx->x", view[:, i, j], g_rows, out=sums[i, j])
        else:
            sums = np.einsum("eijhx,ehx->ijx", view, g_rows)
        # float32 sums over the group's rows; the row positions then added in float64
        return sums.reshape(f_h, f_w, n_W, n_C).sum(axis=2, dtype=np.float64)[..., None]

    return grad


def _phases(f: int, s: int, d: int, pad: int, n_in: int) -> list:
    """How the input positions of one axis get their gradient, phase by phase.

    Input position ``y`` is read by tap ``i`` of output position ``h`` when ``s * h + i * d ==
    y + pad``. Writing ``y + pad = s * t + r`` (phase ``r``), the taps reaching phase ``r``
    are those with ``i * d = r + s * u`` for some ``u >= 0``, and they read ``h = t - u``.
    Returns one ``(taps, lags, t_lo, count, positions)`` per phase that has input positions:
    its taps in decreasing order, their ``u`` (decreasing, equally spaced), the first ``t``,
    the number of positions and their strided slice of the input axis.
    """
    phases = []
    for r in range(s):
        t_lo, t_hi = -((r - pad) // s), (n_in - 1 + pad - r) // s
        if t_hi < t_lo:
            continue
        taps = [i for i in reversed(range(f)) if (i * d - r) % s == 0]
        y_lo = s * t_lo + r - pad
        phases.append((taps, [(i * d - r) // s for i in taps], t_lo, t_hi - t_lo + 1,
                       slice(y_lo, y_lo + s * (t_hi - t_lo) + 1, s)))
    return phases


def _frame(phases: list, n_out: int) -> tuple[int, int, int]:
    """``(lead, size, used)`` of the zero frame the output gradient is copied into along one
    axis: ``g[h]`` sits at ``lead + h``, so that position ``t`` of a phase reads lag ``u`` at
    ``t - u + lead``; only the first ``used`` rows of ``g`` reach an input position."""
    reaching = [(lags, t_lo, count) for _, lags, t_lo, count, _ in phases if lags]
    lead = max((lags[0] for lags, _, _ in reaching), default=0)
    size = max((t_lo + count - lags[-1] + lead for lags, t_lo, count in reaching),
               default=lead)
    return lead, size, max(0, min(n_out, size - lead))


def _input_gradient(W: np.ndarray, geometry: Geometry, input_shape):
    """``run(g, out, state)``: the input gradient of a group of examples, written into
    ``out`` (no padded gradient, no crop).

    The gradient of the input positions of one phase pair (`_phases`, one pair at stride 1)
    is a stride-1 correlation of the output gradient with the phase's taps, flipped: one
    einsum over a strided view of ``g`` copied into a zero frame (`_frame`), written straight
    into the phase's strided positions of ``out``. The frame is a scratch buffer kept in
    ``state`` (a dict per thread's range of examples): only its middle is rewritten, so its
    border stays zero from one group to the next.
    """
    f_h, f_w, _, k = W.shape
    _, n_H_prev, n_W_prev, _ = input_shape
    n_H, n_W = geometry.out_hw
    (s_h, s_w), (d_h, d_w) = geometry.stride, geometry.dilation
    (top, _), (left, _) = geometry.pads
    rows = _phases(f_h, s_h, d_h, top, n_H_prev)
    cols = _phases(f_w, s_w, d_w, left, n_W_prev)
    (lead_h, size_h, used_h), (lead_w, size_w, used_w) = _frame(rows, n_H), _frame(cols, n_W)
    merged = k == 1 and s_w == 1
    plans = []
    for taps_h, lags_h, t_h, count_h, at_h in rows:
        for taps_w, lags_w, t_w, count_w, at_w in cols:
            if not taps_h or not taps_w:
                plans.append((None, None, None, (at_h, at_w)))
                continue
            steps = (lags_h[0] - lags_h[1] if len(lags_h) > 1 else 1,
                     lags_w[0] - lags_w[1] if len(lags_w) > 1 else 1)
            taps = _Taps((len(taps_h), len(taps_w)), (1, 1), steps, (count_h, count_w), merged)
            weights = W[np.ix_(taps_h, taps_w)]
            weights = taps.along_rows(weights[..., 0]) if k == 1 else weights
            start = (t_h - lags_h[0] + lead_h, t_w - lags_w[0] + lead_w)
            plans.append((taps, weights, start, (at_h, at_w)))
    spec = ("eijhx,ijx->ehx" if merged else "eijhwc,ijc->ehwc") if k == 1 else \
        "eijhwck,ijck->ehwc"

    def run(g: np.ndarray, out: np.ndarray, state: dict) -> None:
        e = g.shape[0]
        frame = state.get("frame")
        if frame is None or frame.shape[0] < e:
            frame = state["frame"] = np.zeros((e, size_h, size_w, *g.shape[3:]), dtype=g.dtype)
        frame = frame[:e]
        frame[:, lead_h:lead_h + used_h, lead_w:lead_w + used_w] = g[:, :used_h, :used_w]
        for taps, weights, start, (at_h, at_w) in plans:
            target = out[:, at_h, at_w]
            if taps is None:
                target[...] = 0
                continue
            view = taps.view(frame[:, start[0]:, start[1]:])
            np.einsum(spec, view, weights, out=taps.rows(target))

    return run
