"""``python -m convnp.bench peers``: convnp against PyTorch and TensorFlow-Keras.

Every measurement runs in a fresh subprocess (a standalone worker script in this folder), so
imports, memory and threads of one framework never affect another. For each spec model, on
the same synthetic data and batch sizes: the median epoch time of `fit` over ``--repeat``
epochs (after one warm-up epoch), `predict` time for the whole set, and peak RSS of a fresh
process that imports the framework and trains one epoch. Also the import time of each
framework in a fresh interpreter. A peer that is not installed is reported as absent.

The machine is a shared VM whose speed drifts by tens of percent over minutes, so the timed
workers run in ``--rounds`` interleaved rounds per model (round 1: convnp, torch, tensorflow;
round 2: the same again; ...), each worker a fresh process. The epoch and predict times
reported are the median over rounds of each round's value, and the table's ratio convnp / peer
for them is the median over rounds of the ratio taken *within* a round, where both frameworks
ran minutes apart at most. Import time and peak RSS barely drift and are measured once.

Output: one JSON line per measurement (`emit`), then a markdown table of ratios convnp / peer.
Each record has ``bench``, ``framework``, ``metric`` and ``value`` (plus ``model`` for the
per-model metrics). The ``epoch_s`` and ``predict_s`` records also carry ``rounds``, the
per-round values in round order; ``epoch_s`` carries ``epochs``, the individual epoch times of
all rounds concatenated, and ``epochs_by_round``, the same split by round. ``--json FILE``
writes the records (without the machine header) to FILE, atomically.

Peers: ``pip install torch==2.13.0`` (PyTorch, CPU build) and ``pip install tensorflow-cpu``
(TensorFlow-Keras, possibly in another venv: pass its interpreter with ``--tf-python``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from convnp.bench.common import emit, machine_info
from convnp.io._files import atomic_write

HERE = Path(__file__).resolve().parent
MODELS = ("happy", "signs")
FRAMEWORKS = ("convnp", "torch", "tensorflow")
PEERS = ("torch", "tensorflow")
INSTALL = {"convnp": "pip install -e .", "torch": "pip install torch==2.13.0",
           "tensorflow": "pip install tensorflow-cpu"}

RATIO_CAPTION = (
    "convnp / peer ratios: for epoch_s and predict_s, the median over rounds of the ratio "
    "taken within each round (not the ratio of the medians shown); import_s and peak_rss_mb "
    "are measured once."
)


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


def timed_rounds(pythons: dict[str, str], model: str, epochs: int,
                 rounds: int) -> dict[str, list[dict]]:
    """The timed worker results of each framework in ``pythons`` (name -> interpreter), one
    per round. The rounds are interleaved: every framework runs once, in the order of
    ``pythons``, before any of them runs again."""
    results: dict[str, list[dict]] = {name: [] for name in pythons}
    for _ in range(rounds):
        for name, python in pythons.items():
            results[name].append(_run_worker(_worker_command(name, python, model, epochs)))
    return results


def round_records(framework: str, model: str, timed: list[dict]) -> list[dict]:
    """The ``epoch_s`` and ``predict_s`` records of one framework from its per-round worker
    results: the median over rounds as ``value``, the per-round values as ``rounds``."""
    epoch_rounds = [t["epoch_median_s"] for t in timed]
    predict_rounds = [t["predict_median_s"] for t in timed]
    return [
        {"framework": framework, "model": model, "metric": "epoch_s",
         "value": statistics.median(epoch_rounds), "rounds": epoch_rounds,
         "epochs": [s for t in timed for s in t["epoch_seconds"]],
         "epochs_by_round": [t["epoch_seconds"] for t in timed],
         "version": timed[0]["version"]},
        {"framework": framework, "model": model, "metric": "predict_s",
         "value": statistics.median(predict_rounds), "rounds": predict_rounds,
         "images": timed[0]["images"]},
    ]


def run(args: argparse.Namespace) -> int:
    tf_python = getattr(args, "tf_python", None) or sys.executable
    frameworks = {
        "convnp": (sys.executable, "convnp"),
        "torch": (sys.executable, "torch"),
        "tensorflow": (tf_python, "tensorflow"),
    }
    emit({"bench": "peers", "machine": machine_info(), "repeat": args.repeat,
          "rounds": args.rounds})
    records: list[dict] = []

    def record(item: dict) -> None:
        item = {"bench": "peers", **item}
        records.append(item)
        emit(item)

    present: dict[str, str] = {}  # framework -> interpreter, in FRAMEWORKS order
    for name, (python, module) in frameworks.items():
        if not _available(python, module):
            record({"framework": name, "status": "absent", "install": INSTALL.get(name)})
            continue
        present[name] = python
        record({"framework": name, "metric": "import_s",
                "value": _import_time(python, module, max(3, args.repeat))})

    for model in MODELS:
        timed = timed_rounds(present, model, args.repeat, args.rounds)
        # Peak RSS once per framework, after the rounds so they stay close together in time.
        rss = {name: _run_worker(_worker_command(name, python, model, 0))["peak_rss_mb"]
               for name, python in present.items()}
        for name in present:
            for item in round_records(name, model, timed[name]):
                record(item)
            record({"framework": name, "model": model, "metric": "peak_rss_mb",
                    "value": rss[name]})

    print(ratio_table(records))
    if args.json:
        atomic_write(args.json, lambda f: f.write(
            "".join(json.dumps(r) + "\n" for r in records)), text=True)
    return 0


def ratio_cells(mine: dict | None, peers: list, missing: str) -> list[str]:
    """Table cells ``convnp / peer`` (`convnp_ratio`, two decimals) for each peer's record,
    ``missing`` where a record or the ratio is missing."""
    cells = []
    for theirs in peers:
        ratio = convnp_ratio(mine, theirs) if mine and theirs else None
        cells.append(missing if ratio is None else f"{ratio:.2f}")
    return cells


def convnp_ratio(mine: dict, theirs: dict) -> float | None:
    """convnp / peer for one metric of one model. When both records have per-round values
    (``rounds``), the median over rounds of the ratio within each round; otherwise the ratio
    of the two values. None when a value is missing or zero."""
    mine_rounds, their_rounds = mine.get("rounds"), theirs.get("rounds")
    if mine_rounds and their_rounds and len(mine_rounds) == len(their_rounds):
        pairs = list(zip(mine_rounds, their_rounds, strict=True))
    else:  # measured once, or records of an older run
        pairs = [(mine.get("value"), theirs.get("value"))]
    ratios = [m / t for m, t in pairs if m and t]
    return statistics.median(ratios) if ratios else None


def ratio_table(records: list[dict]) -> str:
    """Markdown table, under a one-line caption: each metric for each framework (the median
    over rounds for the per-round metrics), and the convnp / peer ratios, which for the
    per-round metrics are the median over rounds of the within-round ratio (`convnp_ratio`),
    not the ratio of the medians. An absent framework's cells read ``absent``."""
    found: dict[tuple[str, str, str], dict] = {}
    for r in records:
        if "metric" in r:
            found[(r["metric"], r.get("model", "-"), r["framework"])] = r
    rows = [RATIO_CAPTION, "",
            "| metric | model | convnp | torch | tensorflow | convnp/torch | convnp/tensorflow |",
            "|---|---|---|---|---|---|---|"]
    for metric, model in sorted({(metric, model) for metric, model, _ in found}):
        values = [f"{found[(metric, model, fw)]['value']:.3f}"
                  if (metric, model, fw) in found else "absent" for fw in FRAMEWORKS]
        ratios = ratio_cells(found.get((metric, model, "convnp")),
                             [found.get((metric, model, peer)) for peer in PEERS], "absent")
        rows.append(f"| {metric} | {model} | {' | '.join(values)} | {' | '.join(ratios)} |")
    return "\n".join(rows)
