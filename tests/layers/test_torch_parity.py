"""Forward and backward parity with PyTorch on the same weights (float32), when installed.

PyTorch is NCHW: images go through ``transpose(0, 3, 1, 2)`` and conv kernels
``(f_h, f_w, c_in, c_out)`` through ``transpose(3, 2, 0, 1)``. TensorFlow's 'same' padding
(odd extra at the bottom/right) is applied with an explicit ``F.pad``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from convnp.layers import AveragePooling2D, BatchNormalization, Conv2D, Dense, MaxPooling2D

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-5  # max |ours - torch| relative to max |torch|


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the test machine's cores are shared
    yield
    torch.set_num_threads(threads)


def close(ours, theirs, tol=TOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape
    scale = max(float(np.max(np.abs(theirs))), 1e-12)
    err = float(np.max(np.abs(ours - theirs))) / scale
    assert err < tol, f"relative error {err:.2e} >= {tol:.0e}"


def nchw(x: np.ndarray):
    return torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)


def nhwc(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


def tf_same_pads(n: int, f: int, s: int) -> tuple[int, int]:
    total = max((math.ceil(n / s) - 1) * s + f - n, 0)
    return total // 2, total - total // 2


def torch_pad(t, pool_size, strides, padding, value=0.0):
    if padding == "valid":
        return t
    (top, bottom) = tf_same_pads(t.shape[2], pool_size[0], strides[0])
    (left, right) = tf_same_pads(t.shape[3], pool_size[1], strides[1])
    return F.pad(t, (left, right, top, bottom), value=value)


def dilated(layer) -> list[int]:
    """The window a dilated kernel covers, which TensorFlow's 'same' padding is based on."""
    return [(f - 1) * d + 1 for f, d in zip(layer.kernel_size, layer.dilation_rate)]


@pytest.mark.parametrize("kwargs", [
    {"filters": 8, "kernel_size": 3},
    {"filters": 8, "kernel_size": 4, "padding": "same"},
    {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "use_bias": False},
    {"filters": 6, "kernel_size": 2, "activation": "relu", "bias_initializer": "random_normal"},
    {"filters": 4, "kernel_size": 3, "dilation_rate": 2},
    {"filters": 4, "kernel_size": 3, "dilation_rate": (2, 3), "padding": "same"},
    {"filters": 2, "kernel_size": (2, 3), "dilation_rate": 3, "padding": "same",
     "use_bias": False},
])
def test_conv2d(kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 9, 8, 3)).astype("float32")
    layer = Conv2D(**kwargs)
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)

    xt = nchw(x)
    w = torch.tensor(layer.kernel.value.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True) if layer.use_bias else None
    yt = F.conv2d(torch_pad(xt, dilated(layer), layer.strides, layer.padding), w, b,
                  stride=layer.strides, dilation=layer.dilation_rate)
    if kwargs.get("activation") == "relu":
        yt = F.relu(yt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))

    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))
    close(layer.kernel.grad, w.grad.numpy().transpose(2, 3, 1, 0))
    if b is not None:
        close(layer.bias.grad, b.grad)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("kwargs", [
    {}, {"pool_size": 3, "strides": 2}, {"pool_size": 3, "strides": 2, "padding": "same"},
    {"pool_size": (8, 8), "strides": 8, "padding": "same"},
])
def test_pooling(cls, kwargs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 11, 10, 3)).astype("float32")
    layer = cls(**kwargs)
    y = layer(x)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)

    xt = nchw(x)
    k, s = layer.pool_size, layer.strides
    if cls is MaxPooling2D:
        yt = F.max_pool2d(torch_pad(xt, k, s, layer.padding, value=-math.inf), k, s)
    else:
        # TensorFlow averages the real cells only: sum of values / count of real cells.
        total = F.avg_pool2d(torch_pad(xt, k, s, layer.padding), k, s)
        count = F.avg_pool2d(torch_pad(torch.ones_like(xt), k, s, layer.padding), k, s)
        yt = total / count
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))
    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization(training):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 5, 6, 3)) * 2 + 0.5).astype("float32")
    n_C = x.shape[-1]
    layer = BatchNormalization(momentum=0.9)
    layer.build((None, 5, 6, n_C))
    gamma, beta = rng.uniform(0.5, 1.5, n_C), rng.standard_normal(n_C)
    mean, var = rng.standard_normal(n_C), rng.uniform(0.5, 2.0, n_C)
    layer.set_weights([gamma, beta, mean, var])

    bn = torch.nn.BatchNorm2d(n_C, eps=1e-3, momentum=1 - 0.9)  # torch momentum = 1 - Keras'
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
        bn.running_mean.copy_(torch.tensor(mean))
        bn.running_var.copy_(torch.tensor(var))
    bn.train(training)

    y = layer(x, training=training)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)
    xt = nchw(x)
    yt = bn(xt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))

    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))
    close(layer.gamma.grad, bn.weight.grad)
    close(layer.beta.grad, bn.bias.grad)
    close(layer.moving_mean.value, bn.running_mean)
    if training:
        # torch feeds the unbiased batch variance to its running average, Keras the biased one.
        rows = x.size // n_C
        torch_batch_var = (bn.running_var.numpy() - 0.9 * var) / 0.1
        expected = 0.9 * var + 0.1 * torch_batch_var * (rows - 1) / rows
        close(layer.moving_variance.value, expected)
    else:
        close(layer.moving_variance.value, bn.running_var)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax"])
def test_dense(activation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7)).astype("float32")
    layer = Dense(4, activation=activation, bias_initializer="random_normal")
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)

    xt = torch.tensor(x, requires_grad=True)
    w = torch.tensor(layer.kernel.value, requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True)
    yt = xt @ w + b
    yt = {None: lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
          "softmax": lambda t: torch.softmax(t, dim=-1)}[activation](yt)
    yt.backward(torch.tensor(dy))
    close(y, yt)
    close(dx, xt.grad)
    close(layer.kernel.grad, w.grad)
    close(layer.bias.grad, b.grad)


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": 3, "padding": "same", "depth_multiplier": 2},
    {"kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
    {"kernel_size": (2, 3), "strides": (2, 1), "use_bias": False, "depth_multiplier": 3},
    {"kernel_size": 3, "dilation_rate": 2, "padding": "same",
     "bias_initializer": "random_normal"},
])
def test_depthwise_conv2d(kwargs):
    """DepthwiseConv2D is PyTorch's conv2d with groups = input channels; Keras' kernel
    ``(f_h, f_w, C, k)`` is torch's ``(C * k, 1, f_h, f_w)`` with output channel c * k + j."""
    from convnp.layers import DepthwiseConv2D

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 9, 8, 3)).astype("float32")
    layer = DepthwiseConv2D(**kwargs)
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)

    f_h, f_w, c, k = layer.kernel.shape
    xt = nchw(x)
    w = torch.tensor(layer.kernel.value.transpose(2, 3, 0, 1).reshape(c * k, 1, f_h, f_w).copy(),
                     requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True) if layer.use_bias else None
    yt = F.conv2d(torch_pad(xt, dilated(layer), layer.strides, layer.padding), w, b, stride=layer.strides,
                  dilation=layer.dilation_rate, groups=c)
    if kwargs.get("activation") == "relu":
        yt = F.relu(yt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))

    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))
    close(layer.kernel.grad, w.grad.numpy().reshape(c, k, f_h, f_w).transpose(2, 3, 0, 1))
    if b is not None:
        close(layer.bias.grad, b.grad)


@pytest.mark.parametrize("kwargs", [
    {"filters": 4, "kernel_size": 3},
    {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2,
     "bias_initializer": "random_normal", "activation": "relu"},
])
def test_separable_conv2d(kwargs):
    """SeparableConv2D is a grouped conv2d (groups = input channels, no bias), then a 1x1
    conv2d with the bias."""
    from convnp.layers import SeparableConv2D

    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 9, 8, 3)).astype("float32")
    layer = SeparableConv2D(**kwargs)
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype("float32")
    dx = layer.backward(dy)

    f_h, f_w, c, k = layer.depthwise_kernel.shape
    xt = nchw(x)
    wd = torch.tensor(layer.depthwise_kernel.value.transpose(2, 3, 0, 1)
                      .reshape(c * k, 1, f_h, f_w).copy(), requires_grad=True)
    wp = torch.tensor(layer.pointwise_kernel.value.transpose(3, 2, 0, 1).copy(),
                      requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True)
    mid = F.conv2d(torch_pad(xt, dilated(layer), layer.strides, layer.padding), wd,
                   stride=layer.strides, groups=c)
    yt = F.conv2d(mid, wp, b)
    if kwargs.get("activation") == "relu":
        yt = F.relu(yt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))
    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))
    close(layer.depthwise_kernel.grad,
          wd.grad.numpy().reshape(c, k, f_h, f_w).transpose(2, 3, 0, 1))
    close(layer.pointwise_kernel.grad, wp.grad.numpy().transpose(2, 3, 1, 0))
    close(layer.bias.grad, b.grad)
