"""One suite measurement: ``python worker_suite.py FRAMEWORK MODEL REPEAT [--layers N]``.

FRAMEWORK is ``convnp``, ``tensorflow`` (the same Keras code of `suite_models.py`) or
``torch`` (the twins of `suite_torch.py`). Trains one warm-up epoch of the model's
``steps`` batches, then ``REPEAT`` timed epochs; the train-step time is an epoch's time divided
by its steps (median over the epochs). Peak RSS is read right after training; then predict on
the same batches (one warm-up pass, three timed, median), per batch. Prints one JSON object;
``{"status": "skipped", "reason": ...}`` when the framework lacks a layer of the model.

``--layers N`` (convnp only) times instead N training steps call by call: each call of the
model's schedule forward and backward, and the optimizer update, summed per layer kind
(convs by kernel and stride), with the convs' multiply-adds as GFLOP/s and as a share of the
float32 GEMM peak measured afterwards in the same process.

Run as a standalone script (a TensorFlow venv need not have convnp installed).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time

import numpy as np
from suite_models import SEGMENTATION, SPECS, synthetic_batch  # same folder; run as a script


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _result(framework, model, version, epoch_times, predict_times, rss, build_s) -> dict:
    _, _, batch, steps = SPECS[model]
    step_times = [t / steps for t in epoch_times]
    predict_batches = [t / steps for t in predict_times]
    return {
        "framework": framework, "model": model, "status": "ok", "version": version,
        "batch_size": batch, "steps": steps,
        "train_step_s": float(np.median(step_times)), "train_steps_s": step_times,
        "predict_batch_s": float(np.median(predict_batches)),
        "predict_batches_s": predict_batches,
        "peak_rss_mb": rss, "build_s": build_s,
    }


def measure_keras(backend: str, model: str, repeat: int) -> dict:
    from suite_models import build
    from worker_keras import epoch_timer

    tf = importlib.import_module("convnp" if backend == "convnp" else "tensorflow")
    tf.keras.utils.set_random_seed(0)
    x, y = synthetic_batch(model)
    _, _, batch, _ = SPECS[model]
    t0 = time.perf_counter()
    try:
        net = build(tf, model)
    except Exception as err:  # noqa: BLE001 - any missing layer/argument: report, do not fail
        return {"framework": backend, "model": model, "status": "skipped",
                "reason": f"{type(err).__name__}: {err}"}
    build_s = time.perf_counter() - t0
    epoch_times: list[float] = []
    EpochTimer = epoch_timer(tf, epoch_times)
    net.fit(x, y, batch_size=batch, epochs=repeat + 1, verbose=0, shuffle=False,
            callbacks=[EpochTimer()])
    rss = _peak_rss_mb()
    predict_times = []
    for _ in range(4):
        t0 = time.perf_counter()
        net.predict(x, batch_size=batch, verbose=0)
        predict_times.append(time.perf_counter() - t0)
    return _result(backend, model, getattr(tf, "__version__", "?"), epoch_times[1:],
                   predict_times[1:], rss, build_s)


def measure_torch(model: str, repeat: int) -> dict:
    import os

    import torch
    from suite_torch import build

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    x_np, y_np = synthetic_batch(model)
    _, classes, batch, _steps = SPECS[model]
    # channels last to channels first, for images (NCHW) and volumes (NCDHW) alike
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x_np, -1, 1)))
    if model in SEGMENTATION:
        y = torch.from_numpy(y_np[..., 0])
    elif classes == 2:
        y = torch.from_numpy(y_np)
    else:
        y = torch.from_numpy(y_np.argmax(1))
    t0 = time.perf_counter()
    net, loss_fn = build(torch, model)
    build_s = time.perf_counter() - t0
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    epoch_times = []
    net.train()
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        for begin in range(0, len(x), batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[begin:begin + batch]), y[begin:begin + batch])
            loss.backward()
            opt.step()
        epoch_times.append(time.perf_counter() - t0)
    rss = _peak_rss_mb()
    predict_times = []
    net.eval()
    with torch.no_grad():
        for _ in range(4):
            t0 = time.perf_counter()
            for begin in range(0, len(x), batch):
                net(x[begin:begin + batch])
            predict_times.append(time.perf_counter() - t0)
    return _result("torch", model, torch.__version__, epoch_times[1:], predict_times[1:], rss,
                   build_s)


# -- per-layer profile (convnp) ----------------------------------------------------------------


def layer_kind(layer) -> str:
    """A call's row in the profile: the class name, convs by kernel and stride
    (``Conv2D 3x3``, ``Conv2D 1x1/2``), fused calls by their layers joined with ``+``."""
    members = getattr(layer, "members", None)
    if members is not None:  # a fused call: name it by its layers
        return "+".join(layer_kind(member) for member in members)
    name = type(layer).__name__
    kernel = getattr(layer, "kernel_size", None)
    if kernel is not None and hasattr(layer, "strides"):
        name += " " + "x".join(str(k) for k in kernel)
        if any(s != 1 for s in layer.strides):
            name += f"/{layer.strides[0]}"
    return name


# The plain convs whose multiply-adds the profile counts (1-, 2- and 3-D).
COUNTED_CONVS = ("Conv1D", "Conv2D", "Conv3D")


def conv_macs(layer, inputs) -> int:
    """Multiply-adds of a plain conv's forward pass on ``inputs`` (0 for other calls): one
    per kernel tap and input channel (of its group) for each output value."""
    conv = getattr(layer, "conv", layer)
    if type(conv).__name__ not in COUNTED_CONVS:
        return 0
    out = conv.compute_output_shape(np.shape(inputs))
    taps_and_channels = conv.kernel.value.shape[:-1]  # (*window, input channels per group)
    return int(np.prod(out)) * int(np.prod(taps_and_channels))


class LayerTimer:
    """Wraps the ``call``/``backward`` of every call of a model's schedule (and the optimizer
    update) to add up wall time and conv GFLOP per layer kind."""

    def __init__(self):
        self.rows: dict[str, dict] = {}

    def row(self, kind: str) -> dict:
        return self.rows.setdefault(kind, {"kind": kind, "calls": 0, "forward_s": 0.0,
                                           "backward_s": 0.0, "gflop": 0.0})

    def instrument(self, layer) -> None:
        kind, call, backward = layer_kind(layer), layer.call, layer.backward
        # a fused conv + pool computes its weight gradient at the pool's winners only: its
        # backward multiply-adds are not the dense conv's, so only its forward is counted
        fused = hasattr(layer, "first")
        macs = [0]

        def timed_call(inputs, training=False):
            macs[0] = conv_macs(layer, inputs)
            t0 = time.perf_counter()
            out = call(inputs, training=training)
            r = self.row(kind)
            r["forward_s"] += time.perf_counter() - t0
            r["calls"] += 1
            r["gflop"] += 2 * macs[0] / 1e9
            return out

        def timed_backward(dy):
            t0 = time.perf_counter()
            dx = backward(dy)
            r = self.row(kind)
            r["backward_s"] += time.perf_counter() - t0
            if not fused:
                r["gflop"] += 2 * macs[0] * (2 if layer.needs_input_gradient else 1) / 1e9
            return dx

        layer.call, layer.backward = timed_call, timed_backward

    def instrument_node(self, node) -> None:
        """Time a call the model runs through a template (a layer called with several
        tensor arguments, as MultiHeadAttention's ``(query, value)``): its ``run`` reaches
        the layer's call without ``layer.call``."""
        kind, run = layer_kind(node.layer), node.run

        def timed_run(arg, training, masks=None):
            t0 = time.perf_counter()
            out = run(arg, training, masks)
            r = self.row(kind)
            r["forward_s"] += time.perf_counter() - t0
            r["calls"] += 1
            return out

        node.run = timed_run

    def instrument_optimizer(self, optimizer) -> None:
        apply = optimizer._apply_pairs  # what fit's step calls

        def timed_apply(pairs):
            t0 = time.perf_counter()
            out = apply(pairs)
            r = self.row("optimizer update")
            r["backward_s"] += time.perf_counter() - t0
            r["calls"] += 1
            return out

        optimizer._apply_pairs = timed_apply

    def table(self, steps: int, step_total_s: float, peak_gflops: float) -> list[dict]:
        """Per kind and per step: calls, forward/backward ms, share of the step, GFLOP/s of
        the convs' multiply-adds and their share of ``peak_gflops``; slowest kind first."""
        out = []
        for r in sorted(self.rows.values(), key=lambda r: -(r["forward_s"] + r["backward_s"])):
            seconds = r["forward_s"] + r["backward_s"]
            gflops = r["gflop"] / seconds if r["gflop"] and seconds else None
            out.append({"kind": r["kind"], "calls": r["calls"] // steps,
                        "forward_ms": 1e3 * r["forward_s"] / steps,
                        "backward_ms": 1e3 * r["backward_s"] / steps,
                        "share": seconds / step_total_s if step_total_s else None,
                        "gflops": gflops,
                        "peak_share": gflops / peak_gflops if gflops else None})
        return out


def profile_layers(model: str, steps: int) -> dict:
    """Per-layer-kind times of ``steps`` convnp training steps on one batch (see the module
    docstring)."""
    from suite_models import build

    import convnp as tf
    from convnp.bench.common import gemm_gflops

    tf.keras.utils.set_random_seed(0)
    x, y = synthetic_batch(model)
    _, _, batch, _ = SPECS[model]
    try:
        net = build(tf, model)
    except Exception as err:  # noqa: BLE001 - reported like the timed workers do
        return {"framework": "convnp", "model": model, "status": "skipped",
                "reason": f"{type(err).__name__}: {err}"}
    xb, yb = x[:batch], y[:batch]
    # The first step builds and plans the backward pass; the second still runs 1.4x slower
    # (ResNet-50: 463 against 330 ms, its batch norms 6x: new memory touched for the first
    # time, the optimizer's slots among it), so both are left out of the timing.
    for _ in range(2):
        net.train_on_batch(xb, yb)
    timer = LayerTimer()
    for node in net._graph.schedule:
        timer.instrument(node.layer)
        if node.template is not None:
            timer.instrument_node(node)
    timer.instrument_optimizer(net.optimizer)
    step_times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        net.train_on_batch(xb, yb)
        step_times.append(time.perf_counter() - t0)
    peak = gemm_gflops()  # after the steps: OpenBLAS's spinning threads would slow them
    return {"framework": "convnp", "model": model, "status": "ok",
            "layers": timer.table(steps, sum(step_times), peak),
            "step_ms": 1e3 * float(np.median(step_times)), "sgemm_peak_gflops": peak}


if __name__ == "__main__":
    framework, model, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if "--layers" in sys.argv[4:]:
        result = profile_layers(model, repeat)
    elif framework == "torch":
        result = measure_torch(model, repeat)
    else:
        result = measure_keras(framework, model, repeat)
    print(json.dumps(result))
