"""``tf.keras.backend``: `clear_session`, the (fixed) float type and image layout, random
draws."""

from __future__ import annotations

from convnp.layers.base import reset_names

__all__ = ["clear_session", "epsilon", "floatx", "get_value", "image_data_format",
           "random_normal", "random_uniform", "set_floatx", "set_image_data_format", "set_value"]


def clear_session() -> None:
    """Forget automatic layer and model names, so the next ones start at ``conv2d``,
    ``dense``, ``sequential`` ... again (as after ``keras.backend.clear_session()``)."""
    reset_names()


def epsilon() -> float:
    """The fuzz factor losses use to keep logarithms finite."""
    return 1e-7


def floatx() -> str:
    return "float32"


def set_floatx(value) -> None:
    """Keras' default float type. convnp layers compute in float32 unless a layer is given
    ``dtype="float64"`` itself, so only ``"float32"`` is accepted here (a process-wide switch
    would be hidden global state); anything else raises `ValueError` saying so."""
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"set_floatx: unknown float type {value!r}; Keras accepts 'float16', "
                         "'bfloat16', 'float32' or 'float64'")
    if value != "float32":
        raise ValueError(f"set_floatx({value!r}) is not supported: convnp computes in float32 "
                         "by default; for float64 pass dtype='float64' to each layer")


def image_data_format() -> str:
    """Always ``"channels_last"``: convnp's images are NHWC."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Only ``"channels_last"`` (convnp's NHWC layout) is accepted."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("set_image_data_format: expected 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    if data_format != "channels_last":
        raise ValueError("set_image_data_format('channels_first') is not supported: convnp "
                         "works on NHWC (channels_last) images only; transpose NCHW data with "
                         "np.transpose(x, (0, 2, 3, 1))")


def get_value(x):
    """The value of a variable, tensor, learning rate or number as NumPy (Keras 2's
    ``K.get_value(model.optimizer.lr)``)."""
    import numpy as np

    numpy = getattr(x, "numpy", None)
    return numpy() if callable(numpy) else np.asarray(x)


def set_value(x, value) -> None:
    """Assign ``value`` to a variable or an optimizer's learning rate (Keras 2's
    ``K.set_value(model.optimizer.lr, 1e-4)``); anything without ``.assign`` is refused."""
    assign = getattr(x, "assign", None)
    if not callable(assign):
        raise TypeError(f"set_value needs a variable or an optimizer's learning_rate (something "
                        f"with .assign), got {type(x).__name__}")
    assign(value)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws as a tensor (``tf.keras.backend.random_normal``), from convnp's generator
    (or from ``seed`` alone). The numbers differ from TensorFlow's: its generator is another."""
    from convnp.random import normal

    return normal(shape, mean=mean, stddev=stddev, dtype=dtype or floatx(), seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform draws in [minval, maxval) as a tensor (``tf.keras.backend.random_uniform``)."""
    from convnp.random import uniform

    return uniform(shape, minval=minval, maxval=maxval, dtype=dtype or floatx(), seed=seed)
