"""Keep freed memory for reuse instead of handing it back to the OS (Linux, glibc).

A training step allocates and frees the same few large arrays (activations, im2col blocks,
gradients; several MB each) on every batch. glibc serves blocks that large with fresh `mmap`
pages and unmaps them on free, so every step pays a page fault and the zeroing of every page:
measured here, about a third of a happyModel step. Raising glibc's mmap threshold to its
maximum (32 MiB) and the heap trim threshold to 1 GiB lets such blocks be recycled from the heap.

This is process-wide allocator tuning, so importing convnp does not do it: `ensure_tuned` applies
it once, when convnp's own work starts (``fit``/``evaluate``/``predict`` through
`convnp.ops.threads.uses_all_cores`, a `GradientTape` block, and ``python -m convnp.bench``).
It does not raise peak memory, only keeps it mapped. Set ``CONVNP_MALLOC_TUNING=0`` to leave malloc alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024


def tune_malloc() -> bool:
    """Apply the tuning; returns whether it took effect (False off glibc or when disabled)."""
    if os.environ.get("CONVNP_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


_tuned: bool | None = None  # None until ensure_tuned() first runs


def ensure_tuned() -> bool:
    """Apply `tune_malloc` once per process; later calls return the first call's result."""
    global _tuned
    if _tuned is None:
        _tuned = tune_malloc()
    return _tuned
