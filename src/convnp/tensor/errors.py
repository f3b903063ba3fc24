"""``tf.errors``: the exception classes convnp's TensorFlow-named functions raise.

This module imports nothing, so every tensor module (the tape's ufunc protocol included) can
raise them."""

__all__ = ["InvalidArgumentError"]


class InvalidArgumentError(ValueError):
    """TensorFlow's error for a failed check on values (a `ValueError` too)."""

    def __init__(self, node_def=None, op=None, message=None, *args):
        # TensorFlow's signature is (node_def, op, message); a lone argument is the message
        text = message if message is not None else node_def
        super().__init__(text)
        self.message = text
