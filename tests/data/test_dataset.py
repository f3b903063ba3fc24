"""Dataset: tf.data semantics for the parts course code and fit use."""

from __future__ import annotations

import numpy as np
import pytest

import convnp
from convnp import random
from convnp.data import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from convnp.utils import set_random_seed, to_categorical


def _xy(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    return x, y


def test_batch_sizes_with_remainder_and_drop():
    x, y = _xy(10)
    batches = list(Dataset.from_tensor_slices((x, y)).batch(4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    dropped = list(Dataset.from_tensor_slices((x, y)).batch(4, drop_remainder=True))
    assert [b[0].shape[0] for b in dropped] == [4, 4]
    assert Dataset.from_tensor_slices(x).batch(4).cardinality() == 3
    assert Dataset.from_tensor_slices(x).batch(4, drop_remainder=True).cardinality() == 2
    assert len(Dataset.from_tensor_slices(x).batch(3)) == 4


def test_unshuffled_batches_are_views():
    x, y = _xy(8)
    first = next(iter(Dataset.from_tensor_slices((x, y)).batch(4)))
    assert np.shares_memory(first[0], x)


def test_single_component_and_dict_and_triples():
    x, y = _xy(6)
    w = np.ones(6)
    assert isinstance(next(iter(Dataset.from_tensor_slices(x).batch(2))), np.ndarray)
    b = next(iter(Dataset.from_tensor_slices({"a": x, "b": y}).batch(3)))
    assert set(b) == {"a", "b"} and b["a"].shape == (3, 2)
    t = next(iter(Dataset.from_tensor_slices((x, y, w)).batch(6)))
    assert len(t) == 3 and t[2].shape == (6,)
    elems = list(Dataset.from_tensor_slices((x, y)))
    assert len(elems) == 6 and elems[1][0].shape == (2,) and elems[1][1] == 1
    assert [e for e in Dataset.from_tensor_slices(y).as_numpy_iterator()] == list(range(6))


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match=r"same length.*\[10, 9\]"):
        Dataset.from_tensor_slices((np.zeros(10), np.zeros(9)))
    with pytest.raises(ValueError, match="scalar"):
        Dataset.from_tensor_slices(np.float32(3.0))


def test_shuffle_is_a_permutation_and_repeats_with_set_seed():
    x, y = _xy(50)
    ds = Dataset.from_tensor_slices((x, y)).shuffle(50).batch(16)
    set_random_seed(3)
    a = np.concatenate([b[1] for b in ds])
    b2 = np.concatenate([b[1] for b in ds])
    assert sorted(a) == list(range(50)) and not np.array_equal(a, np.arange(50))
    assert not np.array_equal(a, b2)  # reshuffled each iteration
    random.set_seed(3)
    np.testing.assert_array_equal(a, np.concatenate([b[1] for b in ds]))
    # rows stay paired
    for xb, yb in ds:
        np.testing.assert_array_equal(xb[:, 0], yb * 2)


def test_shuffle_seed_and_no_reshuffle():
    y = np.arange(20)
    a = list(Dataset.from_tensor_slices(y).shuffle(20, seed=1))
    b = list(Dataset.from_tensor_slices(y).shuffle(20, seed=1))
    assert a == b
    fixed = Dataset.from_tensor_slices(y).shuffle(20, reshuffle_each_iteration=False)
    assert list(fixed) == list(fixed)


def test_small_buffer_shuffle_behaves_like_tf():
    y = np.arange(100)
    random.set_seed(0)
    out = np.array(list(Dataset.from_tensor_slices(y).shuffle(5)))
    assert sorted(out) == list(range(100))
    # With a buffer of 5, element i can come out no earlier than position i - 4.
    pos = np.empty(100, int)
    pos[out] = np.arange(100)
    assert np.all(pos >= np.arange(100) - 4)
    assert Dataset.from_tensor_slices(y).shuffle(1).take(10).as_numpy_iterator().__next__() == 0
    # The same order through the element-wise path (after a map) and the index path.
    random.set_seed(5)
    fast = list(Dataset.from_tensor_slices(y).shuffle(7))
    random.set_seed(5)
    slow = list(Dataset.from_tensor_slices(y).map(lambda v: v).shuffle(7))
    assert fast == [int(v) for v in slow]


def test_map_unpacks_tuples():
    x, y = _xy(6)
    ds = Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b + 1)).batch(3)
    xb, yb = next(iter(ds))
    np.testing.assert_array_equal(xb, x[:3] * 2)
    np.testing.assert_array_equal(yb, y[:3] + 1)
    single = Dataset.from_tensor_slices(y).map(lambda v: v * 10)
    assert list(single) == [0, 10, 20, 30, 40, 50]
    assert single.cardinality() == 6
    batched_map = Dataset.from_tensor_slices((x, y)).batch(4).map(lambda a, b: b.sum())
    assert [int(v) for v in batched_map] == [6, 9]


def test_take_skip_repeat_and_cardinality():
    y = np.arange(5)
    ds = Dataset.from_tensor_slices(y)
    assert list(ds.take(3)) == [0, 1, 2] and ds.take(3).cardinality() == 3
    assert list(ds.skip(3)) == [3, 4] and ds.skip(3).cardinality() == 2
    assert list(ds.take(-1)) == list(y) and list(ds.skip(-1)) == []
    assert list(ds.repeat(2)) == [0, 1, 2, 3, 4] * 2 and ds.repeat(2).cardinality() == 10
    forever = ds.repeat()
    assert forever.cardinality() == INFINITE_CARDINALITY
    assert list(forever.take(12)) == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert forever.take(12).cardinality() == 12
    assert ds.filter(lambda v: v % 2 == 0).cardinality() == UNKNOWN_CARDINALITY
    assert list(ds.filter(lambda v: v % 2 == 0)) == [0, 2, 4]
    with pytest.raises(TypeError, match="infinite"):
        len(forever)
    with pytest.raises(TypeError, match="unknown"):
        len(ds.filter(lambda v: True))
    assert list(ds.repeat(2).batch(4)) and [len(b) for b in ds.repeat(2).batch(4)] == [4, 4, 2]
    assert list(ds.repeat(0)) == []


def test_repeat_reshuffles_each_pass():
    random.set_seed(1)
    y = np.arange(30)
    out = np.array(list(Dataset.from_tensor_slices(y).shuffle(30).repeat(2)))
    assert sorted(out[:30]) == list(range(30)) and sorted(out[30:]) == list(range(30))
    assert not np.array_equal(out[:30], out[30:])


def test_unbatch_prefetch_cache_concatenate_zip():
    x, y = _xy(7)
    ds = Dataset.from_tensor_slices((x, y)).batch(3).unbatch()
    assert [int(e[1]) for e in ds] == list(range(7))
    assert Dataset.from_tensor_slices(y).prefetch(AUTOTUNE).cache().cardinality() == 7
    cat = Dataset.from_tensor_slices(y).concatenate(Dataset.from_tensor_slices(y[:2]))
    assert cat.cardinality() == 9 and list(cat)[-2:] == [0, 1]
    z = Dataset.zip((Dataset.from_tensor_slices(y), Dataset.from_tensor_slices(y * 2)))
    assert list(z)[3] == (3, 6) and z.cardinality() == 7
    assert convnp.data.AUTOTUNE == -1
    assert convnp.data.experimental.AUTOTUNE == -1


def test_element_spec_and_errors():
    x, y = _xy(4)
    spec = Dataset.from_tensor_slices((x, y)).batch(2).element_spec
    assert tuple(spec[0].shape) == (None, 2) and spec[0].dtype == np.float32
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.from_tensor_slices(y).batch(0)
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.from_tensor_slices(y).shuffle(0)
    with pytest.raises(TypeError, match="count"):
        Dataset.from_tensor_slices(y).take(2.0)
    # TensorFlow 2.21: a negative take count other than -1 also means "all", and a
    # non-callable map function is a ValueError
    assert len(Dataset.from_tensor_slices(y).take(-2)) == 4
    with pytest.raises(ValueError):
        Dataset.from_tensor_slices(y).map(3)


def test_course_pipeline_shapes():
    X = np.zeros((120, 64, 64, 3), dtype=np.float32)
    Y = to_categorical(np.arange(120) % 6)
    train = Dataset.from_tensor_slices((X, Y)).batch(64)
    shapes = [(xb.shape, yb.shape) for xb, yb in train]
    assert shapes == [((64, 64, 64, 3), (64, 6)), ((56, 64, 64, 3), (56, 6))]


def test_to_categorical():
    out = to_categorical(np.array([[0], [2], [1]]))
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert out.dtype == np.float32
    assert to_categorical([1, 0], num_classes=4).shape == (2, 4)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([5], num_classes=3)
    with pytest.raises(ValueError):
        to_categorical([-1])


def test_as_numpy_iterator_gives_plain_arrays_after_every_stage():
    """TensorFlow's tutorial peeks with ``test_dataset.as_numpy_iterator().next()`` after
    ``take``/``skip``: plain arrays come out (take and skip passed tensors through)."""
    from convnp.tensor.eager import EagerTensor

    x, y = np.arange(24.0).reshape(12, 2), np.arange(12)
    base = Dataset.from_tensor_slices((x, y)).batch(4)
    for ds in (base, base.take(1), base.skip(1), base.map(lambda a, b: (a * 2, b)),
               base.shuffle(3).take(2).skip(1)):
        a, b = ds.as_numpy_iterator().next()
        assert type(a) is np.ndarray and type(b) is np.ndarray
        assert not isinstance(a, EagerTensor) and a.shape == (4, 2)


def test_file_paths_as_a_list_of_strings_feed_a_map_that_reads_images(tmp_path):
    """keras.io's segmentation pipeline: ``from_tensor_slices((image_paths, mask_paths))``
    (lists of strings are one component each, as in tf.data), then ``tf.io.read_file`` and
    ``tf.io.decode_png`` in ``map``."""
    pytest.importorskip("PIL")
    from PIL import Image

    import convnp as tf

    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((4, 5), i + 1, np.uint8)).save(path)
        paths.append(str(path))
    ds = Dataset.from_tensor_slices((paths, [p.replace(".png", "") for p in paths]))
    assert ds.cardinality() == 3

    def load(path, stem):
        image = tf.io.decode_png(tf.io.read_file(path), channels=1)
        return tf.image.resize(image, (2, 2), method="nearest"), stem

    images = [(np.asarray(a), str(b)) for a, b in ds.map(load).as_numpy_iterator()]
    assert [int(a[0, 0, 0]) for a, _ in images] == [1, 2, 3]
    assert [s for _, s in images] == [p.replace(".png", "") for p in paths]
