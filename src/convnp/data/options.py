"""``tf.data.Options`` and ``tf.data.experimental.AutoShardPolicy``: accepted and kept for
pipelines written for TensorFlow; they change nothing here."""

from __future__ import annotations

from typing import Any


class _OptionGroup:
    """A group of `Options` (``options.experimental_distribute``, ``options.threading``):
    any attribute can be set and read back."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        # unset, as TensorFlow's defaults read

    def __repr__(self) -> str:
        return f"<Options.{self._name} {vars(self)}>"


class Options:
    """``tf.data.Options``: accepted and kept, with no effect (convnp's pipelines run in the
    calling thread, in order). Unknown top-level names raise, as in TensorFlow."""

    _GROUPS = ("autotune", "experimental_distribute", "experimental_optimization", "threading")
    _FLAGS = ("deterministic", "experimental_deterministic", "experimental_external_state_policy",
              "experimental_slack", "experimental_symbolic_checkpoint", "experimental_warm_start")

    def __init__(self):
        for group in self._GROUPS:
            object.__setattr__(self, group, _OptionGroup(group))
        for flag in self._FLAGS:
            object.__setattr__(self, flag, None)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._FLAGS:
            raise AttributeError(f"tf.data.Options has no option {name!r}; it has "
                                 f"{sorted(self._FLAGS + self._GROUPS)}")
        object.__setattr__(self, name, value)


class AutoShardPolicy:
    """``tf.data.experimental.AutoShardPolicy`` (for `Options`; no effect here)."""

    AUTO, FILE, DATA, OFF, HINT = 0, 1, 2, -1, 3
