"""convnp: convolutional neural networks in pure NumPy, with a Keras-compatible API.

    import convnp as tf
    tfl = tf.keras.layers

runs the course's tf.keras code unchanged. The course's NumPy functions are importable from
the top level (fast versions); their readable loop twins live in `convnp.ops.reference`.
"""

from __future__ import annotations

import importlib

from convnp.ops import (
    conv_backward,
    conv_forward,
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
    zero_pad,
)

__version__ = "0.1.0"

__all__ = [
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "data",
    "datasets",
    "distribute_value",
    "keras",
    "pool_backward",
    "pool_forward",
    "random",
    "zero_pad",
]

# Heavier sub-packages load on first use, so `import convnp` stays quick.
_LAZY_SUBMODULES = {
    "keras", "data", "datasets", "random", "plot", "saving", "onnx", "ops", "io", "compat",
    "applications", "config", "initializers",
    # TensorFlow 2.21's tf.optimizers / tf.losses / tf.metrics are Keras's modules
    "optimizers", "losses", "metrics",
}

# TensorFlow's namespaces and names (`tf.nn`, `tf.reduce_sum`, `tf.float32`, ...): where each
# lives, loaded on first use.
_TF_NAMESPACES = {"nn": "convnp.tensor.nn", "math": "convnp.tensor.math",
                  "linalg": "convnp.tensor.linalg", "image": "convnp.tensor.image",
                  "dtypes": "convnp.tensor.dtypes",
                  "debugging": "convnp.tensor.debugging", "errors": "convnp.tensor.errors",
                  "summary": "convnp.summary", "nest": "convnp.tensor.nest",
                  "test": "convnp.tensor.testing", "train": "convnp.train",
                  "strings": "convnp.tensor.strings", "audio": "convnp.tensor.audio"}
_TF_OPS = ["constant", "convert_to_tensor", "identity", "cast", "zeros", "ones", "zeros_like", "ones_like", "fill", "range", "linspace", "one_hot", "shape", "rank", "size", "reshape", "transpose", "expand_dims", "squeeze", "concat", "stack", "unstack", "split", "tile", "gather", "gather_nd", "boolean_mask", "where", "argmax", "argmin", "add", "subtract", "multiply", "divide", "truediv", "floordiv", "pow", "maximum", "minimum", "square", "sqrt", "rsqrt", "exp", "log", "abs", "negative", "sign", "floor", "ceil", "round", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_not", "clip_by_value", "add_n", "matmul", "tensordot", "einsum", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_std", "reduce_variance", "reduce_any", "reduce_all", "reduce_logsumexp", "cumsum", "norm", "sigmoid", "tanh", "newaxis", "is_nan"]
_TF_NAMES = {name: ("convnp.tensor.ops", name) for name in _TF_OPS}
_TF_NAMES.update({
    "GradientTape": ("convnp.tensor.tape", "GradientTape"),
    "UnconnectedGradients": ("convnp.tensor.tape", "UnconnectedGradients"),
    "function": ("convnp.tensor.function", "function"),
    "stop_gradient": ("convnp.tensor.tape", "stop_gradient"),
    "Variable": ("convnp.variables", "Variable"),
    "Tensor": ("convnp.tensor.eager", "EagerTensor"),
    "TensorShape": ("convnp.tensor.eager", "TensorShape"),
    "TensorSpec": ("convnp.tensor.spec", "TensorSpec"),
    "Module": ("convnp.tensor.module", "Module"),
    "TensorArray": ("convnp.tensor.tensor_array", "TensorArray"),
    "DType": ("convnp.tensor.eager", "DType"),
    "as_dtype": ("convnp.tensor.eager", "as_dtype"),
    "is_tensor": ("convnp.tensor.eager", "is_tensor"),
    "pad": ("convnp.tensor.sorting", "pad"),
    "sort": ("convnp.tensor.sorting", "sort"),
    "argsort": ("convnp.tensor.sorting", "argsort"),
    "device": ("convnp.tensor.runtime", "device"),
    "executing_eagerly": ("convnp.tensor.runtime", "executing_eagerly"),
    "print": ("convnp.tensor.runtime", "tf_print"),
    "get_logger": ("convnp.tensor.runtime", "get_logger"),
    "unique": ("convnp.tensor.sorting", "unique"),
    "unique_with_counts": ("convnp.tensor.sorting", "unique_with_counts"),
    "ensure_shape": ("convnp.tensor.debugging", "ensure_shape"),
    "cos": ("convnp.tensor.ops", "cos"),
    "roll": ("convnp.tensor.math", "roll"),
    "realdiv": ("convnp.tensor.math", "realdiv"),
    "truncatediv": ("convnp.tensor.math", "truncatediv"),
    "scalar_mul": ("convnp.tensor.math", "scalar_mul"),
    "sin": ("convnp.tensor.ops", "sin"),
    "custom_gradient": ("convnp.tensor.custom", "custom_gradient"),
    "recompute_grad": ("convnp.tensor.custom", "recompute_grad"),
})
for _name in ["broadcast_static_shape", "broadcast_to", "clip_by_global_norm", "clip_by_norm",
              "ensure_shape", "eye", "meshgrid", "repeat", "reverse", "searchsorted",
              "sequence_mask", "slice", "scatter_nd", "tensor_scatter_nd_add",
              "tensor_scatter_nd_update", "tensor_scatter_nd_sub", "tensor_scatter_nd_max",
              "tensor_scatter_nd_min", "shape_n", "get_static_value", "saturate_cast",
              "unravel_index", "reverse_sequence", "strided_slice", "histogram_fixed_width",
              "histogram_fixed_width_bins"]:
    _TF_NAMES[_name] = ("convnp.tensor.manip", _name)
# the tf.math functions TensorFlow also has at the top level
for _name in ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "sinh",
              "tan"]:
    _TF_NAMES[_name] = ("convnp.tensor.math", _name)
for _name in ["space_to_batch", "space_to_batch_nd", "batch_to_space"]:
    _TF_NAMES[_name] = ("convnp.tensor.manip", _name)
# the checks TensorFlow also has at the top level (the rest are tf.debugging's only)
for _name in ["Assert", "assert_equal", "assert_greater", "assert_less", "assert_rank"]:
    _TF_NAMES[_name] = ("convnp.tensor.debugging", _name)
# TensorFlow's own initializer spellings (`tf.random_normal_initializer(0., 0.02)`): the
# Keras classes of the same arguments and defaults (TF 2.21 has no glorot_*_initializer)
for _name, _cls in [("random_normal_initializer", "RandomNormal"),
                    ("random_uniform_initializer", "RandomUniform"),
                    ("zeros_initializer", "Zeros"), ("ones_initializer", "Ones"),
                    ("constant_initializer", "Constant")]:
    _TF_NAMES[_name] = ("convnp.initializers", _cls)
for _name in ["map_fn", "vectorized_map", "cond", "name_scope", "py_function",
              "numpy_function", "while_loop", "scan", "foldl", "foldr", "case", "switch_case",
              "no_op", "group", "control_dependencies", "identity_n"]:
    _TF_NAMES[_name] = ("convnp.tensor.control", _name)
_TF_NAMES["tuple"] = ("convnp.tensor.control", "tensor_tuple")  # not to hide Python's tuple
for _name in ["float16", "float32", "float64", "half", "double", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128", "string"]:
    _TF_NAMES[_name] = ("convnp.tensor.dtypes", _name)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"convnp.{name}")
    elif name in _TF_NAMESPACES:
        module = importlib.import_module(_TF_NAMESPACES[name])
    elif name in _TF_NAMES:
        where, attr = _TF_NAMES[name]
        module = getattr(importlib.import_module(where), attr)
    else:
        raise AttributeError(f"module 'convnp' has no attribute {name!r}")
    globals()[name] = module
    return module
