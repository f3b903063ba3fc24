"""Layers held in attributes whose names start with ``_`` (users' layers and subclassed models)
are tracked as Keras 3 tracks them: weights, ``layers``, freezing, gradients, and their place
in ``.keras`` files (fixture made by Keras 3.15.1: tests/fixtures/make_private_attrs.py)."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import convnp as tf

K = tf.keras
FIXTURES = Path(__file__).parents[1] / "fixtures"


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_private_attrs", FIXTURES / "make_private_attrs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Mixer, Net = _script().user_objects(tf)


@pytest.fixture(scope="module")
def keras_run():
    with np.load(FIXTURES / "private_attrs_expected.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def datasets(path) -> list[str]:
    with zipfile.ZipFile(path) as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
        names: list[str] = []
        f.visit(names.append)
        return sorted(n for n in names if isinstance(f[n], h5py.Dataset))


def built_net(x):
    model = Net(name="net")
    model(x)
    return model


def test_private_layers_are_tracked_like_keras(keras_run):
    model = built_net(keras_run["x"])
    # same variables in the same order; paths name the model and the layers a weight is
    # inside, as Keras's do ("net/...": the subclassed model's call built them)
    assert [w.path for w in model.weights] == list(keras_run["weight_paths"])
    assert [layer.name for layer in model.layers] == list(keras_run["layer_names"])
    assert [layer.name for layer in model.mixer._tracked_layers] == \
        list(keras_run["inner_layers"])
    assert model.count_params() == int(keras_run["count_params"])


def test_keras_file_loads_with_its_weights(keras_run):
    model = K.models.load_model(FIXTURES / "private_attrs.keras")
    np.testing.assert_allclose(model(keras_run["x"]).numpy(), keras_run["pred"], atol=1e-5)


def test_written_file_has_keras_layout_and_round_trips(keras_run, tmp_path):
    model = built_net(keras_run["x"])
    model.save(tmp_path / "m.keras")
    assert datasets(tmp_path / "m.keras") == list(keras_run["h5_datasets"])
    again = K.models.load_model(tmp_path / "m.keras")
    x = keras_run["x"]
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_private_layers_train_and_freeze(keras_run):
    x = keras_run["x"]
    model = built_net(x)
    model.compile("sgd", "mse")
    before = [w.numpy().copy() for w in model.mixer._inner.weights]
    model.fit(x, np.ones((3, 2), "float32"), epochs=1, verbose=0)
    assert not np.array_equal(model.mixer._inner.weights[0].numpy(), before[0])
    model.mixer.trainable = False
    assert len(model.trainable_weights) == 4  # first and block0 only
    assert model.mixer.trainable_weights == []


def test_gradient_tape_reaches_private_layers(keras_run):
    x = keras_run["x"]
    model = built_net(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    grads = tape.gradient(loss, model.trainable_weights)
    assert len(grads) == 14 and all(g is not None for g in grads)


def test_convnp_private_state_is_not_tracked():
    class Plain(K.layers.Layer):
        def __init__(self):
            super().__init__()
            self._size = 3
            self._dense = K.layers.Dense(2)

        def call(self, x):
            return self._dense(x)

    layer = Plain()
    layer(np.ones((1, 4), "float32"))
    # only the user's layer: none of convnp's own bookkeeping
    assert [type(t).__name__ for t in layer._tracked_layers] == ["Dense"]
    assert layer._user_private == ["_dense"]
    assert len(layer.weights) == 2
