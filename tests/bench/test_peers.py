"""The peer benchmark's bookkeeping: interleaved rounds, medians, ratio table, JSON file.

The worker processes are replaced by canned results (the real workers are tested in
test_workers.py), so these tests check the flow of `peers.run` itself: which worker runs when,
and what is reported from the results.
"""

from __future__ import annotations

import argparse
import json
import statistics

import pytest

from convnp.bench import peers

# Epoch seconds of each framework in round 1; later rounds are slower or faster as the VM
# drifts (DRIFT), by the same factor for every framework of a round.
BASE_EPOCH = {"convnp": 0.4, "torch": 0.5, "tensorflow": 0.8}
BASE_PREDICT = {"convnp": 0.2, "torch": 0.1, "tensorflow": 0.25}
DRIFT = (1.0, 1.5, 0.8, 1.2)


def _parse(command: list[str]) -> tuple[str, str, int]:
    """(framework, model, epochs) of a worker command built by `peers._worker_command`."""
    if command[1].endswith("worker_torch.py"):
        return "torch", command[2], int(command[3])
    return command[2], command[3], int(command[4])


class FakeWorkers:
    """Stands in for `peers._run_worker`: logs each command and answers like a worker, with
    times scaled by the drift of the round it belongs to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.pythons: dict[str, set[str]] = {}

    def __call__(self, command: list[str]) -> dict:
        framework, model, epochs = _parse(command)
        self.pythons.setdefault(framework, set()).add(command[0])
        rounds_done = sum(1 for call in self.calls if call == (framework, model, epochs))
        self.calls.append((framework, model, epochs))
        drift = DRIFT[rounds_done] if epochs else 1.0
        epoch = BASE_EPOCH[framework] * drift * (2 if model == "signs" else 1)
        return {
            "framework": framework, "model": model, "images": 600 if model == "happy" else 1080,
            "batch_size": 16, "version": f"{framework}-1.0",
            "epoch_seconds": [epoch * (1 + 0.01 * i) for i in range(epochs)],
            "first_epoch_seconds": 3 * epoch,
            "epoch_median_s": epoch if epochs else None,
            "predict_median_s": BASE_PREDICT[framework] * drift if epochs else None,
            "import_in_worker_s": 0.1,
            "peak_rss_mb": {"convnp": 100.0, "torch": 400.0, "tensorflow": 600.0}[framework],
        }


@pytest.fixture
def fake(monkeypatch):
    """Workers, availability and import times replaced; tensorflow is absent unless a test
    says otherwise through ``fake.absent``."""
    workers = FakeWorkers()
    workers.absent = {"tensorflow"}
    monkeypatch.setattr(peers, "_run_worker", workers)
    monkeypatch.setattr(peers, "_available",
                        lambda python, module: module not in workers.absent)
    monkeypatch.setattr(peers, "_import_time",
                        lambda python, module, repeat: {"convnp": 0.06, "torch": 0.75,
                                                        "tensorflow": 1.4}[module])
    monkeypatch.setattr(peers, "machine_info", lambda: {"cpus": 2})
    return workers


def _args(**overrides) -> argparse.Namespace:
    values = {"repeat": 2, "rounds": 3, "json": None, "tf_python": None}
    values.update(overrides)
    return argparse.Namespace(**values)


def _run(capsys, **overrides) -> tuple[list[dict], str]:
    """Run the benchmark; return its JSON lines and the text after them (the table)."""
    assert peers.run(_args(**overrides)) == 0
    lines = capsys.readouterr().out.splitlines()
    records = []
    while lines and lines[0].startswith("{"):
        records.append(json.loads(lines.pop(0)))
    return records, "\n".join(lines)


def _find(records: list[dict], framework: str, model: str, metric: str) -> dict:
    [found] = [r for r in records if r.get("framework") == framework
               and r.get("model") == model and r.get("metric") == metric]
    return found


def test_rounds_are_interleaved_then_peak_rss_once(fake, capsys):
    _run(capsys, rounds=3, repeat=2)
    expected = []
    for model in ("happy", "signs"):
        expected += [("convnp", model, 2), ("torch", model, 2)] * 3
        expected += [("convnp", model, 0), ("torch", model, 0)]
    assert fake.calls == expected


def test_all_three_frameworks_in_order_with_tf_interpreter(fake, capsys):
    fake.absent = set()
    _run(capsys, rounds=2, repeat=1, tf_python="/opt/tf/bin/python")
    happy_timed = [call for call in fake.calls if call[1] == "happy" and call[2] == 1]
    assert [call[0] for call in happy_timed] == ["convnp", "torch", "tensorflow"] * 2
    assert fake.pythons["tensorflow"] == {"/opt/tf/bin/python"}
    assert "/opt/tf/bin/python" not in fake.pythons["convnp"] | fake.pythons["torch"]


def test_records_hold_round_values_and_their_median(fake, capsys):
    records, _ = _run(capsys, rounds=4, repeat=3)
    header = records[0]
    assert header["bench"] == "peers" and header["rounds"] == 4 and header["repeat"] == 3

    epoch = _find(records, "torch", "signs", "epoch_s")
    expected_rounds = [BASE_EPOCH["torch"] * 2 * d for d in DRIFT]
    assert epoch["rounds"] == pytest.approx(expected_rounds)
    assert epoch["value"] == pytest.approx(statistics.median(expected_rounds))
    assert len(epoch["epochs_by_round"]) == 4
    assert all(len(times) == 3 for times in epoch["epochs_by_round"])
    assert epoch["epochs"] == [t for times in epoch["epochs_by_round"] for t in times]
    assert epoch["version"] == "torch-1.0"

    predict = _find(records, "convnp", "happy", "predict_s")
    expected_rounds = [BASE_PREDICT["convnp"] * d for d in DRIFT]
    assert predict["rounds"] == pytest.approx(expected_rounds)
    assert predict["value"] == pytest.approx(statistics.median(expected_rounds))
    assert predict["images"] == 600

    rss = _find(records, "torch", "happy", "peak_rss_mb")
    assert rss["value"] == 400.0 and "rounds" not in rss
    imports = [r for r in records if r.get("metric") == "import_s"]
    assert [(r["framework"], r["value"]) for r in imports] == [("convnp", 0.06), ("torch", 0.75)]


def test_record_order_is_fixed(fake, capsys):
    records, _ = _run(capsys, rounds=2)
    keys = [(r.get("framework"), r.get("model"), r.get("metric", r.get("status")))
            for r in records[1:]]
    expected = [("convnp", None, "import_s"), ("torch", None, "import_s"),
                ("tensorflow", None, "absent")]
    for model in ("happy", "signs"):
        for framework in ("convnp", "torch"):
            expected += [(framework, model, metric)
                         for metric in ("epoch_s", "predict_s", "peak_rss_mb")]
    assert keys == expected


def test_absent_peer_is_reported_not_run(fake, capsys):
    records, table = _run(capsys)
    absent = [r for r in records if r.get("status") == "absent"]
    assert absent == [{"bench": "peers", "framework": "tensorflow", "status": "absent",
                       "install": "pip install tensorflow-cpu"}]
    assert all(call[0] != "tensorflow" for call in fake.calls)
    assert not any(r.get("framework") == "tensorflow" and "metric" in r for r in records)
    for row in table.splitlines()[4:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == "absent" and cells[6] == "absent"  # tensorflow, convnp/tensorflow


def test_table_ratios_are_within_round(fake, capsys):
    # Every round drifts both frameworks alike, so each within-round ratio is the same.
    _, table = _run(capsys, rounds=3)
    row = next(line for line in table.splitlines() if line.startswith("| epoch_s | happy |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[5] == f"{BASE_EPOCH['convnp'] / BASE_EPOCH['torch']:.2f}"


def test_json_file_matches_printed_records(fake, capsys, tmp_path):
    out = tmp_path / "peers.jsonl"
    out.write_text("stale contents of an earlier run\n")
    records, _ = _run(capsys, json=str(out))
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == records[1:]  # everything but the machine header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["peers.jsonl"]  # no temporary left


def test_json_file_goes_through_atomic_write(fake, capsys, tmp_path, monkeypatch):
    seen = []

    def fake_atomic_write(path, write, *, text=False):
        seen.append((path, text))
        raise OSError("disk full")

    monkeypatch.setattr(peers, "atomic_write", fake_atomic_write)
    out = tmp_path / "peers.jsonl"
    with pytest.raises(OSError, match="disk full"):
        peers.run(_args(json=str(out)))
    assert seen == [(str(out), True)]
    assert not out.exists()


def test_failing_worker_stops_the_run(fake, capsys, monkeypatch):
    def broken(command):
        raise RuntimeError("worker failed")

    monkeypatch.setattr(peers, "_run_worker", broken)
    with pytest.raises(RuntimeError, match="worker failed"):
        peers.run(_args())


# --- ratio_table and convnp_ratio on hand-made records ---------------------------------------


def _rec(framework, metric, value, model="happy", rounds=None) -> dict:
    record = {"bench": "peers", "framework": framework, "model": model, "metric": metric,
              "value": value}
    if rounds is not None:
        record["rounds"] = rounds
    return record


def _rows(table: str) -> dict[tuple[str, str], list[str]]:
    rows = {}
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| metric"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_ratio_is_median_of_round_ratios_not_ratio_of_medians():
    mine = _rec("convnp", "epoch_s", 2.0, rounds=[1.0, 2.0, 3.0])
    theirs = _rec("torch", "epoch_s", 2.0, rounds=[2.0, 1.0, 6.0])
    # Round ratios 0.5, 2, 0.5: median 0.5, while the medians' ratio is 1.
    assert peers.convnp_ratio(mine, theirs) == pytest.approx(0.5)
    rows = _rows(peers.ratio_table([mine, theirs]))
    assert rows[("epoch_s", "happy")] == ["2.000", "2.000", "absent", "0.50", "absent"]


def test_ratio_table_caption_says_how_ratios_are_taken():
    table = peers.ratio_table([_rec("convnp", "epoch_s", 1.0)])
    caption = table.splitlines()[0]
    assert "median over rounds" in caption and "within each round" in caption
    assert table.splitlines()[2].startswith("| metric | model | convnp | torch | tensorflow |")


def test_ratio_table_single_values_and_absent_peer():
    records = [
        {"bench": "peers", "framework": "convnp", "metric": "import_s", "value": 0.06},
        {"bench": "peers", "framework": "torch", "metric": "import_s", "value": 0.75},
        {"bench": "peers", "framework": "tensorflow", "status": "absent", "install": "x"},
        _rec("convnp", "peak_rss_mb", 100.0, model="signs"),
        _rec("torch", "peak_rss_mb", 400.0, model="signs"),
        _rec("torch", "predict_s", 0.3, rounds=[0.3, 0.3]),  # convnp has no value here
    ]
    rows = _rows(peers.ratio_table(records))
    assert rows[("import_s", "-")] == ["0.060", "0.750", "absent", "0.08", "absent"]
    assert rows[("peak_rss_mb", "signs")] == ["100.000", "400.000", "absent", "0.25", "absent"]
    assert rows[("predict_s", "happy")] == ["absent", "0.300", "absent", "absent", "absent"]
    assert list(rows) == sorted(rows)  # rows in a fixed order


def test_ratio_falls_back_to_values_for_old_or_mismatched_records():
    old = _rec("convnp", "epoch_s", 1.0)  # written before rounds existed
    assert peers.convnp_ratio(old, _rec("torch", "epoch_s", 4.0, rounds=[1.0])) == 0.25
    mismatched = _rec("convnp", "epoch_s", 1.0, rounds=[1.0, 1.0])
    assert peers.convnp_ratio(mismatched, _rec("torch", "epoch_s", 2.0, rounds=[9.0])) == 0.5
    assert peers.convnp_ratio(old, _rec("torch", "epoch_s", 0.0)) is None


def test_round_records_from_worker_results():
    timed = [
        {"epoch_median_s": 0.5, "epoch_seconds": [0.5, 0.6], "predict_median_s": 0.2,
         "version": "9", "images": 600},
        {"epoch_median_s": 0.3, "epoch_seconds": [0.3, 0.2], "predict_median_s": 0.4,
         "version": "9", "images": 600},
        {"epoch_median_s": 0.9, "epoch_seconds": [0.9, 1.0], "predict_median_s": 0.1,
         "version": "9", "images": 600},
    ]
    epoch, predict = peers.round_records("convnp", "happy", timed)
    assert epoch == {"framework": "convnp", "model": "happy", "metric": "epoch_s",
                     "value": 0.5, "rounds": [0.5, 0.3, 0.9],
                     "epochs": [0.5, 0.6, 0.3, 0.2, 0.9, 1.0],
                     "epochs_by_round": [[0.5, 0.6], [0.3, 0.2], [0.9, 1.0]], "version": "9"}
    assert predict == {"framework": "convnp", "model": "happy", "metric": "predict_s",
                       "value": 0.2, "rounds": [0.2, 0.4, 0.1], "images": 600}
