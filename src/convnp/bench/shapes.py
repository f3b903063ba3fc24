"""``python -m convnp.bench shapes``: the suite's conv layers one by one against PyTorch.

The suite (`convnp.bench.suite`) times whole models. When a model is slower than its PyTorch
twin, this says which of its conv layers are: each case is one conv of a suite model (3x3
convs of the U-Net, VGG and ResNet-50, ResNet-50's 1x1 convs, c3d's 3-D convs, the
depthwise convs of MobileNetV2 and ConvMixer), timed forward alone (what predict runs) and
forward + backward (a training step), in convnp's kernels and in PyTorch, in the same
process, on the same numbers. Before timing, each case checks that both compute the same
conv (``max_rel_diff``: the largest difference of the two forward outputs over the largest
output).

Rounds interleave: a round times every case in convnp, then every case in PyTorch (PyTorch's
OpenMP threads spin for a while after a call and would slow a convnp call right after it).
Within a round a time is the best of ``repeat`` calls; a record gives the best over rounds
and, as ``*_ratio``, the median over rounds of the within-round ratio convnp / PyTorch.
convnp runs in one `parallel_region`, as inside `fit` and `predict`. Without PyTorch only
convnp's times are given (``"torch": "absent"``).

Output: one JSON line per case (``--json FILE`` also writes them to FILE atomically), then a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from convnp._files import atomic_write
from convnp.bench.common import emit, machine_info, torch_or_none


@dataclass(frozen=True)
class Case:
    """One conv layer: ``kind`` is ``"conv2d"``, ``"conv3d"`` or ``"depthwise"``; ``shape``
    the channels-last input; ``kernel`` the window's side; ``filters`` the output channels
    (a depthwise conv keeps its channels); all with "same" padding. ``first``: the model's
    first layer, whose input gradient neither framework computes. Kind ``"gelu"`` is the
    exact GELU activation on ``shape`` instead (no window: ``kernel`` 0), the other half of
    ConvMixer's step."""

    kind: str
    shape: tuple[int, ...]
    kernel: int
    filters: int = 0
    stride: int = 1
    first: bool = False


CASES = {
    "unet_3x3_32": Case("conv2d", (4, 96, 128, 32), 3, 32),
    "unet_3x3_128": Case("conv2d", (4, 24, 32, 128), 3, 128),
    "unet_3x3_512": Case("conv2d", (4, 6, 8, 512), 3, 512),
    "vgg_3x3_64": Case("conv2d", (64, 16, 16, 64), 3, 64),
    "resnet50_3x3_128": Case("conv2d", (32, 8, 8, 128), 3, 128),
    "resnet50_1x1_256_64": Case("conv2d", (32, 15, 15, 256), 1, 64),
    "resnet50_1x1_64_256": Case("conv2d", (32, 15, 15, 64), 1, 256),
    "c3d_conv1": Case("conv3d", (8, 16, 32, 32, 3), 3, 16, first=True),
    "c3d_conv2": Case("conv3d", (8, 16, 16, 16, 16), 3, 32),
    "mobilenetv2_dw_144": Case("depthwise", (32, 24, 24, 144), 3),
    "mobilenetv2_dw_96_s2": Case("depthwise", (32, 48, 48, 96), 3, stride=2),
    "convmixer_dw_5x5": Case("depthwise", (32, 16, 16, 64), 5),
    "convmixer_gelu": Case("gelu", (32, 16, 16, 64), 0),
}


class _Timed(NamedTuple):
    """A case ready to time: its record so far, convnp's and PyTorch's ``(forward,
    forward_and_backward)`` (PyTorch's None when absent) and the forward's FLOPs."""

    record: dict
    convnp: tuple
    torch: tuple | None
    flops: float


def parse_cases(text: str | None) -> tuple[str, ...]:
    """The ``--cases`` list (comma-separated), every case by default."""
    if not text:
        return tuple(CASES)
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in CASES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected names from {', '.join(CASES)}, got {text!r}")
    return chosen


def _channels(case: Case) -> tuple[int, int]:
    """(input channels, output channels)."""
    c_in = case.shape[-1]
    return c_in, (c_in if case.kind in ("depthwise", "gelu") else case.filters)


def _weights(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """convnp's kernel (channels last, Keras's layout) and bias."""
    c_in, c_out = _channels(case)
    if case.kind == "gelu":  # no weights
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    spatial = (case.kernel,) * (len(case.shape) - 2)
    last = (c_in, 1) if case.kind == "depthwise" else (c_in, c_out)
    fan_in = math.prod(spatial) * (1 if case.kind == "depthwise" else c_in)
    W = rng.standard_normal((*spatial, *last), dtype=np.float32)
    W *= np.float32(1 / math.sqrt(fan_in))  # outputs of about unit size
    return W, rng.standard_normal(c_out, dtype=np.float32)


def _flops(case: Case, out_shape: tuple[int, ...]) -> float:
    """Multiply-adds of the forward, 2 FLOPs each (none for an activation)."""
    if case.kind == "gelu":
        return 0.0
    taps = case.kernel ** (len(case.shape) - 2)
    per_output = taps * (1 if case.kind == "depthwise" else case.shape[-1])
    return 2.0 * math.prod(out_shape) * per_output


def convnp_calls(case: Case, A: np.ndarray, W: np.ndarray, b: np.ndarray):
    """``(forward, forward_and_backward)`` with convnp's kernels; forward returns the output."""
    from convnp import ops
    from convnp.ops import conv3d, depthwise

    if case.kind == "conv2d":
        hp = {"stride": case.stride, "pad": "same"}

        def forward():
            return ops.conv_forward(A, W, b.reshape(1, 1, 1, -1), hp)

        def backward(dZ, cache):
            return ops.conv_backward(dZ, cache, compute_dA_prev=not case.first)
    elif case.kind == "conv3d":
        def forward():
            return conv3d.conv3d_forward(A, W, b, strides=case.stride, padding="same")

        def backward(dZ, cache):
            return conv3d.conv3d_backward(dZ, cache, compute_dA_prev=not case.first)
    elif case.kind == "gelu":  # what Activation("gelu") runs forward and backward
        from convnp.activations import get

        gelu = get("gelu")

        def forward():
            out = gelu.forward(A)
            return out, out

        def backward(dZ, out):
            return gelu.backward(dZ, A, out)
    else:
        hp = {"stride": case.stride, "pad": "same"}

        def forward():
            return depthwise.depthwise_conv_forward(A, W, b.reshape(1, 1, 1, -1), hp)

        def backward(dZ, cache):
            return depthwise.depthwise_conv_backward(dZ, cache, compute_dA_prev=not case.first)

    Z, _ = forward()
    dZ = np.ones_like(Z)

    def both():
        _, cache = forward()
        backward(dZ, cache)

    return (lambda: forward()[0]), both


def torch_calls(torch, case: Case, A: np.ndarray, W: np.ndarray, b: np.ndarray):
    """``(forward, forward_and_backward)`` of the same conv in PyTorch (channels first);
    forward returns the output as a channels-last NumPy array."""
    functional = torch.nn.functional
    rank = len(case.shape) - 2
    to_first = (0, rank + 1, *range(1, rank + 1))
    x = torch.from_numpy(np.ascontiguousarray(A.transpose(to_first)))
    x.requires_grad_(not case.first)
    if case.kind == "gelu":
        return _torch_gelu(torch, x, rank)
    if case.kind == "depthwise":  # (f, f, C, 1) -> (C, 1, f, f)
        first_layout = W.transpose(2, 3, 0, 1)
    else:  # (..., c_in, c_out) -> (c_out, c_in, ...)
        first_layout = W.transpose(rank + 1, rank, *range(rank))
    weight = torch.from_numpy(np.ascontiguousarray(first_layout)).requires_grad_(True)
    bias = torch.from_numpy(b.copy()).requires_grad_(True)
    conv = functional.conv3d if case.kind == "conv3d" else functional.conv2d
    groups = case.shape[-1] if case.kind == "depthwise" else 1
    pad = case.kernel // 2

    def run():
        return conv(x, weight, bias, stride=case.stride, padding=pad, groups=groups)

    with torch.no_grad():
        grad = torch.ones_like(run())

    def forward():
        with torch.no_grad():
            out = run()
        return out.numpy().transpose((0, *range(2, rank + 2), 1))

    return forward, (lambda: run().backward(grad))


def _torch_gelu(torch, x, rank: int):
    """`torch_calls` for the exact GELU (``approximate="none"``, Keras's default)."""
    with torch.no_grad():
        grad = torch.ones_like(x)

    def forward():
        with torch.no_grad():
            out = torch.nn.functional.gelu(x)
        return out.numpy().transpose((0, *range(2, rank + 2), 1))

    return forward, (lambda: torch.nn.functional.gelu(x).backward(grad))


def best_time(fn: Callable[[], object], repeat: int,
              clock: Callable[[], float] = time.perf_counter) -> float:
    """The shortest of ``repeat`` timed calls of ``fn`` after one warm-up call (seconds)."""
    fn()
    best = math.inf
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def _time_round(times: dict, framework: str, calls: tuple, repeat: int) -> None:
    """One round of a case in one framework: the best forward and forward+backward times."""
    forward, both = calls
    times.setdefault(f"{framework}_fwd", []).append(best_time(forward, repeat))
    times.setdefault(f"{framework}_fwd_bwd", []).append(best_time(both, repeat))


def _same_output(convnp_out: np.ndarray, torch_out: np.ndarray) -> float:
    """The largest difference of the two outputs over the largest output. (Only at stride 1:
    with a stride, Keras's "same" pads more after than before, PyTorch's padding evenly.)"""
    if convnp_out.shape != torch_out.shape:
        raise ValueError(f"shapes: convnp gave {convnp_out.shape}, PyTorch {torch_out.shape}")
    scale = float(np.abs(torch_out).max()) or 1.0
    return float(np.abs(convnp_out - torch_out).max()) / scale


def run(args: argparse.Namespace) -> int:
    from convnp.ops.threads import parallel_region

    names = args.cases if args.cases else tuple(CASES)
    torch = torch_or_none()
    emit({"bench": "shapes", "machine": machine_info(), "repeat": args.repeat,
          "rounds": args.rounds, "torch": getattr(torch, "__version__", None)})
    rng = np.random.default_rng(0)
    timed = {}
    for name in names:
        case = CASES[name]
        A = rng.standard_normal(case.shape, dtype=np.float32)
        W, b = _weights(case, rng)
        forward, both = convnp_calls(case, A, W, b)
        out = forward()
        record = {"bench": "shapes", "case": name, "kind": case.kind, "input": list(case.shape),
                  "kernel": case.kernel, "filters": _channels(case)[1], "stride": case.stride,
                  "input_gradient": not case.first}
        peer = None
        if torch is not None:
            peer = torch_calls(torch, case, A, W, b)
            if case.stride == 1:
                record["max_rel_diff"] = _same_output(out, peer[0]())
        timed[name] = _Timed(record, (forward, both), peer, _flops(case, out.shape))

    rounds: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for _ in range(args.rounds):
        with parallel_region():
            for name in names:
                _time_round(rounds[name], "convnp", timed[name].convnp, args.repeat)
        for name in names:
            if timed[name].torch is not None:
                _time_round(rounds[name], "torch", timed[name].torch, args.repeat)

    records = []
    for name in names:
        record, times = timed[name].record, rounds[name]
        for key, values in times.items():
            record[f"{key}_ms"] = min(values) * 1e3
        if timed[name].flops:
            record["convnp_fwd_gflops"] = timed[name].flops / min(times["convnp_fwd"]) / 1e9
        if timed[name].torch is None:
            record["torch"] = "absent"
        else:
            for what in ("fwd", "fwd_bwd"):
                record[f"{what}_ratio"] = statistics.median(
                    c / t for c, t in zip(times[f"convnp_{what}"], times[f"torch_{what}"]))
        record["rounds_ms"] = {key: [v * 1e3 for v in values] for key, values in times.items()}
        records.append(record)
        emit(record)
    print(table(records))
    if args.json:
        atomic_write(args.json, lambda f: f.write(
            "".join(json.dumps(r) + "\n" for r in records)), text=True)
    return 0


def table(records: list[dict]) -> str:
    """Markdown: per case, best times (ms) and the median within-round ratios."""
    rows = [("convnp / torch: median over rounds of the ratio within each round; times are "
             "the best over rounds (ms)."), "",
            ("| case | kind | input | convnp fwd | torch fwd | ratio | convnp fwd+bwd | "
             "torch fwd+bwd | ratio | convnp GFLOP/s |"),
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        cells = [_cell(r, key) for key in ("convnp_fwd_ms", "torch_fwd_ms", "fwd_ratio",
                                           "convnp_fwd_bwd_ms", "torch_fwd_bwd_ms",
                                           "fwd_bwd_ratio")]
        shape = "x".join(str(n) for n in r["input"])
        rows.append(f"| {r['case']} | {r['kind']} | {shape} | {' | '.join(cells)} | "
                    f"{_cell(r, 'convnp_fwd_gflops', 0)} |")
    return "\n".join(rows)


def _cell(record: dict, key: str, digits: int = 2) -> str:
    return f"{record[key]:.{digits}f}" if key in record else "-"
