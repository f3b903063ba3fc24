"""`python -m convnp.bench ops` on small shapes: every case prints a sane record."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from convnp.bench import ops as ops_bench


@pytest.fixture
def small_cases(monkeypatch):
    monkeypatch.setattr(ops_bench, "CONV_CASES", {
        "conv": ((2, 8, 8, 3), (3, 3, 3, 4), {"stride": 1, "pad": 1})})
    monkeypatch.setattr(ops_bench, "POOL_CASES", {
        "pool": ((2, 8, 8, 4), {"f": 2, "stride": 2})})
    monkeypatch.setattr(ops_bench, "CONV_POOL_CASES", {
        "conv_pool": ((2, 8, 8, 3), (2, 2, 3, 8), {"stride": 1, "pad": "same"}, 4)})
    monkeypatch.setattr(ops_bench, "gemm_gflops", lambda: 100.0)
    monkeypatch.setattr(ops_bench, "torch_or_none", lambda: None)


def _records(capsys) -> dict:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    return {r["case"]: r for r in lines if "case" in r}


def test_every_case_reports_times_and_its_comparisons(small_cases, capsys):
    assert ops_bench.run(SimpleNamespace(repeat=2)) == 0
    records = _records(capsys)
    assert set(records) == {"conv", "pool", "conv_pool"}
    for record in records.values():
        assert record["fwd_ms"] > 0 and record["fwd_bwd_ms"] > 0
        assert record["torch"] == "absent"
    assert records["conv"]["fwd_bwd_share_of_gemm_peak"] == pytest.approx(
        records["conv"]["fwd_bwd_gflops"] / 100.0)
    assert records["conv"]["speedup_vs_reference_per_example"] > 0
    assert records["conv_pool"]["speedup_vs_separate_ops"] == pytest.approx(
        records["conv_pool"]["separate_ops_fwd_bwd_ms"] / records["conv_pool"]["fwd_bwd_ms"])
    assert "fwd_bwd_share_of_gemm_peak" not in records["conv_pool"]


def test_torch_is_timed_on_the_fused_case_when_present(small_cases, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(ops_bench, "torch_or_none", lambda: torch)
    threads = torch.get_num_threads()
    try:
        ops_bench.run(SimpleNamespace(repeat=1))
    finally:
        torch.set_num_threads(threads)
    record = _records(capsys)["conv_pool"]
    assert record["torch_fwd_bwd_ms"] > 0
    assert record["ratio_to_torch_fwd_bwd"] == pytest.approx(
        record["fwd_bwd_ms"] / record["torch_fwd_bwd_ms"])
