"""The course functions are importable from the top level, and those are the fast versions."""

from __future__ import annotations

import convnp
import convnp.ops
from convnp.ops import conv, pool, reference

NAMES = ["zero_pad", "conv_single_step", "conv_forward", "conv_backward", "pool_forward",
         "pool_backward", "create_mask_from_window", "distribute_value"]


def test_top_level_conv_forward_is_fast():
    from convnp import conv_forward

    assert conv_forward is conv.conv_forward
    assert conv_forward is not reference.conv_forward


def test_every_course_function_is_exported_fast():
    for name in NAMES:
        top = getattr(convnp, name)
        assert top is getattr(convnp.ops, name), name
        assert top.__module__ in (conv.__name__, pool.__name__), name
        assert top is not getattr(reference, name), name
        assert name in convnp.__all__ and name in convnp.ops.__all__, name


def test_reference_has_every_course_function():
    for name in NAMES:
        assert callable(getattr(reference, name)), name
        assert getattr(reference, name).__module__ == reference.__name__, name
