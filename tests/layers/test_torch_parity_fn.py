"""PyTorch parity for the functional-API layers: ConvTranspose2d, Upsample (nearest and
bilinear, ``align_corners=False``: the same half-pixel rule as TensorFlow's resize)."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.layers import Conv2DTranspose, UpSampling2D
from tests.layers.test_torch_parity import _one_thread, close, nchw, nhwc  # noqa: F401

torch = pytest.importorskip("torch")
F = torch.nn.functional


def forward_backward(layer, x, rng):
    """``(y, dy, dx)``: a training-mode call and a backward pass with a random ``dy``."""
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype("float32")
    return y, dy, layer.backward(dy)


@pytest.mark.parametrize("kwargs", [
    {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 3, "kernel_size": 3},
    {"filters": 2, "kernel_size": (2, 4), "strides": (3, 2)},
    {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1},
    {"filters": 5, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu",
     "bias_initializer": "random_normal"},
])
def test_conv2d_transpose(kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 3)).astype("float32")
    layer = Conv2DTranspose(**kwargs)
    y, dy, dx = forward_backward(layer, x, rng)

    xt = nchw(x)
    w = torch.tensor(layer.kernel.value.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True)
    # torch's full output ((n - 1) * s + f), then Keras' crop / zero rows at the end, then
    # the bias (TensorFlow adds it to every output pixel, the zero rows included)
    full = F.conv_transpose2d(xt, w, stride=layer.strides)
    out_h, out_w = y.shape[1:3]
    top = left = 0
    if layer.padding == "same":
        top = max(full.shape[2] - out_h, 0) // 2
        left = max(full.shape[3] - out_w, 0) // 2
    yt = full[:, :, top:top + out_h, left:left + out_w]
    yt = F.pad(yt, (0, out_w - yt.shape[3], 0, out_h - yt.shape[2])) + b[:, None, None]
    if kwargs.get("activation") == "relu":
        yt = F.relu(yt)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))

    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))
    close(layer.kernel.grad, w.grad.numpy().transpose(2, 3, 1, 0))
    close(layer.bias.grad, b.grad)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", [2, (3, 2)])
def test_upsampling2d(interpolation, size):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 3)).astype("float32")
    layer = UpSampling2D(size, interpolation=interpolation)
    y, dy, dx = forward_backward(layer, x, rng)
    xt = nchw(x)
    options = {"align_corners": False} if interpolation == "bilinear" else {}
    yt = F.interpolate(xt, scale_factor=layer.size, mode=interpolation, **options)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))
    close(y, nhwc(yt))
    close(dx, nhwc(xt.grad))


def _run_torch(layer, x, fn, rng):
    """Our forward/backward next to torch's on the same input; returns (ours, theirs) pairs."""
    y, dy, dx = forward_backward(layer, x, rng)
    xt = torch.tensor(x, requires_grad=True)
    yt = fn(xt)
    yt.backward(torch.tensor(dy))
    close(y, yt)
    close(dx, xt.grad)


def test_layer_normalization():
    from convnp.layers import LayerNormalization

    rng = np.random.default_rng(2)
    x = (rng.standard_normal((3, 4, 5)) * 3 + 1).astype("float32")
    layer = LayerNormalization(beta_initializer="random_normal",
                               gamma_initializer="random_normal")
    layer(x)
    ln = torch.nn.LayerNorm(5, eps=1e-3)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(layer.gamma.value))
        ln.bias.copy_(torch.tensor(layer.beta.value))
    _run_torch(layer, x, ln, rng)
    close(layer.gamma.grad, ln.weight.grad)
    close(layer.beta.grad, ln.bias.grad)


def test_prelu_per_channel():
    from convnp.layers import PReLU

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 3)).astype("float32")
    layer = PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2])
    layer(x)
    weight = torch.tensor(layer.alpha.value.reshape(3), requires_grad=True)
    # torch's PReLU has one slope per channel of NCHW input
    _run_torch(layer, x, lambda t: F.prelu(t.permute(0, 3, 1, 2), weight).permute(0, 2, 3, 1),
               rng)
    close(layer.alpha.grad.reshape(3), weight.grad)


@pytest.mark.parametrize("cls, kwargs, fn", [
    ("ELU", {"alpha": 0.7}, lambda t: F.elu(t, alpha=0.7)),
    ("LeakyReLU", {}, lambda t: F.leaky_relu(t, 0.3)),
    ("Softmax", {"axis": 1}, lambda t: torch.softmax(t, dim=1)),
])
def test_activation_layers(cls, kwargs, fn):
    import convnp.layers

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 5)).astype("float32")
    _run_torch(getattr(convnp.layers, cls)(**kwargs), x, fn, rng)


@pytest.mark.parametrize("kwargs, torch_pad", [
    ({"filters": 4, "kernel_size": 3}, (0, 0)),
    ({"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (4, 0)),
    ({"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, (1, 1)),
])
def test_conv1d(kwargs, torch_pad):
    from convnp.layers import Conv1D

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 3)).astype("float32")
    layer = Conv1D(bias_initializer="random_normal", **kwargs)
    layer(x)
    w = torch.tensor(layer.kernel.value.transpose(2, 1, 0).copy(), requires_grad=True)
    b = torch.tensor(layer.bias.value, requires_grad=True)

    def fn(t):
        t = F.pad(t.permute(0, 2, 1), torch_pad)
        out = F.conv1d(t, w, b, stride=layer.strides[0], dilation=layer.dilation_rate[0])
        return out.permute(0, 2, 1)

    _run_torch(layer, x, fn, rng)
    close(layer.kernel.grad, w.grad.numpy().transpose(2, 1, 0))
    close(layer.bias.grad, b.grad)
