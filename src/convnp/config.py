"""How convnp runs models: the plain-path switch.

By default a model runs a *schedule* that differs from the layers as written where that
computes the same thing faster: a ReLU read only by a max pooling runs after it (on the
smaller tensor); a linear Conv2D or a BatchNormalization read only by a tiling max pooling runs
fused with it; a BatchNormalization followed by a ReLU (with a residual Add in between or not)
runs as one fused unit. The **plain path** turns every such rewrite off: a training step then
visits exactly the layers of ``model.summary()``, in order, each through its own ``call`` and
``backward`` (for reading, debugging, teaching, or checking a fused unit against the layers).

Three ways to turn it on, the first that says something wins:

- `plain_path` as a context manager: ``with convnp.config.plain_path(): model.fit(...)``;
- `set_plain_path` (``set_plain_path(True)``; ``set_plain_path(None)`` goes back to the
  environment variable);
- the environment variable ``CONVNP_PLAIN_PATH=1`` (read on each model call; ``0`` or unset:
  the fast path).

The switch is read when a model runs a forward pass, so it applies to models built before it
changed; the backward pass of a step follows the forward of that step. Both paths compute the
same values, up to float rounding.

>>> import convnp
>>> with convnp.config.plain_path():
...     convnp.config.plain_path_enabled()
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# ``tf.config`` is this module, so TensorFlow's device listing, threading options and eager
# switch live here too (one CPU, no GPU; see convnp.tensor.config)
from convnp.tensor.config import (  # noqa: F401
    LogicalDevice,
    PhysicalDevice,
    experimental,
    experimental_functions_run_eagerly,
    experimental_run_functions_eagerly,
    functions_run_eagerly,
    get_visible_devices,
    list_logical_devices,
    list_physical_devices,
    run_functions_eagerly,
    set_visible_devices,
    threading,
)

ENVIRONMENT_VARIABLE = "CONVNP_PLAIN_PATH"

_setting: bool | None = None  # None: the environment variable decides


def plain_path_enabled() -> bool:
    """Whether models run exactly the layers as written (no reordering, no fused units)."""
    if _setting is not None:
        return _setting
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def set_plain_path(enabled: bool | None) -> None:
    """Turn the plain path on (True) or off (False) for the whole process; None goes back to
    the ``CONVNP_PLAIN_PATH`` environment variable."""
    global _setting
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"set_plain_path: expected True, False or None, got {enabled!r}")
    _setting = enabled


@contextmanager
def plain_path(enabled: bool = True) -> Iterator[None]:
    """Run the ``with`` block with the plain path on (or off with ``enabled=False``), then
    put back the previous setting."""
    if not isinstance(enabled, bool):
        raise TypeError(f"plain_path: expected True or False, got {enabled!r}")
    global _setting
    previous = _setting
    _setting = enabled
    try:
        yield
    finally:
        _setting = previous
