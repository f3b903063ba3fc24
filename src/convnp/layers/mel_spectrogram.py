"""`MelSpectrogram`: Keras 3's mel-scaled spectrogram of audio ``(batch, samples)`` (or one
``(samples,)`` signal): ``|stft| ** mag_exp`` (`convnp.keras.ops_signal.stft`, centred,
reflect-padded) times the mel filterbank, in decibels when ``power_to_db``, returned as
``(batch, num_mel_bins, frames)``.

The filterbank is Keras's (HTK's mel scale ``1127 ln(1 + f / 700)``, triangles peaking at 1,
the DC bin left out): `linear_to_mel_weight_matrix`. The decibels are Keras's too:
``10 log10(max(S, min_power)) - 10 log10(max(|ref_power|, min_power))`` floored at
``top_db`` below the maximum over the *whole batch* (not each signal), as Keras computes it.
The call is in tensor ops (a tape differentiates it); the layer has no weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import taped
from convnp.layers.base import Layer
from convnp.layers.registry import register

MEL_BREAK_FREQUENCY_HERTZ = 700.0
MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(frequencies):
    """HTK's mel scale: ``1127 * ln(1 + f / 700)`` (in the frequencies' float dtype)."""
    f = np.asarray(frequencies)
    one, brk, q = (f.dtype.type(v) for v in (1.0, MEL_BREAK_FREQUENCY_HERTZ,
                                             MEL_HIGH_FREQUENCY_Q))
    return q * np.log(one + f / brk)


def linear_to_mel_weight_matrix(num_mel_bins: int = 20, num_spectrogram_bins: int = 129,
                                sampling_rate=8000, lower_edge_hertz=125.0,
                                upper_edge_hertz=3800.0, dtype="float32") -> np.ndarray:
    """``(num_spectrogram_bins, num_mel_bins)``: the triangular filters mapping a linear
    spectrum of ``[0, sampling_rate / 2]`` to mel bands between the two edges (Keras's and
    TensorFlow's matrix: the first, DC, row is zero)."""
    dtype = np.dtype(dtype)
    nyquist = dtype.type(sampling_rate) / dtype.type(2.0)
    linear = np.linspace(dtype.type(0), nyquist, num_spectrogram_bins, dtype=dtype)[1:]
    bins_mel = hertz_to_mel(linear)[:, None]
    edges = np.linspace(hertz_to_mel(dtype.type(lower_edge_hertz)),
                        hertz_to_mel(dtype.type(upper_edge_hertz)), num_mel_bins + 2,
                        dtype=dtype)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(dtype.type(0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [[1, 0], [0, 0]]).astype(dtype)


def _number(value, name: str, who: str, positive: bool = True, integer: bool = False):
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, np.integer) if integer else (int, float, np.integer, np.floating))
    if not ok or not np.isfinite(value) or (positive and value <= 0) or value < 0:
        kind = "int" if integer else "number"
        raise ValueError(f"{who}: {name} must be a {'positive' if positive else 'non-negative'}"
                         f" {kind}, got {value!r}")
    return value


@register
class MelSpectrogram(Layer):
    """Keras 3's ``MelSpectrogram``.

    Args:
        fft_length: the FFT size (at least sequence_length).
        sequence_stride: the samples between frames.
        sequence_length: the window's length (default fft_length).
        window: ``"hann"``, ``"hamming"`` or None.
        sampling_rate: the audio's samples per second.
        num_mel_bins: the mel bands.
        min_freq, max_freq: the edges of the bands in Hz (max default: sampling_rate / 2).
        power_to_db: return decibels (see the module docstring).
        top_db, mag_exp, min_power, ref_power: Keras's decibel floor, exponent of the
            magnitude, power floor and reference power.

    Shape: ``(batch, samples)`` -> ``(batch, num_mel_bins, frames)``, ``frames = 1 + samples
    // sequence_stride``; ``(samples,)`` -> ``(num_mel_bins, frames)``.
    """

    _autodiff = True  # tensor ops

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512,
                 sequence_length=None, window="hann", sampling_rate: int = 16000,
                 num_mel_bins: int = 128, min_freq: float = 20.0, max_freq=None,
                 power_to_db: bool = True, top_db: float = 80.0, mag_exp: float = 2.0,
                 min_power: float = 1e-10, ref_power: float = 1.0, **kwargs):
        cls = type(self).__name__
        fft_length = _number(fft_length, "fft_length", cls, integer=True)
        sequence_stride = _number(sequence_stride, "sequence_stride", cls, integer=True)
        sequence_length = fft_length if sequence_length is None else _number(
            sequence_length, "sequence_length", cls, integer=True)
        if fft_length < sequence_length:
            raise ValueError(f"{cls}: fft_length must be at least sequence_length, got "
                             f"sequence_length={sequence_length}, fft_length={fft_length}")
        if window not in (None, "hann", "hamming"):
            raise ValueError(f"{cls}: window must be 'hann', 'hamming' or None, got "
                             f"{window!r}")
        _number(sampling_rate, "sampling_rate", cls)
        num_mel_bins = _number(num_mel_bins, "num_mel_bins", cls, integer=True)
        _number(min_freq, "min_freq", cls, positive=False)
        max_freq = max_freq or int(sampling_rate / 2)
        _number(max_freq, "max_freq", cls)
        if not min_freq < max_freq:
            raise ValueError(f"{cls}: min_freq must be below max_freq, got {min_freq} and "
                             f"{max_freq}")
        _number(top_db, "top_db", cls, positive=False)
        _number(mag_exp, "mag_exp", cls)
        _number(min_power, "min_power", cls)
        _number(ref_power, "ref_power", cls, positive=False)
        super().__init__(**kwargs)
        self.fft_length = int(fft_length)
        self.sequence_stride = int(sequence_stride)
        self.sequence_length = int(sequence_length)
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = int(num_mel_bins)
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.power_to_db = bool(power_to_db)
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def build(self, input_shape) -> None:
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        return None  # one signal or a batch, of any length

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) not in (1, 2):
            raise ValueError(f"{type(self).__name__} '{self.name}' takes (batch, samples) or "
                             f"(samples,), got shape {shape}")
        steps = shape[-1]
        frames = None if steps is None else \
            (steps + self.sequence_stride + 1) // self.sequence_stride
        return (self.num_mel_bins, frames) if len(shape) == 1 else \
            (shape[0], self.num_mel_bins, frames)

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129,
                                    sampling_rate=8000, lower_edge_hertz=125.0,
                                    upper_edge_hertz=3800.0, dtype="float32"):
        """Keras's method name for the filterbank (`linear_to_mel_weight_matrix`)."""
        return linear_to_mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate,
                                           lower_edge_hertz, upper_edge_hertz, dtype)

    def call(self, inputs, training=None):
        return taped.run_taped(self, self._spectrogram, inputs)

    def _spectrogram(self, inputs):
        from convnp.keras.ops_signal import stft
        from convnp.tensor.ops import (
            cast,
            log,
            matmul,
            maximum,
            pow,
            reduce_max,
            sqrt,
            square,
            transpose,
        )

        shape = np.shape(inputs)
        if len(shape) not in (1, 2):
            raise ValueError(f"{type(self).__name__} '{self.name}' takes (batch, samples) or "
                             f"(samples,), got shape {tuple(shape)}")
        dtype = np.float64 if np.result_type(inputs) == np.float64 else np.float32
        signal = cast(inputs, dtype)
        real, imag = stft(signal, self.sequence_length, self.sequence_stride,
                          self.fft_length, window=self.window, center=True)
        spec = pow(sqrt(square(real) + square(imag)), np.asarray(self.mag_exp, dtype))
        matrix = self.linear_to_mel_weight_matrix(
            self.num_mel_bins, np.shape(spec)[-1], self.sampling_rate, self.min_freq,
            self.max_freq, dtype)
        out = matmul(spec, matrix)  # (..., frames, mel)
        if self.power_to_db:
            ten = np.asarray(10.0 / np.log(10.0), dtype)  # 10 log10(v) = ten * ln(v)
            floor = np.asarray(self.min_power, dtype)
            out = ten * log(maximum(out, floor))
            ref = max(abs(float(self.ref_power)), float(self.min_power))
            out = out - np.asarray(10.0 * np.log10(np.asarray(ref, dtype)), dtype)
            top = reduce_max(out) - np.asarray(self.top_db, dtype)
            out = maximum(out, top)
        rank = len(shape)
        out = transpose(out, [1, 0] if rank == 1 else [0, 2, 1])
        return cast(out, self.dtype)

    backward = taped.taped_backward

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length, "window": self.window,
            "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq, "max_freq": self.max_freq,
            "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
            "min_power": self.min_power, "ref_power": self.ref_power})
        return config
