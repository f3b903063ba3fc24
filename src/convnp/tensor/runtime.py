"""``tf.device``, ``tf.executing_eagerly``, ``tf.print`` and ``tf.get_logger``: eager,
CPU-only TensorFlow."""

from __future__ import annotations

import contextlib
import logging
import re
import sys

import numpy as np

from convnp.tensor.tape import value_of

__all__ = ["device", "executing_eagerly", "get_logger", "tf_print"]

_DEVICE = re.compile(r"^(/job:[\w-]+)?(/replica:\d+)?(/task:\d+)?"
                     r"(/?(device:)?(cpu|gpu|tpu)(:\d+)?)?$", re.IGNORECASE)


@contextlib.contextmanager
def device(device_name):
    """``with tf.device("/CPU:0"):``: checks the name and runs the block as is. A GPU or TPU
    name is accepted too and the block still runs on the CPU, as TensorFlow's soft device
    placement does when that device is missing."""
    if device_name is not None and (not isinstance(device_name, str)
                                    or not _DEVICE.match(device_name)):
        raise ValueError(f"tf.device: expected a device name such as '/CPU:0' or "
                         f"'/device:GPU:0', got {device_name!r}")
    yield


def get_logger() -> logging.Logger:
    """The ``logging.Logger`` named ``"convnp"`` (TensorFlow's is ``"tensorflow"``), for the
    usual ``tf.get_logger().setLevel("ERROR")`` and for scripts' own messages. convnp's
    warnings go through the `warnings` module; while ``keras.utils.disable_interactive_logging``
    holds, what would have been printed (progress bars, summaries) goes to its child logger
    ``"convnp.output"`` at INFO level."""
    return logging.getLogger("convnp")


def executing_eagerly() -> bool:
    """Always True: convnp runs every operation when it is called (``tf.function`` too)."""
    return True


def _format(value, summarize: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)) and not hasattr(value, "__array__"):
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {_format(v, summarize)}"
                                   for k, v in value.items()) + "}"
        inner = ", ".join(_format(v, summarize) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    array = np.asarray(value_of(value))
    if array.ndim == 0:
        return str(array.item())
    options = {"separator": " "}
    if summarize >= 0:
        options.update(threshold=2 * summarize, edgeitems=summarize)
    else:
        options.update(threshold=sys.maxsize)
    return np.array2string(array, **options)


def tf_print(*inputs, output_stream=None, summarize: int = 3, sep: str = " ",
             end: str = "\n", name=None) -> None:
    """Print tensors as TensorFlow does: values only (no ``tf.Tensor(...)``), at most
    ``summarize`` items at each end of an axis (``-1`` for all), to ``sys.stderr`` unless
    ``output_stream`` is another stream (``sys.stdout``, a file object)."""
    if isinstance(summarize, bool) or not isinstance(summarize, int):
        raise TypeError(f"tf.print: summarize must be an int, got {summarize!r}")
    stream = sys.stderr if output_stream is None else output_stream
    if not hasattr(stream, "write"):
        raise TypeError("tf.print: output_stream must be a writable stream such as "
                        f"sys.stdout, got {output_stream!r}")
    stream.write(sep.join(_format(v, summarize) for v in inputs) + end)
