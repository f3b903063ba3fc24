"""``tf.function``: a decorated Python function that runs eagerly and answers as TensorFlow's.

convnp has no graph compiler, so the body runs as written on every call. What a program can
still notice is kept: the results are tensors (a Python number or NumPy array returned by
the body comes back as a tensor, in TensorFlow's dtype: ``3.0`` is float32), an
``input_signature`` is checked and its arguments converted before the body runs (a value of
another dtype or an incompatible shape raises `TypeError`), ``python_function`` is the
undecorated function, and decorating a method binds it like one.
"""

from __future__ import annotations

import functools
import inspect
import types

import numpy as np

from convnp.tensor.eager import EagerTensor
from convnp.tensor.ops import _convert, convert_to_tensor
from convnp.tensor.spec import TensorSpec
from convnp.tensor.tape import is_variable, new_tensor

# options TensorFlow's tf.function takes; accepted, and without effect here
_OPTIONS = {"name", "autograph", "jit_compile", "reduce_retracing",
            "experimental_implements", "experimental_autograph_options",
            "experimental_attributes", "experimental_relax_shapes",
            "experimental_compile", "experimental_follow_type_hints"}


class Function:
    """What ``tf.function(f)`` returns: calling it calls ``f`` (see the module docstring)."""

    def __init__(self, python_function, input_signature=None, name=None):
        if not callable(python_function):
            raise TypeError(f"tf.function expects a callable, got "
                            f"{type(python_function).__name__}")
        if input_signature is not None:
            input_signature = tuple(input_signature)  # TensorFlow keeps it as a tuple
            for spec in input_signature:
                if not isinstance(spec, TensorSpec):
                    raise TypeError(f"tf.function: input_signature must be a list of "
                                    f"tf.TensorSpec, got {type(spec).__name__}")
        self._python_function = python_function
        self.input_signature = input_signature
        functools.update_wrapper(self, python_function)
        self._name = name or getattr(python_function, "__name__", "function")

    @property
    def python_function(self):
        """The function as written, without the decoration."""
        return self._python_function

    @property
    def function_spec(self):
        return self.input_signature

    def __get__(self, instance, owner=None):
        # @tf.function on a method: `obj.method` is a Function bound to `obj`
        if instance is None:
            return self
        return Function(types.MethodType(self._python_function, instance),
                        self.input_signature, self._name)

    def __call__(self, *args, **kwargs):
        if self.input_signature is not None:
            args, kwargs = self._bind(args, kwargs), {}
        return _tensors_in(self._python_function(*args, **kwargs))

    def _bind(self, args: tuple, kwargs: dict) -> tuple:
        """The arguments (positional or by name) checked against ``input_signature`` and
        converted to tensors, in the signature's order."""
        specs = self.input_signature
        if kwargs or len(args) < len(specs):
            # arguments by name, and defaults for the ones left out (TiledGradients'
            # ``tile_size=512`` under a three-spec signature), in the signature's order
            try:
                bound = inspect.signature(self._python_function).bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{self._name}: {error}") from None
            bound.apply_defaults()
            args = tuple(bound.arguments.values())
        if len(args) != len(specs):
            raise TypeError(f"{self._name}: called with {len(args)} argument(s); its "
                            f"input_signature takes {len(specs)}")
        return tuple(_conform(value, spec, i, self._name)
                     for i, (value, spec) in enumerate(zip(args, specs)))

    def __repr__(self) -> str:
        return f"<convnp tf.function {self._name}>"


def _conform(value, spec: TensorSpec, i: int, who: str):
    """One argument as its spec asks: tensors and Variables must already have the spec's
    dtype; Python values and NumPy arrays are converted to it (TensorFlow does the same:
    a float64 array becomes float32, but floats are not truncated to ints)."""
    if isinstance(value, EagerTensor) or is_variable(value):
        tensor = value
    else:
        given = np.asarray(value).dtype if isinstance(value, np.ndarray) else None
        if given is not None and given.kind == "f" and spec.dtype.dtype.kind in "iub":
            raise TypeError(f"{who}: argument {i} holds floats ({given}); the "
                            f"input_signature asks for {spec}")
        try:
            tensor = convert_to_tensor(value if given is None else value.astype(
                spec.dtype.dtype), dtype=spec.dtype)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{who}: argument {i} cannot be converted to {spec}: "
                            f"{error}") from None
    if not spec.is_compatible_with(tensor):
        raise TypeError(f"{who}: argument {i} of shape {tuple(np.shape(tensor))} and dtype "
                        f"{tensor.dtype} does not match the input_signature's {spec}")
    return tensor


def _tensors_in(value):
    """``value`` with every leaf inside lists, tuples (namedtuples too) and dicts made a
    tensor by `_as_tensor`."""
    if isinstance(value, list):
        return [_tensors_in(v) for v in value]
    if isinstance(value, tuple):
        items = [_tensors_in(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return type(value)((k, _tensors_in(v)) for k, v in value.items())
    return _as_tensor(value)


def _as_tensor(value):
    """A result leaf as TensorFlow returns it: numbers and arrays as tensors; tensors,
    Variables, None and other objects as they are."""
    if isinstance(value, EagerTensor) or value is None or is_variable(value):
        return value
    if isinstance(value, (bool, int, float, np.generic, np.ndarray)):
        return new_tensor(np.array(_convert(value)))
    return value


def function(func=None, input_signature=None, **kwargs):
    """``tf.function``: as a decorator (with or without arguments) or called on a function.

    ``input_signature`` is checked on every call; TensorFlow's other options
    (``jit_compile``, ``reduce_retracing``, ...) are accepted and have no effect."""
    unknown = sorted(set(kwargs) - _OPTIONS)
    if unknown:
        raise TypeError(f"tf.function got unexpected keyword argument(s) {unknown}")
    name = kwargs.get("name")
    if func is None:
        return lambda f: Function(f, input_signature, name)
    return Function(func, input_signature, name)
