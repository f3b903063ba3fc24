"""``tf.errors``: the exception classes convnp's TensorFlow-named functions raise."""

from convnp.tensor.debugging import InvalidArgumentError

__all__ = ["InvalidArgumentError"]
