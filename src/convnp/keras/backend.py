"""``tf.keras.backend``: `clear_session` and a few constants."""

from __future__ import annotations

from convnp.layers.base import reset_names

__all__ = ["clear_session", "epsilon", "floatx", "random_normal", "random_uniform"]


def clear_session() -> None:
    """Forget automatic layer and model names, so the next ones start at ``conv2d``,
    ``dense``, ``sequential`` ... again (as after ``keras.backend.clear_session()``)."""
    reset_names()


def epsilon() -> float:
    """The fuzz factor losses use to keep logarithms finite."""
    return 1e-7


def floatx() -> str:
    return "float32"


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws as a tensor (``tf.keras.backend.random_normal``), from convnp's generator
    (or from ``seed`` alone). The numbers differ from TensorFlow's: its generator is another."""
    from convnp.random import normal

    return normal(shape, mean=mean, stddev=stddev, dtype=dtype or floatx(), seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform draws in [minval, maxval) as a tensor (``tf.keras.backend.random_uniform``)."""
    from convnp.random import uniform

    return uniform(shape, minval=minval, maxval=maxval, dtype=dtype or floatx(), seed=seed)
