"""Callbacks: History, EarlyStopping (Keras 3 rules), ModelCheckpoint, CSVLogger, progress."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from convnp import callbacks
from convnp.progbar import Progbar, format_value


class FakeModel:
    def __init__(self):
        self.w = [np.zeros(2)]
        self.stop_training = False
        self.saved: list[tuple[str, str]] = []
        self.metrics = []

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, weights):
        self.w = [np.array(a) for a in weights]

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def _fit(cbs, model, val_losses, extra=None):
    """Drive a CallbackList like fit does; weights at epoch e are [e, e]."""
    cl = callbacks.CallbackList(cbs, add_history=True, model=model, epochs=len(val_losses),
                                steps=2, verbose=0)
    cl.on_train_begin()
    ran = 0
    for epoch, vl in enumerate(val_losses):
        cl.on_epoch_begin(epoch)
        for b in range(2):
            cl.on_train_batch_begin(b)
            cl.on_train_batch_end(b, {"loss": 1.0})
        model.w = [np.full(2, float(epoch))]
        logs = {"loss": 1.0 / (epoch + 1), "val_loss": vl, **(extra or {})}
        cl.on_epoch_end(epoch, logs)
        ran += 1
        if model.stop_training:
            break
    cl.on_train_end()
    return cl, ran


def test_history_records_floats_per_epoch():
    model = FakeModel()
    cl, _ = _fit([], model, [0.5, 0.4], extra={"accuracy": np.float32(0.75)})
    h = cl.history
    assert h.epoch == [0, 1]
    assert h.history["val_loss"] == [0.5, 0.4]
    assert h.history["accuracy"] == [0.75, 0.75]
    assert all(type(v) is float for v in h.history["accuracy"])
    assert model.history is h


def test_early_stopping_patience_and_restore():
    model = FakeModel()
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    _, ran = _fit([es], model, [1.0, 0.5, 0.6, 0.7, 0.1])
    assert ran == 4                   # best at epoch 1, epochs 2 and 3 do not improve
    assert es.stopped_epoch == 3
    assert es.best == 0.5 and es.best_epoch == 1
    np.testing.assert_array_equal(model.w[0], [1.0, 1.0])  # restored from epoch 1


def test_early_stopping_patience_zero_and_min_delta():
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=0, min_delta=0.1)
    _, ran = _fit([es], model, [1.0, 0.95, 0.5])
    assert ran == 2  # 0.95 is not better by 0.1


def test_early_stopping_mode_auto_accuracy_is_max_and_baseline():
    model = FakeModel()
    es = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    cl = callbacks.CallbackList([es], model=model)
    cl.on_train_begin()
    for epoch, acc in enumerate([0.5, 0.6, 0.55, 0.5]):
        cl.on_epoch_end(epoch, {"val_accuracy": acc})
        if model.stop_training:
            break
    assert es.stopped_epoch == 2 and es.best == 0.6
    model = FakeModel()
    # Epoch 0 improves on inf but not on the baseline, so wait is not reset: with patience 2
    # the non-improving epoch 1 already stops (without a baseline it would not).
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, baseline=0.3)
    _, ran = _fit([es], model, [0.9, 0.95, 0.96])
    assert ran == 2
    _, ran = _fit([callbacks.EarlyStopping(patience=2)], FakeModel(), [0.9, 0.95, 0.96])
    assert ran == 3


def test_early_stopping_start_from_epoch_and_unknown_direction():
    model = FakeModel()
    es = callbacks.EarlyStopping(patience=0, start_from_epoch=2)
    _, ran = _fit([es], model, [0.1, 0.9, 0.9, 0.9])
    assert ran == 4  # epochs 0, 1 ignored; epoch 2 sets best; epoch 3 does not improve
    assert es.stopped_epoch == 3
    with pytest.raises(ValueError, match="mode"):
        _fit([callbacks.EarlyStopping(monitor="val_foo")], FakeModel(), [0.1],
             extra={"val_foo": 1.0})


def test_model_checkpoint_formats_and_best_only(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    cp = callbacks.ModelCheckpoint(path)
    _fit([cp], model, [0.5, 0.25])
    assert model.saved == [("model", str(tmp_path / "ckpt-01-0.50.keras")),
                           ("model", str(tmp_path / "ckpt-02-0.25.keras"))]
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"), save_best_only=True,
                                   save_weights_only=True)
    _fit([cp], model, [0.5, 0.7, 0.3])
    assert [p for _, p in model.saved] == [str(tmp_path / "best.weights.h5")] * 2
    assert all(kind == "weights" for kind, _ in model.saved)
    model = FakeModel()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "b{batch}.keras"), save_freq=3)
    _fit([cp], model, [0.5, 0.4, 0.3])  # 6 batches -> saves after batch 3 and 6
    assert len(model.saved) == 2


def test_model_checkpoint_filename_rules():
    with pytest.raises(ValueError, match=".weights.h5"):
        callbacks.ModelCheckpoint("m.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=".keras"):
        callbacks.ModelCheckpoint("m.pb")
    with pytest.raises(ValueError, match=".weights.h5"):
        callbacks.ModelCheckpoint("m.pb", save_weights_only=True)
    callbacks.ModelCheckpoint("m.h5")  # Keras's legacy HDF5 model file
    callbacks.ModelCheckpoint("w-{epoch:02d}.h5", save_weights_only=True)
    with pytest.raises(ValueError):
        callbacks.ModelCheckpoint("m.keras", save_freq=0)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    _fit([callbacks.CSVLogger(path)], FakeModel(), [0.5, 0.25])
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert rows[1] == ["0", "1.0", "0.5"] and rows[2] == ["1", "0.5", "0.25"]
    _fit([callbacks.CSVLogger(path, append=True)], FakeModel(), [0.125])
    rows = list(csv.reader(path.read_text().splitlines()))
    assert len(rows) == 4 and rows[3][0] == "0"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]  # no temp files left


def test_progbar_verbose1_non_tty_prints_final_line_only(capsys):
    cl = callbacks.CallbackList([], add_progbar=True, model=FakeModel(), epochs=2, steps=3,
                                verbose=1)
    cl.on_train_begin()
    for epoch in range(2):
        cl.on_epoch_begin(epoch)
        for b in range(3):
            cl.on_train_batch_end(b, {"accuracy": 0.8125, "loss": 0.4235})
        cl.on_epoch_end(epoch, {"accuracy": 0.8125, "loss": 0.4235, "val_accuracy": 0.5,
                                "val_loss": 0.0001})
    cl.on_train_end()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(
        r"3/3 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.8125 - loss: 0\.4235"
        r" - val_accuracy: 0\.5000 - val_loss: 1\.0000e-04", lines[1]), lines[1]
    assert "\r" not in lines[1]


def test_progbar_verbose2_one_line_per_epoch(capsys):
    cl = callbacks.CallbackList([], add_progbar=True, model=FakeModel(), epochs=1, steps=38,
                                verbose=2)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    for b in range(38):
        cl.on_train_batch_end(b, {"loss": 0.5})
    cl.on_epoch_end(0, {"accuracy": 0.9, "loss": 0.5})
    out = capsys.readouterr().out
    assert re.fullmatch(r"38/38 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.9000 - loss: 0\.5000\n",
                        out), out


def test_progbar_verbose0_silent(capsys):
    cl = callbacks.CallbackList([], add_progbar=False, model=FakeModel(), epochs=2, steps=3,
                                verbose=0)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    cl.on_epoch_end(0, {"loss": 1.0})
    assert capsys.readouterr().out == ""


def test_progbar_dynamic_redraws_one_line():
    buf = io.StringIO()
    bar = Progbar(4, verbose=1, stream=buf, dynamic=True, interval=0.0)
    for i in range(1, 5):
        bar.update(i, {"loss": 1.0 / i})
    text = buf.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 4
    assert "4/4" in text and "loss: 0.2500" in text
    assert re.search(r"1/4 \S*━", text)


def test_format_value():
    assert format_value(0.42351) == "0.4235"
    assert format_value(0.0001) == "1.0000e-04"
    assert format_value(float("nan")) == "nan"


def test_evaluate_progbar_outside_fit(capsys):
    cl = callbacks.CallbackList([], add_progbar=True, model=FakeModel(), steps=5, verbose=1)
    cl.on_test_begin()
    for b in range(5):
        cl.on_test_batch_end(b, {"loss": 0.3})
    cl.on_test_end({"accuracy": 1.0, "loss": 0.3})
    out = capsys.readouterr().out
    assert out.startswith("5/5 ") and "accuracy: 1.0000 - loss: 0.3000" in out
