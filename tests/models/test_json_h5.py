"""model.to_json / tf.keras.models.model_from_json (convnp's JSON and Keras's), and the
refusal of model paths without a model file extension, naming .keras."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_json_round_trip_sequential_and_multi_output():
    seq = tf.keras.Sequential([tf.keras.layers.Conv2D(2, 3, input_shape=(6, 6, 1)),
                               tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
    again = tf.keras.models.model_from_json(seq.to_json())
    assert type(again).__name__ == "Sequential" and again.count_params() == seq.count_params()
    a = tf.keras.Input((4,), name="a")
    shared = tf.keras.layers.Dense(4, name="shared")
    out = [shared(a), tf.keras.layers.Dense(1, name="o")(shared(shared(a)))]
    model = tf.keras.Model(a, out)
    again = tf.keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    x = np.ones((2, 4), dtype="float32")
    for p, q in zip(model.predict(x, verbose=0), again.predict(x, verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-6)


def test_json_written_by_keras():
    with zipfile.ZipFile(FIXTURES / "signs.keras") as archive:
        config = json.loads(archive.read("config.json"))
    model = tf.keras.models.model_from_json(json.dumps(config))
    assert model.count_params() == 1310
    with pytest.raises(ValueError, match="JSON"):
        tf.keras.models.model_from_json("{not json")


def test_save_without_a_model_extension_is_refused_naming_keras(tmp_path):
    """Keras 3 refuses a path with no '.keras'/'.h5' extension; convnp too (it used to write a
    .convnp file under any name), before writing anything."""
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
    for name in ("saved_model_dir", "m.pb", "m.weights.npz"):
        with pytest.raises(ValueError, match=r"'\.keras'.*'\.h5'"):
            model.save(tmp_path / name)
        assert not (tmp_path / name).exists()
    with pytest.raises(ValueError, match="extension"):
        tf.keras.saving.save_model(model, str(tmp_path / "plain"))
    assert list(tmp_path.iterdir()) == []
