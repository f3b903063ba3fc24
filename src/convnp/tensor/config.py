"""``tf.config``: the devices convnp runs on (one CPU), threads, and the eager switch.

``tf.config.list_physical_devices("GPU")`` is ``[]`` (convnp computes with NumPy on the CPU),
``list_physical_devices("CPU")`` one `PhysicalDevice`; ``experimental.set_memory_growth``
checks its arguments and changes nothing (there is no GPU, and CPU memory is not reserved
ahead). ``threading.set_intra_op_parallelism_threads(n)`` caps the threads of every op (BLAS
and convnp's kernels, `convnp.ops.threads.set_thread_limit`);
``run_functions_eagerly`` records a flag that ``functions_run_eagerly`` reads back (convnp's
``tf.function`` always runs eagerly).
"""

from __future__ import annotations

from collections import namedtuple

from convnp.ops import threads as _threads

__all__ = ["LogicalDevice", "PhysicalDevice", "experimental",
           "experimental_functions_run_eagerly", "experimental_run_functions_eagerly",
           "functions_run_eagerly",
           "get_visible_devices", "list_logical_devices", "list_physical_devices",
           "run_functions_eagerly", "set_visible_devices", "threading"]

PhysicalDevice = namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = namedtuple("LogicalDevice", ["name", "device_type"])

_CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")
_KNOWN_TYPES = ("CPU", "GPU", "TPU", "XLA_CPU", "XLA_GPU")


def _device_type(device_type) -> str | None:
    if device_type is None:
        return None
    if not isinstance(device_type, str):
        raise TypeError(f"device_type must be a str such as 'GPU' or 'CPU', got "
                        f"{type(device_type).__name__}")
    return device_type.upper()


def list_physical_devices(device_type=None) -> list[PhysicalDevice]:
    """``[PhysicalDevice('/physical_device:CPU:0', 'CPU')]`` for ``None``/``"CPU"``, else
    ``[]`` (no GPU or TPU is ever used)."""
    kind = _device_type(device_type)
    return [_CPU] if kind in (None, "CPU") else []


def list_logical_devices(device_type=None) -> list[LogicalDevice]:
    kind = _device_type(device_type)
    return [LogicalDevice("/device:CPU:0", "CPU")] if kind in (None, "CPU") else []


def get_visible_devices(device_type=None) -> list[PhysicalDevice]:
    return list_physical_devices(device_type)


def _check_device(device, who: str) -> PhysicalDevice:
    if not isinstance(device, PhysicalDevice):
        raise TypeError(f"{who}: expected a PhysicalDevice from "
                        f"tf.config.list_physical_devices(), got {type(device).__name__}")
    if device != _CPU:
        raise ValueError(f"{who}: unknown device {device!r}; this machine has "
                         f"{list_physical_devices()}")
    return device


def set_visible_devices(devices, device_type=None) -> None:
    """Accepts the CPU (or a list holding it): convnp always runs there."""
    items = devices if isinstance(devices, (list, tuple)) else [devices]
    for device in items:
        _check_device(device, "set_visible_devices")


class experimental:
    """``tf.config.experimental``."""

    list_physical_devices = staticmethod(list_physical_devices)
    list_logical_devices = staticmethod(list_logical_devices)
    get_visible_devices = staticmethod(get_visible_devices)
    set_visible_devices = staticmethod(set_visible_devices)

    @staticmethod
    def set_memory_growth(device, enable) -> None:
        """Checks ``device`` (a PhysicalDevice) and ``enable`` (a bool); a no-op on the CPU."""
        _check_device(device, "set_memory_growth")
        if not isinstance(enable, bool):
            raise TypeError(f"set_memory_growth: enable must be a bool, got {enable!r}")

    @staticmethod
    def get_memory_growth(device) -> bool:
        _check_device(device, "get_memory_growth")
        return False


_functions_run_eagerly = False


def run_functions_eagerly(run_eagerly) -> None:
    """TensorFlow's switch to run ``tf.function`` bodies as plain Python (for debugging).
    convnp's ``tf.function`` never builds a graph, so its functions run eagerly either way;
    the flag is kept for `functions_run_eagerly` (scripts that set it and read it back)."""
    global _functions_run_eagerly
    _functions_run_eagerly = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """The flag `run_functions_eagerly` last set (False at start, as in TensorFlow)."""
    return _functions_run_eagerly


# TensorFlow 2.0-2.2's names of the two, still there in TensorFlow 2.21
experimental_run_functions_eagerly = run_functions_eagerly
experimental_functions_run_eagerly = functions_run_eagerly


def _thread_count(value, who: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{who}: expected an int number of threads, got "
                        f"{type(value).__name__}")
    count = value.__index__()
    if count < 0:
        raise ValueError(f"{who}: expected 0 (the system decides) or a positive number of "
                         f"threads, got {count}")
    return count


class threading:
    """``tf.config.threading``: how many threads an op (intra-op) and independent ops
    (inter-op) may use; 0 means the system decides."""

    _inter_op = 0

    @staticmethod
    def set_intra_op_parallelism_threads(num_threads) -> None:
        """At most ``num_threads`` threads inside one op: BLAS and convnp's kernels (see
        `convnp.ops.threads.set_thread_limit`); 0 gives BLAS back its own count. Refused with
        ``RuntimeError`` while fit/evaluate/predict runs."""
        count = _thread_count(num_threads, "set_intra_op_parallelism_threads")
        _threads.set_thread_limit(count)

    @staticmethod
    def get_intra_op_parallelism_threads() -> int:
        return _threads.thread_limit()

    @staticmethod
    def set_inter_op_parallelism_threads(num_threads) -> None:
        """Kept and read back by the getter; convnp runs one op after another (never two
        independent ops at once), so there is no inter-op pool for it to size."""
        threading._inter_op = _thread_count(num_threads, "set_inter_op_parallelism_threads")

    @staticmethod
    def get_inter_op_parallelism_threads() -> int:
        return threading._inter_op
