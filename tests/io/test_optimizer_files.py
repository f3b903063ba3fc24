""".keras files with the newer optimizers both ways (tests/fixtures/make_optimizer_files.py):
Keras 3.15's files of a model trained with ``use_ema`` and with a LossScaleOptimizer around a
MultiOptimizer of Muon, Adafactor, ScheduleFreeAdamW and Adam with ``use_ema`` load in convnp
with every optimizer variable as Keras had it and train one more step as Keras did; convnp's
files of the same models (regenerated here, seeded) are what Keras read: the same optimizer
classes, variables and next step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf

FIXTURES = Path(__file__).parents[1] / "fixtures"
ATOL = 2e-5  # float32 sums in another order, through a step


def _script():
    spec = importlib.util.spec_from_file_location("make_optimizer_files",
                                                  FIXTURES / "make_optimizer_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
EXPECTED = np.load(FIXTURES / "optimizer_files_expected.npz", allow_pickle=False)
READ_BY_KERAS = np.load(FIXTURES / "optimizer_files_convnp_written.npz", allow_pickle=False)


def _classes(optimizer) -> list[str]:
    out = [type(optimizer).__name__]
    for inner in ([optimizer.inner_optimizer] if hasattr(optimizer, "inner_optimizer")
                  else getattr(optimizer, "optimizers", [])):
        out += _classes(inner)
    return out


def _check(model, name: str, expected) -> None:
    assert int(model.optimizer.iterations) == int(expected[f"{name}/iterations"]) == 4
    variables = model.optimizer.variables
    count = len([k for k in expected.files if k.startswith(f"{name}/opt/")])
    assert len(variables) == count, [v.path for v in variables]
    for k, variable in enumerate(variables):
        np.testing.assert_allclose(np.asarray(variable.value), expected[f"{name}/opt/{k}"],
                                   atol=ATOL, err_msg=f"{name}: {variable.path}")
    x, y = SCRIPT.batch()
    model.train_on_batch(x, y)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, expected[f"{name}/after/{k}"], atol=ATOL,
                                   err_msg=f"{name}: weight {k}")


@pytest.mark.parametrize("name", SCRIPT.MODELS)
def test_convnp_reads_what_keras_writes(name):
    model = tf.keras.models.load_model(FIXTURES / f"keras_written_optimizer_{name}.keras")
    _check(model, name, EXPECTED)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("optimizer_files")
    SCRIPT.write_files(tf, directory)
    return directory


@pytest.mark.parametrize("name", SCRIPT.MODELS)
def test_keras_reads_what_convnp_writes(name, written):
    model = tf.keras.models.load_model(written / f"{name}.keras")
    assert _classes(model.optimizer) == list(READ_BY_KERAS[f"{name}/classes"])
    _check(model, name, READ_BY_KERAS)


def test_the_nested_optimizer_is_rebuilt_whole():
    model = tf.keras.models.load_model(FIXTURES / "keras_written_optimizer_nested.keras")
    lso = model.optimizer
    multi = lso.inner_optimizer
    assert lso.initial_scale == 256.0 and lso.dynamic_growth_steps == 2
    assert [type(o).__name__ for o in multi.optimizers] == [
        "Muon", "Adafactor", "ScheduleFreeAdamW", "Adam"]
    _, adafactor, _, adam = multi.optimizers
    assert adam.use_ema and adam.ema_momentum == 0.8
    # Keras builds optimizers inside a LossScaleOptimizer without Adafactor's placeholders
    assert [v.path.rsplit("/", 1)[1] for v in adafactor.variables] == [
        "iteration", "learning_rate", "body_bias_velocity"]
    assert float(lso.dynamic_scale.numpy()) == float(EXPECTED["nested/opt/3"])
