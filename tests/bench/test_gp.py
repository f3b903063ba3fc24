"""The gradient-penalty benchmark runs and reports what it promises (no timing asserted)."""

import json

import numpy as np
import pytest

from convnp.bench import gp


def test_step_times_report_convnp_and_the_ratio_when_torch_is_there():
    record = gp.step_times(repeat=1, rounds=1, batch=2)
    assert record["model"] == "wgan_gp_critic" and record["batch"] == 2
    assert record["convnp_step_s"] > 0 and record["convnp_step_cpu_s"] > 0
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch_step_s" not in record
    else:
        assert record["torch_step_s"] > 0 and record["convnp_over_torch"] > 0
        assert record["convnp_over_torch_cpu"] > 0


def test_the_convnp_step_trains_the_critic():
    step, critic = gp.convnp_step(batch=2)
    before = [np.array(w) for w in critic.get_weights()]
    step()
    changed = [not np.array_equal(a, b) for a, b in zip(before, critic.get_weights())]
    # all but the score's bias, which cancels in fake - real and is not in the penalty
    assert changed == [True] * (len(before) - 1) + [False]


def test_run_emits_two_json_lines(monkeypatch, capsys):
    monkeypatch.setattr(gp, "step_times", lambda repeat, rounds, batch: {"model": "m"})

    class Args:
        repeat, rounds, batch = 1, 1, 2

    assert gp.run(Args()) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["bench"] for line in lines] == ["gp", "gp"]
    assert lines[1]["model"] == "m"


def test_the_command_line_takes_the_gp_options():
    from convnp.bench.__main__ import main

    with pytest.raises(SystemExit):
        main(["gp", "--batch", "0"])
