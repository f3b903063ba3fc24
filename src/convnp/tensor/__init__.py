"""Tensors as TensorFlow's eager mode shows them, on NumPy arrays.

`EagerTensor` is what a layer or model called on arrays, a tensor op and a `Dataset`
element return: an `np.ndarray` subclass with TensorFlow's ``.numpy()``, a `TensorShape`
``.shape`` and `DType` names (``convnp.float32``). It sits just above `convnp.ops` and imports
nothing from layers or models, so layers may use it.
"""

from convnp.tensor import ops  # noqa: F401 (installs the NumPy-protocol hooks)
from convnp.tensor.eager import (
    DType,
    EagerTensor,
    TensorShape,
    as_dtype,
    is_tensor,
    to_eager,
    to_numpy,
)
from convnp.tensor.function import function
from convnp.tensor.tape import GradientTape, stop_gradient

__all__ = [
    "DType",
    "EagerTensor",
    "GradientTape",
    "TensorShape",
    "as_dtype",
    "function",
    "is_tensor",
    "stop_gradient",
    "to_eager",
    "to_numpy",
]
