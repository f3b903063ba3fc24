"""``tf.keras.config``: Keras 3's global settings, as far as they mean something in convnp.

- ``epsilon`` / ``set_epsilon``: the fuzz factor of the losses, metrics and normalizations
  (`convnp._settings`); ``set_epsilon(1e-5)`` changes the losses computed afterwards.
- ``max_epochs`` / ``set_max_epochs``, ``max_steps_per_epoch`` / ``set_max_steps_per_epoch``:
  caps on every ``fit`` (epochs) and on the batches of each epoch of ``fit``, ``evaluate`` and
  ``predict``, for quick trial runs; also read from ``KERAS_MAX_EPOCHS`` and
  ``KERAS_MAX_STEPS_PER_EPOCH``. A cut warns, as Keras does.
- ``floatx``, ``image_data_format``, ``backend``, ``dtype_policy`` and their setters: convnp's
  fixed answers (float32, channels_last, the "tensorflow" it stands in for); a setter accepts
  the value in force and refuses any other with a `ValueError` saying why.
- ``enable/disable_interactive_logging``: the progress bars' switch (`convnp.progbar`).
- ``enable_unsafe_deserialization``: accepted; convnp's model files never hold code (a
  `Lambda` is saved by its registered name), so there is nothing to unlock.
- Traceback filtering, flash attention and NNX are switches of other backends' machinery:
  convnp never filters tracebacks (``is_traceback_filtering_enabled()`` is False), computes
  attention one way on the CPU (the flash switch is kept and reported, it changes no number)
  and has no JAX (``is_nnx_enabled()`` is False).
"""

from __future__ import annotations

from convnp import _settings
from convnp.keras import backend as _backend
from convnp.keras import mixed_precision as _mixed_precision
from convnp.progbar import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)

__all__ = ["backend", "disable_flash_attention", "disable_interactive_logging",
           "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
           "enable_interactive_logging", "enable_traceback_filtering",
           "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
           "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
           "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch", "set_backend",
           "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format",
           "set_max_epochs", "set_max_steps_per_epoch"]

epsilon = _settings.epsilon
set_epsilon = _settings.set_epsilon
floatx = _backend.floatx
set_floatx = _backend.set_floatx
image_data_format = _backend.image_data_format
set_image_data_format = _backend.set_image_data_format
backend = _backend.backend
dtype_policy = _mixed_precision.global_policy
set_dtype_policy = _mixed_precision.set_global_policy


def set_backend(backend) -> None:
    """Keras 3 reloads itself on another backend here; convnp is its own, so only the name it
    answers to (``"tensorflow"``) is accepted."""
    if backend != _backend.backend():
        raise ValueError(f"set_backend({backend!r}) is not supported: convnp computes in NumPy "
                         f"and answers to backend() == {_backend.backend()!r}; import the "
                         "other framework itself to use it")


def max_epochs() -> int | None:
    """The cap on the epochs of every ``fit`` (None: no cap)."""
    return _settings.cap("max_epochs")


def set_max_epochs(max_epochs) -> None:
    """Cap the epochs of every later ``fit`` at ``max_epochs`` (a positive int; None lifts
    the cap)."""
    _settings.set_cap("max_epochs", max_epochs)


def max_steps_per_epoch() -> int | None:
    """The cap on the batches of an epoch of ``fit``, ``evaluate`` and ``predict``."""
    return _settings.cap("max_steps_per_epoch")


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Cap the batches of every later epoch of ``fit``, ``evaluate`` and ``predict`` (a
    positive int; None lifts the cap)."""
    _settings.set_cap("max_steps_per_epoch", max_steps_per_epoch)


def enable_unsafe_deserialization() -> None:
    """Nothing to enable: convnp's files never hold code to run (see the module notes)."""


def enable_traceback_filtering() -> None:
    """Accepted; convnp's tracebacks are never filtered (see the module notes)."""


def disable_traceback_filtering() -> None:
    """Accepted; convnp's tracebacks are never filtered."""


def is_traceback_filtering_enabled() -> bool:
    return False


_flash_attention: list = [None]  # Keras's default: None, decided per call


def enable_flash_attention() -> None:
    _flash_attention[0] = True


def disable_flash_attention() -> None:
    _flash_attention[0] = False


def is_flash_attention_enabled():
    """What `enable_flash_attention`/`disable_flash_attention` last said (None before either:
    Keras's "decide per call"). Attention computes the same numbers either way here."""
    return _flash_attention[0]


def is_nnx_enabled() -> bool:
    return False
