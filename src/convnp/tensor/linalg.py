"""``tf.linalg``: matmul, norm, einsum, tensordot, l2_normalize, global_norm."""

from convnp.tensor.manip import global_norm
from convnp.tensor.ops import einsum, l2_normalize, matmul, norm, tensordot, transpose

matrix_transpose = transpose

__all__ = ["einsum", "global_norm", "l2_normalize", "matmul", "matrix_transpose", "norm", "tensordot"]
