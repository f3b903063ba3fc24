"""A Keras-style text progress bar.

    12/38 ━━━━━━╺━━━━━━━━━━━━━ 1s 30ms/step - accuracy: 0.8125 - loss: 0.4235

verbose=1 on a terminal redraws one line with '\\r' (the time field is the ETA while running and
the elapsed time on the final line). When stdout is not a terminal (CI logs, files, pipes),
only the final line of each bar is printed, so logs stay readable. verbose=2 prints one line
per bar when it finishes: `38/38 - 1s - 30ms/step - accuracy: ... - loss: ...`. verbose=0
prints nothing.

Colors (green done part, dim rest) are used only on a terminal and when `NO_COLOR` is unset.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["Progbar", "disable_interactive_logging", "enable_interactive_logging",
           "format_duration", "format_value", "is_interactive_logging_enabled", "print_msg"]

#: where messages go while interactive logging is off (a child of ``tf.get_logger()``'s)
LOGGER = logging.getLogger("convnp.output")
_interactive = [True]


def enable_interactive_logging() -> None:
    """Progress bars, ``Epoch i/N`` lines, callbacks' messages and ``model.summary()`` print
    to standard output again (the default)."""
    _interactive[0] = True


def disable_interactive_logging() -> None:
    """Send what `fit`, `evaluate`, `predict`, the callbacks and ``model.summary()`` print
    to the ``"convnp.output"`` logger (level INFO) instead of standard output, as Keras sends
    it to absl's log: nothing reaches the terminal unless logging is set up to show it. A
    progress bar then logs its final line only."""
    _interactive[0] = False


def is_interactive_logging_enabled() -> bool:
    return _interactive[0]


def print_msg(message: str, line_break: bool = True, stream: TextIO | None = None) -> None:
    """Print ``message`` (to ``stream``, default standard output), or log it while
    interactive logging is disabled (without its line break and carriage returns)."""
    if not _interactive[0]:
        LOGGER.info(message.replace("\r", "").strip("\n"))
        return
    out = stream if stream is not None else sys.stdout
    out.write(message + ("\n" if line_break else ""))
    flush = getattr(out, "flush", None)
    if flush is not None:
        flush()

_FILL = "━"
_TIP = "╺"


def format_value(value: Any) -> str:
    """A metric value as Keras prints it: 4 decimals, or scientific below 1e-3."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v) or math.isinf(v) or abs(v) > 1e-3:
        return f"{v:.4f}"
    return f"{v:.4e}"


def format_duration(per_unit: float, unit: str = "step") -> str:
    """`30ms/step`, `2s/step` or `150us/step`."""
    if per_unit >= 1 or per_unit == 0:
        return f"{per_unit:.0f}s/{unit}"
    if per_unit >= 1e-3:
        return f"{per_unit * 1e3:.0f}ms/{unit}"
    return f"{per_unit * 1e6:.0f}us/{unit}"


def _format_eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class Progbar:
    """One progress bar over `target` steps.

    Args:
        target: number of steps, or None when unknown.
        verbose: 0 silent, 1 live bar, 2 one line at the end.
        width: bar width in characters.
        interval: minimum seconds between redraws of the live bar.
        stream: where to write (default: `sys.stdout` at the time of each write).
        dynamic: force (True) or forbid (False) the live '\\r' display; default: stream is a TTY.
        unit_name: the step unit shown in the per-step time.
    """

    def __init__(self, target: int | None, verbose: int = 1, width: int = 20,
                 interval: float = 0.05, stream: TextIO | None = None,
                 dynamic: bool | None = None, unit_name: str = "step"):
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self.target = target
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self.unit_name = unit_name
        self._stream = stream
        self._dynamic = dynamic
        self._start = time.time()
        self._after_first: float | None = None
        self._last_draw = 0.0
        self._prev_len = 0
        self._values: dict[str, Any] = {}
        self.finalized = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _is_dynamic(self) -> bool:
        if not _interactive[0]:  # logged: one line per bar
            return False
        if self._dynamic is not None:
            return self._dynamic
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def _per_step(self, current: int, now: float) -> float:
        # The first step often includes one-off work; leave it out once there are more.
        if current <= 0:
            return 0.0
        if current > 1 and self._after_first is not None:
            return (now - self._after_first) / (current - 1)
        return (now - self._start) / current

    def line(self, current: int, values: Mapping[str, Any] | None = None,
             finalize: bool = False, color: bool = False) -> str:
        """The text of the bar at step `current` (no newline, no '\\r')."""
        now = time.time()
        per_step = self._per_step(current, now)
        vals = dict(self._values if values is None else values)
        metrics = "".join(f" - {k}: {format_value(v)}" for k, v in vals.items())
        if self.verbose == 2:
            count = self._count(current)
            return (f"{count} - {now - self._start:.0f}s - "
                    f"{format_duration(per_step, self.unit_name)}{metrics}")
        if self.target:
            count = self._count(current)
            done = min(self.width, int(self.width * current / self.target))
            rest = self.width - done
            if color:
                bar = (f"\x1b[32m{_FILL * done}\x1b[0m" if done else "") + (
                    f"\x1b[2m{_FILL * rest}\x1b[0m" if rest else "")
            else:
                # Without color the unfinished part must still look different.
                bar = _FILL * done + ((_TIP + " " * (rest - 1)) if rest else "")
            head = f"{count} {bar}"
        else:
            head = f"{current:7d}/Unknown"
        if self.target and not finalize:
            when = _format_eta(per_step * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        return f"{head} {when} {format_duration(per_step, self.unit_name)}{metrics}"

    def _count(self, current: int) -> str:
        if not self.target:
            return f"{current}"
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def update(self, current: int, values: Mapping[str, Any] | None = None,
               finalize: bool | None = None) -> None:
        """Record step `current` (1-based count of finished steps) and its metric values."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values is not None:
            self._values = dict(values)
        now = time.time()
        if current == 1 and self._after_first is None:
            self._after_first = now
        if self.verbose == 0 or self.finalized:
            return
        if self.verbose == 2:
            if finalize:
                self._write(self.line(current, finalize=True) + "\n")
                self.finalized = True
            return
        dynamic = self._is_dynamic()
        if not dynamic:
            if finalize:
                self._write(self.line(current, finalize=True) + "\n")
                self.finalized = True
            return
        if not finalize and now - self._last_draw < self.interval:
            return
        color = "NO_COLOR" not in os.environ
        text = self.line(current, finalize=finalize, color=color)
        visible = len(self.line(current, finalize=finalize, color=False))
        pad = " " * max(0, self._prev_len - visible)
        self._write("\r" + text + pad + ("\n" if finalize else ""))
        self._prev_len = visible
        self._last_draw = now
        if finalize:
            self.finalized = True

    def _write(self, text: str) -> None:
        print_msg(text, line_break=False, stream=self.stream)
