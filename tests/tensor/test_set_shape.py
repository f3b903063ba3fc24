"""EagerTensor.set_shape and TensorShape's compatibility helpers, as TensorFlow 2.21 eager
behaves (messages checked against it): set_shape changes nothing and raises ValueError when the
given shape does not describe the tensor."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor import TensorShape


@pytest.mark.parametrize("shape", [(2, 3), [None, 3], TensorShape([2, None]), None,
                                   np.array([2, 3])])
def test_compatible_shapes_are_accepted_and_change_nothing(shape):
    t = tf.ones((2, 3))
    assert t.set_shape(shape) is None
    assert t.shape == (2, 3)


@pytest.mark.parametrize("shape, text", [((2, 4), "(2, 4)"), ((2, 3, 1), "(2, 3, 1)"),
                                         ([], "()")])
def test_incompatible_shapes_raise_tensorflows_value_error(shape, text):
    with pytest.raises(ValueError) as info:
        tf.ones((2, 3)).set_shape(shape)
    assert str(info.value) == (f"Tensor's shape (2, 3) is not compatible with supplied shape "
                               f"{text}.")


def test_shape_as_list_on_eager_tensors():
    t = tf.constant(np.zeros((4, 5, 1), np.float32))
    assert t.shape.as_list() == [4, 5, 1]
    assert type(t.shape.as_list()) is list
    assert t.get_shape().as_list() == [4, 5, 1]
    assert tf.reduce_sum(t, axis=0).shape.as_list() == [5, 1]


def test_tensor_shape_compatibility_helpers():
    s = TensorShape([None, 3])
    assert TensorShape([2, None]).is_compatible_with([2, 3])
    assert not TensorShape([2, None]).is_compatible_with((3, 3))
    assert s.merge_with([2, None]) == (2, 3)
    assert TensorShape([2, 3]).concatenate([4]) == (2, 3, 4)
    assert TensorShape([2, 3]).with_rank(2) == (2, 3)
    with pytest.raises(ValueError, match=r"Shapes \(None, 3\) and \(2, 4\) are incompatible"):
        s.assert_is_compatible_with([2, 4])
    with pytest.raises(ValueError, match=r"Shape \(2, 3\) must have rank 3"):
        TensorShape([2, 3]).with_rank(3)
