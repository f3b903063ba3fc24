"""The ``convnp`` command end to end, in subprocesses (``python -m convnp ...``).

Training runs use one epoch; the whole module takes well under a minute on a laptop CPU.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convnp import cli, datasets, saving

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

COURSE_HAPPY = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / \
    "test_happy.h5"


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convnp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2, exactly one stderr line starting 'convnp: error:', no traceback, no stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convnp: error: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]


def save_png(array: np.ndarray, path: Path) -> Path:
    PIL.fromarray((array * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def signs_run(tmp_path_factory) -> Path:
    """``convnp train signs --epochs 1`` on the built-in data (about 2 s of training)."""
    out = tmp_path_factory.mktemp("runs") / "signs"
    result = run("train", "signs", "--epochs", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy: ")
    assert "(" in last and "/120)" in last
    assert str(out / "model.convnp") in last
    return out


# -- train ----------------------------------------------------------------------------------


def test_train_writes_model_history_and_plot(signs_run):
    assert sorted(p.name for p in signs_run.iterdir()) == [
        "history.csv", "history.png", "model.convnp"]
    with PIL.open(signs_run / "history.png") as img:
        img.load()
        assert img.format == "PNG" and img.size[0] > 100
    with open(signs_run / "history.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]  # as Keras
    assert len(rows) == 2 and rows[1][0] == "0"
    metadata = saving.read_metadata(signs_run / "model.convnp")
    assert metadata["class_names"] == datasets.class_names("signs")
    assert metadata["data"] == "fingers" and metadata["epochs"] == 1
    model = saving.load_model(signs_run / "model.convnp")
    assert model.count_params() == 1310


def test_train_happy_on_builtin_smiles(tmp_path):
    out = tmp_path / "happy"
    result = run("train", "happy", "--epochs", "1", "--verbose", "2", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("38/38 - ")  # verbose 2: one line per epoch, 600/16 steps
    assert result.stdout.strip().splitlines()[-1].startswith("test accuracy: ")
    assert "/150)" in result.stdout
    assert (out / "model.convnp").is_file()
    assert saving.read_metadata(out / "model.convnp")["class_names"] == [
        "not_smiling", "smiling"]


def test_train_continues_a_saved_model(signs_run, tmp_path):
    out = tmp_path / "more"
    result = run("train", signs_run / "model.convnp", "--epochs", "1", "--out", out,
                 "--verbose", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("test accuracy: ")
    assert saving.read_metadata(out / "model.convnp")["epochs"] == 2
    before = saving.load_model(signs_run / "model.convnp")
    after = saving.load_model(out / "model.convnp")
    assert after.optimizer.iterations == 2 * before.optimizer.iterations
    with open(out / "history.csv", newline="") as f:
        assert list(csv.reader(f))[1][0] == "1"  # epoch numbering continues


@pytest.mark.skipif(not COURSE_HAPPY.is_file(), reason="course test_happy.h5 is absent")
def test_train_on_a_course_h5_file(tmp_path):
    out = tmp_path / "h5run"
    result = run("train", "happy", "--data", COURSE_HAPPY, "--epochs", "1", "--out", out,
                 "--verbose", "0")
    assert result.returncode == 0, result.stderr
    # a test-only file: its last third (50 of 150 images) is the test split
    assert "/50)" in result.stdout


def test_train_on_an_image_folder(tmp_path):
    (x, y), _ = datasets.load("smiles")
    root = tmp_path / "faces"
    for label, name in enumerate(["not_smiling", "smiling"]):
        (root / name).mkdir(parents=True)
        for i in np.flatnonzero(y.reshape(-1) == label)[:6]:
            save_png(x[i], root / name / f"{i}.png")
    out = tmp_path / "folder_run"
    result = run("train", "happy", "--data", root, "--epochs", "1", "--out", out,
                 "--verbose", "0")
    assert result.returncode == 0, result.stderr
    assert "/4)" in result.stdout  # 12 images: the last third are the test split
    assert saving.read_metadata(out / "model.convnp")["class_names"] == [
        "not_smiling", "smiling"]


# -- evaluate / predict / summary --------------------------------------------------------------


def test_evaluate(signs_run):
    result = run("evaluate", signs_run / "model.convnp", "--data", "signs")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert "loss" in line and "accuracy" in line and "/120)" in line
    # the data the model was trained on is the default
    assert run("evaluate", signs_run / "model.convnp").stdout.strip() == line


def test_predict(signs_run, tmp_path):
    _, (x_test, _) = datasets.load("signs")
    images = [save_png(x_test[i], tmp_path / f"sign{i}.png") for i in range(3)]
    result = run("predict", signs_run / "model.convnp", *images)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    # the PNGs hold the dataset's uint8 pixels exactly, so the answers match the model's
    expected = saving.load_model(signs_run / "model.convnp").predict(x_test[:3], verbose=0)
    names = datasets.class_names("signs")
    for path, line, probs in zip(images, lines, expected):
        name, prob = line.removeprefix(f"{path}: ").rsplit(" (", 1)
        assert name == names[int(np.argmax(probs))]
        assert prob == f"{probs.max():.4f})"


def test_predict_resize(signs_run, tmp_path):
    _, (x_test, _) = datasets.load("signs")
    big = tmp_path / "big.png"
    PIL.fromarray((x_test[0] * 255).astype(np.uint8)).resize((100, 80)).save(big)
    assert_clean_error(run("predict", signs_run / "model.convnp", big), "100x80", "--resize")
    result = run("predict", signs_run / "model.convnp", big, "--resize")
    assert result.returncode == 0 and result.stdout.startswith(f"{big}: ")


@pytest.mark.parametrize("name, total", [("happy", "37,633"), ("signs", "1,310")])
def test_summary_of_spec_models(name, total):
    result = run("summary", name)
    assert result.returncode == 0, result.stderr
    assert f"Total params: {total}" in result.stdout


def test_summary_of_a_saved_model(signs_run):
    result = run("summary", signs_run / "model.convnp")
    assert result.returncode == 0 and "Trainable params: 1,310" in result.stdout


def test_help_for_each_command():
    for args in ([], ["train"], ["evaluate"], ["predict"], ["summary"], ["export"]):
        result = run(*args, "--help")
        assert result.returncode == 0 and "usage: convnp" in result.stdout


# -- bad input: one line, exit 2, nothing written --------------------------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, signs_run) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    files = {}
    files["corrupt_h5"] = root / "corrupt.h5"
    files["corrupt_h5"].write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    files["corrupt_model"] = root / "corrupt.convnp"
    files["corrupt_model"].write_bytes((signs_run / "model.convnp").read_bytes()[:500])
    files["text"] = root / "notes.txt"
    files["text"].write_text("hello")
    files["not_image"] = root / "fake.png"
    files["not_image"].write_text("not a png")
    return files


BAD_TRAIN = {
    "unknown model": (["train", "resnet"], "unknown model"),
    "missing model file": (["train", "gone.convnp"], "no such model file"),
    "epochs 0": (["train", "happy", "--epochs", "0"], "--epochs"),
    "epochs text": (["train", "happy", "--epochs", "ten"], "--epochs"),
    "batch size -1": (["train", "happy", "--batch-size", "-1"], "--batch-size"),
    "validation split 1": (["train", "happy", "--validation-split", "1"], "--validation-split"),
    "validation split nan": (["train", "happy", "--validation-split", "nan"],
                             "--validation-split"),
    "seed -1": (["train", "happy", "--seed", "-1"], "--seed"),
    "verbose 3": (["train", "happy", "--verbose", "3"], "--verbose"),
    "unknown data": (["train", "happy", "--data", "cifar"], "no such data"),
    "missing h5": (["train", "happy", "--data", "missing.h5"], "no such data file"),
    "binary model, 6 classes": (["train", "happy", "--data", "signs"], "2 classes"),
    "6-class model, 2 classes": (["train", "signs", "--data", "smiles"], "6-class"),
    "no command": ([], "COMMAND"),
    "unknown command": (["fly"], "invalid choice"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAIN))
def test_bad_train_input(case, tmp_path):
    args, fragment = BAD_TRAIN[case]
    out = tmp_path / "out"
    extra = ["--out", str(out)] if args[:1] == ["train"] else []
    result = run(*args, *extra, cwd=tmp_path)
    assert_clean_error(result, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_corrupt_h5(bad_files, tmp_path):
    result = run("train", "happy", "--data", bad_files["corrupt_h5"], "--out", tmp_path / "o")
    assert_clean_error(result, "corrupt.h5")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_wrong_model_files(bad_files, tmp_path):
    for path in (bad_files["corrupt_model"], bad_files["text"]):
        for command in (["evaluate", path, "--data", "signs"], ["summary", path],
                        ["predict", path, bad_files["not_image"]],
                        ["train", path, "--out", tmp_path / "o"]):
            assert_clean_error(run(*command), "not a convnp model file")
    assert list(tmp_path.iterdir()) == []


def test_predict_bad_images(signs_run, bad_files, tmp_path):
    model = signs_run / "model.convnp"
    assert_clean_error(run("predict", model, tmp_path / "none.png"), "no such image")
    assert_clean_error(run("predict", model, bad_files["not_image"]), "cannot read image")


def test_evaluate_labels_that_do_not_fit(signs_run):
    assert_clean_error(run("evaluate", signs_run / "model.convnp", "--data", "smiles"),
                       "labels do not fit")


def test_out_is_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    assert_clean_error(run("train", "happy", "--out", target), "not a directory")
    assert target.read_text() == "x"


def test_failed_write_leaves_no_files(tmp_path, monkeypatch, capsys):
    """In-process: the plot fails after training; the out dir and the model file vanish."""
    from convnp import plot

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(plot, "history", broken)
    out = tmp_path / "deep" / "out"
    data = tmp_path / "faces"
    (x, y), _ = datasets.load("smiles")
    for label, name in enumerate(["no", "yes"]):
        (data / name).mkdir(parents=True)
        for i in np.flatnonzero(y.reshape(-1) == label)[:3]:
            save_png(x[i], data / name / f"{i}.png")
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "happy", "--data", str(data), "--epochs", "1", "--verbose", "0",
                  "--out", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "convnp: error: disk full (simulated)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces"]


# -- export ------------------------------------------------------------------------------------


def test_export_saved_model_runs_in_onnxruntime(signs_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "signs.onnx"
    result = run("export", signs_run / "model.convnp", out)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    model = saving.load_model(signs_run / "model.convnp")
    x = np.random.default_rng(0).random((3, 64, 64, 3), dtype=np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("args, fragment", [
    (["happy", "{tmp}/m.txt"], "must end in .onnx"),
    (["nothing", "{tmp}/m.onnx"], "unknown model"),
    (["happy", "{tmp}/missing_dir/m.onnx"], "no such directory"),
    (["happy", "{tmp}/m.onnx", "--opset", "5"], "opset"),
])
def test_export_bad_input(args, fragment, tmp_path):
    result = run("export", *(a.format(tmp=tmp_path) for a in args))
    assert_clean_error(result, fragment)
    assert list(tmp_path.iterdir()) == []
