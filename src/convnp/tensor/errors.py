"""``tf.errors``: the exception classes convnp's TensorFlow-named functions raise.

This module imports nothing, so every tensor module (the tape's ufunc protocol included) can
raise them."""

__all__ = ["AlreadyExistsError", "DataLossError", "FailedPreconditionError", "InvalidArgumentError", "NotFoundError",
           "OpError", "OutOfRangeError"]


class _TensorFlowError:
    """TensorFlow's constructor, ``(node_def, op, message)``, and its ``message``."""

    def __init__(self, node_def=None, op=None, message=None, *args):
        # a lone argument is the message
        text = message if message is not None else node_def
        super().__init__(text)
        self.message = text


class OpError(_TensorFlowError, Exception):
    """TensorFlow's base class of these errors (``except tf.errors.OpError`` catches each)."""


class InvalidArgumentError(OpError, ValueError):
    """TensorFlow's error for a failed check on values (a `ValueError` too)."""


class NotFoundError(OpError):
    """TensorFlow's error for something missing: `tf.train.Checkpoint.restore` of a path
    with no checkpoint (convnp's is a `FileNotFoundError` too, see `convnp.io.checkpoint`)."""


class DataLossError(OpError):
    """TensorFlow's error for a file that cannot be read as what it should be: a checkpoint
    that is damaged, or not one (convnp's is a `ValueError` too)."""


class OutOfRangeError(OpError):
    """TensorFlow's error for reading past the end: a dataset iterator's ``get_next()`` after
    the last element (``next(iterator)`` raises `StopIteration` instead, as in TensorFlow)."""


class FailedPreconditionError(OpError):
    """TensorFlow's error for a state that does not allow the operation: a dataset under
    ``tf.data.experimental.assert_cardinality(n)`` that turns out to have another length."""


class AlreadyExistsError(OpError):
    """TensorFlow's error for a target that exists already: ``tf.io.gfile.copy`` or ``rename``
    onto an existing file without ``overwrite=True`` (convnp's is a `FileExistsError` too)."""
