"""`STFTSpectrogram`: Keras 3's short-time Fourier transform of 1-D signals as a layer (a
convolution with stride ``frame_step`` by cosine and sine kernels over ``frame_length``
samples, windowed and scaled).

As in Keras the two kernels are the layer's (trainable) weights ``real_kernel`` and
``imag_kernel``, of shape ``(frame_length, 1, fft_length // 2 + 1)``: frequency ``f``'s
columns are ``cos(-2 pi t f / fft) * w[t] / s`` and ``sin(...)`` with ``w`` the window
(symmetric, or periodic with ``periodic=True``, as scipy's ``get_window``) and ``s`` its
root sum of squares (``scaling="density"``), its sum (``"spectrum"``) or 1 (None). The call is
in tensor ops (frames gathered, one einsum per kernel), so a tape differentiates it with
respect to the signal and the kernels.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from convnp.layers import taped
from convnp.layers.base import Layer
from convnp.layers.input_spec import InputSpec
from convnp.layers.registry import register

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_COSINE_WINDOWS = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46),
                   "blackman": (0.42, 0.5, 0.08)}
WINDOWS = ("hann", "hamming", "blackman", "bartlett", "boxcar")
_WINDOW_ALIASES = {"hanning": "hann", "han": "hann", "hamm": "hamming", "ham": "hamming",
                   "black": "blackman", "blk": "blackman", "bart": "bartlett",
                   "brt": "bartlett", "box": "boxcar", "ones": "boxcar", "rect": "boxcar",
                   "rectangular": "boxcar"}


def window_name(window, who: str) -> str:
    """The canonical name of a window given by name (scipy's spellings); ValueError else."""
    name = _WINDOW_ALIASES.get(window, window) if isinstance(window, str) else None
    if name not in WINDOWS:
        raise ValueError(f"{who}: window must be one of {', '.join(WINDOWS)} (or None, or an "
                         f"array of frame_length values), got {window!r}")
    return name


def get_window(window: str, length: int, periodic: bool = False) -> np.ndarray:
    """scipy.signal's ``get_window(window, length, fftbins=periodic)`` for the windows
    convnp knows (float64): symmetric, or periodic (the symmetric window one longer, its
    last value dropped)."""
    name = window_name(window, "get_window")
    size = length + 1 if periodic else length
    if size == 1:
        values = np.ones(1)
    elif name == "boxcar":
        values = np.ones(size)
    elif name == "bartlett":
        n = np.arange(size)
        half = 2.0 * n / (size - 1)
        values = np.where(n <= (size - 1) / 2.0, half, 2.0 - half)
    else:
        phase = 2 * np.pi * np.arange(size) / (size - 1)
        coefs = _COSINE_WINDOWS[name]
        values = sum((-1) ** k * c * np.cos(k * phase) for k, c in enumerate(coefs))
    return values[:length]


def stft_kernel(side: str, window, scaling, periodic: bool, frame_length: int,
                bins: int, dtype=np.float32) -> np.ndarray:
    """Keras's ``initializers.STFT`` value ``(frame_length, 1, bins)``, computed in ``dtype``
    in Keras's order of operations (the near-zero values of the sine kernel keep Keras's
    signs, which ``"angle"`` shows)."""
    dtype = np.dtype(dtype)
    freq = np.arange(bins, dtype=dtype) / dtype.type((bins - 1) * 2 if bins > 1 else 1)
    time = np.arange(frame_length, dtype=dtype)[:, None]
    args = (dtype.type(-2) * time) * freq[None, :] * dtype.type(np.arccos(dtype.type(-1)))
    kernel = np.cos(args) if side == "real" else np.sin(args)
    if window is not None:
        win = get_window(window, frame_length, periodic) if isinstance(window, str) else \
            np.asarray(window, dtype=np.float64)
        win = win.astype(dtype)
        scale = dtype.type(1)
        if scaling == "density":
            scale = np.sqrt(np.sum(np.square(win)))
        elif scaling == "spectrum":
            scale = np.sum(np.abs(win))
        kernel = kernel * win[:, None] / scale
    return kernel[:, None, :].astype(dtype)


def _int_arg(value, name: str, who: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


@register
class STFTSpectrogram(Layer):
    """Keras 3's ``STFTSpectrogram``.

    Args:
        mode: ``"log"`` (log of the magnitude), ``"magnitude"``, ``"psd"`` (power, the
            inner bins doubled), ``"real"``, ``"imag"``, ``"angle"`` or ``"stft"`` (real and
            imaginary parts side by side on the frequency axis).
        frame_length: the samples per frame (the kernels' length).
        frame_step: the stride (default ``frame_length // 2``; at most ``frame_length``).
        fft_length: the FFT size (default: the next power of two >= frame_length).
        window: ``"hann"``, ``"hamming"``, ``"blackman"``, ``"bartlett"``, ``"boxcar"``,
            None (no window) or ``frame_length`` values.
        periodic: a periodic window (scipy's ``fftbins=True``) instead of a symmetric one.
        scaling: ``"density"``, ``"spectrum"`` or None.
        padding: ``"valid"`` or ``"same"`` (as a strided convolution's).
        expand_dims: keep channels and frequencies on separate axes.
        data_format: ``"channels_last"`` (``(B, samples, channels)``, the default) or
            ``"channels_first"``.

    Shape: ``(B, samples, C)`` -> ``(B, frames, C * bins)`` or, with ``expand_dims``,
    ``(B, frames, bins, C)`` (channels_first: ``(B, C * bins, frames)`` / ``(B, C, frames,
    bins)``); ``bins`` is ``fft_length // 2 + 1`` (twice that for ``"stft"``).
    """

    _autodiff = True  # tensor ops: the signal and both kernels get gradients

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step=None,
                 fft_length=None, window="hann", periodic: bool = False, scaling="density",
                 padding: str = "valid", expand_dims: bool = False, data_format=None,
                 **kwargs):
        cls = type(self).__name__
        frame_length = _int_arg(frame_length, "frame_length", cls)
        frame_step = _int_arg(frame_step, "frame_step", cls, allow_none=True)
        if frame_step is not None and frame_step > frame_length:
            raise ValueError(f"{cls}: frame_step must be a positive int not greater than "
                             f"frame_length, got frame_step={frame_step}, "
                             f"frame_length={frame_length}")
        fft_length = _int_arg(fft_length, "fft_length", cls, allow_none=True)
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"{cls}: fft_length must be at least frame_length, got "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"{cls}: fft_length is best a power of two, got {fft_length}",
                          stacklevel=2)
        if mode not in MODES:
            raise ValueError(f"{cls}: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"{cls}: scaling must be None, 'density' or 'spectrum', got "
                             f"{scaling!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"{cls}: padding must be 'valid' or 'same', got {padding!r}")
        if isinstance(window, str):
            window_name(window, cls)
        elif window is not None:
            values = np.asarray(window)
            if values.shape != (frame_length,) or values.dtype.kind not in "iuf":
                raise ValueError(f"{cls}: window must be a name, None or {frame_length} "
                                 f"numbers (frame_length), got {window!r:.80}")
            window = [float(v) for v in values]
        if data_format is None:
            data_format = "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{cls}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        if self._frame_step < 1:
            raise ValueError(f"{cls}: frame_length {frame_length} gives a frame_step of 0; "
                             "give frame_step")
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(frame_length))
        self.window = window
        self.periodic = bool(periodic)
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = bool(expand_dims)
        self.data_format = data_format
        self.input_spec = InputSpec(ndim=3)
        self.real_kernel = self.imag_kernel = None

    def _kernel_initializer(self, side: str):
        def init(shape, dtype=np.float32):
            return stft_kernel(side, self.window, self.scaling, self.periodic,
                               shape[0], shape[2], dtype)
        return init

    def build(self, input_shape) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight("real_kernel", shape,
                                               self._kernel_initializer("real"))
        if self.mode != "real":
            self.imag_kernel = self.add_weight("imag_kernel", shape,
                                               self._kernel_initializer("imag"))
        self.built = True

    def _frames_count(self, steps):
        if steps is None:
            return None
        if self.padding == "same":
            return -(-steps // self._frame_step)
        return max((steps - self.frame_length) // self._frame_step + 1, 0)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        if self.data_format == "channels_last":
            steps, channels = input_shape[1], input_shape[2]
        else:
            channels, steps = input_shape[1], input_shape[2]
        bins = self._fft_length // 2 + 1
        bins = bins * 2 if self.mode == "stft" else bins
        frames = self._frames_count(steps)
        if self.expand_dims:
            return (batch, frames, bins, channels) if self.data_format == "channels_last" \
                else (batch, channels, frames, bins)
        flat = None if channels is None else channels * bins
        return (batch, frames, flat) if self.data_format == "channels_last" \
            else (batch, flat, frames)

    def _apply(self, signal, kernel):
        """``(B, C, bins, frames)``: the strided correlation of each channel with ``kernel``
        (``signal`` is ``(B, samples, C)``)."""
        from convnp.tensor.ops import cast, einsum, gather, squeeze
        from convnp.tensor.sorting import pad

        steps = np.shape(signal)[1]
        length, step = self.frame_length, self._frame_step
        if self.padding == "same":
            frames = -(-steps // step)
            total = max((frames - 1) * step + length - steps, 0)
            signal = pad(signal, [[0, 0], [total // 2, total - total // 2], [0, 0]])
            steps += total
        frames = max((steps - length) // step + 1, 0)
        index = (np.arange(frames) * step)[:, None] + np.arange(length)[None, :]
        windows = gather(signal, index, axis=1)  # (B, frames, length, C)
        weights = cast(squeeze(kernel, axis=1), np.result_type(signal))
        return einsum("bflc,ln->bcnf", windows, weights)

    def _arrange(self, out):
        """Keras's ``_adjust_shapes`` of ``(B, C, bins, frames)``."""
        from convnp.tensor.ops import reshape, transpose

        batch, channels, bins, frames = np.shape(out)
        if self.data_format == "channels_last":
            if self.expand_dims:
                return transpose(out, [0, 3, 2, 1])
            return transpose(reshape(out, [batch, channels * bins, frames]), [0, 2, 1])
        if self.expand_dims:
            return transpose(out, [0, 1, 3, 2])
        return reshape(out, [batch, channels * bins, frames])

    def call(self, inputs, training=None):
        return taped.run_taped(self, self._spectrogram, inputs)

    def _spectrogram(self, inputs):
        from convnp.keras import ops as keras_ops
        from convnp.keras.backend import epsilon
        from convnp.tensor.ops import concat, log, maximum, sqrt, square, transpose
        from convnp.tensor.sorting import pad

        dtype = np.result_type(inputs)
        if dtype.name not in ("float16", "float32", "float64"):
            raise TypeError(f"{type(self).__name__} '{self.name}' expects float16, float32 or "
                            f"float64 inputs, got {dtype}")
        signal = inputs if self.data_format == "channels_last" else transpose(inputs, [0, 2, 1])
        real = self._apply(signal, self.real_kernel) if self.mode != "imag" else None
        imag = self._apply(signal, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(keras_ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(concat([real, imag], axis=2))
        power = square(real) + square(imag)
        eps = np.asarray(epsilon(), dtype)
        if self.mode == "psd":
            inner = pad(power[:, :, 1:-1, :], [[0, 0], [0, 0], [1, 1], [0, 0]])
            return self._arrange(power + inner)
        magnitude = self._arrange(sqrt(maximum(power, eps)))
        if self.mode == "magnitude":
            return magnitude
        return log(maximum(magnitude, eps))

    backward = taped.taped_backward

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "mode": self.mode, "frame_length": self.frame_length,
            "frame_step": self.frame_step, "fft_length": self.fft_length,
            "window": self.window, "periodic": self.periodic, "scaling": self.scaling,
            "padding": self.padding, "data_format": self.data_format,
            "expand_dims": self.expand_dims})
        return config
