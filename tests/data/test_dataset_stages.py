"""tf.data stages added for later tutorials: `counter`/`enumerate`, `take_while`, `scan`,
`unique`, `sample_from_datasets` (oversampling a rare class), `choose_from_datasets`,
`random`, `Options`; `element_spec` as `TensorSpec`s; NumPy scalars from
`as_numpy_iterator`. Expected values are TensorFlow 2.21's on the same pipelines."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.data import Dataset


def test_enumerate_counts_from_start():
    # bug: enumerate zipped with an int64-max-long range and yielded nothing
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    pairs = list(Dataset.from_tensor_slices(x).enumerate(start=5).as_numpy_iterator())
    assert [int(i) for i, _ in pairs] == [5, 6, 7, 8]
    np.testing.assert_array_equal(pairs[2][1], [4, 5])
    assert Dataset.from_tensor_slices(x).enumerate().cardinality() == 4
    assert list(Dataset.counter(3, 2).take(3).as_numpy_iterator()) == [3, 5, 7]
    assert Dataset.counter().cardinality() == tf.data.INFINITE_CARDINALITY


def test_as_numpy_iterator_yields_numpy_scalars_for_0d_elements():
    out = list(Dataset.range(3).map(lambda v: v * 2).as_numpy_iterator())
    assert out == [0, 2, 4] and all(type(v) is np.int64 for v in out)
    a, b = next(Dataset.from_tensor_slices((np.ones((2, 3)), np.arange(2))).as_numpy_iterator())
    assert a.shape == (3,) and type(b) is np.int64


def test_take_while_scan_unique():
    r = Dataset.range(6)
    assert list(r.take_while(lambda v: v < 3).as_numpy_iterator()) == [0, 1, 2]
    assert list(Dataset.range(4).scan(np.int64(0), lambda s, v: (s + v, s + v))
                .as_numpy_iterator()) == [0, 1, 3, 6]
    assert list(Dataset.from_tensor_slices([1, 1, 2, 1, 3]).unique().as_numpy_iterator()) \
        == [1, 2, 3]
    with pytest.raises(TypeError, match="unique: elements must be scalar"):
        list(Dataset.from_tensor_slices(np.ones((2, 2))).unique())
    with pytest.raises(ValueError, match=r"scan_func must return \(new_state, output\)"):
        list(Dataset.range(2).scan(0, lambda s, v: s))


def test_choose_from_datasets_follows_the_choices():
    a, b = Dataset.range(2), Dataset.range(5, 7)
    choices = Dataset.range(2).repeat(2)
    assert list(Dataset.choose_from_datasets([a, b], choices).as_numpy_iterator()) \
        == [0, 5, 1, 6]
    # stop_on_empty_dataset (default True): the first choice of an exhausted dataset ends it
    short = Dataset.choose_from_datasets([Dataset.range(1), b], Dataset.range(2).repeat(3))
    assert list(short.as_numpy_iterator()) == [0, 5]
    kept = Dataset.choose_from_datasets([Dataset.range(1), b], Dataset.range(2).repeat(3),
                                        stop_on_empty_dataset=False)
    assert list(kept.as_numpy_iterator()) == [0, 5, 6]
    with pytest.raises(ValueError, match=r"choices must be int64 scalars in \[0, 2\)"):
        list(Dataset.choose_from_datasets([a, b], Dataset.range(3, 4)))


def test_sample_from_datasets_oversamples_with_weights():
    """The imbalanced-data tutorial: a rare class drawn half the time."""
    pos = Dataset.from_tensor_slices(np.ones(50, np.int64)).repeat()
    neg = Dataset.from_tensor_slices(np.zeros(950, np.int64)).repeat()
    balanced = Dataset.sample_from_datasets([pos, neg], weights=[0.5, 0.5], seed=3)
    labels = np.array(list(balanced.take(2000).as_numpy_iterator()))
    assert 0.45 < labels.mean() < 0.55
    # finite datasets: all elements come out (exhausted ones drop out)
    both = Dataset.sample_from_datasets([Dataset.range(3), Dataset.range(10, 13)], seed=1)
    assert sorted(both.as_numpy_iterator()) == [0, 1, 2, 10, 11, 12]
    old = tf.data.experimental.sample_from_datasets([Dataset.range(2)], seed=0)
    assert list(old.as_numpy_iterator()) == [0, 1]
    with pytest.raises(ValueError, match="weights must be 2 non-negative numbers"):
        Dataset.sample_from_datasets([pos, neg], weights=[1.0, -1.0])
    with pytest.raises(TypeError, match="non-empty list of datasets"):
        Dataset.sample_from_datasets([])


def test_random_is_int64_and_seeded():
    first = list(Dataset.random(seed=4).take(3).as_numpy_iterator())
    assert first == list(Dataset.random(seed=4).take(3).as_numpy_iterator())
    assert all(type(v) is np.int64 for v in first) and len(set(first)) == 3


def test_element_spec_is_tensor_specs_with_unknown_batch():
    x = np.zeros((10, 2), np.float32)
    y = np.arange(10)
    ds = Dataset.from_tensor_slices((x, y))
    spec = ds.batch(3).element_spec
    assert isinstance(spec[0], tf.TensorSpec)
    assert tuple(spec[0].shape) == (None, 2) and tuple(spec[1].shape) == (None,)
    assert spec[0].dtype == tf.float32
    assert tuple(ds.batch(3, drop_remainder=True).element_spec[0].shape) == (3, 2)
    assert tuple(ds.element_spec[0].shape) == (2,)
    mapped = ds.batch(4).map(lambda a, b: (a * 2, b)).element_spec
    assert tuple(mapped[0].shape) == (None, 2)


def test_options_are_kept_and_typos_refused():
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = \
        tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = False
    ds = Dataset.range(3).with_options(options)
    assert list(ds.as_numpy_iterator()) == [0, 1, 2]
    assert options.experimental_distribute.auto_shard_policy == 2
    with pytest.raises(AttributeError, match="has no option 'determinstic'"):
        options.determinstic = True


def test_map_and_filter_functions_get_tensors():
    """tf.data hands a user's function tensors: Zero-DCE's loader calls image.set_shape and
    reads x.shape.as_list() (before: plain ndarrays, which have neither)."""
    seen = []

    def load(image, label):
        image.set_shape([None, None, 3])
        seen.append((type(image), image.shape.as_list()))
        return image * 2.0, label

    ds = Dataset.from_tensor_slices((np.ones((2, 4, 4, 3), np.float32), np.arange(2)))
    images = [a for a, _ in ds.map(load).filter(lambda a, b: b >= 0).as_numpy_iterator()]
    assert seen[0] == (tf.Tensor, [4, 4, 3])
    np.testing.assert_array_equal(images[1], np.full((4, 4, 3), 2.0))
