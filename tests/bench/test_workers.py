"""The worker scripts for real: in-process on shrunken data sets, and as the subprocesses the
peer benchmark launches (on the cheap peak-RSS run, so the measured sizes stay as they are).
"""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest

import convnp
from convnp.bench import peers, worker_keras

RESULT_KEYS = {"framework", "model", "images", "batch_size", "version", "epoch_seconds",
               "first_epoch_seconds", "epoch_median_s", "predict_median_s",
               "import_in_worker_s", "peak_rss_mb"}
SMALL = {"happy": (32, 2, 16), "signs": (64, 6, 64)}


@pytest.fixture
def small_sizes(monkeypatch):
    """Shrink the data sets of the Keras worker (and of the PyTorch worker, which shares the
    same dict) for this test only."""
    for model, size in SMALL.items():
        monkeypatch.setitem(worker_keras.SIZES, model, size)


@pytest.fixture
def torch_worker(monkeypatch):
    """worker_torch imported the way it runs: as a script beside worker_keras, which it
    imports by file name. Its data sets are shrunk like those of `small_sizes`."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()  # the worker sets its own; other tests keep theirs
    monkeypatch.syspath_prepend(str(peers.HERE))
    for name in ("worker_keras", "worker_torch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("worker_torch")
    for model, size in SMALL.items():
        monkeypatch.setitem(module.SIZES, model, size)
    yield module
    for name in ("worker_keras", "worker_torch"):
        sys.modules.pop(name, None)
    torch.set_num_threads(threads)


def test_synthetic_data_shapes_labels_and_determinism(small_sizes):
    x, y = worker_keras.synthetic_data("happy")
    assert x.shape == (32, 64, 64, 3) and x.dtype == np.float32
    assert y.shape == (32, 1) and set(np.unique(y)) <= {0.0, 1.0}
    x6, y6 = worker_keras.synthetic_data("signs")
    assert x6.shape == (64, 64, 64, 3) and y6.shape == (64, 6)
    np.testing.assert_array_equal(y6.sum(axis=1), 1.0)
    x_again, y_again = worker_keras.synthetic_data("happy")
    assert np.array_equal(x, x_again) and np.array_equal(y, y_again)


def test_keras_worker_measures_convnp(small_sizes):
    result = worker_keras.measure("convnp", "happy", 2)
    assert set(result) == RESULT_KEYS
    assert (result["framework"], result["model"]) == ("convnp", "happy")
    assert (result["images"], result["batch_size"]) == (32, 16)
    assert result["version"] == convnp.__version__
    assert len(result["epoch_seconds"]) == 2 and all(t > 0 for t in result["epoch_seconds"])
    assert result["epoch_median_s"] == pytest.approx(float(np.median(result["epoch_seconds"])))
    assert result["predict_median_s"] > 0 and result["first_epoch_seconds"] > 0
    assert 10 < result["peak_rss_mb"] < 100_000
    assert json.loads(json.dumps(result)) == result  # what the script prints


def test_keras_worker_peak_rss_run_trains_one_epoch_only(small_sizes):
    result = worker_keras.measure("convnp", "signs", 0)
    assert result["images"] == 64 and result["batch_size"] == 64
    assert result["epoch_seconds"] == [] and result["first_epoch_seconds"] > 0
    assert result["epoch_median_s"] is None and result["predict_median_s"] is None


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_torch_worker_has_the_keras_worker_schema(torch_worker):
    result = torch_worker.measure("signs", 1)
    assert set(result) == RESULT_KEYS
    assert (result["framework"], result["images"], result["batch_size"]) == ("torch", 64, 64)
    assert len(result["epoch_seconds"]) == 1 and result["predict_median_s"] > 0
    assert json.loads(json.dumps(result)) == result


def test_convnp_worker_script_as_launched_by_peers():
    command = peers._worker_command("convnp", sys.executable, "signs", 0)
    assert command[1].endswith("worker_keras.py")
    result = peers._run_worker(command)
    assert set(result) == RESULT_KEYS
    assert (result["framework"], result["model"], result["images"]) == ("convnp", "signs", 1080)
    assert result["epoch_median_s"] is None and result["peak_rss_mb"] > 10


def test_torch_worker_script_as_launched_by_peers():
    pytest.importorskip("torch")
    command = peers._worker_command("torch", sys.executable, "signs", 0)
    assert command[1].endswith("worker_torch.py")
    result = peers._run_worker(command)
    assert (result["framework"], result["images"], result["batch_size"]) == ("torch", 1080, 64)


def test_run_worker_reads_the_last_line_and_reports_failures():
    noisy = [sys.executable, "-c", "print('a warning'); print('{\"ok\": 1}')"]
    assert peers._run_worker(noisy) == {"ok": 1}
    failing = [sys.executable, "-c", "import sys; sys.exit('worker broke down')"]
    with pytest.raises(RuntimeError, match="worker broke down"):
        peers._run_worker(failing)


def test_available_and_import_time_in_a_fresh_interpreter():
    assert peers._available(sys.executable, "json")
    assert not peers._available(sys.executable, "no_such_module_for_convnp_tests")
    assert 0 <= peers._import_time(sys.executable, "json", 2) < 30


def test_worker_env_puts_the_worker_folder_first(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = peers._worker_env()
    assert env["PYTHONPATH"].split(":")[:2] == [str(peers.HERE), "/elsewhere"]
