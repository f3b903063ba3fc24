"""``python -m convnp.bench ops``: the course kernels on the course's shapes.

For each case it prints one JSON line with the fast forward and forward+backward medians, the
conv's GFLOP/s (and its share of this machine's float32 GEMM throughput, measured in the same
run), the speed-up over the reference loops (timed on one example and scaled per example),
and, when PyTorch is importable, the ratio to PyTorch's forward+backward on the same shapes.
The fused conv + max pool case is also timed against the two separate fast ops.
"""

from __future__ import annotations

import numpy as np

from convnp import ops
from convnp.bench.common import emit, gemm_gflops, machine_info, median_time, torch_or_none
from convnp.ops import reference
from convnp.ops.conv_pool import conv_max_pool_backward, conv_max_pool_forward

# name -> (input shape, kernel shape or pool window, hparameters)
CONV_CASES = {
    "happy_conv": ((16, 64, 64, 3), (7, 7, 3, 32), {"stride": 1, "pad": 3}),
    "signs_conv1": ((64, 64, 64, 3), (4, 4, 3, 8), {"stride": 1, "pad": "same"}),
}
POOL_CASES = {
    "happy_maxpool2": ((16, 64, 64, 32), {"f": 2, "stride": 2}),
}
# name -> (input shape, kernel shape, conv hparameters, pool window): the fused conv + tiling
# max pool of `convnp.ops.conv_pool`, as the SIGNS model's first layers run it in training
# (first layer of the model: no input gradient).
CONV_POOL_CASES = {
    "signs_conv1_maxpool8": ((64, 64, 64, 3), (4, 4, 3, 8), {"stride": 1, "pad": "same"}, 8),
}


def _conv_flops(out_shape, kernel_shape) -> float:
    """Multiply-adds of a forward conv, counted as 2 FLOPs each."""
    f_h, f_w, n_C_prev, _ = kernel_shape
    return 2.0 * np.prod(out_shape) * f_h * f_w * n_C_prev


def _torch_conv_time(torch, A, W, b, pads, stride, repeat):
    import torch.nn.functional as F

    x = torch.tensor(A.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    w = torch.tensor(W.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bias = torch.tensor(b.ravel().copy(), requires_grad=True)
    (top, bottom), (left, right) = pads

    def step():
        padded = F.pad(x, (left, right, top, bottom)) if any((top, bottom, left, right)) else x
        z = F.conv2d(padded, w, bias, stride=stride)
        z.backward(dz)

    with torch.no_grad():
        padded = F.pad(x, (left, right, top, bottom))
        dz = torch.ones_like(F.conv2d(padded, w, bias, stride=stride))
    return median_time(step, repeat)


def _torch_pool_time(torch, A, f, stride, repeat):
    import torch.nn.functional as F

    x = torch.tensor(A.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    dz = torch.ones_like(F.max_pool2d(x.detach(), f, stride))

    def step():
        F.max_pool2d(x, f, stride).backward(dz)

    return median_time(step, repeat)


def bench_conv(name, input_shape, kernel_shape, hp, repeat) -> tuple[dict, tuple]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal(input_shape, dtype=np.float32)
    W = rng.standard_normal(kernel_shape, dtype=np.float32) * 0.1
    b = np.zeros((1, 1, 1, kernel_shape[3]), dtype=np.float32)
    Z, cache = ops.conv_forward(A, W, b, hp)
    dZ = np.ones_like(Z)

    def fwd_bwd():
        _, c = ops.conv_forward(A, W, b, hp)
        ops.conv_backward(dZ, c)

    fwd = median_time(lambda: ops.conv_forward(A, W, b, hp), repeat)
    both = median_time(fwd_bwd, repeat)
    flops = _conv_flops(Z.shape, kernel_shape)

    # The loops are slow: one example, one run, scaled to a per-example time.
    A1, dZ1 = A[:1].astype(np.float64), dZ[:1].astype(np.float64)
    W64, b64 = W.astype(np.float64), b.astype(np.float64)

    def ref_fwd_bwd():
        _, c = reference.conv_forward(A1, W64, b64, hp)
        reference.conv_backward(dZ1, c)

    ref_per_example = median_time(ref_fwd_bwd, 1, warmup=0)
    fast_per_example = both / input_shape[0]
    record = {
        "bench": "ops", "case": name, "input": list(input_shape), "kernel": list(kernel_shape),
        "hparameters": hp, "dtype": "float32",
        "fwd_ms": fwd * 1e3, "fwd_bwd_ms": both * 1e3,
        "fwd_gflops": flops / fwd / 1e9, "fwd_bwd_gflops": 3 * flops / both / 1e9,
        "reference_fwd_bwd_ms_per_example": ref_per_example * 1e3,
        "speedup_vs_reference_per_example": ref_per_example / fast_per_example,
    }
    return record, (_torch_conv_time, (A, W, b, cache.geometry.pads, cache.geometry.stride))


def bench_pool(name, input_shape, hp, repeat) -> tuple[dict, tuple]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal(input_shape, dtype=np.float32)
    P, _ = ops.pool_forward(A, hp, "max")
    dP = np.ones_like(P)

    def fwd_bwd():
        _, c = ops.pool_forward(A, hp, "max")
        ops.pool_backward(dP, c, "max")

    fwd = median_time(lambda: ops.pool_forward(A, hp, "max"), repeat)
    both = median_time(fwd_bwd, repeat)

    A1, dP1 = A[:1].astype(np.float64), dP[:1].astype(np.float64)

    def ref_fwd_bwd():
        _, c = reference.pool_forward(A1, hp, "max")
        reference.pool_backward(dP1, c, "max")

    ref_per_example = median_time(ref_fwd_bwd, 1, warmup=0)
    record = {
        "bench": "ops", "case": name, "input": list(input_shape), "hparameters": hp,
        "mode": "max", "dtype": "float32", "fwd_ms": fwd * 1e3, "fwd_bwd_ms": both * 1e3,
        "reference_fwd_bwd_ms_per_example": ref_per_example * 1e3,
        "speedup_vs_reference_per_example": ref_per_example / (both / input_shape[0]),
    }
    return record, (_torch_pool_time, (A, hp["f"], hp["stride"]))


def _torch_conv_pool_time(torch, A, W, b, pads, stride, window, repeat):
    import torch.nn.functional as F

    x = torch.tensor(A.transpose(0, 3, 1, 2).copy())  # the model input: no gradient
    w = torch.tensor(W.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bias = torch.tensor(b.ravel().copy(), requires_grad=True)
    (top, bottom), (left, right) = pads

    def forward():
        return F.max_pool2d(F.conv2d(F.pad(x, (left, right, top, bottom)), w, bias,
                                     stride=stride), window)

    with torch.no_grad():
        dp = torch.ones_like(forward())
    return median_time(lambda: forward().backward(dp), repeat)


def bench_conv_pool(name, input_shape, kernel_shape, hp, window, repeat) -> tuple[dict, tuple]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal(input_shape, dtype=np.float32)
    W = rng.standard_normal(kernel_shape, dtype=np.float32) * 0.1
    b = np.zeros((1, 1, 1, kernel_shape[3]), dtype=np.float32)
    P, cache = conv_max_pool_forward(A, W, b, hp, window)
    dP = np.ones_like(P)

    def fwd_bwd():
        _, c = conv_max_pool_forward(A, W, b, hp, window)
        conv_max_pool_backward(dP, c, compute_dA_prev=False)

    def two_ops():  # the same work as the two separate fast ops
        Z, conv_cache = ops.conv_forward(A, W, b, hp)
        _, pool_cache = ops.pool_forward(Z, {"f": window, "stride": window}, "max")
        ops.conv_backward(ops.pool_backward(dP, pool_cache, "max"), conv_cache,
                          compute_dA_prev=False)

    fwd = median_time(lambda: conv_max_pool_forward(A, W, b, hp, window, keep_winners=False),
                      repeat)
    both = median_time(fwd_bwd, repeat)
    separate = median_time(two_ops, repeat)
    geometry = cache.geometry
    flops = _conv_flops((input_shape[0], *geometry.out_hw, kernel_shape[3]), kernel_shape)
    record = {
        "bench": "ops", "case": name, "input": list(input_shape), "kernel": list(kernel_shape),
        "hparameters": hp, "pool": window, "dtype": "float32",
        "fwd_ms": fwd * 1e3, "fwd_bwd_ms": both * 1e3,
        "fwd_gflops": flops / fwd / 1e9,
        "separate_ops_fwd_bwd_ms": separate * 1e3, "speedup_vs_separate_ops": separate / both,
    }
    return record, (_torch_conv_pool_time, (A, W, b, geometry.pads, geometry.stride, window))


def run(args) -> int:
    torch = torch_or_none()
    emit({"bench": "ops", "machine": machine_info(),
          "torch": getattr(torch, "__version__", None)})
    cases = [bench_conv(name, input_shape, kernel_shape, hp, args.repeat)
             for name, (input_shape, kernel_shape, hp) in CONV_CASES.items()]
    cases += [bench_pool(name, input_shape, hp, args.repeat)
              for name, (input_shape, hp) in POOL_CASES.items()]
    cases += [bench_conv_pool(name, input_shape, kernel_shape, hp, window, args.repeat)
              for name, (input_shape, kernel_shape, hp, window) in CONV_POOL_CASES.items()]
    # The machine's GEMM peak last: OpenBLAS's threads keep spinning after a large
    # multi-threaded GEMM and would slow the kernels timed right after it.
    peak = gemm_gflops()
    for record, _ in cases:
        if "fwd_bwd_gflops" in record:
            record["machine_gemm_gflops"] = peak
            record["fwd_bwd_share_of_gemm_peak"] = record["fwd_bwd_gflops"] / peak
    # PyTorch runs after every convnp timing: its OpenMP threads keep spinning for a while
    # after each call and would otherwise steal the cores from the next convnp case.
    for record, (torch_time, torch_args) in cases:
        if torch is None:
            record["torch"] = "absent"
        else:
            t = torch_time(torch, *torch_args, args.repeat)
            record.update(torch_fwd_bwd_ms=t * 1e3,
                          ratio_to_torch_fwd_bwd=record["fwd_bwd_ms"] / 1e3 / t)
        emit(record)
    return 0
