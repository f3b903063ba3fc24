"""Keras 3's newer ``keras.utils`` names: pack/unpack_x_y_sample_weight, clear_session,
get_source_inputs, is_keras_tensor, standardize_dtype, the interactive logging switches,
timeseries_dataset_from_array and pad_sequences (against Keras 3.15: fixtures/api_extras.npz,
made by make_api_extras.py) and Config."""

import logging

import numpy as np
import pytest

import convnp as tf
from convnp.keras import backend
from tests.helpers import load_fixture

Z = load_fixture("api_extras.npz")
U = tf.keras.utils


def test_pack_and_unpack_as_keras():
    assert U.pack_x_y_sample_weight(1) == 1
    assert U.pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert U.pack_x_y_sample_weight(1, 2) == (1, 2)
    assert U.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert U.pack_x_y_sample_weight(1, None, 3) == 1  # Keras: no y, no sample weight
    assert U.unpack_x_y_sample_weight(5) == (5, None, None)
    assert U.unpack_x_y_sample_weight((5,)) == (5, None, None)
    assert U.unpack_x_y_sample_weight([5, 6]) == (5, 6, None)
    assert U.unpack_x_y_sample_weight((5, 6, 7)) == (5, 6, 7)
    with pytest.raises(ValueError, match="length 4"):
        U.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_custom_train_step_reads_its_batch_with_unpack():
    seen = []

    class Weighted(tf.keras.Model):
        def train_step(self, data):
            x, y, sample_weight = U.unpack_x_y_sample_weight(data)
            seen.append(sample_weight is not None)
            return super().train_step(U.pack_x_y_sample_weight(x, y, sample_weight))

    inputs = tf.keras.Input((3,))
    model = Weighted(inputs, tf.keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, sample_weight=np.ones(4, "float32"), batch_size=4, verbose=0)
    assert seen == [True]


def test_clear_session_is_keras_tensor_and_get_source_inputs():
    assert U.clear_session is backend.clear_session
    tf.keras.layers.Dense(2)
    U.clear_session()
    assert tf.keras.layers.Dense(2).name == "dense"
    a, b = tf.keras.Input((3,)), tf.keras.Input((3,))
    merged = tf.keras.layers.Add()([tf.keras.layers.Dense(3)(a), b])
    out = tf.keras.layers.Dense(1)(tf.keras.layers.Concatenate()([merged, a]))
    assert U.is_keras_tensor(out) and not U.is_keras_tensor(np.ones(2))
    sources = U.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert U.get_source_inputs(a) == [a]
    with pytest.raises(TypeError, match="expects a KerasTensor"):
        U.get_source_inputs(np.ones(3))


@pytest.mark.parametrize("given, expected", [
    (None, "float32"), ("float32", "float32"), (int, "int64"), (float, "float32"),
    (bool, "bool"), ("int", "int64"), (np.float64, "float64"), (np.dtype("int8"), "int8"),
    (str, "string"), ("bfloat16", "bfloat16"), (np.dtype("uint8"), "uint8")])
def test_standardize_dtype_as_keras(given, expected):
    assert U.standardize_dtype(given) == expected


@pytest.mark.parametrize("bad", ["float", "str", "foo", 3, [1]])
def test_standardize_dtype_refuses_what_keras_refuses(bad):
    with pytest.raises(ValueError, match="Invalid dtype"):
        U.standardize_dtype(bad)


def test_interactive_logging_silences_bars_and_summary(capsys, caplog):
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    assert U.is_interactive_logging_enabled()
    U.disable_interactive_logging()
    try:
        assert not U.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="convnp.output"):
            model.fit(x, y, epochs=2, batch_size=4, verbose=1)
            model.summary()
        assert capsys.readouterr().out == ""
        logged = [r.getMessage() for r in caplog.records if r.name == "convnp.output"]
        assert "Epoch 1/2" in logged and any("2/2" in m and "loss" in m for m in logged)
        assert any("Total params" in m for m in logged)
        assert all("\r" not in m for m in logged)
    finally:
        U.enable_interactive_logging()
    assert U.is_interactive_logging_enabled()
    model.fit(x, y, epochs=2, batch_size=4, verbose=2)
    model.summary()
    printed = capsys.readouterr().out
    assert "Epoch 2/2" in printed and "Total params" in printed


def test_pad_sequences_matches_keras():
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], []]
    cases = {"default": {}, "post": {"padding": "post", "truncating": "post", "maxlen": 4},
             "pre4": {"maxlen": 4, "value": -1}, "float": {"dtype": "float32", "value": 0.5}}
    for key, kwargs in cases.items():
        padded = U.pad_sequences(seqs, **kwargs)
        np.testing.assert_array_equal(padded, Z[f"pad/{key}"])
        assert padded.dtype == Z[f"pad/{key}"].dtype
    vectors = U.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vectors.shape == (2, 2, 3) and vectors[1, 0].sum() == 0
    assert U.pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")[0, 0] == "<pad>"
    assert tf.keras.preprocessing.sequence.pad_sequences is U.pad_sequences


def test_pad_sequences_refuses_bad_arguments():
    with pytest.raises(ValueError, match='padding must be "pre" or "post"'):
        U.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='truncating must be "pre" or "post"'):
        U.pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="non-iterable"):
        U.pad_sequences([1, 2])
    with pytest.raises(ValueError, match="cannot hold the padding value"):
        U.pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match="maxlen"):
        U.pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="items of shape"):
        U.pad_sequences([np.ones((2, 3)), np.ones((1, 2))])


TS_CASES = {
    "basic": {"sequence_length": 4, "batch_size": 3},
    "stride": {"sequence_length": 3, "sequence_stride": 2, "sampling_rate": 2, "batch_size": 4},
    "range": {"sequence_length": 2, "start_index": 3, "end_index": 15, "batch_size": 5},
}
DATA = np.arange(40, dtype="float32").reshape(20, 2)
TARGETS = np.arange(100, 120)


@pytest.mark.parametrize("key", sorted(TS_CASES))
def test_timeseries_windows_match_keras(key):
    ds = U.timeseries_dataset_from_array(DATA, TARGETS, **TS_CASES[key])
    assert isinstance(ds, tf.data.Dataset)
    batches = list(ds.as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), Z[f"ts/{key}/x"])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), Z[f"ts/{key}/y"])
    np.testing.assert_array_equal([len(b[0]) for b in batches], Z[f"ts/{key}/sizes"])


def test_timeseries_without_targets_unbatched_and_shuffled():
    plain = list(U.timeseries_dataset_from_array(DATA, None, 4, batch_size=None)
                 .as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(plain), Z["ts/basic/x"])
    shuffled = [U.timeseries_dataset_from_array(DATA, TARGETS, 4, batch_size=3, shuffle=True,
                                                seed=5) for _ in range(2)]
    runs = [np.concatenate([b[1] for b in ds.as_numpy_iterator()]) for ds in shuffled]
    np.testing.assert_array_equal(runs[0], runs[1])  # the seed fixes the order
    assert sorted(runs[0]) == sorted(Z["ts/basic/y"]) and list(runs[0]) != list(Z["ts/basic/y"])
    model = tf.keras.Sequential([tf.keras.Input((4, 2)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(U.timeseries_dataset_from_array(DATA / 40, TARGETS / 120, 4, batch_size=8),
              epochs=1, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"start_index": 25}, "start_index must be lower"),
    ({"start_index": 5, "end_index": 5}, "end_index must be higher"),
    ({"end_index": 20}, "lower than the length"),
    ({"sampling_rate": 0}, "sampling_rate must be an int >= 1"),
    ({"sequence_stride": 20}, "sequence_stride must be lower"),
    ({"batch_size": 0}, "batch_size must be an int >= 1"),
    ({"format": "grain"}, 'format must be "tf"'),
])
def test_timeseries_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        U.timeseries_dataset_from_array(DATA, TARGETS, 3, **kwargs)


def test_config_as_keras():
    config = U.Config(a=1, b=[1, 2])
    config.x = 3
    config["y"] = 4
    assert config.a == 1 and config["x"] == 3 and "y" in config and len(config) == 4
    assert list(config) == ["a", "b", "x", "y"]
    assert config.as_dict() == {"a": 1, "b": [1, 2], "x": 3, "y": 4}
    assert config.to_json() == '{"a": 1, "b": [1, 2], "x": 3, "y": 4}'
    assert repr(config) == "<Config {'a': 1, 'b': [1, 2], 'x': 3, 'y': 4}>"
    assert config.get("zz", 5) == 5 and not config.frozen
    with pytest.raises(AttributeError, match="Unknown attribute: 'nope'"):
        _ = config.nope
    with pytest.raises(KeyError):
        _ = config["nope"]
    config.freeze()
    for change in (lambda: setattr(config, "z", 1), lambda: config.__setitem__("z", 1),
                   lambda: config.pop("a"), lambda: config.update(q=1)):
        with pytest.raises(ValueError, match="config is frozen"):
            change()
    config.unfreeze()
    assert config.pop("a") == 1 and dict(config.items()) == {"b": [1, 2], "x": 3, "y": 4}
