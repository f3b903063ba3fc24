"""Shared benchmark helpers: timing medians, the OpenBLAS re-exec, JSON output."""

from __future__ import annotations

import json
import os
import sys

import pytest

from convnp.bench import common


class FakeClock:
    """A clock that only moves when a timed call says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_median_time_skips_warmup_and_takes_the_median():
    clock = FakeClock()
    durations = iter([100.0, 1.0, 5.0, 3.0])  # the warm-up call is the slow one

    def work():
        clock.now += next(durations)

    assert common.median_time(work, repeat=3, warmup=1, clock=clock) == 3.0
    assert next(durations, None) is None  # called exactly warmup + repeat times


def test_median_time_with_the_real_clock():
    calls = []
    assert common.median_time(lambda: calls.append(1), repeat=4, warmup=2) >= 0
    assert len(calls) == 6


def _forbid_execve(*args):
    raise AssertionError(f"unexpected re-exec {args}")


def test_reexec_is_a_noop_without_openblas_overrides(monkeypatch):
    for var in common.OPENBLAS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(os, "execve", _forbid_execve)
    assert common.reexec_without_openblas_overrides(["peers"]) is None


def test_reexec_drops_the_overrides(monkeypatch):
    seen = []
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    monkeypatch.setattr(os, "execve", lambda path, argv, env: seen.append((path, argv, env)))
    common.reexec_without_openblas_overrides(["peers", "--rounds", "2"])
    [(path, argv, env)] = seen
    assert path == sys.executable
    assert argv == [sys.executable, "-m", "convnp.bench", "peers", "--rounds", "2"]
    assert "OPENBLAS_CORETYPE" not in env and env["CONVNP_BENCH_REEXEC"] == "1"


def test_emit_prints_one_json_line_in_key_order(capsys):
    common.emit({"bench": "x", "b": [1.5, None], "a": "z"})
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert list(json.loads(out)) == ["bench", "b", "a"]


def test_machine_info_is_json_and_names_the_overrides():
    info = common.machine_info()
    assert {"python", "numpy", "cpus", "machine", "openblas_overrides"} <= set(info)
    assert set(info["openblas_overrides"]) == set(common.OPENBLAS_VARS)
    json.dumps(info)


def test_gemm_gflops_is_positive():
    assert 0 < common.gemm_gflops(repeat=1, n=64) < 1e6


@pytest.mark.parametrize("present", [True, False])
def test_torch_or_none(monkeypatch, present):
    if present:
        torch = pytest.importorskip("torch")
        threads = torch.get_num_threads()
        try:
            assert common.torch_or_none() is torch
            assert torch.get_num_threads() == (os.cpu_count() or 1)
        finally:
            torch.set_num_threads(threads)
    else:
        monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
        assert common.torch_or_none() is None
