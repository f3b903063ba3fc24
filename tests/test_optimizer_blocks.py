"""The optimizers' blocked, threaded update computes exactly what the whole-variable one
does (same arithmetic per number), for every optimizer and slot kind."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import optimizers
from convnp.variables import Variable


def run(make, monkeypatch, block: int, parallel: int, steps: int = 3):
    monkeypatch.setattr(optimizers.base, "UPDATE_BLOCK", block)
    monkeypatch.setattr(optimizers.base, "PARALLEL_UPDATE_SIZE", parallel)
    rng = np.random.default_rng(1)
    shapes = [(3, 3, 16, 20), (20,), (7, 11), (1,)]
    variables = [Variable(rng.standard_normal(s).astype(np.float32), name=f"v{i}")
                 for i, s in enumerate(shapes)]
    opt = make()
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        grads[2] = np.asfortranarray(grads[2])  # a non-contiguous gradient: updated whole
        opt.apply_gradients(zip(grads, variables))
    return [v.value for v in variables], opt.get_state()


@pytest.mark.parametrize("make", [
    optimizers.Adam,
    lambda: optimizers.Adam(amsgrad=True),
    lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: optimizers.RMSprop(momentum=0.5, centered=True),
])
def test_blocked_threaded_update_matches_whole_variables(make, monkeypatch):
    whole_values, whole_state = run(make, monkeypatch, block=1 << 30, parallel=1 << 30)
    blocked_values, blocked_state = run(make, monkeypatch, block=64, parallel=1)
    for a, b in zip(whole_values, blocked_values):
        np.testing.assert_array_equal(a, b)
    assert whole_state.keys() == blocked_state.keys()
    for key in whole_state:
        np.testing.assert_array_equal(whole_state[key], blocked_state[key])


def test_adam_step_scalars_follow_the_rate_the_step_and_the_dtype():
    """Adam makes its step's scalars once per step and dtype: a rate set between steps, the
    next step number and a float64 variable next to float32 ones each get their own."""
    rng = np.random.default_rng(3)
    values = [rng.standard_normal(5).astype(np.float32), rng.standard_normal(4)]
    grads = [[rng.standard_normal(v.shape).astype(v.dtype) for v in values] for _ in range(2)]
    kept = optimizers.Adam(learning_rate=0.01)
    kept_vars = [Variable(v.copy()) for v in values]
    kept.apply_gradients(zip(grads[0], kept_vars))
    kept.learning_rate = 0.5
    kept.apply_gradients(zip(grads[1], kept_vars))
    # the second step again, by an optimizer that never ran a step in this process
    fresh = optimizers.Adam(learning_rate=0.01)
    fresh_vars = [Variable(v.copy()) for v in values]
    fresh.apply_gradients(zip(grads[0], fresh_vars))
    state = fresh.get_state()
    fresh = optimizers.Adam(learning_rate=0.5)
    fresh.set_state(state)
    fresh.apply_gradients(zip(grads[1], fresh_vars))
    for a, b in zip(kept_vars, fresh_vars):
        assert a.value.dtype == b.value.dtype
        np.testing.assert_array_equal(a.value, b.value)
    assert kept_vars[1].value.dtype == np.float64
