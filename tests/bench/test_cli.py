"""``python -m convnp.bench``: argument parsing and dispatch (the benchmarks themselves are
replaced, so nothing is timed here)."""

from __future__ import annotations

import pytest

from convnp.bench import __main__ as bench_main
from convnp.bench import peers, train


@pytest.fixture
def captured(monkeypatch) -> list:
    """The arguments that reach `peers.run` and `train.run`, which do nothing."""
    calls = []
    monkeypatch.setattr(peers, "run", lambda args: calls.append(("peers", args)) or 0)
    monkeypatch.setattr(train, "run", lambda args: calls.append(("train", args)) or 0)
    return calls


def test_peers_defaults(captured):
    assert bench_main.main(["--keep-openblas-env", "peers"]) == 0
    [(which, args)] = captured
    assert which == "peers"
    assert (args.repeat, args.rounds, args.json, args.tf_python) == (3, 3, None, None)


def test_peers_options(captured):
    bench_main.main(["--keep-openblas-env", "peers", "--repeat", "1", "--rounds", "5",
                     "--json", "out.jsonl", "--tf-python", "/tf/python"])
    [(_, args)] = captured
    assert (args.repeat, args.rounds, args.json, args.tf_python) == (
        1, 5, "out.jsonl", "/tf/python")


@pytest.mark.parametrize("bad", [["--rounds", "0"], ["--rounds", "two"], ["--repeat", "-1"]])
def test_peers_rejects_non_positive_counts(captured, capsys, bad):
    with pytest.raises(SystemExit) as stop:
        bench_main.main(["--keep-openblas-env", "peers", *bad])
    assert stop.value.code == 2 and not captured
    assert "peers" in capsys.readouterr().err


def test_help_mentions_rounds(capsys):
    with pytest.raises(SystemExit):
        bench_main.main(["peers", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--rounds" in help_text and "within-round ratios" in help_text


def test_reexec_unless_kept_or_already_done(captured, monkeypatch):
    seen = []
    monkeypatch.setattr(bench_main, "reexec_without_openblas_overrides", seen.append)
    monkeypatch.delenv("CONVNP_BENCH_REEXEC", raising=False)
    bench_main.main(["train", "--repeat", "1"])
    bench_main.main(["--keep-openblas-env", "train"])
    monkeypatch.setenv("CONVNP_BENCH_REEXEC", "1")
    bench_main.main(["train"])
    assert seen == [["train", "--repeat", "1"]]
    assert [which for which, _ in captured] == ["train"] * 3
