"""`Lambda`: a Python function of tensors used as a layer, differentiated by the tape.

The function is written in TensorFlow's ops (``tf.nn.relu``, ``tf.reduce_mean``, ``x * 2``,
NumPy ufuncs on tensors, ...); nobody writes its backward. Each call runs the function under a
private `GradientTape` (`convnp.layers.taped.run_taped`), and the layer's ``backward`` (what
``fit``'s graph calls) asks that tape for the input gradient.

convnp never pickles or evaluates code, so a Lambda is written to a model file (``.convnp``,
``.keras``, ``to_json``) only when its function is registered with
``tf.keras.saving.register_keras_serializable``: then by its registered name, as Keras writes
it (``{"module": "builtins", "class_name": "function", "config": "package>name"}``), and a
loader finds it again among the registered functions or ``custom_objects``. Any other function
makes saving fail with an error that names the layer and says what works instead (Keras 3
also refuses to load a lambda's code unless ``safe_mode=False``). In memory the config keeps
the function, so ``from_config(layer.get_config())`` (and `clone_model`) works.
"""

from __future__ import annotations

import inspect
from typing import Any

from convnp import serialization
from convnp.layers import taped
from convnp.layers.base import Layer
from convnp.layers.registry import register


class PythonFunction(serialization.FunctionInConfig):
    """The function of a `Lambda` as it sits in the layer's config: callable as the function
    itself, and explaining, when a model writer meets it, why it cannot be saved."""

    def __init__(self, function, layer_name: str):
        super().__init__(function)
        self.layer_name = layer_name

    def __repr__(self) -> str:
        return (f"Lambda layer '{self.layer_name}' wraps the Python function "
                f"{self.function_name!r}, which cannot be saved: convnp never pickles or "
                "writes Python code to a file. Register the function with "
                "tf.keras.saving.register_keras_serializable() (it is then saved by name), "
                "write a custom tf.keras.layers.Layer subclass with a call() and get_config() "
                "instead of the Lambda, or save only the weights (model.save_weights)")

    def json_config(self) -> dict:
        """The function as Keras writes a registered one (by its ``"package>name"``).

        Raises:
            ValueError: the function is not registered (the message says what works).
        """
        name = self.registered_name()
        if name is None:
            raise ValueError(repr(self))
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}


def _function_arg(value, what: str):
    """A callable, or a registered function named as Keras writes it in a config."""
    if isinstance(value, PythonFunction):
        return value.function
    if isinstance(value, dict) and value.get("class_name") == "function" \
            and isinstance(value.get("config"), str):
        found = serialization.get_registered_object(value["config"])
        if not callable(found):
            raise ValueError(f"Lambda: {what} {value['config']!r} is not a registered function; "
                             "register it with tf.keras.saving.register_keras_serializable() "
                             "or pass it in custom_objects")
        return found
    return value


def _output_shape_arg(output_shape):
    """``None``, a callable ``input_shape -> output_shape``, or a shape without the batch
    axis (a tuple of ints/None, or a list of such for several outputs)."""
    if output_shape is None or callable(output_shape):
        return output_shape

    def is_dim(d):
        return d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)

    if isinstance(output_shape, (tuple, list)):
        if all(is_dim(d) for d in output_shape):
            return tuple(output_shape)
        if output_shape and all(isinstance(s, (tuple, list)) and all(is_dim(d) for d in s)
                                for s in output_shape):
            return [tuple(s) for s in output_shape]
    raise TypeError(f"Lambda: output_shape must be None, a callable or a shape without the "
                    f"batch axis (a tuple of ints), got {output_shape!r}")


@register
class Lambda(Layer):
    """``outputs = function(inputs, **arguments)``.

    Args:
        function: a callable of one tensor (or of a list of tensors, when the layer is called
            on a list) written in tensor ops. It may take ``training`` as a keyword argument.
        output_shape: the output shape without the batch axis, or a callable
            ``input_shape -> output_shape``; by default found by calling the function on zeros.
        mask: None (the output carries no mask), or a callable ``mask(inputs, input_mask)``
            giving the output's mask, as Keras's (the layer then supports masking). A
            ``function`` with a ``mask`` argument gets the mask of its input.
        arguments: a dict of keyword arguments passed to ``function`` on every call.

    Holds no weights. Caches the private tape of the last call.

    >>> import numpy as np
    >>> layer = Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    >>> layer(np.ones((1, 2), dtype="float32")).numpy().tolist()
    [[3.0, 3.0]]
    """

    #: the function's own tensor ops are recorded on a caller's tape
    _autodiff = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        function = _function_arg(function, "function")
        output_shape = _function_arg(output_shape, "output_shape")
        if not callable(function):
            raise TypeError(f"Lambda: function must be a callable, got {function!r} (convnp "
                            "does not load Python code from a config or a file)")
        super().__init__(**kwargs)
        mask = _function_arg(mask, "mask")
        if mask is not None and not callable(mask):
            raise TypeError(f"Lambda: mask must be None or a callable mask(inputs, mask), got "
                            f"{mask!r}")
        self.mask = mask
        self.supports_masking = self._makes_masks = mask is not None  # as Keras's
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
            raise TypeError(f"Lambda: arguments must be a dict of keyword arguments, "
                            f"got {arguments!r}")
        self.function = function
        self.output_shape_arg = _output_shape_arg(output_shape)
        self.arguments = dict(arguments)
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):  # some builtins have no signature
            parameters = {}
        self._takes_training = "training" in parameters or any(
            p.kind is p.VAR_KEYWORD for p in parameters.values())
        self._takes_mask = "mask" in parameters

    def compute_mask(self, inputs, mask=None):
        """``mask(inputs, mask)`` of the constructor's ``mask``."""
        return self.mask(inputs, mask) if callable(self.mask) else None

    def call(self, inputs, training: bool = False, mask=None):
        kwargs = dict(self.arguments)
        if self._takes_training:
            kwargs.setdefault("training", training)
        if self._takes_mask:
            kwargs["mask"] = mask
        return taped.run_taped(self, lambda x: self.function(x, **kwargs), inputs)

    def backward(self, dy):
        return taped.taped_backward(self, dy)

    def compute_output_shape(self, input_shape):
        given = self.output_shape_arg
        if given is None:
            return taped.trial_output_shape(self, input_shape)
        if callable(given):
            return given(input_shape)
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch = first[0] if len(first) else None
        if isinstance(given, list):
            return [(batch, *s) for s in given]
        return (batch, *given)

    def get_config(self) -> dict[str, Any]:
        """Keras 3's keys: ``output_shape`` and ``mask`` only when they were given (the
        Siamese example's ``Lambda(euclidean_distance)`` has neither)."""
        config = super().get_config()
        config["function"] = PythonFunction(self.function, self.name)
        shape = self.output_shape_arg
        if shape is not None:
            config["output_shape"] = PythonFunction(shape, self.name) if callable(shape) else (
                [list(s) for s in shape] if isinstance(shape, list) else list(shape))
        if self.mask is not None:
            config["mask"] = PythonFunction(self.mask, self.name)
        config["arguments"] = dict(self.arguments)
        return config
