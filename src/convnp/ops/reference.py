"""The course functions as plain loops: slow on purpose, easy to read, and the tests' oracle.

Every function here has a fast twin in `convnp.ops` with the same name and signature. These
versions walk over every example, every output position and every channel with ordinary
Python ``for`` loops, so each line can be checked against the maths in the course notes.
Nothing in the library calls this module; tests and readers do.

Conventions (NHWC, as in the notes):

* images ``A_prev``: ``(m, n_H_prev, n_W_prev, n_C_prev)``;
* conv kernels ``W``: ``(f_h, f_w, n_C_prev, n_C)``; conv bias ``b``: ``(1, 1, 1, n_C)``;
* ``hparameters`` for conv: ``{"stride", "pad"}``; for pooling: ``{"f", "stride"}`` and an
  optional ``"pad"`` (default 0). ``stride`` and ``f`` are an int or a ``(h, w)`` pair; ``pad``
  is an int, a ``(h, w)`` pair, ``((top, bottom), (left, right))``, ``"valid"`` or ``"same"``
  (TensorFlow's rule: when the total padding is odd the extra row/column goes at the
  bottom/right).

What changes from the notes:

* ``conv_backward`` crops the padded gradient with explicit end indices, so ``pad == 0``
  works (the notes slice ``pad:-pad``, which is empty when ``pad`` is 0);
* ``conv_single_step`` reshapes the bias to a 0-d array, so a ``(1, 1, 1)`` bias works
  under NumPy 2 (which refuses ``float()`` of an array that is not 0-d);
* outputs keep the float dtype of the inputs (integer inputs compute in float64);
* max-pool backward sends each window's gradient to a single cell, the *first* maximum in
  row-major window order, as TensorFlow and PyTorch do, instead of to every tied maximum;
* padded pooling: max pooling never picks a padded cell and average pooling divides by the
  number of real (non-padded) cells in the window (TensorFlow's rule for 'same');
* bad arguments raise ``ValueError``/``TypeError`` before any work (via `convnp.ops.padding`).
"""

from __future__ import annotations

import numpy as np

from convnp.ops import padding
from convnp.ops.padding import Geometry

__all__ = [
    "affine_transform",
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "depthwise_conv_backward",
    "depthwise_conv_forward",
    "distribute_value",
    "first_max_mask",
    "grouped_conv_forward",
    "pool_backward",
    "pool_forward",
    "resize_bilinear",
    "zero_pad",
]


# ---------------------------------------------------------------------------------------------
# Small private helpers


def _check_gradient_shape(grad, expected: tuple[int, ...], name: str, op: str) -> None:
    """Refuse an upstream gradient whose shape does not match the forward output."""
    if not isinstance(grad, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array of shape {expected}, "
                        f"got {type(grad).__name__}")
    if grad.shape != expected:
        raise ValueError(f"{op}: {name} must have shape {expected} (the forward output's shape), "
                         f"got {grad.shape}")


def _real_rows(start: int, size: int, before: int, n: int) -> tuple[int, int]:
    """Map a window ``[start, start + size)`` in padded coordinates to unpadded input rows.

    Returns ``(lo, hi)``: the window covers input rows ``lo .. hi - 1`` (clipped to the input,
    so padded rows are dropped; pooling pads are narrower than the window, so ``lo < hi``).
    """
    lo = max(start - before, 0)
    hi = min(start - before + size, n)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# Convolution


def _backward_buffers(A_prev, W, geometry: Geometry, dtype):
    """The padded input and the kernel in ``dtype``, and zeroed gradients of both."""
    A_prev_pad = zero_pad(A_prev.astype(dtype), geometry.pads)
    W = W.astype(dtype)
    return A_prev_pad, W, np.zeros(A_prev_pad.shape, dtype=dtype), np.zeros(W.shape, dtype=dtype)


def zero_pad(X: np.ndarray, pad) -> np.ndarray:
    """Surround every image of a batch with zeros along height and width.

    Args:
        X: batch of images, shape ``(m, n_H, n_W, n_C)``.
        pad: an int (same on all four sides), a ``(p_h, p_w)`` pair, or explicit
            ``((top, bottom), (left, right))``. ``"same"``/``"valid"`` are refused: they
            depend on a window and a stride, which `zero_pad` does not have.

    Returns:
        ``X_pad`` of shape ``(m, n_H + top + bottom, n_W + left + right, n_C)`` and the dtype
        of ``X``; the original pixels sit at ``X_pad[:, top:top + n_H, left:left + n_W, :]``.

    Raises:
        TypeError: ``X`` is not a numeric numpy array.
        ValueError: ``X`` is not 4-D, or ``pad`` is negative, a string, or of an unknown form.
    """
    padding.check_batch(X, "X")
    (top, bottom), (left, right) = padding.explicit_pads(pad)
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + top + bottom, n_W + left + right, n_C), dtype=X.dtype)
    X_pad[:, top:top + n_H, left:left + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev: np.ndarray, W: np.ndarray, b) -> np.floating:
    """One output value of a convolution: the window times one filter, summed, plus a bias.

    Args:
        a_slice_prev: one window of the input, shape ``(f_h, f_w, n_C_prev)``.
        W: one filter, the same shape as ``a_slice_prev``.
        b: that filter's bias, any array with exactly one element (the notes use shape
            ``(1, 1, 1)``) or a plain number.

    Returns:
        The scalar ``sum(a_slice_prev * W) + b`` as a NumPy float of the inputs' float dtype.

    Raises:
        ValueError: the slice and the filter differ in shape, or ``b`` is not a single value.
    """
    a_slice_prev, W, b, dtype = padding.single_step_operands(a_slice_prev, W, b)
    products = a_slice_prev.astype(dtype) * W.astype(dtype)
    # reshape(()) turns the one-element bias into a 0-d array, which NumPy 2 converts freely.
    bias = b.astype(dtype).reshape(())
    return dtype.type(np.sum(products) + bias)


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                 hparameters: dict) -> tuple[np.ndarray, tuple]:
    """Forward pass of a convolution (strictly, a cross-correlation, as in every framework).

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: filters, shape ``(f_h, f_w, n_C_prev, n_C)``.
        b: biases, shape ``(1, 1, 1, n_C)``.
        hparameters: ``{"stride": int | (s_h, s_w), "pad": int | (p_h, p_w) |
            ((top, bottom), (left, right)) | "same" | "valid"}``.

    Returns:
        ``(Z, cache)``: ``Z`` of shape ``(m, n_H, n_W, n_C)`` with
        ``n_H = (n_H_prev + top + bottom - f_h) // s_h + 1`` (and likewise for ``n_W``), in the
        inputs' float dtype; ``cache = (A_prev, W, b, hparameters)`` for `conv_backward`.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: wrong rank, ``W``'s input channels differ from ``A_prev``'s, ``b`` has the
            wrong size, a key of ``hparameters`` is missing, a stride is not positive, or the
            kernel is larger than the padded input.
    """
    geometry = padding.conv_geometry(A_prev, W, b, hparameters, op="conv_forward")
    dtype = padding.float_dtype(A_prev, W, b)
    (span_h, span_w), (s_h, s_w) = geometry.span, geometry.stride
    d_h, d_w = geometry.dilation
    n_H, n_W = geometry.out_hw
    m = A_prev.shape[0]
    n_C = W.shape[3]

    A_prev_pad = zero_pad(A_prev.astype(dtype), geometry.pads)
    Z = np.zeros((m, n_H, n_W, n_C), dtype=dtype)

    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            top = h * s_h
            for w in range(n_W):
                left = w * s_w
                # The same input window feeds every filter, so cut it out once. A dilated
                # kernel reads every d-th pixel of a wider window.
                a_slice_prev = a_prev_pad[top:top + span_h:d_h, left:left + span_w:d_w, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[..., c])

    cache = (A_prev, W, b, hparameters)
    return Z, cache


def conv_backward(dZ: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of a convolution.

    Each output value ``Z[i, h, w, c]`` is ``sum(window * W[..., c]) + b[..., c]``, so its
    gradient ``dZ[i, h, w, c]`` flows back to the window (times the filter), to the filter
    (times the window) and to the bias (unchanged). Windows overlap when the stride is
    smaller than the kernel, so the contributions are accumulated with ``+=``.

    Args:
        dZ: gradient of the cost with respect to ``Z``, shape ``(m, n_H, n_W, n_C)``.
        cache: ``(A_prev, W, b, hparameters)`` as returned by `conv_forward`.

    Returns:
        ``(dA_prev, dW, db)`` with the shapes of ``A_prev``, ``W`` and ``b``, in the float
        dtype the forward pass computed in (``dZ`` is cast to it).

    Raises:
        TypeError: ``cache`` is not a 4-tuple or ``dZ`` is not an array.
        ValueError: ``dZ``'s shape differs from the forward output's, or the cache is invalid.
    """
    A_prev, W, b, hparameters = padding.cache_items(cache, ("A_prev", "W", "b", "hparameters"),
                                              "conv_backward")
    geometry = padding.conv_geometry(A_prev, W, b, hparameters, op="conv_backward")
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    n_C = W.shape[3]
    n_H, n_W = geometry.out_hw
    _check_gradient_shape(dZ, (m, n_H, n_W, n_C), "dZ", "conv_backward")

    # Gradients live in the forward pass's dtype, whatever precision dZ arrives in.
    dtype = padding.float_dtype(A_prev, W, b)
    dZ = dZ.astype(dtype, copy=False)
    (span_h, span_w), (s_h, s_w) = geometry.span, geometry.stride
    d_h, d_w = geometry.dilation
    (pad_top, _), (pad_left, _) = geometry.pads

    # Accumulate the input gradient on the padded grid, then keep only the real pixels.
    A_prev_pad, W, dA_prev_pad, dW = _backward_buffers(A_prev, W, geometry, dtype)
    db = np.zeros(b.shape, dtype=dtype)

    for i in range(m):
        for h in range(n_H):
            top = h * s_h
            for w in range(n_W):
                left = w * s_w
                rows = slice(top, top + span_h, d_h)
                cols = slice(left, left + span_w, d_w)
                a_slice = A_prev_pad[i, rows, cols, :]
                for c in range(n_C):
                    g = dZ[i, h, w, c]
                    dA_prev_pad[i, rows, cols, :] += W[:, :, :, c] * g
                    dW[:, :, :, c] += a_slice * g
                    db[..., c] += g

    # Explicit end indices: a "pad:-pad" slice would be empty when pad is 0.
    dA_prev = dA_prev_pad[:, pad_top:pad_top + n_H_prev, pad_left:pad_left + n_W_prev, :]
    return dA_prev.copy(), dW, db


# ---------------------------------------------------------------------------------------------
# Depthwise convolution (MobileNet's layers); the fast twin is convnp.ops.depthwise


def depthwise_conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                           hparameters: dict) -> tuple[np.ndarray, tuple]:
    """Forward pass of a depthwise convolution: each channel filtered on its own.

    Input channel ``c`` and its filter ``W[:, :, c, k]`` give output channel
    ``c * depth_multiplier + k`` (Keras' order). Unlike `conv_forward` nothing is summed over
    channels: one output value is one channel's window times one small filter, plus a bias.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: filters, shape ``(f_h, f_w, n_C_prev, depth_multiplier)``.
        b: biases, shape ``(1, 1, 1, n_C_prev * depth_multiplier)``.
        hparameters: ``{"stride", "pad"}`` as for `conv_forward`, optionally ``"dilation"``.

    Returns:
        ``(Z, cache)`` with ``Z`` of shape ``(m, n_H, n_W, n_C_prev * depth_multiplier)`` and
        ``cache = (A_prev, W, b, hparameters)``.
    """
    geometry = padding.depthwise_geometry(A_prev, W, b, hparameters)
    dtype = padding.float_dtype(A_prev, W, b)
    (span_h, span_w), (s_h, s_w) = geometry.span, geometry.stride
    d_h, d_w = geometry.dilation
    n_H, n_W = geometry.out_hw
    m, n_C_prev = A_prev.shape[0], A_prev.shape[3]
    multiplier = W.shape[3]
    b = b.reshape(-1)

    A_prev_pad = zero_pad(A_prev.astype(dtype), geometry.pads)
    Z = np.zeros((m, n_H, n_W, n_C_prev * multiplier), dtype=dtype)
    for i in range(m):
        for h in range(n_H):
            top = h * s_h
            for w in range(n_W):
                left = w * s_w
                for c in range(n_C_prev):
                    window = A_prev_pad[i, top:top + span_h:d_h, left:left + span_w:d_w, c]
                    for k in range(multiplier):
                        out = c * multiplier + k
                        Z[i, h, w, out] = np.sum(window * W[:, :, c, k]) + b[out]
    return Z, (A_prev, W, b.reshape(1, 1, 1, -1), hparameters)


def depthwise_conv_backward(dZ: np.ndarray, cache: tuple):
    """Backward pass of `depthwise_conv_forward`.

    ``Z[i, h, w, c * k_n + k]`` depends on one window of channel ``c`` and on filter
    ``W[:, :, c, k]`` only, so its gradient goes back to that window (times the filter), to
    that filter (times the window) and to its bias.

    Returns:
        ``(dA_prev, dW, db)`` with the shapes of ``A_prev``, ``W`` and ``b``.
    """
    A_prev, W, b, hparameters = padding.cache_items(cache, ("A_prev", "W", "b", "hparameters"),
                                                    "depthwise_conv_backward")
    geometry = padding.depthwise_geometry(A_prev, W, b, hparameters,
                                          op="depthwise_conv_backward")
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    multiplier = W.shape[3]
    n_H, n_W = geometry.out_hw
    _check_gradient_shape(dZ, (m, n_H, n_W, n_C_prev * multiplier), "dZ",
                          "depthwise_conv_backward")
    dtype = padding.float_dtype(A_prev, W, b)
    (span_h, span_w), (s_h, s_w) = geometry.span, geometry.stride
    d_h, d_w = geometry.dilation
    (pad_top, _), (pad_left, _) = geometry.pads

    A_prev_pad, W, dA_prev_pad, dW = _backward_buffers(A_prev, W, geometry, dtype)
    db = np.zeros(b.size, dtype=dtype)
    for i in range(m):
        for h in range(n_H):
            rows = slice(h * s_h, h * s_h + span_h, d_h)
            for w in range(n_W):
                cols = slice(w * s_w, w * s_w + span_w, d_w)
                for c in range(n_C_prev):
                    for k in range(multiplier):
                        g = dZ[i, h, w, c * multiplier + k]
                        dA_prev_pad[i, rows, cols, c] += W[:, :, c, k] * g
                        dW[:, :, c, k] += A_prev_pad[i, rows, cols, c] * g
                        db[c * multiplier + k] += g

    dA_prev = dA_prev_pad[:, pad_top:pad_top + n_H_prev, pad_left:pad_left + n_W_prev, :]
    return dA_prev.copy(), dW, db.reshape(b.shape)


# ---------------------------------------------------------------------------------------------
# Pooling


def grouped_conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray,
                         hparameters: dict, groups: int) -> np.ndarray:
    """A grouped convolution: ``groups`` convolutions side by side, group ``g``'s filters
    ``W[..., g * n_C / groups:(g + 1) * n_C / groups]`` reading only group ``g``'s input
    channels. ``W`` is ``(f_h, f_w, n_C_prev / groups, n_C)``. Returns ``Z`` only."""
    n_C_prev, c_in, n_C = A_prev.shape[3], W.shape[2], W.shape[3]
    if n_C_prev % groups or n_C % groups or c_in * groups != n_C_prev:
        raise ValueError(f"grouped_conv_forward: {n_C_prev} input channels, W of shape "
                         f"{W.shape} and groups={groups} do not fit")
    c_out = n_C // groups
    outputs = []
    for g in range(groups):
        Z_g, _ = conv_forward(A_prev[..., g * c_in:(g + 1) * c_in],
                              W[..., g * c_out:(g + 1) * c_out],
                              b[..., g * c_out:(g + 1) * c_out], hparameters)
        outputs.append(Z_g)
    return np.concatenate(outputs, axis=3)


def _pool_windows(geometry: Geometry, in_hw: tuple[int, int]):
    """Yield ``(h, w, (r0, r1), (c0, c1))``: each output position and the real input rows
    ``r0 .. r1 - 1`` and columns ``c0 .. c1 - 1`` its window covers (padding excluded)."""
    (f_h, f_w), (s_h, s_w) = geometry.kernel, geometry.stride
    (pad_top, _), (pad_left, _) = geometry.pads
    n_H, n_W = geometry.out_hw
    for h in range(n_H):
        rows = _real_rows(h * s_h, f_h, pad_top, in_hw[0])
        for w in range(n_W):
            cols = _real_rows(w * s_w, f_w, pad_left, in_hw[1])
            yield h, w, rows, cols


def pool_forward(A_prev: np.ndarray, hparameters: dict,
                 mode: str = "max") -> tuple[np.ndarray, tuple]:
    """Forward pass of a max or average pooling layer, channel by channel.

    Padding (``hparameters["pad"]``, default 0) only moves the windows: a padded cell is never
    a candidate for the maximum, and an average is taken over the real cells of the window
    only (TensorFlow's 'same' rule). Every window holds at least one real cell, because
    `padding.pool_geometry` refuses a pad as wide as the window.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C)``.
        hparameters: ``{"f": int | (f_h, f_w), "stride": int | (s_h, s_w)}`` and optionally
            ``"pad"`` in any form `conv_forward` accepts.
        mode: ``"max"`` or ``"average"``.

    Returns:
        ``(A, cache)``: ``A`` of shape ``(m, n_H, n_W, n_C)`` in the input's float dtype and
        ``cache = (A_prev, hparameters)`` for `pool_backward`.

    Raises:
        TypeError: ``A_prev`` is not an array or ``hparameters`` not a dict.
        ValueError: unknown mode, wrong rank, missing ``"f"``/``"stride"``, non-positive stride
            or window size, a window larger than the padded input, or a pad as wide as the
            window.
    """
    geometry = padding.pool_geometry(A_prev, hparameters, mode, op="pool_forward")
    dtype = padding.float_dtype(A_prev)
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = geometry.out_hw
    A = np.zeros((m, n_H, n_W, n_C), dtype=dtype)

    for i in range(m):
        for h, w, (r0, r1), (c0, c1) in _pool_windows(geometry, (n_H_prev, n_W_prev)):
            for c in range(n_C):
                a_prev_slice = A_prev[i, r0:r1, c0:c1, c].astype(dtype)
                if mode == "max":
                    A[i, h, w, c] = np.max(a_prev_slice)
                else:
                    A[i, h, w, c] = np.mean(a_prev_slice)

    cache = (A_prev, hparameters)
    return A, cache


def create_mask_from_window(x: np.ndarray) -> np.ndarray:
    """Boolean mask that is True at *every* position holding the maximum of ``x``.

    This is the course's contract: with ties, several cells are True. `pool_backward` does
    not use it (it would hand a tied window's gradient to each maximum, so the gradient would
    be counted several times); it uses `first_max_mask`.

    Args:
        x: a window, typically of shape ``(f_h, f_w)``.

    Returns:
        Boolean array of ``x``'s shape.
    """
    x = np.asarray(x)
    return x == np.max(x)


def first_max_mask(x: np.ndarray) -> np.ndarray:
    """Boolean mask that is True at exactly one cell: the first maximum of ``x``.

    "First" is in row-major order (the order of ``x.ravel()``), the tie rule TensorFlow and
    PyTorch use for max-pool gradients, so a window's gradient goes to one cell only.

    Args:
        x: a window, typically of shape ``(f_h, f_w)``; must not be empty.

    Returns:
        Boolean array of ``x``'s shape with a single True.
    """
    x = np.asarray(x)
    mask = np.zeros(x.shape, dtype=bool)
    mask.flat[np.argmax(x)] = True  # argmax returns the first of tied maxima
    return mask


def distribute_value(dz, shape) -> np.ndarray:
    """Spread a gradient evenly over a window: the backward of an average.

    Args:
        dz: the scalar gradient of one averaged output.
        shape: ``(n_H, n_W)`` of the window (an int ``n`` means ``(n, n)``).

    Returns:
        Array of shape ``(n_H, n_W)`` whose every entry is ``dz / (n_H * n_W)``, in ``dz``'s
        float dtype (float64 for Python numbers and integers).

    Raises:
        ValueError: ``shape`` is not made of positive ints, or ``dz`` is not a single value.
    """
    n_H, n_W = padding.as_pair(shape, "shape")
    dz = np.asarray(dz)
    if dz.size != 1:
        raise ValueError(f"distribute_value: dz must be a single value, got shape {dz.shape}")
    dtype = padding.float_dtype(dz)
    average = dz.astype(dtype).reshape(()) / dtype.type(n_H * n_W)
    return np.full((n_H, n_W), average, dtype=dtype)


def pool_backward(dA: np.ndarray, cache: tuple, mode: str = "max") -> np.ndarray:
    """Backward pass of a pooling layer.

    * max: each window's gradient goes to one cell, the first maximum of its real cells in
      row-major order (`first_max_mask`);
    * average: each window's gradient is split evenly over its real cells
      (`distribute_value`), so padded cells neither receive nor dilute gradient.

    Overlapping windows (stride smaller than the window) add up their contributions.

    Args:
        dA: gradient of the cost with respect to the pooling output, shape ``(m, n_H, n_W, n_C)``.
        cache: ``(A_prev, hparameters)`` as returned by `pool_forward`.
        mode: ``"max"`` or ``"average"``, as in the forward call.

    Returns:
        ``dA_prev`` with the shape of ``A_prev``, in the float dtype the forward pass
        computed in (``dA`` is cast to it).

    Raises:
        TypeError: ``cache`` is not a 2-tuple or ``dA`` is not an array.
        ValueError: unknown mode, invalid cache, or ``dA``'s shape differs from the forward
            output's.
    """
    A_prev, hparameters = padding.cache_items(cache, ("A_prev", "hparameters"), "pool_backward")
    geometry = padding.pool_geometry(A_prev, hparameters, mode, op="pool_backward")
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = geometry.out_hw
    _check_gradient_shape(dA, (m, n_H, n_W, n_C), "dA", "pool_backward")

    dtype = padding.float_dtype(A_prev)
    dA = dA.astype(dtype, copy=False)
    dA_prev = np.zeros(A_prev.shape, dtype=dtype)

    for i in range(m):
        for h, w, (r0, r1), (c0, c1) in _pool_windows(geometry, (n_H_prev, n_W_prev)):
            for c in range(n_C):
                g = dA[i, h, w, c]
                if mode == "max":
                    mask = first_max_mask(A_prev[i, r0:r1, c0:c1, c])
                    dA_prev[i, r0:r1, c0:c1, c] += mask * g
                else:
                    dA_prev[i, r0:r1, c0:c1, c] += distribute_value(
                        dtype.type(g), (r1 - r0, c1 - c0))
    return dA_prev


# ---------------------------------------------------------------------------------------------
# Image resampling (the preprocessing layers); the fast twin is convnp.ops.image


def _read(image: np.ndarray, row: int, col: int, fill_value: float) -> np.ndarray:
    """One pixel's channels, or ``fill_value`` outside the image."""
    n_H, n_W = image.shape[:2]
    if 0 <= row < n_H and 0 <= col < n_W:
        return image[row, col]
    return np.full(image.shape[2], fill_value, dtype=image.dtype)


def _fold(v: float, n: int, fill_mode: str) -> float:
    """TensorFlow's fill modes for one coordinate, written out case by case."""
    if fill_mode == "constant":
        return v
    if fill_mode == "reflect" and n > 1:
        # mirror about -0.5 (edge pixels repeat: d c b a | a b c d), whole periods of 2n first
        period = 2 * n
        if v < 0:
            v += period * int(-v / period)
            v = v + period if v < -n else -v - 1
        elif v > n - 1:
            v -= period * int(v / period)
            if v >= n:
                v = period - v - 1
    elif fill_mode == "wrap" and n > 1:
        # as TensorFlow computes it: periods of n, counted in steps of n - 1
        if v < 0:
            v += n * (int(-v / (n - 1)) + 1)
        elif v > n - 1:
            v -= n * int(v / (n - 1))
    return min(max(v, 0.0), n - 1.0)


def affine_transform(images: np.ndarray, transforms: np.ndarray, interpolation: str = "bilinear",
                     fill_mode: str = "reflect", fill_value: float = 0.0) -> np.ndarray:
    """Resample each image: output pixel ``(x, y)`` reads the input at ``(a0 x + a1 y + a2,
    b0 x + b1 y + b2)`` (``transforms[i] = [a0, a1, a2, b0, b1, b2, 0, 0]``), bilinear or
    nearest, with ``fill_mode`` outside the image."""
    m, n_H, n_W, _ = images.shape
    out = np.zeros(images.shape, dtype=images.dtype)
    for i in range(m):
        a0, a1, a2, b0, b1, b2 = transforms[i][:6]
        for y in range(n_H):
            for x in range(n_W):
                col = _fold(a0 * x + a1 * y + a2, n_W, fill_mode)
                row = _fold(b0 * x + b1 * y + b2, n_H, fill_mode)
                if interpolation == "nearest":
                    # round half away from zero (C's round), not Python's to-even
                    near_row = int(np.sign(row) * np.floor(abs(row) + 0.5))
                    near_col = int(np.sign(col) * np.floor(abs(col) + 0.5))
                    out[i, y, x] = _read(images[i], near_row, near_col, fill_value)
                    continue
                r0, c0 = int(np.floor(row)), int(np.floor(col))
                dr, dc = row - r0, col - c0
                out[i, y, x] = ((1 - dr) * (1 - dc) * _read(images[i], r0, c0, fill_value)
                                + (1 - dr) * dc * _read(images[i], r0, c0 + 1, fill_value)
                                + dr * (1 - dc) * _read(images[i], r0 + 1, c0, fill_value)
                                + dr * dc * _read(images[i], r0 + 1, c0 + 1, fill_value))
    return out



def _tap(i: int, n: int, fill_mode: str):
    """One integer tap index under Keras 3's ``map_coordinates`` fill modes: the pixel read,
    or None for ``fill_value``."""
    if 0 <= i < n:
        return i
    if fill_mode == "constant":
        return None
    if fill_mode == "nearest":
        return min(max(i, 0), n - 1)
    if fill_mode == "wrap":
        return i % n
    if fill_mode == "mirror":  # c b | a b c d | c b
        period = max(2 * n - 2, 1)
        j = abs(i) % period
        return j if j < n else period - j
    # Keras' "reflect": |i| below the image, n - 1 - (i - n) above it, period 2n
    j = abs(i) % (2 * n)
    return j if j < n else 2 * n - j - 1


def map_coordinates(image: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    interpolation: str = "bilinear", fill_mode: str = "reflect",
                    fill_value: float = 0.0) -> np.ndarray:
    """Sample one image ``(n_H, n_W, n_C)`` at the coordinates ``rows``, ``cols`` (arrays of
    one shape) as Keras 3's ``map_coordinates`` does, pixel by pixel."""
    n_H, n_W, n_C = image.shape
    out = np.zeros(rows.shape + (n_C,), dtype=np.float64)
    for p in np.ndindex(rows.shape):
        row, col = float(rows[p]), float(cols[p])
        if interpolation == "nearest":
            taps = [(int(np.round(row)), int(np.round(col)), 1.0)]
        else:
            r0, c0 = int(np.floor(row)), int(np.floor(col))
            dr, dc = row - r0, col - c0
            taps = [(r0, c0, (1 - dr) * (1 - dc)), (r0, c0 + 1, (1 - dr) * dc),
                    (r0 + 1, c0, dr * (1 - dc)), (r0 + 1, c0 + 1, dr * dc)]
        for r, c, w in taps:
            r, c = _tap(r, n_H, fill_mode), _tap(c, n_W, fill_mode)
            out[p] += w * (fill_value if r is None or c is None else image[r, c])
    return out.astype(image.dtype)


def resize_bilinear(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centers (``tf.image.resize``): output pixel ``(o, p)``
    reads the input at ``((o + 0.5) * n_H / height - 0.5, (p + 0.5) * n_W / width - 0.5)``,
    rows and columns clamped to the image."""
    m, n_H, n_W, n_C = images.shape
    out = np.zeros((m, height, width, n_C), dtype=images.dtype)
    for o in range(height):
        row = (o + 0.5) * n_H / height - 0.5
        r0 = int(np.floor(row))
        dr = row - r0
        r_lo, r_hi = min(max(r0, 0), n_H - 1), min(max(r0 + 1, 0), n_H - 1)
        for p in range(width):
            col = (p + 0.5) * n_W / width - 0.5
            c0 = int(np.floor(col))
            dc = col - c0
            c_lo, c_hi = min(max(c0, 0), n_W - 1), min(max(c0 + 1, 0), n_W - 1)
            out[:, o, p] = ((1 - dr) * (1 - dc) * images[:, r_lo, c_lo]
                            + (1 - dr) * dc * images[:, r_lo, c_hi]
                            + dr * (1 - dc) * images[:, r_hi, c_lo]
                            + dr * dc * images[:, r_hi, c_hi])
    return out
