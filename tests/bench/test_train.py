"""``python -m convnp.bench train`` with the measurement replaced by a canned one."""

from __future__ import annotations

import argparse
import json

from convnp.bench import train


def test_train_emits_header_then_one_line_per_model(monkeypatch, capsys):
    calls = []

    def fake_measure(backend, model, epochs):
        calls.append((backend, model, epochs))
        return {"framework": backend, "model": model, "epoch_median_s": 0.5}

    monkeypatch.setattr(train, "measure", fake_measure)
    monkeypatch.setattr(train, "machine_info", lambda: {"cpus": 2})
    assert train.run(argparse.Namespace(repeat=4)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"bench": "train", "machine": {"cpus": 2}, "repeat": 4}
    assert lines[1:] == [{"bench": "train", "framework": "convnp", "model": model,
                          "epoch_median_s": 0.5} for model in train.MODELS]
    assert calls == [("convnp", model, 4) for model in train.MODELS]
