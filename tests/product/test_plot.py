"""convnp.plot: history → PNG (two panels) and CSV, written atomically."""

from __future__ import annotations

import csv
import os
import sys

import pytest

from convnp import plot

HISTORY = {
    "loss": [0.9, 0.6, 0.4],
    "accuracy": [0.5, 0.7, 0.85],
    "val_loss": [1.0, 0.7, 0.55],
    "val_accuracy": [0.45, 0.65, 0.8],
}


class FakeHistory:
    """What model.fit returns: .history dict and .epoch list."""

    def __init__(self, history, epoch=None):
        self.history = history
        self.epoch = epoch if epoch is not None else list(range(len(history["loss"])))


@pytest.fixture
def pil_image():
    return pytest.importorskip("PIL.Image")


def test_png_from_dict(tmp_path, pil_image):
    pytest.importorskip("matplotlib")
    out = plot.history(HISTORY, tmp_path / "curves.png", title="happyModel")
    assert out == tmp_path / "curves.png"
    with pil_image.open(out) as img:
        assert img.format == "PNG" and img.size == (1200, 500)
    assert os.listdir(tmp_path) == ["curves.png"]  # no temp file left behind


def test_png_from_history_object_without_validation(tmp_path, pil_image):
    pytest.importorskip("matplotlib")
    h = FakeHistory({"loss": [1.0, 0.5], "accuracy": [0.4, 0.6]})
    out = plot.history(h, tmp_path / "train_only.png", figsize=(6, 4), dpi=50)
    with pil_image.open(out) as img:
        assert img.size == (300, 200)


def test_loss_only_and_other_metric(tmp_path, pil_image):
    pytest.importorskip("matplotlib")
    plot.history({"loss": [3.0, 2.0, 1.0]}, tmp_path / "loss.png")
    plot.history({"loss": [1.0, 0.5], "mae": [0.3, 0.2]}, tmp_path / "mae.png")
    for name in ("loss.png", "mae.png"):
        with pil_image.open(tmp_path / name) as img:
            img.verify()


def test_does_not_touch_pyplot(tmp_path):
    pytest.importorskip("matplotlib")
    was_loaded = "matplotlib.pyplot" in sys.modules
    plot.history(HISTORY, tmp_path / "x.png")
    assert ("matplotlib.pyplot" in sys.modules) == was_loaded


def test_overwrites_existing_file(tmp_path, pil_image):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    target.write_bytes(b"old")
    plot.history(HISTORY, target)
    with pil_image.open(target) as img:
        assert img.format == "PNG"


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.history(HISTORY, tmp_path / "curves.png")
    assert os.listdir(tmp_path) == []


def test_plot_errors(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        plot.history({"accuracy": [0.5]}, tmp_path / "x.png")
    with pytest.raises(TypeError, match="History"):
        plot.history([0.1, 0.2], tmp_path / "x.png")
    with pytest.raises(ValueError, match="numbers"):
        plot.history({"loss": ["a"]}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="empty"):
        plot.history({"loss": []}, tmp_path / "x.png")


def test_csv_content(tmp_path):
    out = plot.history_csv(FakeHistory(HISTORY), tmp_path / "log.csv")
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert rows[1] == ["0", "0.9", "0.5", "1.0", "0.45"]
    assert len(rows) == 4
    assert [float(v) for v in rows[3][1:]] == [0.4, 0.85, 0.55, 0.8]


def test_csv_orders_val_last_and_pads_short_series(tmp_path):
    h = {"val_loss": [2.0], "loss": [1.0, 0.5]}
    plot.history_csv(h, tmp_path / "log.csv")
    text = (tmp_path / "log.csv").read_text()
    assert text == "epoch,loss,val_loss\n0,1.0,2.0\n1,0.5,\n"


def test_csv_uses_history_epochs_and_round_trips_floats(tmp_path):
    value = 0.1 + 0.2
    plot.history_csv(FakeHistory({"loss": [value, 1 / 3]}, epoch=[5, 6]), tmp_path / "log.csv")
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][0] == "5" and float(rows[1][1]) == value and float(rows[2][1]) == 1 / 3


def test_csv_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plot.history_csv({}, tmp_path / "log.csv")
    with pytest.raises(ValueError, match="empty"):
        plot.history_csv({"loss": []}, tmp_path / "log.csv")
    with pytest.raises(FileNotFoundError):
        plot.history_csv(HISTORY, tmp_path / "missing_dir" / "log.csv")
    assert not (tmp_path / "log.csv").exists()
