"""`python -m convnp.bench shapes` on small shapes: every kind of case is timed, checked
against PyTorch when it is there, and reported; bad ``--cases`` are refused."""

from __future__ import annotations

import argparse
import json
import statistics
from types import SimpleNamespace

import pytest

from convnp.bench import __main__ as bench_main
from convnp.bench import shapes

SMALL = {
    "conv": shapes.Case("conv2d", (2, 9, 7, 3), 3, 4),
    "pointwise": shapes.Case("conv2d", (2, 5, 5, 6), 1, 3),
    "strided": shapes.Case("conv2d", (2, 8, 8, 4), 3, 5, stride=2),
    "volume": shapes.Case("conv3d", (2, 4, 6, 5, 3), 3, 4, first=True),
    "depthwise": shapes.Case("depthwise", (2, 7, 6, 5), 3),
    "depthwise_5x5_s2": shapes.Case("depthwise", (2, 10, 10, 4), 5, stride=2),
    "gelu": shapes.Case("gelu", (2, 5, 4, 3), 0),
}


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(shapes, "CASES", SMALL)


def _args(**kw) -> SimpleNamespace:
    return SimpleNamespace(**{"cases": None, "repeat": 2, "rounds": 2, "json": None, **kw})


def _records(out: str) -> dict:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in lines if "case" in r}


def test_every_case_is_timed_and_tabled_without_torch(small, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(shapes, "torch_or_none", lambda: None)
    path = tmp_path / "shapes.jsonl"
    assert shapes.run(_args(json=str(path))) == 0
    out = capsys.readouterr().out
    records = _records(out)
    assert set(records) == set(SMALL)
    for name, record in records.items():
        assert record["torch"] == "absent" and "fwd_ratio" not in record
        assert record["convnp_fwd_ms"] > 0 and record["convnp_fwd_bwd_ms"] > 0
        if SMALL[name].kind == "gelu":  # an activation: no multiply-adds to count
            assert "convnp_fwd_gflops" not in record
        else:
            assert record["convnp_fwd_gflops"] > 0
        assert len(record["rounds_ms"]["convnp_fwd"]) == 2
        assert record["input_gradient"] is not SMALL[name].first
        assert f"| {name} | {SMALL[name].kind} |" in out
    assert records["depthwise"]["filters"] == 5 and records["conv"]["filters"] == 4
    assert records["gelu"]["filters"] == 3
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["case"] for r in written] == list(SMALL)


def test_torch_computes_the_same_convs_and_ratios_are_within_round_medians(small, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        shapes.run(_args(rounds=3))
    finally:
        torch.set_num_threads(threads)
    records = _records(capsys.readouterr().out)
    for name, record in records.items():
        if SMALL[name].stride == 1:
            assert record["max_rel_diff"] < 1e-5, name
        else:  # Keras's "same" and PyTorch's padding differ with a stride: not compared
            assert "max_rel_diff" not in record
        rounds = record["rounds_ms"]
        for what in ("fwd", "fwd_bwd"):
            want = statistics.median(c / t for c, t in zip(rounds[f"convnp_{what}"],
                                                           rounds[f"torch_{what}"]))
            assert record[f"{what}_ratio"] == pytest.approx(want)
            assert record[f"torch_{what}_ms"] == min(rounds[f"torch_{what}"])


def test_a_wrong_conv_in_the_twin_would_be_seen(small, monkeypatch):
    """The check compares outputs, so a twin that computes another conv cannot pass."""
    torch = pytest.importorskip("torch")
    import numpy as np

    case = SMALL["conv"]
    rng = np.random.default_rng(0)
    A = rng.standard_normal(case.shape, dtype=np.float32)
    W, b = shapes._weights(case, rng)
    forward, _ = shapes.convnp_calls(case, A, W, b)
    twin, _ = shapes.torch_calls(torch, case, A, W[::-1].copy(), b)  # flipped kernel rows
    assert shapes._same_output(forward(), twin()) > 1e-2


def test_best_time_keeps_the_shortest_call():
    ticks = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])  # three timed calls: 5, 1 and 3 s
    calls = []
    best = shapes.best_time(lambda: calls.append(1), 3, clock=lambda: next(ticks))
    assert len(calls) == 4 and best == 1.0  # the warm-up call is not timed


def test_cases_are_parsed_and_unknown_ones_refused(capsys):
    assert shapes.parse_cases(None) == tuple(shapes.CASES)
    assert shapes.parse_cases("c3d_conv1, unet_3x3_32") == ("c3d_conv1", "unet_3x3_32")
    with pytest.raises(argparse.ArgumentTypeError, match="unet_3x3_32"):
        shapes.parse_cases("unet_3x3_32,nope")
    with pytest.raises(SystemExit) as stop:
        bench_main.main(["--keep-openblas-env", "shapes", "--cases", "nope"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "nope" in err and "traceback" not in err.lower()


def test_cli_passes_the_options(monkeypatch):
    calls = []
    monkeypatch.setattr(shapes, "run", lambda args: calls.append(args) or 0)
    assert bench_main.main(["--keep-openblas-env", "shapes", "--cases", "c3d_conv2",
                            "--repeat", "4", "--rounds", "2", "--json", "s.jsonl"]) == 0
    [args] = calls
    assert (args.cases, args.repeat, args.rounds, args.json) == (("c3d_conv2",), 4, 2,
                                                                  "s.jsonl")
