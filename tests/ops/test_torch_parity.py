"""Parity with PyTorch's conv2d / max_pool2d / avg_pool2d, forward and backward (CPU, float64).

NHWC arrays are transposed to NCHW for torch; explicit and asymmetric pads go through
`F.pad` (zeros for conv, -inf for max pooling).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.ops import oracles
from tests.ops.oracles import IMPLS

torch = pytest.importorskip("torch")
F = torch.nn.functional

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))
TOL = {"rtol": 1e-10, "atol": 1e-12}


def to_torch(A_nhwc):
    return torch.tensor(np.transpose(A_nhwc, (0, 3, 1, 2)), dtype=torch.float64,
                        requires_grad=True)


def to_nhwc(t):
    return np.transpose(t.detach().numpy(), (0, 2, 3, 1))


def torch_pads(pads):
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)  # F.pad wants the last axis first


CONV_CASES = [
    ((2, 7, 6, 3), (3, 3), 4, 1, 0),
    ((2, 7, 6, 3), (3, 3), 4, 2, 1),
    ((1, 8, 7, 2), (2, 3), 3, (2, 1), "same"),
    ((2, 6, 9, 2), (3, 2), 2, (1, 3), ((2, 0), (1, 3))),
    ((1, 5, 5, 1), (1, 1), 2, 3, "valid"),
]


@impls
@pytest.mark.parametrize("shape, kernel, c_out, stride, pad", CONV_CASES)
def test_conv_matches_torch(ops, shape, kernel, c_out, stride, pad):
    rng = np.random.default_rng(5)
    A_prev = rng.standard_normal(shape)
    W = rng.standard_normal((*kernel, shape[3], c_out))
    b = rng.standard_normal((1, 1, 1, c_out))
    geometry = oracles.geometry(shape, kernel, stride, pad)
    Z, cache = ops.conv_forward(A_prev, W, b, {"stride": stride, "pad": pad})
    dZ = rng.standard_normal(Z.shape)
    dA_prev, dW, db = ops.conv_backward(dZ, cache)

    x = to_torch(A_prev)
    w = torch.tensor(np.transpose(W, (3, 2, 0, 1)), dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(b.reshape(-1), dtype=torch.float64, requires_grad=True)
    z = F.conv2d(F.pad(x, torch_pads(geometry.pads)), w, bias, stride=geometry.stride)
    z.backward(torch.tensor(np.transpose(dZ, (0, 3, 1, 2))))

    np.testing.assert_allclose(Z, to_nhwc(z), **TOL)
    np.testing.assert_allclose(dA_prev, to_nhwc(x.grad), **TOL)
    np.testing.assert_allclose(dW, np.transpose(w.grad.numpy(), (2, 3, 1, 0)), **TOL)
    np.testing.assert_allclose(db.reshape(-1), bias.grad.numpy(), **TOL)


POOL_CASES = [
    ((2, 5, 5, 3), 2, 2, "valid"),
    ((2, 7, 6, 2), 3, 2, 0),
    ((1, 6, 7, 2), (2, 3), (1, 2), "valid"),
    ((2, 5, 5, 1), 2, 3, "valid"),  # stride > window
    ((1, 7, 5, 2), 3, 2, "same"),
    ((1, 8, 8, 2), (4, 3), (4, 2), "same"),
]


def torch_pool(x, mode, kernel, stride, pads):
    """Torch pooling with TensorFlow's padding rule, built from F.pad."""
    if mode == "max":
        return F.max_pool2d(F.pad(x, torch_pads(pads), value=-np.inf), kernel, stride)
    if not any(pads[0]) and not any(pads[1]):
        return F.avg_pool2d(x, kernel, stride)
    # Sum over the window divided by the count of real cells (padding excluded).
    sums = F.avg_pool2d(F.pad(x, torch_pads(pads)), kernel, stride)
    ones = torch.ones_like(x[:1, :1])
    counts = F.avg_pool2d(F.pad(ones, torch_pads(pads)), kernel, stride)
    return sums / counts


@impls
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape, f, stride, pad", POOL_CASES)
def test_pool_matches_torch(ops, mode, shape, f, stride, pad):
    rng = np.random.default_rng(9)
    A_prev = rng.standard_normal(shape)
    geometry = oracles.geometry(shape, f, stride, pad)
    A, cache = ops.pool_forward(A_prev, {"f": f, "stride": stride, "pad": pad}, mode=mode)
    dA = rng.standard_normal(A.shape)
    dA_prev = ops.pool_backward(dA, cache, mode=mode)

    x = to_torch(A_prev)
    y = torch_pool(x, mode, geometry.kernel, geometry.stride, geometry.pads)
    y.backward(torch.tensor(np.transpose(dA, (0, 3, 1, 2))))
    np.testing.assert_allclose(A, to_nhwc(y), **TOL)
    np.testing.assert_allclose(dA_prev, to_nhwc(x.grad), **TOL)


@impls
def test_max_pool_ties_match_torch(ops):
    rng = np.random.default_rng(2)
    A_prev = rng.integers(0, 2, size=(2, 6, 6, 2)).astype(np.float64)
    A, cache = ops.pool_forward(A_prev, {"f": 3, "stride": 1}, mode="max")
    dA = rng.standard_normal(A.shape)
    dA_prev = ops.pool_backward(dA, cache, mode="max")
    x = to_torch(A_prev)
    F.max_pool2d(x, 3, 1).backward(torch.tensor(np.transpose(dA, (0, 3, 1, 2))))
    np.testing.assert_allclose(dA_prev, to_nhwc(x.grad), **TOL)
