"""``tf.keras.backend``: `clear_session` and a few constants."""

from __future__ import annotations

from convnp.layers.base import reset_names

__all__ = ["clear_session", "epsilon", "floatx"]


def clear_session() -> None:
    """Forget automatic layer and model names, so the next ones start at ``conv2d``,
    ``dense``, ``sequential`` ... again (as after ``keras.backend.clear_session()``)."""
    reset_names()


def epsilon() -> float:
    """The fuzz factor losses use to keep logarithms finite."""
    return 1e-7


def floatx() -> str:
    return "float32"
