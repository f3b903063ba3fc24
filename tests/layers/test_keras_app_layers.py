"""The MobileNet-style and preprocessing layers against real Keras outputs (fixtures made once
by tests/fixtures/make_app_layers.py with TensorFlow 2.21 / Keras 3.15)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.layers import deserialize

FIXTURE = Path(__file__).parents[1] / "fixtures" / "app_layers.npz"
DATA = np.load(FIXTURE, allow_pickle=False)
CASES = sorted({key.split("/")[0] for key in DATA.files} - {"meta", "dir"})


def test_every_case_is_here():
    assert len(CASES) == 33


@pytest.mark.parametrize("name", CASES)
def test_layer_matches_keras(name):
    spec = json.loads(str(DATA[f"{name}/config"]))
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["config"].items()}
    layer = deserialize({"class_name": spec["class_name"], "config": config})
    x = DATA[f"{name}/x"]
    weights = [DATA[key] for key in sorted(k for k in DATA.files if k.startswith(f"{name}/w/"))]
    if weights:
        layer.build((None, *x.shape[1:]))
        layer.set_weights(weights)
    y = np.asarray(layer(x, training=bool(DATA[f"{name}/training"])))
    want = DATA[f"{name}/y"]
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_image_dataset_from_directory_matches_keras(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    root = tmp_path / "folder"
    for key in DATA.files:
        if key.startswith("dir/images/"):
            path = root / key[len("dir/images/"):]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(DATA[key]).save(path)
    ds = tf.keras.utils.image_dataset_from_directory(
        root, shuffle=True, seed=7, validation_split=0.25, subset="training",
        image_size=(6, 5), batch_size=32, verbose=False)
    assert [str(Path(p).relative_to(root)) for p in ds.file_paths] == list(DATA["dir/files"])
    x, y = next(iter(ds))
    # the batch order comes from each library's own shuffle stream: compare sorted batches
    def by_content(a):
        a = np.asarray(a)
        return np.lexsort(a.reshape(len(a), -1)[:, :3].T)

    want_x = DATA["dir/x"]
    np.testing.assert_allclose(np.asarray(x)[by_content(x)], want_x[by_content(want_x)],
                               atol=1e-3)
    np.testing.assert_array_equal(np.asarray(y)[by_content(x)],
                                  DATA["dir/y"][by_content(want_x)])
