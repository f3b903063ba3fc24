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
