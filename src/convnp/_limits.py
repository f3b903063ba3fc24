"""The size limits convnp's file readers apply before they allocate anything.

A small crafted file can declare enormous contents: a zip member or an HDF5 dataset that
"expands" to gigabytes, an ``.npy`` header claiming 2^34 floats, a model config with
``Dense(units=10**9)``. Every reader compares what a file *declares* with what it *stores*
before allocating: declared bytes may exceed stored bytes at most `MAX_EXPANSION` times (or
`MIN_LIMIT_BYTES`, whichever is larger), so a file of a few megabytes can never make convnp
allocate more than about a hundred. Legitimate files are far below these bounds (float weights
and images compress by less than 2x). See docs/limits.md.
"""

from __future__ import annotations

__all__ = ["MAX_EXPANSION", "MIN_LIMIT_BYTES", "expansion_limit"]

#: What a file declares may be at most this many times the bytes it stores ...
MAX_EXPANSION = 32
#: ... or this many bytes, whichever is larger (small files are never refused for size).
MIN_LIMIT_BYTES = 16 * 2**20


def expansion_limit(stored: int) -> int:
    """The most bytes ``stored`` bytes of a file may declare (expand to)."""
    return max(MIN_LIMIT_BYTES, MAX_EXPANSION * max(0, int(stored)))
