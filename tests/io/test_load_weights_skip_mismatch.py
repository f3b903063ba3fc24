"""``load_weights(path, skip_mismatch=True)`` (Keras 3's argument; keras.io's Zero-DCE
passes it): a layer whose weights differ in count or shape from the file's keeps its own,
with a warning naming it, and every other layer loads. Without it the load is refused and
nothing changes. Every weights layout convnp reads: .weights.npz, Keras 3's .weights.h5, Keras
2's layer_names .h5, and a whole-model .keras file."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
FILES = ["w.weights.npz", "w.weights.h5", "w.h5", "m.keras"]


def _model(head: int, seed: int):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, name="conv"),
                             keras.layers.Flatten(), keras.layers.Dense(head, name="head")])


def _save(model, path):
    if path.suffix == ".keras":
        model.save(path)
    else:
        model.save_weights(path)


@pytest.mark.parametrize("name", FILES)
def test_a_head_of_another_size_is_skipped(tmp_path, name):
    if not name.endswith(".npz"):
        pytest.importorskip("h5py")
    source, target = _model(head=3, seed=0), _model(head=5, seed=1)
    _save(source, tmp_path / name)
    head_before = [w.copy() for w in target.get_layer("head").get_weights()]
    with pytest.warns(UserWarning, match="head.*skip_mismatch=True"):
        target.load_weights(tmp_path / name, skip_mismatch=True)
    for a, b in zip(target.get_layer("conv").get_weights(), source.get_layer("conv").get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(target.get_layer("head").get_weights(), head_before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", FILES)
def test_without_it_the_load_is_refused_and_nothing_changes(tmp_path, name):
    if not name.endswith(".npz"):
        pytest.importorskip("h5py")
    source, target = _model(head=3, seed=0), _model(head=5, seed=1)
    _save(source, tmp_path / name)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(ValueError, match="head"):
        target.load_weights(tmp_path / name)
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_must_be_a_bool(tmp_path):
    model = _model(head=3, seed=0)
    model.save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(TypeError, match="skip_mismatch"):
        model.load_weights(tmp_path / "w.weights.npz", skip_mismatch="yes")
