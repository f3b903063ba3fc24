"""`Model.summary()` against the text Keras 3.15 printed for the course models."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.zoo import happy_model, signs_model

tfl = tf.keras.layers
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_summaries.txt"


def _keras_block(title: str) -> str:
    text = FIXTURE.read_text(encoding="utf-8")
    start = text.index(f"===== {title} =====\n") + len(f"===== {title} =====\n")
    end = text.find("\n\n=====", start)
    return text[start:end if end != -1 else len(text)].rstrip("\n")


def _summary_text(model, **kwargs) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines)


@pytest.mark.parametrize("title, build, loss, n_classes", [
    ("happy", happy_model, "binary_crossentropy", 1),
    ("signs", signs_model, "categorical_crossentropy", 6),
])
def test_summary_matches_keras_text(title, build, loss, n_classes):
    tf.keras.backend.clear_session()
    model = build()
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    assert _summary_text(model) == _keras_block(f"{title} (after compile, before fit)")
    # line_length=100: Keras 3.15 lays the table out 100 wide (its captured console then
    # cuts each line at 80 characters; convnp prints them whole)
    assert len(_summary_text(model, line_length=100).split("\n")[1]) == 100

    # after one update the optimizer's variables are counted, as in Keras
    x = np.zeros((2, 64, 64, 3), dtype=np.float32)
    y = np.zeros((2, n_classes), dtype=np.float32)
    model.train_on_batch(x, y)
    assert _summary_text(model) == _keras_block(
        f"{title} (after fit: adds the optimizer params line)")


def test_summary_prints_to_stdout_and_totals(capsys):
    tf.keras.backend.clear_session()
    model = happy_model()
    model.summary()
    out = capsys.readouterr().out
    for expected in ["(None, 70, 70, 3)", "(None, 64, 64, 32)", "(None, 32, 32, 32)",
                     "(None, 32768)", "(None, 1)", "Total params: 37,633 (147.00 KB)",
                     "Trainable params: 37,569 (146.75 KB)",
                     "Non-trainable params: 64 (256.00 B)"]:
        assert expected in out
    assert model.count_params() == 37633


def test_functional_summary_shapes_and_count():
    tf.keras.backend.clear_session()
    model = signs_model()
    text = _summary_text(model)
    for expected in ["(None, 64, 64, 8)", "(None, 8, 8, 8)", "(None, 8, 8, 16)",
                     "(None, 2, 2, 16)", "(None, 64)", "(None, 6)",
                     "Total params: 1,310 (5.12 KB)"]:
        assert expected in text
    assert "Connected to" not in text  # a chain: Keras shows no connection column
    assert model.count_params() == 1310


def test_summary_of_a_branching_model_lists_connections():
    tf.keras.backend.clear_session()
    inp = tf.keras.Input(shape=(8, 8, 3))
    a = tfl.Conv2D(4, 3, padding="same")(inp)
    b = tfl.Conv2D(4, 1)(inp)
    s = tfl.Add()([a, b])
    c = tfl.Concatenate()([s, a])
    out = tfl.Dense(2)(tfl.Flatten()(c))
    text = _summary_text(tf.keras.Model(inp, out))
    assert "Connected to" in text
    assert "conv2d[0][0]," in text and "conv2d_1[0][0]" in text
    # Keras's 76-column table (no terminal) gives the first column 19 characters: the
    # concatenate row wraps before its type
    assert "add (Add)" in text and "│ concatenate " in text and "│ (Concatenate) " in text


def test_summary_ascii_fallback(monkeypatch):
    tf.keras.backend.clear_session()
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", stream)
    happy_model().summary()
    stream.seek(0)
    text = stream.read()
    assert "| conv2d (Conv2D)" in text and "Total params: 37,633" in text


# Keras 3.15 on TensorFlow 2.21 printed these for the same models (keras.io's SimCLR calls
# summary() on its encoder before the encoder is built)
_UNBUILT_SEQUENTIAL = """\
Model: "encoder"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ ?                      │   0 (unbuilt) │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ ?                      │   0 (unbuilt) │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ ?                      │   0 (unbuilt) │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 0 (0.00 B)
 Trainable params: 0 (0.00 B)
 Non-trainable params: 0 (0.00 B)"""

_UNBUILT_SUBCLASSED = """\
Model: "sub"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense_1 (Dense)                 │ ?                      │   0 (unbuilt) │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 0 (0.00 B)
 Trainable params: 0 (0.00 B)
 Non-trainable params: 0 (0.00 B)"""


def test_summary_of_unbuilt_models_as_keras_3_prints_it():
    tf.keras.backend.clear_session()
    lines = []
    encoder = tf.keras.Sequential([tfl.Conv2D(16, 3, strides=2, activation="relu"),
                                   tfl.Flatten(), tfl.Dense(16)], name="encoder")
    encoder.summary(line_length=76, print_fn=lines.append)
    assert "\n".join(lines) == _UNBUILT_SEQUENTIAL

    class Sub(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.d = tfl.Dense(3)

        def call(self, x):
            return self.d(x)

    lines.clear()
    model = Sub()
    model.summary(line_length=76, print_fn=lines.append)
    assert "\n".join(lines) == _UNBUILT_SUBCLASSED
    model(np.ones((2, 4), np.float32))  # built: its layer's shape and count
    lines.clear()
    model.summary(line_length=76, print_fn=lines.append)
    assert "(None, 3)" in lines[4] and lines[4].rstrip("│ ").endswith("15")


def test_functional_summary_rows_follow_model_layers_order():
    # keras.io's U-Net decoder block: the shortcut's UpSampling2D is called after the main
    # path's but lies deeper (a conv follows it), so Keras 3.15 lists it first, in
    # model.layers and in summary() alike (TensorFlow 2.21's names below)
    L = tf.keras.layers
    x0 = tf.keras.Input((4, 4, 2), name="image")
    x = L.Conv2D(2, 1, name="c0")(x0)
    previous = x
    x = L.Activation("relu", name="r1")(x)
    x = L.Conv2D(2, 1, name="c1")(x)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.UpSampling2D(2, name="up_main")(x)
    residual = L.Conv2D(2, 1, name="c_res")(L.UpSampling2D(2, name="up_res")(previous))
    model = tf.keras.Model(x0, L.add([x, residual], name="add2"))
    keras_order = ["image", "c0", "r1", "c1", "bn1", "up_res", "up_main", "c_res", "add2"]
    assert [layer.name for layer in model.layers] == keras_order
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    rows = [line.split("\u2502")[1].split()[0] for line in "\n".join(lines).splitlines()
            if line.startswith("\u2502") and "(" in line.split("\u2502")[1]]
    assert rows == keras_order


def test_connected_to_lists_each_tensor_argument_as_keras():
    # keras.io's ViT calls MultiHeadAttention()(x1, x1): Keras 3.15 lists x1 twice (its
    # node's input tensors, one per argument); query, value, key as passed
    L = tf.keras.layers
    i = tf.keras.Input((4, 8), name="inp")
    a = L.Add(name="add")([i, i])
    m = L.MultiHeadAttention(2, 4, name="mha")(a, a)
    m2 = L.MultiHeadAttention(2, 4, name="mha2")(m, a)
    m3 = L.MultiHeadAttention(2, 4, name="mha3")(m, a, a)
    sq = tf.keras.ops.multiply(m3, m3)  # an op on tensors: its arguments too
    model = tf.keras.Model(i, [m2, sq], name="m")
    text = _summary_text(model, line_length=100)
    cells = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("\u2502")]
        if len(parts) > 4 and parts[1]:
            name = parts[1].split()[0]
            cells[name] = parts[4]
        elif len(parts) > 4 and parts[4]:
            cells[name] += " " + parts[4]
    assert cells["add"] == "inp[0][0], inp[0][0]"
    assert cells["mha"] == "add[0][0], add[0][0]"
    assert cells["mha2"] == "mha[0][0], add[0][0]"
    assert cells["mha3"] == "mha[0][0], add[0][0], add[0][0]"
    assert [v for k, v in cells.items() if k.startswith("multiply")] == [
        "mha3[0][0], mha3[0][0]"]
