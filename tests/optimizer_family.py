"""What the tests of the optimizer family share: Keras 3.15's trajectories in
``tests/fixtures/optimizer_family.npz`` (written by ``make_optimizer_family.py``, whose
docstring lists the keys) and a runner that replays them on convnp's optimizers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

Z = load_fixture("optimizer_family.npz")
NAMES = ["w0", "w1", "w2", "w3", "my_embedding"]
STEPS = 6
# float32 arithmetic in another order than TensorFlow's, over six steps
RTOL, ATOL = 2e-5, 2e-6


def variables() -> list:
    """The fixture's starting variables, named (and so with paths) as Keras's were."""
    return [tf.Variable(Z[f"in/{name}"].copy(), name=name) for name in NAMES]


def gradients(step: int) -> list[np.ndarray]:
    return [Z[f"in/g{i}"][step].copy() for i in range(len(NAMES))]


def replay(opt, case: str, scale=None, average=None) -> list:
    """Apply the fixture's gradients step by step and compare the variables with Keras's
    after each; ``average(opt, i)`` (if given) gives variable i's moving average to compare
    too. ``scale(step, grads)`` may change the gradients first (the loss-scale cases)."""
    variables_ = variables()
    for step in range(STEPS):
        grads = gradients(step)
        if scale is not None:
            grads = scale(step, grads)
        opt.apply_gradients(zip(grads, variables_))
        for i, v in enumerate(variables_):
            np.testing.assert_allclose(v.numpy(), Z[f"{case}/w{i}"][step], rtol=RTOL,
                                       atol=ATOL, err_msg=f"{case}: w{i} after step {step}")
            if average is not None:
                np.testing.assert_allclose(average(opt, i), Z[f"{case}/avg{i}"][step],
                                           rtol=RTOL, atol=ATOL,
                                           err_msg=f"{case}: average {i} after step {step}")
    assert int(opt.iterations) == int(Z[f"{case}/iterations"])
    return variables_


def check_layout(opt, case: str) -> None:
    """``opt.variables`` as Keras's: same count, order, shapes, dtypes and last name part."""
    ours = opt.variables
    paths = list(Z[f"{case}/paths"])
    assert len(ours) == len(paths), [v.path for v in ours]
    for v, path, shape, dtype in zip(ours, paths, Z[f"{case}/shapes"], Z[f"{case}/dtypes"]):
        expected = tuple(int(n) for n in str(shape).split("x")) if str(shape) else ()
        assert tuple(np.shape(v.value)) == expected, (v.path, path)
        assert np.asarray(v.value).dtype == np.dtype(str(dtype)), (v.path, path)
        assert v.path.rsplit("/", 1)[1] == str(path).rsplit("/", 1)[1], (v.path, path)


def keras_config(case: str) -> dict:
    return json.loads(str(Z[f"{case}/config"]))


def check_config(opt, case: str, skip=("name",)) -> None:
    """Every key of Keras's config is in ours with the same value (rates to float32)."""
    ours = opt.get_config()
    for key, value in keras_config(case).items():
        if key in skip:
            continue
        assert key in ours, key
        if isinstance(value, float):
            assert ours[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert ours[key] == value, key
