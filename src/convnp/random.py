"""The one source of randomness in convnp.

Weight initializers, `fit`'s shuffling, `Dropout` and `Dataset.shuffle` all draw from
`generator()`. `set_seed(n)` (also `convnp.keras.utils.set_random_seed`) replaces it, which
makes a run repeat bit for bit.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Reset the global generator (and NumPy's legacy one, for user code that uses it)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    global _generator
    _generator = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator
