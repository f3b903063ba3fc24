"""``python -m convnp.bench tape`` on a tiny case (numbers are not checked, only their form)."""

from __future__ import annotations

import argparse
import json

from convnp.bench import tape


def test_step_times_on_a_small_image_have_every_field():
    result = tape.step_times(repeat=1, batch=2, size=8, rounds=1)
    for key in ("fit_step_s", "tape_step_s", "tape_ops_step_s"):
        assert result[key] > 0
    assert result["tape_over_fit"] == result["tape_step_s"] / result["fit_step_s"]


def test_run_emits_two_json_lines(monkeypatch, capsys):
    monkeypatch.setattr(tape, "step_times", lambda repeat: {"model": "happy", "repeat": repeat})
    monkeypatch.setattr(tape, "machine_info", lambda: {"cpus": 2})
    assert tape.run(argparse.Namespace(repeat=3)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"bench": "tape", "machine": {"cpus": 2}, "repeat": 3},
                     {"bench": "tape", "model": "happy", "repeat": 3}]
