"""Pure array functions of the course notes, NHWC, fast versions.

The readable loop versions with the same names and signatures are in `convnp.ops.reference`
(tests and readers only).
"""

from convnp.ops.conv import conv_backward, conv_forward, conv_single_step, zero_pad
from convnp.ops.pool import (
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
)

__all__ = [
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
    "pool_forward",
    "zero_pad",
]
