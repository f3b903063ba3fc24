"""``tf.dtypes`` / ``tf.float32`` ...: `DType` names for NumPy dtypes."""

import numpy as np

from convnp.tensor.eager import DType, as_dtype

float16 = half = DType(np.float16)
float32 = DType(np.float32)
float64 = double = DType(np.float64)
int8, int16, int32, int64 = (DType(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (DType(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
bool = DType(np.bool_)
complex64 = DType(np.complex64)
complex128 = DType(np.complex128)
string = DType(np.bytes_)


__all__ = ["DType", "as_dtype", "bool", "complex64", "complex128", "double", "float16",
           "float32", "float64", "half", "int8", "int16", "int32", "int64", "string", "uint8",
           "uint16", "uint32", "uint64"]
