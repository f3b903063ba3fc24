"""``tf.dtypes`` / ``tf.float32`` ...: `DType` names for NumPy dtypes."""

import numpy as np

from convnp.tensor.eager import DType, as_dtype

float16 = half = DType(np.float16)
float32 = DType(np.float32)
float64 = double = DType(np.float64)
int8 = DType(np.int8)
int16 = DType(np.int16)
int32 = DType(np.int32)
int64 = DType(np.int64)
uint8 = DType(np.uint8)
uint16 = DType(np.uint16)
uint32 = DType(np.uint32)
uint64 = DType(np.uint64)
bool = DType(np.bool_)
complex64 = DType(np.complex64)
complex128 = DType(np.complex128)
string = DType(np.bytes_)


__all__ = ["DType", "as_dtype", "bool", "complex64", "complex128", "double", "float16",
           "float32", "float64", "half", "int8", "int16", "int32", "int64", "string", "uint8",
           "uint16", "uint32", "uint64"]
