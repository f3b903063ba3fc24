"""Transposed convolution and resizing: fast kernels against the loop twins
(`convnp.ops.reference_upsampling`), an independent formula, and central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convnp.ops import conv_transpose, resize
from convnp.ops import reference_upsampling as ref
from convnp.ops.conv import conv_backward, conv_forward
from convnp.ops.padding import transpose_output_size
from tests.helpers import numerical_gradient, rel_error

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def transpose_cases(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    extra = draw(st.one_of(st.none(), st.tuples(st.integers(0, stride[0] - 1),
                                                st.integers(0, stride[1] - 1))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4)),
             draw(st.integers(1, 3)))
    return kernel, stride, padding, extra, shape, draw(st.integers(1, 3)), draw(
        st.integers(0, 2**16))


def _operands(kernel, shape, n_C, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    W = rng.standard_normal((*kernel, n_C, shape[3]))
    b = rng.standard_normal(n_C)
    return rng, x, W, b


@SETTINGS
@given(transpose_cases())
def test_conv_transpose_fast_matches_reference(case):
    kernel, stride, padding, extra, shape, n_C, seed = case
    rng, x, W, b = _operands(kernel, shape, n_C, seed)
    try:
        y_ref = ref.conv_transpose_forward(x, W, b, stride, padding, extra)
    except ValueError:
        with pytest.raises(ValueError):
            conv_transpose.conv_transpose_forward(x, W, b, stride, padding, extra)
        return
    y, cache = conv_transpose.conv_transpose_forward(x, W, b, stride, padding, extra)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dW, db = conv_transpose.conv_transpose_backward(dy, cache)
    dx_ref, dW_ref, db_ref = ref.conv_transpose_backward(dy, x, W, stride, padding, extra)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv_transpose_is_the_adjoint_of_conv(stride):
    """<conv_transpose(x), y> == <x, conv(y)> with the same kernel: the defining identity
    (checked against the library's Conv2D op, an implementation written separately)."""
    rng, x, W, _ = _operands((3, 3), (2, 3, 4, 2), 3, 7)
    y, _ = conv_transpose.conv_transpose_forward(x, W, None, stride, "valid")
    v = rng.standard_normal(y.shape)
    conv_of_v, _ = conv_forward(v, W, np.zeros((1, 1, 1, 2)), {"stride": stride, "pad": 0})
    assert np.isclose(np.sum(y * v), np.sum(x * conv_of_v))
    # and the conv's input gradient is the transposed conv of its output gradient
    _, cache = conv_forward(v, W, np.zeros((1, 1, 1, 2)), {"stride": stride, "pad": 0})
    dv, _, _ = conv_backward(x, cache)
    np.testing.assert_allclose(dv, y, rtol=1e-12, atol=1e-12)


def test_conv_transpose_sizes_follow_keras():
    # Keras' deconv_output_length: valid n*s + max(f - s, 0), same n*s, with output_padding
    # (n - 1)*s + f - 2*pad + output_padding.
    assert transpose_output_size(6, 3, 2, "same") == 12
    assert transpose_output_size(6, 3, 2, "valid") == 13
    assert transpose_output_size(6, 2, 3, "valid") == 18
    assert transpose_output_size(6, 3, 2, "same", 1) == 12
    assert transpose_output_size(6, 3, 2, "valid", 1) == 14
    x = np.ones((1, 6, 5, 1))
    y, _ = conv_transpose.conv_transpose_forward(x, np.ones((3, 3, 1, 1)), None, 2, "same")
    assert y.shape == (1, 12, 10, 1)


def test_conv_transpose_gradients_numerically():
    rng, x, W, b = _operands((3, 2), (2, 3, 3, 2), 2, 3)
    def forward():
        return conv_transpose.conv_transpose_forward(x, W, b, (2, 1), "same", (1, 0))[0]
    y, cache = conv_transpose.conv_transpose_forward(x, W, b, (2, 1), "same", (1, 0))
    dy = rng.standard_normal(y.shape)
    dx, dW, db = conv_transpose.conv_transpose_backward(dy, cache)
    assert rel_error(dx, numerical_gradient(forward, x, dy)) < 1e-8
    assert rel_error(dW, numerical_gradient(forward, W, dy)) < 1e-8
    assert rel_error(db, numerical_gradient(forward, b, dy)) < 1e-8


def test_conv_transpose_bad_arguments():
    x, W = np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2))
    with pytest.raises(ValueError, match="input channels"):
        conv_transpose.conv_transpose_forward(x, np.ones((3, 3, 4, 5)), None, 1)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose.conv_transpose_forward(x, W, None, 2, "same", 2)
    with pytest.raises(ValueError, match="padding"):
        conv_transpose.conv_transpose_forward(x, W, None, 2, "full")
    with pytest.raises(ValueError, match="dy must have shape"):
        _, cache = conv_transpose.conv_transpose_forward(x, W, None, 1)
        conv_transpose.conv_transpose_backward(np.ones((1, 2, 2, 4)), cache)


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", [(2, 2), (3, 1), (1, 4)])
def test_upsample_matches_reference(method, size):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 5, 2))
    y = resize.upsample(x, size, method)
    expected = ref.resize(x, (3 * size[0], 5 * size[1]), method)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = resize.upsample_backward(dy, size, method)
    assert rel_error(dx, numerical_gradient(lambda: resize.upsample(x, size, method), x,
                                            dy)) < 1e-8


def test_bilinear_half_pixel_values():
    # 1-D [0, 1] doubled: centres at -0.25, 0.25, 0.75, 1.25 -> clamped blends
    x = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    y = resize.upsample(x, (1, 2), "bilinear")
    np.testing.assert_allclose(y.ravel(), [0.0, 0.25, 0.75, 1.0])


def test_upsample_bad_method():
    with pytest.raises(ValueError, match="gaussian"):
        resize.upsample(np.ones((1, 2, 2, 1)), (2, 2), "gaussian")


@pytest.mark.parametrize("padding, extra", [("same", None), ("valid", (1, 0))])
def test_conv_transpose_without_bias_split_between_threads(padding, extra):
    # 9 examples: the batch is shared between threads; no bias: the output starts at zero.
    _, x, W, _ = _operands((3, 3), (9, 5, 4, 3), 4, 21)
    y, _ = conv_transpose.conv_transpose_forward(x, W, None, 2, padding, extra)
    y_ref = ref.conv_transpose_forward(x, W, np.zeros(4), 2, padding, extra)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
