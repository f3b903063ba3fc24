"""CategoryEncoding and Discretization (layers/encoding.py): Keras 3.15 parity on
tests/fixtures/encoding.npz (every output mode and input rank, count weights, the boundaries
adapt finds), the Keras-written encoding.keras, configs, refusals, models and tf.data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.layers.encoding import CategoryEncoding, Discretization
from tests.helpers import FIXTURES, load_fixture
from tests.layers.harness import check_file_round_trip

Z = load_fixture("encoding.npz")
CASES = sorted({key.split("/")[0] for key in Z})


def config_of(name):
    return json.loads(str(Z[f"{name}/config"]))


def adapt_data(name):
    batches = sorted((k for k in Z if k.startswith(f"{name}/batch_")),
                     key=lambda k: int(k.rsplit("_", 1)[1]))
    return [Z[k] for k in batches] if batches else Z[f"{name}/data"]


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("adapt_")])
def test_outputs_match_keras(name):
    x, expected = Z[f"{name}/x"], Z[f"{name}/y"]
    if name.startswith("category_"):
        layer = CategoryEncoding(**config_of(name))
        weights = Z.get(f"{name}/weights")
        y = np.asarray(layer(x) if weights is None else layer(x, count_weights=weights))
    else:
        layer = Discretization(**config_of(name))
        y = np.asarray(layer(x))
    assert y.dtype == expected.dtype and y.shape == expected.shape
    np.testing.assert_array_equal(y, expected)
    assert layer.compute_output_shape(x.shape) == expected.shape


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("adapt_")])
def test_adapt_finds_keras_boundaries(name):
    layer = Discretization(**config_of(name))
    layer.adapt(adapt_data(name))
    np.testing.assert_array_equal(np.asarray(layer.bin_boundaries, "float32"),
                                  Z[f"{name}/boundaries"])
    assert len(layer.bin_boundaries) <= layer.num_bins - 1


def test_adapt_from_a_dataset_and_steps():
    batches = adapt_data("adapt_batches")
    data = np.concatenate(batches)
    from_dataset = Discretization(num_bins=6)
    from_dataset.adapt(tf.data.Dataset.from_tensor_slices(data).batch(40))
    np.testing.assert_array_equal(np.asarray(from_dataset.bin_boundaries, "float32"),
                                  Z["adapt_batches/boundaries"])
    first = Discretization(num_bins=6)
    first.adapt(batches, steps=1)
    only = Discretization(num_bins=6)
    only.adapt(batches[0])
    assert first.bin_boundaries == only.bin_boundaries
    # adapting again starts over
    only.adapt(batches)
    assert only.bin_boundaries == from_dataset.bin_boundaries


def test_count_weights_and_tokens():
    layer = CategoryEncoding(num_tokens=3, output_mode="count")
    np.testing.assert_array_equal(layer(np.array([[0.0, 2.9, 2.0]])), [[1, 0, 2]])  # truncated
    with pytest.raises(ValueError, match=r"token 3 is not in \[0, 3\)"):
        layer(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="token -1"):
        CategoryEncoding(num_tokens=3, output_mode="one_hot")(np.array([-1, 2]))
    with pytest.raises(TypeError, match="integer tokens"):
        layer(np.array(["a"]))
    with pytest.raises(ValueError, match="shape"):
        layer(np.array([[0, 1]]), count_weights=np.ones((1, 3)))
    with pytest.raises(ValueError, match="count_weights apply to output_mode='count'"):
        CategoryEncoding(num_tokens=3)(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    assert CategoryEncoding(num_tokens=3, output_mode="binary").output_mode == "multi_hot"
    # tokens get no gradient (None, as Embedding's ids)
    layer(np.array([[0, 1]]))
    assert layer.backward(np.ones((1, 3), "float32")) is None


def test_discretization_bins():
    layer = Discretization(bin_boundaries=[0.0, 1.0, 1.0, 2.0])
    # [a, b) bins; a repeated boundary leaves an empty bin
    np.testing.assert_array_equal(layer(np.array([-1.0, 0.0, 0.99, 1.0, 2.0, 9.0])),
                                  [0, 1, 1, 3, 4, 4])
    assert layer(np.array([0.5])).dtype == np.int32
    np.testing.assert_array_equal(Discretization(bin_boundaries=[])(np.array([[3.0]])), [[0]])
    with pytest.raises(ValueError, match="adapt"):
        Discretization(num_bins=3)(np.array([1.0]))
    with pytest.raises(ValueError, match="num_bins"):
        Discretization(bin_boundaries=[1.0]).adapt(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="no values"):
        Discretization(num_bins=2).adapt([])
    with pytest.raises(ValueError, match="NaN"):
        Discretization(num_bins=2).adapt(np.array([1.0, np.nan]))


@pytest.mark.parametrize("make, error, match", [
    (lambda: CategoryEncoding(), ValueError, "num_tokens must be set"),
    (lambda: CategoryEncoding(num_tokens=0), ValueError, "num_tokens"),
    (lambda: CategoryEncoding(num_tokens=2.5), ValueError, "num_tokens"),
    (lambda: CategoryEncoding(num_tokens=3, output_mode="int"), ValueError, "output_mode"),
    (lambda: CategoryEncoding(num_tokens=3, sparse=True), ValueError, "sparse"),
    (lambda: Discretization(), ValueError, "neither"),
    (lambda: Discretization(bin_boundaries=[1.0], num_bins=3), ValueError, "both"),
    (lambda: Discretization(bin_boundaries=[2.0, 1.0]), ValueError, "sorted"),
    (lambda: Discretization(bin_boundaries=[1.0, "a"]), ValueError, "finite numbers"),
    (lambda: Discretization(bin_boundaries=1.0), ValueError, "list"),
    (lambda: Discretization(num_bins=0), ValueError, "num_bins"),
    (lambda: Discretization(num_bins=3, epsilon=0.0), ValueError, "epsilon"),
    (lambda: Discretization(num_bins=3, output_mode="tf_idf"), ValueError, "output_mode"),
    (lambda: Discretization(bin_boundaries=[0.0], output_mode="count", sparse=True),
     ValueError, "sparse"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_configs_as_keras_writes_them():
    config = json.loads(json.dumps(CategoryEncoding(num_tokens=4).get_config()))
    assert {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")} == \
        {"num_tokens": 4, "output_mode": "multi_hot"}
    layer = Discretization(bin_boundaries=[0.0, 1.0], name="discretization")
    # Keras 3.15's exact config (its constructor takes no `trainable`)
    assert layer.get_config() == {"bin_boundaries": [0.0, 1.0], "num_bins": None,
                                  "epsilon": 0.01, "output_mode": "int", "sparse": False,
                                  "name": "discretization", "dtype": "float32"}
    adapted = Discretization(num_bins=4, output_mode="one_hot")
    adapted.adapt(Z["adapt_small/data"])
    clone = Discretization.from_config(json.loads(json.dumps(adapted.get_config())))
    assert clone.bin_boundaries == adapted.bin_boundaries and clone.num_bins == 4
    x = Z["adapt_small/data"]
    np.testing.assert_array_equal(clone(x), adapted(x))
    for original in (adapted, CategoryEncoding(num_tokens=3, output_mode="count")):
        restored = tf.keras.layers.deserialize(tf.keras.layers.serialize(original))
        assert json.dumps(restored.get_config()) == json.dumps(original.get_config())


def test_keras_written_file(tmp_path):
    expected = load_fixture("encoding_expected.npz")
    inputs = [expected["x"], expected["tokens"]]
    model = tf.keras.models.load_model(FIXTURES / "encoding.keras")
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected["pred"], rtol=1e-6,
                               atol=1e-6)
    discretize = model.layers[2]
    assert isinstance(discretize, Discretization) and discretize.num_bins == 4
    assert len(discretize.bin_boundaries) == 3
    model.save(tmp_path / "again.keras")
    again = tf.keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(inputs, verbose=0), expected["pred"], rtol=1e-6)
    for a, b in zip(again.layers, model.layers):
        assert json.dumps(a.get_config()) == json.dumps(b.get_config())
    check_file_round_trip(model, inputs, tmp_path / "m.convnp")


def test_in_a_model_that_trains():
    tf.keras.utils.set_random_seed(0)
    tokens = tf.keras.Input((3,), dtype="int32")
    encoded = CategoryEncoding(num_tokens=5, output_mode="count")(tokens)
    assert tuple(encoded.shape) == (None, 5)
    model = tf.keras.Model(tokens, tf.keras.layers.Dense(1)(encoded))
    model.compile("sgd", "mse")
    x = np.random.default_rng(1).integers(0, 5, (16, 3))
    y = (x == 2).sum(axis=1, keepdims=True).astype("float32")
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    values = tf.keras.Input((4,))
    binned = Discretization(bin_boundaries=[0.0, 1.0], output_mode="one_hot")(values)
    assert tuple(binned.shape) == (None, 4, 3)


def test_in_a_dataset_pipeline():
    x = np.random.default_rng(2).standard_normal((8, 3)).astype("float32")
    layer = Discretization(bin_boundaries=[-0.5, 0.5], output_mode="multi_hot")
    batches = [np.asarray(b) for b in tf.data.Dataset.from_tensor_slices(x).batch(4).map(layer)]
    np.testing.assert_array_equal(np.concatenate(batches), np.asarray(layer(x)))
    tokens = tf.data.Dataset.from_tensor_slices(np.array([0, 2, 1])).map(
        CategoryEncoding(num_tokens=3, output_mode="one_hot"))
    np.testing.assert_array_equal(np.stack([np.asarray(t) for t in tokens]).reshape(3, 3),
                                  np.eye(3)[[0, 2, 1]])
