"""The `suite` benchmark on tiny cases: models and their PyTorch twins, the worker, the
per-layer timer, records and tables. Nothing here asserts on time."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

import numpy as np
import pytest

import convnp
from convnp.bench import peers, suite
from convnp.bench.__main__ import main
from convnp.models.fused import BatchNormReLU


@pytest.fixture
def bench_modules(monkeypatch):
    """The suite's worker modules imported as they run: scripts beside each other, found by
    file name. Yields a function returning a module by name, with the suite shrunk (tiny
    batches, one step) for this test only."""
    monkeypatch.syspath_prepend(str(peers.HERE))
    names = ("suite_models", "suite_torch", "worker_suite", "worker_keras", "worker_torch")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    models = importlib.import_module("suite_models")
    for model, (shape, classes, _, _) in list(models.SPECS.items()):
        monkeypatch.setitem(models.SPECS, model, (shape, classes, 2, 1))
    yield importlib.import_module
    for name in names:
        sys.modules.pop(name, None)


def trainable_count(net) -> int:
    return sum(int(np.prod(v.value.shape)) for v in net.trainable_weights)


@pytest.mark.parametrize("model", ["mnist", "vgg", "happy", "signs"])
def test_keras_models_build_train_and_match_their_torch_twins(bench_modules, model):
    models = bench_modules("suite_models")
    convnp.keras.utils.set_random_seed(0)
    net = models.build(convnp, model)
    x, y = models.synthetic_batch(model)
    shape, classes, batch, steps = models.SPECS[model]
    assert x.shape == (batch * steps, *shape) and x.dtype == np.float32
    assert net.predict(x, verbose=0).shape == (len(x), 1 if classes == 2 else classes)
    assert np.all(np.isfinite(net.train_on_batch(x, y)))
    torch = pytest.importorskip("torch")
    twin, _ = bench_modules("suite_torch").build(torch, model)
    assert sum(p.numel() for p in twin.parameters()) == trainable_count(net)


def test_resnet50_is_the_course_model_and_its_twin_has_the_same_weights(bench_modules):
    models = bench_modules("suite_models")
    net = models.build(convnp, "resnet50")
    assert net.output_shape == (None, 6)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds.count("Conv2D") == 53 and kinds.count("Add") == 16
    assert 23_500_000 < trainable_count(net) < 23_600_000  # ResNet-50 with a 6-class head
    torch = pytest.importorskip("torch")
    twin, _ = bench_modules("suite_torch").build(torch, "resnet50")
    assert sum(p.numel() for p in twin.parameters()) == trainable_count(net)
    out = twin(torch.zeros(1, 3, 64, 64))
    assert tuple(out.shape) == (1, 6)


def test_c3d_video_model_trains_and_its_twin_has_the_same_weights(bench_modules):
    models = bench_modules("suite_models")
    convnp.keras.utils.set_random_seed(0)
    net = models.build(convnp, "c3d")
    x, y = models.synthetic_batch("c3d")
    assert x.shape == (2, 16, 32, 32, 3) and net.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds.count("Conv3D") == 3 and kinds.count("MaxPooling3D") == 2
    assert np.all(np.isfinite(net.train_on_batch(x, y)))
    torch = pytest.importorskip("torch")
    twin, _ = bench_modules("suite_torch").build(torch, "c3d")
    assert sum(p.numel() for p in twin.parameters()) == trainable_count(net)
    assert tuple(twin(torch.zeros(1, 3, 16, 32, 32)).shape) == (1, 10)


@pytest.mark.parametrize("model, kinds", [
    ("convmixer", {"DepthwiseConv2D": 4, "Activation": 9}),
    ("vit", {"MultiHeadAttention": 4, "LayerNormalization": 8}),
])
def test_model_trains_and_its_twin_has_the_same_weights(bench_modules, model, kinds):
    models = bench_modules("suite_models")
    convnp.keras.utils.set_random_seed(0)
    net = models.build(convnp, model)
    x, y = models.synthetic_batch(model)
    names = [type(layer).__name__ for layer in net.layers]
    assert {kind: names.count(kind) for kind in kinds} == kinds
    assert np.all(np.isfinite(net.train_on_batch(x[:4], y[:4])))
    torch = pytest.importorskip("torch")
    twin, _ = bench_modules("suite_torch").build(torch, model)
    assert sum(p.numel() for p in twin.parameters()) == trainable_count(net)
    assert tuple(twin(torch.zeros(1, 3, 32, 32)).shape) == (1, 10)


@pytest.mark.parametrize("model", ["mobilenetv2", "unet"])
def test_torch_twins_of_the_models_convnp_may_lack(bench_modules, model):
    torch = pytest.importorskip("torch")
    models = bench_modules("suite_models")
    twin, loss = bench_modules("suite_torch").build(torch, model)
    shape, classes = models.SPECS[model][:2]
    out = twin(torch.zeros(1, shape[2], *shape[:2]))
    expected = (1, classes, *shape[:2]) if model in models.SEGMENTATION else (1, classes)
    assert tuple(out.shape) == expected and isinstance(loss, torch.nn.CrossEntropyLoss)


def test_worker_measures_convnp_and_reports_a_missing_layer_as_skipped(bench_modules,
                                                                       monkeypatch):
    worker = bench_modules("worker_suite")
    result = worker.measure_keras("convnp", "mnist", 2)
    assert result["status"] == "ok" and result["version"] == convnp.__version__
    assert (result["batch_size"], result["steps"]) == (2, 1)
    assert len(result["train_steps_s"]) == 2 and len(result["predict_batches_s"]) == 3
    assert result["train_step_s"] == pytest.approx(float(np.median(result["train_steps_s"])))
    assert result["peak_rss_mb"] > 10
    assert json.loads(json.dumps(result)) == result

    models = bench_modules("suite_models")

    def needs_a_new_layer(tf):
        return models._layer(tf, "NoSuchLayer2D")

    monkeypatch.setitem(models.BUILDERS, "mnist", needs_a_new_layer)
    skipped = worker.measure_keras("convnp", "mnist", 1)
    assert skipped["status"] == "skipped" and "NoSuchLayer2D" in skipped["reason"]


def test_torch_worker_has_the_same_schema(bench_modules):
    pytest.importorskip("torch")
    worker = bench_modules("worker_suite")
    threads = sys.modules["torch"].get_num_threads()
    try:
        result = worker.measure_torch("mnist", 1)
    finally:
        sys.modules["torch"].set_num_threads(threads)
    ours = worker.measure_keras("convnp", "mnist", 1)
    assert result["status"] == "ok" and set(result) == set(ours)


def test_layer_profile_counts_calls_and_conv_flops(bench_modules):
    worker = bench_modules("worker_suite")
    profile = worker.profile_layers("mnist", 2)
    rows = {r["kind"]: r for r in profile["layers"]}
    # MNIST's ReLU convs run fused with their max pools, named by both layers
    conv = rows["Conv2D 3x3+MaxPooling2D"]
    assert conv["calls"] == 2 and rows["Dense"]["calls"] == 1
    assert rows["optimizer update"]["calls"] == 1
    # flops only for convs: batch 2, 26x26x32 then 11x11x64 outputs
    assert conv["gflops"] > 0 and rows["Dense"]["gflops"] is None
    assert profile["sgemm_peak_gflops"] > 0
    assert 0 < sum(r["share"] for r in profile["layers"]) <= 1.5
    print(suite.layer_table({**profile, "model": "mnist"}))


def test_layer_profile_times_calls_with_several_tensor_arguments(bench_modules):
    """MultiHeadAttention's ``(query, value)`` call runs through its node's template, not
    ``layer.call``: its forward is timed there (it was missing: 0 calls, 0 ms)."""
    worker = bench_modules("worker_suite")
    profile = worker.profile_layers("vit", 1)
    attention = {r["kind"]: r for r in profile["layers"]}["MultiHeadAttention"]
    assert attention["calls"] == 4
    assert attention["forward_ms"] > 0 and attention["backward_ms"] > 0


def test_layer_kind_and_conv_macs(bench_modules):
    worker = bench_modules("worker_suite")
    L = convnp.keras.layers
    conv = L.Conv2D(8, 1, strides=2)
    conv.build((None, 9, 9, 4))
    assert worker.layer_kind(conv) == "Conv2D 1x1/2"
    assert worker.conv_macs(conv, np.zeros((3, 9, 9, 4))) == 3 * 5 * 5 * 8 * 4
    conv3d = L.Conv3D(6, 3, padding="same", groups=2)
    conv3d(np.zeros((1, 4, 4, 4, 4), dtype="float32"))
    assert worker.layer_kind(conv3d) == "Conv3D 3x3x3"
    # every output value: 27 taps times the 2 input channels of its group
    assert worker.conv_macs(conv3d, np.zeros((2, 4, 4, 4, 4))) == 2 * 4 * 4 * 4 * 6 * 27 * 2
    assert worker.layer_kind(L.Add()) == "Add"
    bn, relu, add = L.BatchNormalization(), L.ReLU(), L.Add()
    bn.build((None, 5, 5, 8))
    assert worker.layer_kind(BatchNormReLU(bn, relu, add)) == "BatchNormalization+Add+ReLU"
    assert worker.conv_macs(L.Add(), [np.zeros((2, 3)), np.zeros((2, 3))]) == 0


def fake(status="ok", **values):
    base = {"status": status, "version": "x", "batch_size": 2, "train_step_s": 0.2,
            "predict_batch_s": 0.1, "peak_rss_mb": 100.0}
    return {**base, **values}


def test_measure_model_interleaves_rounds_and_stops_when_convnp_skips(monkeypatch):
    calls = []

    def run_worker(command):
        framework = command[2]
        calls.append(framework)
        return fake(train_step_s={"convnp": 0.3, "torch": 0.2}[framework])

    monkeypatch.setattr(suite, "run_worker", run_worker)
    pythons = {"convnp": sys.executable, "torch": sys.executable}
    records = suite.measure_model(pythons, "vgg", 1, 2)
    assert calls == ["convnp", "torch", "convnp", "torch"]
    step = {r["framework"]: r for r in records if r.get("metric") == "train_step_s"}
    assert step["convnp"]["rounds"] == [0.3, 0.3] and step["torch"]["value"] == 0.2

    calls.clear()
    monkeypatch.setattr(suite, "run_worker",
                        lambda c: calls.append(c[2]) or {"status": "skipped", "reason": "r"})
    records = suite.measure_model(pythons, "unet", 1, 3)
    assert calls == ["convnp"]
    assert records == [{"framework": "convnp", "model": "unet", "status": "skipped",
                        "reason": "r"}]


def test_ratio_table_uses_within_round_ratios_and_shows_skips():
    records = suite.model_records("vgg", {
        "convnp": [fake(train_step_s=1.0), fake(train_step_s=3.0), fake(train_step_s=2.0)],
        "torch": [fake(train_step_s=2.0), fake(train_step_s=2.0), fake(train_step_s=4.0)],
        "tensorflow": [fake("failed", error="boom")],
    })
    records.append({"framework": "convnp", "model": "unet", "status": "skipped"})
    table = suite.ratio_table(records)
    # within-round ratios 0.5, 1.5, 0.5 -> median 0.5 (the ratio of medians would be 1.0)
    assert "| vgg | train_step | 2000.0 | 2000.0 | failed | 0.50 | - |" in table
    assert "| vgg | peak_rss | 100.0 | 100.0 | failed | 1.00 | - |" in table
    assert "| unet | skipped |" in table


def test_parse_models():
    assert suite.parse_models(None) == suite.MODELS
    assert suite.parse_models("vgg, mnist") == ("vgg", "mnist")
    with pytest.raises(ValueError, match="expected names from mnist"):
        suite.parse_models("vgg,alexnet")


def test_run_worker_reports_a_crash():
    failing = [sys.executable, "-c", "import sys; sys.exit('worker broke down')"]
    result = suite.run_worker(failing)
    assert result["status"] == "failed" and "worker broke down" in result["error"]


def test_suite_command_end_to_end_with_fake_workers(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CONVNP_BENCH_REEXEC", "1")  # no re-exec of the test process
    monkeypatch.setattr(suite, "_available", lambda python, module: module == "torch")
    monkeypatch.setattr(suite, "run_worker", lambda command: (
        {"status": "ok", "layers": [], "step_ms": 1.0, "sgemm_peak_gflops": 100.0}
        if "--layers" in command else fake()))
    out = tmp_path / "suite.jsonl"
    assert main(["suite", "--models", "mnist", "--repeat", "1", "--rounds", "1", "--layers",
                 "--json", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"framework": "tensorflow", "status": "absent", "bench": "suite",
            "install": "pip install tensorflow-cpu"} in records
    assert {r["metric"] for r in records if "metric" in r} == {*suite.METRICS, "layers"}
    printed = capsys.readouterr().out
    assert "| mnist | train_step | 200.0 | 200.0 | absent | 1.00 | - |" in printed
    assert "mnist: convnp training step 1.0 ms" in printed


def test_suite_arguments(monkeypatch):
    monkeypatch.setenv("CONVNP_BENCH_REEXEC", "1")
    seen = {}
    monkeypatch.setattr(suite, "run", lambda args: seen.update(vars(args)) or 0)
    assert main(["suite"]) == 0
    assert (seen["repeat"], seen["rounds"], seen["layers"], seen["layer_steps"]) == (3, 3,
                                                                                      False, 5)
    assert argparse.Namespace(**seen).models is None
