"""``python -m convnp.bench suite``: train-step and predict times of a set of CNNs, convnp
against PyTorch and TensorFlow-Keras.

The models (`suite_models.py`, PyTorch twins in `suite_torch.py`): the keras.io MNIST convnet
(batch 128), a CIFAR VGG of three (conv-BN-ReLU x2, pool) stages (64), the course's ResNet-50
at 64x64 (32), MobileNetV2 at 96x96 (32), the course's U-Net at 96x128 (4), and the notes'
happy (16) and SIGNS (64) models, and a small C3D-style video net on 16x32x32 clips (8).
A model whose layers convnp lacks is reported as ``skipped`` (with the reason) and its peers
are not run.

Every measurement is a fresh subprocess (`worker_suite.py`). Per model the frameworks run in
``--rounds`` interleaved rounds (convnp, torch, tensorflow, then again), each timing
``--repeat`` epochs of the model's steps after a warm-up epoch. Records: ``train_step_s`` and
``predict_batch_s`` (median over rounds, per-round values in ``rounds``) and ``peak_rss_mb``
(the worker's peak RSS after training, median over rounds). Ratios convnp / peer are the
median over rounds of the ratio *within* a round: the shared machine drifts by tens of
percent over minutes, much less between two workers of one round.

``--layers`` adds, per model, convnp's per-layer profile (`worker_suite.profile_layers`):
forward and backward ms per layer kind per step, share of the step, and the convs' GFLOP/s
against the float32 GEMM peak measured in the same process.

Output: JSON lines (`emit`; ``--json FILE`` also writes them to FILE atomically), then
markdown tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from convnp._files import atomic_write
from convnp.bench.common import emit, machine_info
from convnp.bench.peers import (
    HERE,
    INSTALL,
    _available,
    _worker_env,
    ratio_cells,
)
from convnp.bench.suite_models import MODELS

FRAMEWORKS = ("convnp", "torch", "tensorflow")
PEERS = ("torch", "tensorflow")
METRICS = ("train_step_s", "predict_batch_s", "peak_rss_mb")


def run_worker(command: list[str]) -> dict:
    """One worker's JSON result; ``{"status": "failed", "error": ...}`` when it crashes."""
    result = subprocess.run(command, capture_output=True, text=True, env=_worker_env(),
                            check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return {"status": "failed", "error": result.stderr[-1500:]}
    return json.loads(lines[-1])


def worker_command(python: str, framework: str, model: str, repeat: int,
                   layers: bool = False) -> list[str]:
    command = [python, str(HERE / "worker_suite.py"), framework, model, str(repeat)]
    return command + ["--layers"] if layers else command


def model_records(model: str, results: dict[str, list[dict]]) -> list[dict]:
    """The records of one model from each framework's per-round worker results: a status
    record for a framework that skipped or failed, else one record per metric (the median
    over rounds as ``value``, per-round values as ``rounds``)."""
    records = []
    for framework, rounds in results.items():
        bad = next((r for r in rounds if r.get("status") != "ok"), None)
        if bad is not None:
            records.append({"framework": framework, "model": model, "status": bad["status"],
                            "reason": bad.get("reason") or bad.get("error", "")[-300:]})
            continue
        for metric in METRICS:
            values = [r[metric] for r in rounds]
            records.append({"framework": framework, "model": model, "metric": metric,
                            "value": statistics.median(values), "rounds": values,
                            "version": rounds[0].get("version"),
                            "batch_size": rounds[0].get("batch_size")})
    return records


def measure_model(pythons: dict[str, str], model: str, repeat: int,
                  rounds: int) -> list[dict]:
    """Interleaved rounds of every framework in ``pythons`` on ``model``. convnp runs first;
    when it skips the model (missing layers) the peers are not run."""
    results: dict[str, list[dict]] = {name: [] for name in pythons}
    for _ in range(rounds):
        for name, python in pythons.items():
            result = run_worker(worker_command(python, name, model, repeat))
            results[name].append(result)
            if name == "convnp" and result.get("status") == "skipped":
                return model_records(model, {"convnp": [result]})
    return model_records(model, results)


def run(args: argparse.Namespace) -> int:
    models = parse_models(getattr(args, "models", None))
    tf_python = getattr(args, "tf_python", None) or sys.executable
    candidates = {"convnp": (sys.executable, "convnp"), "torch": (sys.executable, "torch"),
                  "tensorflow": (tf_python, "tensorflow")}
    emit({"bench": "suite", "machine": machine_info(), "repeat": args.repeat,
          "rounds": args.rounds, "models": list(models)})
    records: list[dict] = []

    def record(item: dict) -> None:
        item = {"bench": "suite", **item}
        records.append(item)
        emit(item)

    pythons: dict[str, str] = {}
    for name, (python, module) in candidates.items():
        if name != "convnp" and not _available(python, module):
            record({"framework": name, "status": "absent", "install": INSTALL.get(name)})
            continue
        pythons[name] = python
    for model in models:
        for item in measure_model(pythons, model, args.repeat, args.rounds):
            record(item)
        if args.layers:
            profile = run_worker(worker_command(sys.executable, "convnp", model,
                                                args.layer_steps, layers=True))
            record({"framework": "convnp", "model": model, "metric": "layers", **profile})

    print(ratio_table(records))
    for r in records:
        if r.get("metric") == "layers" and r.get("status") == "ok":
            print()
            print(layer_table(r))
    if args.json:
        atomic_write(args.json, lambda f: f.write(
            "".join(json.dumps(r) + "\n" for r in records)), text=True)
    return 0


def parse_models(text: str | None) -> tuple[str, ...]:
    """The ``--models`` list (comma-separated), all models by default."""
    if not text:
        return MODELS
    chosen = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in chosen if m not in MODELS]
    if unknown or not chosen:
        raise ValueError(f"--models: expected names from {', '.join(MODELS)}, got {text!r}")
    return chosen


def ratio_table(records: list[dict]) -> str:
    """Markdown: per model, each framework's train step and predict batch time (ms, medians
    over rounds), peak RSS (MB), and convnp / peer ratios (median of within-round ratios)."""
    found: dict[tuple[str, str, str], dict] = {}
    status: dict[tuple[str, str], str] = {}
    for r in records:
        if r.get("metric") in METRICS:
            found[(r["model"], r["metric"], r["framework"])] = r
        elif "model" in r and r.get("status") in ("skipped", "failed"):
            status[(r["model"], r["framework"])] = r["status"]
    rows = [("convnp / peer: median over rounds of the ratio within each round; times are "
            "medians over rounds (ms), RSS in MB."), "",
            "| model | metric | convnp | torch | tensorflow | convnp/torch | convnp/tensorflow |",
            "|---|---|---|---|---|---|---|"]
    models = list(dict.fromkeys(r["model"] for r in records if "model" in r))
    for model in models:
        if status.get((model, "convnp")):
            rows.append(f"| {model} | {status[(model, 'convnp')]} | | | | | |")
            continue
        for metric in METRICS:
            scale = 1.0 if metric == "peak_rss_mb" else 1e3
            cells = []
            for fw in FRAMEWORKS:
                r = found.get((model, metric, fw))
                cells.append(f"{r['value'] * scale:.1f}" if r else
                             status.get((model, fw), "absent"))
            ratios = ratio_cells(found.get((model, metric, "convnp")),
                                 [found.get((model, metric, peer)) for peer in PEERS], "-")
            name = metric.removesuffix("_s").removesuffix("_mb")
            rows.append(f"| {model} | {name} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    return "\n".join(rows)


def layer_table(record: dict) -> str:
    """Markdown: one model's per-layer-kind profile (a ``layers`` record)."""
    rows = [(f"{record['model']}: convnp training step {record['step_ms']:.1f} ms; float32 "
            f"GEMM peak {record['sgemm_peak_gflops']:.0f} GFLOP/s"), "",
            ("| layer kind | calls | forward ms | backward ms | share of step | GFLOP/s "
            "| share of peak |"), "|---|---|---|---|---|---|---|"]
    for r in record["layers"]:
        gflops = "-" if r["gflops"] is None else f"{r['gflops']:.0f}"
        peak = "-" if r["peak_share"] is None else f"{r['peak_share']:.2f}"
        share = "-" if r["share"] is None else f"{r['share']:.2f}"
        rows.append(f"| {r['kind']} | {r['calls']} | {r['forward_ms']:.2f} | "
                    f"{r['backward_ms']:.2f} | {share} | {gflops} | {peak} |")
    return "\n".join(rows)
