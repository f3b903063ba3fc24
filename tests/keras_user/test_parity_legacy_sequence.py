"""``tf.keras.preprocessing.sequence`` beyond pad_sequences (TimeseriesGenerator,
make_sampling_table, skipgrams) and ``tf.keras.preprocessing.timeseries_dataset_from_array``:
the expected values are TF 2.21's outputs for the same calls and seeds."""

import random

import numpy as np
import pytest

import convnp as tf

sequence = tf.keras.preprocessing.sequence
DATA = np.arange(20).reshape(10, 2).astype("float32")
TARGETS = np.arange(10)


def test_the_modules_have_tf_names():
    names = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]
    assert [n for n in names if not hasattr(sequence, n)] == []
    top = ["image", "image_dataset_from_directory", "sequence", "text",
           "text_dataset_from_directory", "timeseries_dataset_from_array"]
    assert [n for n in top if not hasattr(tf.keras.preprocessing, n)] == []


def test_timeseries_generator_batches():
    gen = sequence.TimeseriesGenerator(DATA, TARGETS, length=3, batch_size=2)
    assert isinstance(gen, tf.keras.utils.PyDataset)
    assert len(gen) == 4
    x, y = gen[0]
    assert x.shape == (2, 3, 2) and x.dtype == np.float32 and y.tolist() == [3, 4]
    assert x[1].tolist() == [[2, 3], [4, 5], [6, 7]]
    x, y = gen[3]
    assert x.shape == (1, 3, 2) and y.tolist() == [9]
    gen = sequence.TimeseriesGenerator(DATA, TARGETS, length=4, sampling_rate=2, stride=3,
                                       start_index=1, end_index=8, reverse=True, batch_size=5)
    assert len(gen) == 1
    assert (gen.start_index, gen.end_index) == (5, 8)  # TF keeps start_index + length
    x, y = gen[0]
    assert x.tolist() == [[[6, 7], [2, 3]], [[12, 13], [8, 9]]] and y.tolist() == [5, 8]
    x, y = sequence.TimeseriesGenerator(list(range(10)), list(range(10)), length=2,
                                        batch_size=3)[0]
    assert x.tolist() == [[0, 1], [1, 2], [2, 3]] and y.tolist() == [2, 3, 4]


def test_timeseries_generator_shuffle_uses_numpys_seed():
    np.random.seed(0)
    gen = sequence.TimeseriesGenerator(DATA, TARGETS, length=3, shuffle=True, batch_size=4)
    assert gen[0][1].tolist() == [7, 8, 3, 6]


def test_timeseries_generator_errors_and_fit():
    with pytest.raises(ValueError):
        sequence.TimeseriesGenerator(DATA, TARGETS[:5], length=3)
    with pytest.raises(ValueError):
        sequence.TimeseriesGenerator(DATA, TARGETS, length=10)
    model = tf.keras.Sequential([tf.keras.Input((3, 2)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(sequence.TimeseriesGenerator(DATA / 20, TARGETS / 10, length=3,
                                                     batch_size=2), epochs=1, verbose=0)
    assert list(history.history) == ["loss"]


def test_make_sampling_table():
    np.testing.assert_allclose(sequence.make_sampling_table(6), [
        0.00315225, 0.00315225, 0.00547597, 0.00741556, 0.00912817, 0.01068435], atol=1e-8)
    np.testing.assert_allclose(sequence.make_sampling_table(4, sampling_factor=0.1),
                               [0.315225, 0.315225, 0.547597, 0.741556], atol=1e-6)


def test_skipgrams_follow_pythons_random():
    random.seed(1)
    couples, labels = sequence.skipgrams([1, 2, 3, 0, 4], vocabulary_size=6, window_size=1,
                                         seed=7)
    assert couples == [[2, 4], [2, 4], [2, 3], [3, 3], [1, 2], [3, 2], [2, 1], [1, 1]]
    assert labels == [0, 0, 1, 0, 1, 1, 1, 0]
    random.seed(1)
    couples, labels = sequence.skipgrams([1, 2, 3], vocabulary_size=5, window_size=2,
                                         negative_samples=0.5, categorical=True, shuffle=False)
    assert couples == [[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2], [2, 4], [2, 4], [3, 4]]
    assert labels == [[0, 1]] * 6 + [[1, 0]] * 3
    random.seed(2)
    table = sequence.make_sampling_table(6, 0.3)
    couples, labels = sequence.skipgrams([1, 2, 3, 4, 5], vocabulary_size=6, window_size=1,
                                         sampling_table=table, seed=3)
    assert couples[:4] == [[3, 4], [5, 4], [5, 4], [4, 2]] and len(couples) == 14
    assert labels == [0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1]
    assert sequence.skipgrams([1, 2, 3], vocabulary_size=5, window_size=1, negative_samples=0,
                              shuffle=False) == ([[1, 2], [2, 1], [2, 3], [3, 2]], [1, 1, 1, 1])
    assert sequence.skipgrams([], vocabulary_size=5) == ([], [])
