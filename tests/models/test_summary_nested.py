"""`Model.summary(expand_nested=, show_trainable=, layer_range=, line_length=, positions=)`
against the text Keras 3.15 prints (TensorFlow 2.21, output captured through print_fn with no
terminal: Keras then lays tables out in 76 columns)."""

from __future__ import annotations

import hashlib

import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers

M2_TRAINABLE = """\
Model: "m2"
┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)      ┃ Output Shape    ┃   Param # ┃ Connected to   ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━┩
│ p (InputLayer)    │ (None, 3)       │         0 │ -              │   -   │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│ q (InputLayer)    │ (None, 3)       │         0 │ -              │   -   │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│ sub (Functional)  │ (None, 3)       │        12 │ p[0][0],       │   Y   │
│                   │                 │           │ q[0][0]        │       │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│    └ a            │ (None, 3)       │         0 │ -              │   -   │
│ (InputLayer)      │                 │           │                │       │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│    └ da (Dense)   │ (None, 3)       │        12 │ -              │   Y   │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│    └ b            │ (None, 3)       │         0 │ -              │   -   │
│ (InputLayer)      │                 │           │                │       │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│    └ add (Add)    │ (None, 3)       │         0 │ -              │   -   │
├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤
│ head (Dense)      │ (None, 2)       │         8 │ sub[0][0]      │   Y   │
└───────────────────┴─────────────────┴───────────┴────────────────┴───────┘
 Total params: 20 (80.00 B)
 Trainable params: 20 (80.00 B)
 Non-trainable params: 0 (0.00 B)"""

RANGE_EXPANDED = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ inner (Sequential)              │ (None, 2)              │            26 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│    └ d1 (Dense)                 │ (None, 4)              │            16 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│    └ dr (Dropout)               │ (None, 4)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│    └ d2 (Dense)                 │ (None, 2)              │            10 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ out (Dense)                     │ (None, 1)              │             3 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 29 (116.00 B)
 Trainable params: 29 (116.00 B)
 Non-trainable params: 0 (0.00 B)"""

FROZEN_TRAINABLE = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━┩
│ inp (InputLayer)            │ (None, 3)             │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ inner (Sequential)          │ (None, 2)             │         26 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ d1 (Dense)             │ (None, 4)             │         16 │   N   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ dr (Dropout)           │ (None, 4)             │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ d2 (Dense)             │ (None, 2)             │         10 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ out (Dense)                 │ (None, 1)             │          3 │   Y   │
└─────────────────────────────┴───────────────────────┴────────────┴───────┘
 Total params: 29 (116.00 B)
 Trainable params: 13 (52.00 B)
 Non-trainable params: 16 (64.00 B)"""

LINE60 = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
┃ Layer (type)             ┃ Output Shape      ┃   Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
│ inp (InputLayer)         │ (None, 3)         │         0 │
├──────────────────────────┼───────────────────┼───────────┤
│ inner (Sequential)       │ (None, 2)         │        26 │
├──────────────────────────┼───────────────────┼───────────┤
│ out (Dense)              │ (None, 1)         │         3 │
└──────────────────────────┴───────────────────┴───────────┘
 Total params: 29 (116.00 B)
 Trainable params: 13 (52.00 B)
 Non-trainable params: 16 (64.00 B)"""

LINE60_TRAINABLE = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━┓
┃ Layer (type)          ┃ Output Shape     ┃ Param # ┃ Tr… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━┩
│ inp (InputLayer)      │ (None, 3)        │       0 │  -  │
├───────────────────────┼──────────────────┼─────────┼─────┤
│ inner (Sequential)    │ (None, 2)        │      26 │  Y  │
├───────────────────────┼──────────────────┼─────────┼─────┤
│ out (Dense)           │ (None, 1)        │       3 │  Y  │
└───────────────────────┴──────────────────┴─────────┴─────┘
 Total params: 29 (116.00 B)
 Trainable params: 13 (52.00 B)
 Non-trainable params: 16 (64.00 B)"""

# Keras 3.15's summary(expand_nested=True, show_trainable=True) of MobileNetV2(weights=None,
# alpha=0.35, input_shape=(96, 96, 3), include_top=False), frozen, inside
# Input("img") -> base -> GlobalAveragePooling2D("gap") -> Dense(2, "head"): 476 lines, 154 of
# them nested rows ("└ "); its first and last lines and the SHA-256 of the whole text
MOBILENET_HEAD = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━┩
│ img (InputLayer)            │ (None, 96, 96, 3)     │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ mobilenetv2_0.35_96         │ (None, 3, 3, 1280)    │    410,208 │   N   │
│ (Functional)                │                       │            │       │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ input_layer            │ (None, 96, 96, 3)     │          0 │   -   │
│ (InputLayer)                │                       │            │       │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ Conv1 (Conv2D)         │ (None, 48, 48, 16)    │        432 │   N   │"""
MOBILENET_TAIL = """\
│    └ out_relu (ReLU)        │ (None, 3, 3, 1280)    │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ gap                         │ (None, 1280)          │          0 │   -   │
│ (GlobalAveragePooling2D)    │                       │            │       │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ head (Dense)                │ (None, 2)             │      2,562 │   Y   │
└─────────────────────────────┴───────────────────────┴────────────┴───────┘
 Total params: 412,770 (1.57 MB)
 Trainable params: 2,562 (10.01 KB)
 Non-trainable params: 410,208 (1.56 MB)"""
MOBILENET_SHA256 = "e11e0836f4eea9dddaa8d49267996330f0ecd61ee2a4c878f037fd197ddfa118"


@pytest.fixture(autouse=True)
def _terminal_80(monkeypatch):
    # Keras sizes the table from the terminal (80 columns when there is none)
    monkeypatch.setenv("COLUMNS", "80")


def _text(model, **kwargs) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines)


def _outer():
    keras.backend.clear_session()
    inner = keras.Sequential([layers.Dense(4, activation="relu", name="d1"),
                              layers.Dropout(0.5, name="dr"), layers.Dense(2, name="d2")],
                             name="inner")
    x = keras.Input((3,), name="inp")
    return keras.Model(x, layers.Dense(1, name="out")(inner(x)), name="outer"), inner


def _two_inputs():
    keras.backend.clear_session()
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    sub = keras.Model([a, b], layers.Add(name="add")([layers.Dense(3, name="da")(a), b]),
                      name="sub")
    p, q = keras.Input((3,), name="p"), keras.Input((3,), name="q")
    return keras.Model([p, q], layers.Dense(2, name="head")(sub([p, q])), name="m2")


def test_sequential_nested_in_functional_expands_with_trainable_column():
    model, inner = _outer()
    inner.layers[0].trainable = False
    assert _text(model, expand_nested=True, show_trainable=True) == FROZEN_TRAINABLE


def test_functional_nested_in_branching_model_lists_its_inputs_too():
    assert _text(_two_inputs(), expand_nested=True, show_trainable=True) == M2_TRAINABLE


def test_without_expand_nested_the_nested_layers_are_not_listed():
    model, _ = _outer()
    text = _text(model)
    assert "└ d1" not in text and "inner (Sequential)" in text


def test_layer_range_selects_top_level_rows_by_name_or_pattern():
    model, _ = _outer()
    assert _text(model, layer_range=("inner", "out"), expand_nested=True) == RANGE_EXPANDED
    # reversed bounds: Keras takes the span between them
    reversed_text = _text(model, layer_range=("out", "inner"))
    assert "inner (Sequential)" in reversed_text and "inp (InputLayer)" not in reversed_text
    assert "out (Dense)" in _text(model, layer_range=("o.*", "o.*"))
    with pytest.raises(ValueError, match="layer_range"):
        _text(model, layer_range=("d1", "d2"))  # nested names are not top-level layers
    with pytest.raises(ValueError, match="layer_range"):
        _text(model, layer_range=("out",))
    with pytest.raises(ValueError, match="layer_range"):
        _text(model, layer_range=("out", 3))


def test_line_length_and_positions_are_honoured():
    model, inner = _outer()
    inner.layers[0].trainable = False
    assert _text(model, line_length=60) == LINE60
    assert _text(model, line_length=60, show_trainable=True) == LINE60_TRAINABLE
    # Keras 3.15, line_length=70, positions=[0.5, 0.8, 1.0]: columns 34, 19 and 13 wide
    top = _text(model, line_length=70, positions=[0.5, 0.8, 1.0]).split("\n")[1]
    assert [len(part) for part in top[1:-1].split("┳")] == [34, 19, 13]
    # line_length=100: Keras's table is 100 wide too (its captured console then cuts the
    # lines at 80 characters; convnp prints them whole)
    assert len(_text(model, line_length=100).split("\n")[1]) == 100
    with pytest.raises(ValueError, match="narrower than 4"):
        _text(model, line_length=10)
    with pytest.raises(ValueError, match="positions"):
        _text(model, positions=[0.5, 1.0])
    with pytest.raises(ValueError, match="line_length"):
        _text(model, line_length="wide")


def test_mobilenet_v2_nested_in_an_outer_model_matches_keras():
    keras.backend.clear_session()
    base = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3),
                                          include_top=False)
    inp = keras.Input((96, 96, 3), name="img")
    out = layers.Dense(2, name="head")(layers.GlobalAveragePooling2D(name="gap")(base(inp)))
    model = keras.Model(inp, out, name="outer")
    base.trainable = False
    text = _text(model, expand_nested=True, show_trainable=True)
    assert text.startswith(MOBILENET_HEAD + "\n")
    assert text.endswith("\n" + MOBILENET_TAIL)
    assert text.count("└ ") == 154 and len(text.split("\n")) == 476
    assert hashlib.sha256(text.encode()).hexdigest() == MOBILENET_SHA256


def test_ascii_fallback_marks_nested_rows_with_a_dash(monkeypatch):
    import io
    import sys

    model, _ = _outer()
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    model.summary(expand_nested=True, show_trainable=True)
    stream.seek(0)
    text = stream.read()
    assert "|    - d1 (Dense)" in text and "| Trai~ |" in text
