"""Shared benchmark helpers: clean OpenBLAS environment, timing medians, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

# This workplace sets these for old OpenBLAS builds; they slow a current NumPy down. A
# benchmark may drop them for its own process (tests and CI leave them alone).
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def reexec_without_openblas_overrides(argv: list[str]) -> None:
    """Restart this benchmark without the OpenBLAS overrides (they must be unset before
    NumPy loads, which has already happened by the time arguments are parsed)."""
    if not any(var in os.environ for var in OPENBLAS_VARS):
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env["CONVNP_BENCH_REEXEC"] = "1"
    os.execve(sys.executable, [sys.executable, "-m", "convnp.bench", *argv], env)


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 1,
                clock: Callable[[], float] = time.perf_counter) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs
    (``clock`` reads the time; tests pass a fake one)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def interleaved_times(steps: dict[str, Callable[[], object]], rounds: int,
                      repeat: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each step's median wall time and median CPU time of the process (all threads), per
    round, the steps taking turns in every round: ``(wall, cpu)``, lists by step name."""
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            wall[name].append(median_time(step, repeat))
            cpu[name].append(median_time(step, repeat, clock=time.process_time))
    return wall, cpu


def emit(record: dict) -> None:
    """Print one JSON line (the benchmark's only output format besides the final table)."""
    print(json.dumps(record, sort_keys=False), flush=True)


def machine_info() -> dict:
    import numpy as np

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "openblas_overrides": {var: os.environ.get(var) for var in OPENBLAS_VARS},
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for pool in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def gemm_gflops(repeat: int = 5, n: int = 1024) -> float:
    """The machine's float32 GEMM throughput with NumPy's BLAS, measured now."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    seconds = median_time(lambda: a @ b, repeat)
    return 2 * n**3 / seconds / 1e9


def torch_or_none():
    """PyTorch if importable (a peer, never a dependency), using every core."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch
