"""``tf.test``: the device questions scripts ask before training.

convnp computes with NumPy on the CPU: no GPU is ever used, and convnp is built with no CUDA,
ROCm or XLA, so these answers are fixed (they are what TensorFlow answers on a machine without
a GPU).

>>> import convnp as tf
>>> tf.test.is_gpu_available(), tf.test.gpu_device_name()
(False, '')
"""

from __future__ import annotations

__all__ = ["gpu_device_name", "is_built_with_cuda", "is_built_with_gpu_support",
           "is_built_with_rocm", "is_built_with_xla", "is_gpu_available"]


def is_gpu_available(cuda_only: bool = False, min_cuda_compute_capability=None) -> bool:
    """False: convnp never runs on a GPU (``tf.config.list_physical_devices("GPU")`` is
    ``[]``)."""
    if min_cuda_compute_capability is not None and (
            not isinstance(min_cuda_compute_capability, tuple)
            or len(min_cuda_compute_capability) != 2):
        raise TypeError("is_gpu_available: min_cuda_compute_capability must be a (major, "
                        f"minor) tuple or None, got {min_cuda_compute_capability!r}")
    return False


def gpu_device_name() -> str:
    """``""``: there is no GPU device to name."""
    return ""


def is_built_with_cuda() -> bool:
    return False


def is_built_with_rocm() -> bool:
    return False


def is_built_with_gpu_support() -> bool:
    return False


def is_built_with_xla() -> bool:
    return False
