"""Activation("relu") runs the threaded mask path of ReLU(): same values and gradients as the
plain formulas, input untouched, the upstream gradient never written."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import activations
from convnp.layers import Activation, ReLU


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (3, 300, 300)])  # small, and split by threads
@pytest.mark.parametrize("make", [lambda: Activation("relu"), ReLU])
def test_relu_layers_match_the_formulas(make, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(np.float32)
    x.flat[:5] = 0.0  # derivative 0 at 0, as TensorFlow's ReluGrad
    dy = rng.standard_normal(size).astype(np.float32)
    x0, dy0 = x.copy(), dy.copy()
    layer = make()
    y = layer(x, training=True)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx, np.where(x > 0, dy, 0))
    assert dx.dtype == np.float32 and dx is not dy
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)


def test_relu_activation_backward_is_a_masked_multiply():
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    dy = np.array([5.0, 6.0, 7.0], dtype=np.float32)
    dx = activations.get("relu").backward(dy, x, None)
    np.testing.assert_array_equal(dx, [0.0, 0.0, 7.0])
    assert dx.dtype == np.float32
