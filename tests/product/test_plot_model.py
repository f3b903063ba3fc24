"""tf.keras.utils.plot_model draws the layer graph to a PNG with matplotlib (no graphviz)."""

from __future__ import annotations

import pytest

import convnp as tf

L = tf.keras.layers


def test_plot_model_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    a, b = tf.keras.Input((4,), name="a"), tf.keras.Input((4,), name="b")
    shared = L.Dense(3, name="shared")
    out = L.Dense(1, name="score")(L.Concatenate()([shared(a), shared(b)]))
    model = tf.keras.Model([a, b], out)
    for kwargs in ({}, {"show_shapes": True, "show_dtype": True, "rankdir": "LR",
                        "show_layer_activations": True, "show_trainable": True}):
        path = tf.keras.utils.plot_model(model, to_file=tmp_path / "m.png", dpi=50, **kwargs)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    with pytest.raises(ValueError, match="rankdir"):
        tf.keras.utils.plot_model(model, to_file=tmp_path / "x.png", rankdir="BT")
    with pytest.raises(ValueError, match="expand_nested"):
        tf.keras.utils.plot_model(model, to_file=tmp_path / "x.png", expand_nested=True)
    assert not (tmp_path / "x.png").exists()
