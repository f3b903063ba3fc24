"""``python -m convnp.bench peers``: convnp against PyTorch and TensorFlow-Keras.

Every measurement runs in a fresh subprocess (a standalone worker script in this folder), so
imports, memory and threads of one framework never affect another. For each spec model, on
the same synthetic data and batch sizes: the median epoch time of `fit` over ``--repeat``
epochs (after one warm-up epoch), `predict` time for the whole set, and peak RSS of a fresh
process that imports the framework and trains one epoch. Also the import time of each
framework in a fresh interpreter. Prints one JSON line per measurement, then a markdown table
of ratios convnp / peer. A peer that is not installed is reported as absent.

Peers: ``pip install torch==2.13.0`` (PyTorch, CPU build) and ``pip install tensorflow-cpu``
(TensorFlow-Keras, possibly in another venv: pass its interpreter with ``--tf-python``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from convnp.bench.common import emit, machine_info

HERE = Path(__file__).resolve().parent
MODELS = ("happy", "signs")


def _available(python: str, module: str) -> bool:
    result = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
    return result.returncode == 0


def _worker_env() -> dict:
    env = dict(os.environ)
    # The workers import each other by file name and convnp from wherever it is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run_worker(command: list[str]) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, env=_worker_env(),
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"worker {command} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _import_time(python: str, module: str, repeat: int) -> float:
    code = (f"import time; t = time.perf_counter(); import {module}; "
            f"print(time.perf_counter() - t)")
    times = []
    for _ in range(repeat):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                             env=_worker_env(), check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _worker_command(framework: str, python: str, model: str, epochs: int) -> list[str]:
    if framework == "torch":
        return [python, str(HERE / "worker_torch.py"), model, str(epochs)]
    return [python, str(HERE / "worker_keras.py"), framework, model, str(epochs)]


def run(args) -> int:
    tf_python = getattr(args, "tf_python", None) or sys.executable
    frameworks = {
        "convnp": (sys.executable, "convnp"),
        "torch": (sys.executable, "torch"),
        "tensorflow": (tf_python, "tensorflow"),
    }
    emit({"bench": "peers", "machine": machine_info(), "repeat": args.repeat})
    records: list[dict] = []

    def record(item: dict) -> None:
        item = {"bench": "peers", **item}
        records.append(item)
        emit(item)

    present = {}
    for name, (python, module) in frameworks.items():
        present[name] = _available(python, module)
        if not present[name]:
            record({"framework": name, "status": "absent",
                    "install": "pip install torch==2.13.0" if name == "torch"
                    else "pip install tensorflow-cpu"})
            continue
        record({"framework": name, "metric": "import_s",
                "value": _import_time(python, module, max(3, args.repeat))})

    for model in MODELS:
        for name, (python, _) in frameworks.items():
            if not present[name]:
                continue
            timed = _run_worker(_worker_command(name, python, model, args.repeat))
            record({"framework": name, "model": model, "metric": "epoch_s",
                    "value": timed["epoch_median_s"], "epochs": timed["epoch_seconds"],
                    "version": timed["version"]})
            record({"framework": name, "model": model, "metric": "predict_s",
                    "value": timed["predict_median_s"], "images": timed["images"]})
            one_epoch = _run_worker(_worker_command(name, python, model, 0))
            record({"framework": name, "model": model, "metric": "peak_rss_mb",
                    "value": one_epoch["peak_rss_mb"]})

    table = ratio_table(records)
    print(table)
    if args.json:
        tmp = Path(args.json).with_suffix(".tmp")
        tmp.write_text("\n".join(json.dumps(r) for r in records) + "\n")
        os.replace(tmp, args.json)
    return 0


def ratio_table(records: list[dict]) -> str:
    """Markdown table: each metric for each framework, and convnp / peer ratios."""
    values: dict[tuple, float] = {}
    for r in records:
        if "metric" in r:
            values[(r["metric"], r.get("model", "-"), r["framework"])] = r["value"]
    rows = ["| metric | model | convnp | torch | tensorflow | convnp/torch | convnp/tensorflow |",
            "|---|---|---|---|---|---|---|"]
    keys = sorted({(metric, model) for metric, model, _ in values})
    for metric, model in keys:
        mine = values.get((metric, model, "convnp"))
        cells = []
        for peer in ("torch", "tensorflow"):
            theirs = values.get((metric, model, peer))
            cells.append(f"{mine / theirs:.2f}" if mine and theirs else "absent")
        fmt = [f"{values[(metric, model, fw)]:.3f}" if (metric, model, fw) in values
               else "absent" for fw in ("convnp", "torch", "tensorflow")]
        rows.append(f"| {metric} | {model} | {' | '.join(fmt)} | {' | '.join(cells)} |")
    return "\n".join(rows)
