"""Keras 3.15's signal functions of ``keras.ops``: the Fourier transforms ``fft``, ``fft2``,
``ifft2``, ``rfft``, ``irfft``, the short-time ones ``stft``/``istft``, ``extract_sequences``
and the windows ``hamming``, ``hanning``, ``blackman``, ``bartlett``, ``kaiser``.

convnp has no complex tensors and neither does Keras' API here: a complex value is a
``(real, imag)`` pair of float tensors, in and out. The transforms are recorded on the tape
with their adjoints (a DFT's adjoint is the inverse DFT scaled by the length), and the
short-time ones are composed of recorded framing, windowing and transforms, so gradients are
TensorFlow's (checked in ``tests/fixtures/keras_ops_parity_signal.npz``). Re-exported by
`convnp.keras.ops`.
"""

from __future__ import annotations

import numpy as np

from convnp.tensor import ops as _ops
from convnp.tensor import sorting as _sorting
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.tape import new_tensor, record, recording


def _arr(x) -> np.ndarray:
    return _ops._convert(x)


def _pair(x, who: str) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``(real, imag)`` arrays of a complex argument."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"keras.ops.{who} expects a tuple (real, imag) of two tensors, got "
                         f"{type(x).__name__}")
    re, im = _arr(x[0]), _arr(x[1])
    if re.shape != im.shape:
        raise ValueError(f"keras.ops.{who}: real and imag must have the same shape, got "
                         f"{re.shape} and {im.shape}")
    if re.dtype.kind != "f" or im.dtype.kind != "f":
        raise TypeError(f"keras.ops.{who}: real and imag must be float tensors, got "
                        f"{re.dtype} and {im.dtype}")
    return re, im


def _complex_op(inputs, result: np.ndarray, dtype, adjoint):
    """``(real, imag)`` tensors of ``result``, recorded with ``adjoint(complex grad) ->
    [grad per input]``."""
    out = [new_tensor(result.real.astype(dtype)), new_tensor(result.imag.astype(dtype))]
    if recording():
        def vjp(grads):
            g = np.zeros(result.shape, np.complex128)
            if grads[0] is not None:
                g = g + np.asarray(grads[0])
            if grads[1] is not None:
                g = g + 1j * np.asarray(grads[1])
            return [None if d is None else d.astype(dtype) for d in adjoint(g)]

        record(out, inputs, vjp)
    return tuple(out)


def _transform(x, axes: tuple, inverse: bool, who: str):
    re, im = _pair(x, who)
    if re.ndim < len(axes):
        raise ValueError(f"keras.ops.{who} needs at least {len(axes)} axes, got shape "
                         f"{re.shape}")
    z = re + 1j * im
    size = int(np.prod([re.shape[a] for a in axes]))
    out = np.fft.ifftn(z, axes=axes) if inverse else np.fft.fftn(z, axes=axes)

    def adjoint(g):
        back = np.fft.fftn(g, axes=axes) / size if inverse else np.fft.ifftn(g, axes=axes) * size
        return [back.real, back.imag]

    return _complex_op(list(x), out, re.dtype, adjoint)


def fft(x):
    """The discrete Fourier transform of ``x = (real, imag)`` along the last axis."""
    return _transform(x, (-1,), False, "fft")


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes."""
    return _transform(x, (-2, -1), False, "fft2")


def ifft2(x):
    """The inverse of `fft2`."""
    return _transform(x, (-2, -1), True, "ifft2")


def _length(value, who: str) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"keras.ops.{who}: fft_length must be a positive int, got {value!r}")
    return int(value)


def rfft(x, fft_length=None):
    """The transform of a real ``x`` along its last axis (cut or zero-padded to
    ``fft_length``): the ``fft_length // 2 + 1`` non-negative frequencies, as
    ``(real, imag)``."""
    a = _arr(x)
    if a.dtype.kind != "f":
        raise TypeError(f"keras.ops.rfft expects a float tensor, got {a.dtype}")
    n = a.shape[-1]
    length = n if fft_length is None else _length(fft_length, "rfft")
    out = np.fft.rfft(a, n=length)

    def adjoint(g):
        spectrum = np.zeros(g.shape[:-1] + (length,), np.complex128)
        spectrum[..., :g.shape[-1]] = g
        back = (np.fft.ifft(spectrum) * length).real
        grad = np.zeros(a.shape, np.float64)
        keep = min(n, length)
        grad[..., :keep] = back[..., :keep]
        return [grad]

    return _complex_op([x], out, a.dtype, adjoint)


def irfft(x, fft_length=None):
    """The real signal of length ``fft_length`` (``2 * (bins - 1)`` by default) whose `rfft`
    is ``x = (real, imag)`` (the imaginary parts of the zero and Nyquist bins are ignored)."""
    re, im = _pair(x, "irfft")
    bins = re.shape[-1]
    length = 2 * (bins - 1) if fft_length is None else _length(fft_length, "irfft")
    if length < 1:
        raise ValueError("keras.ops.irfft: give fft_length for a single frequency bin")
    y = np.fft.irfft(re + 1j * im, n=length).astype(re.dtype)
    tensor = new_tensor(y)
    if recording():
        used = min(bins, length // 2 + 1)
        # each bin counts twice, but the zero bin (and the Nyquist bin of an even length)
        weight = np.full(used, 2.0)
        weight[0] = 1.0
        if length % 2 == 0 and used == length // 2 + 1:
            weight[-1] = 1.0

        def vjp(grads):
            if grads[0] is None:
                return [None, None]
            spectrum = np.fft.rfft(np.asarray(grads[0], np.float64), n=length)[..., :used]
            d_re = np.zeros(re.shape)
            d_im = np.zeros(im.shape)
            d_re[..., :used] = spectrum.real * weight / length
            d_im[..., :used] = spectrum.imag * weight / length
            d_im[..., 0] = 0.0
            if length % 2 == 0 and used == length // 2 + 1:
                d_im[..., used - 1] = 0.0
            return [d_re.astype(re.dtype), d_im.astype(im.dtype)]

        record([tensor], list(x), vjp)
    return tensor


# -- frames ---------------------------------------------------------------------------------


def _frames(x, length: int, step: int, who: str):
    """``(..., frames, length)``: windows of the last axis every ``step`` (recorded)."""
    n = _arr(x).shape[-1]
    if length < 1 or step < 1:
        raise ValueError(f"keras.ops.{who}: sequence_length and sequence_stride must be "
                         f"positive, got {length} and {step}")
    count = 1 + (n - length) // step if n >= length else 0
    index = (np.arange(count) * step)[:, None] + np.arange(length)[None, :]
    return _ops.gather(x, index.reshape(-1), axis=-1 if _arr(x).ndim else 0), count, index


def extract_sequences(x, sequence_length, sequence_stride):
    """``(..., frames, sequence_length)``: the windows of ``x``'s last axis every
    ``sequence_stride`` samples (only whole ones)."""
    a = _arr(x)
    if a.ndim < 1:
        raise ValueError("keras.ops.extract_sequences needs at least one axis")
    flat, count, _ = _frames(x, int(sequence_length), int(sequence_stride),
                             "extract_sequences")
    return _ops.reshape(flat, list(a.shape[:-1]) + [count, int(sequence_length)])


def _window(window, length: int, padded: int, dtype, who: str) -> np.ndarray | None:
    """The analysis window (periodic Hann/Hamming, or given), centred in ``padded``."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"keras.ops.{who}: window must be 'hann', 'hamming', None or an "
                             f"array, got {window!r}")
        phase = np.cos(2 * np.pi * np.arange(length) / length)
        values = 0.5 - 0.5 * phase if window == "hann" else 0.54 - 0.46 * phase
    else:
        values = np.asarray(_arr(window), dtype=np.float64)
        if values.shape != (length,):
            raise ValueError(f"keras.ops.{who}: window must have shape ({length},), got "
                             f"{values.shape}")
    left = (padded - length) // 2
    return np.pad(values, (left, padded - length - left)).astype(dtype)


def _stft_checks(sequence_length, sequence_stride, fft_length, who: str) -> tuple:
    length, step, size = int(sequence_length), int(sequence_stride), int(fft_length)
    if size < length:
        raise ValueError(f"keras.ops.{who}: fft_length ({size}) must be at least "
                         f"sequence_length ({length})")
    if length < 1 or step < 1:
        raise ValueError(f"keras.ops.{who}: sequence_length and sequence_stride must be "
                         f"positive, got {length} and {step}")
    return length, step, size


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of a real ``x`` ``(..., samples)``: windows of
    ``sequence_length`` every ``sequence_stride`` (the signal reflected by ``fft_length // 2``
    at both ends when ``center``), each windowed and transformed over ``fft_length``:
    ``(real, imag)`` of shape ``(..., frames, fft_length // 2 + 1)``."""
    a = _arr(x)
    if a.dtype.name not in ("float32", "float64"):
        raise TypeError(f"keras.ops.stft expects float32 or float64, got {a.dtype}")
    length, step, size = _stft_checks(sequence_length, sequence_stride, fft_length, "stft")
    signal = x
    if center:
        pads = [[0, 0]] * (a.ndim - 1) + [[size // 2, size // 2]]
        signal = _sorting.pad(signal, pads, mode="REFLECT")
    flat, count, _ = _frames(signal, size, step, "stft")
    frames = _ops.reshape(flat, list(a.shape[:-1]) + [count, size])
    win = _window(window, length, size, a.dtype, "stft")
    if win is not None:
        frames = _ops.multiply(frames, win)
    return rfft(frames, size)


def _overlap_add(frames, step: int):
    """Frames ``(..., count, length)`` added into one signal, frame ``i`` at ``i * step``
    (recorded: the gradient reads each frame's span back)."""
    a = _arr(frames)
    count, length = a.shape[-2:]
    total = (count - 1) * step + length
    index = (np.arange(count) * step)[:, None] + np.arange(length)[None, :]
    out = np.zeros(a.shape[:-2] + (total,), a.dtype)
    np.add.at(out, (..., index), a)
    return _ops._op(out, [frames], lambda g: [np.asarray(g)[..., index]])


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """The inverse of `stft` (TensorFlow's ``inverse_stft``: each frame's inverse transform,
    windowed by the analysis window over the sum of its squared overlaps, then added up),
    cut to ``length`` samples (and the ``center`` padding removed)."""
    re, _ = _pair(x, "istft")
    seq, step, size = _stft_checks(sequence_length, sequence_stride, fft_length, "istft")
    frames = irfft(x, size)
    win = _window(window, seq, size, re.dtype, "istft")
    if win is not None:
        overlaps = -(-size // step)
        squares = np.pad(win.astype(np.float64) ** 2, (0, overlaps * step - size))
        denominator = np.tile(squares.reshape(overlaps, step).sum(axis=0), overlaps)[:size]
        frames = _ops.multiply(frames, (win / denominator).astype(re.dtype))
    signal = _overlap_add(frames, step)
    total = _arr(signal).shape[-1]
    start = size // 2 if center else 0
    if length is not None:
        end = start + int(length)
    else:
        end = total - size // 2 if center else total
    return signal[..., start:end]


# -- windows --------------------------------------------------------------------------------


def _window_size(x, who: str) -> int:
    size = _arr(x)
    if size.ndim != 0 or size.dtype.kind not in "iu":
        raise TypeError(f"keras.ops.{who} expects the window length as an int, got {x!r}")
    return int(size)


def hamming(x):
    """The symmetric Hamming window of ``x`` points (float32)."""
    return _ops.constant(np.hamming(_window_size(x, "hamming")).astype(np.float32))


def hanning(x):
    """The symmetric Hann window of ``x`` points (float32)."""
    return _ops.constant(np.hanning(_window_size(x, "hanning")).astype(np.float32))


def blackman(x):
    """The Blackman window of ``x`` points (float32)."""
    return _ops.constant(np.blackman(_window_size(x, "blackman")).astype(np.float32))


def bartlett(x):
    """The triangular Bartlett window of ``x`` points (float32)."""
    return _ops.constant(np.bartlett(_window_size(x, "bartlett")).astype(np.float32))


def kaiser(x, beta):
    """The Kaiser window of ``x`` points and shape ``beta`` (float32)."""
    return _ops.constant(np.kaiser(_window_size(x, "kaiser"), float(beta)).astype(np.float32))


_symbolic.accept_keras_tensors(globals())
