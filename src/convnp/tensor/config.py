"""``tf.config``: the devices convnp runs on (one CPU), for notebooks that ask.

``tf.config.list_physical_devices("GPU")`` is ``[]`` (convnp computes with NumPy on the CPU),
``list_physical_devices("CPU")`` one `PhysicalDevice`; ``experimental.set_memory_growth``
checks its arguments and changes nothing (CPU memory is not reserved ahead). Nothing here
changes a process-wide setting.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["LogicalDevice", "PhysicalDevice", "experimental", "get_visible_devices",
           "list_logical_devices", "list_physical_devices", "set_visible_devices"]

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
