"""tf.data additions: from_generator, list_files, interleave/flat_map, padded_batch, reduce,
get_single_element, shard, apply, window, rebatch, ignore_errors, TensorSpec."""

import numpy as np
import pytest

import convnp as tf

Dataset = tf.data.Dataset


def _values(ds):
    return [np.asarray(e).tolist() for e in ds.as_numpy_iterator()]


def test_from_generator_with_output_signature_runs_again_each_pass():
    calls = []

    def gen():
        calls.append(1)
        for i in range(3):
            yield np.arange(i + 1), i

    ds = Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec(shape=(None,), dtype=tf.float32), tf.TensorSpec(shape=(), dtype=tf.int64)))
    first = list(ds)
    assert [x.numpy().tolist() for x, _ in first] == [[0.0], [0.0, 1.0], [0.0, 1.0, 2.0]]
    assert first[0][0].dtype == np.float32 and first[2][1].dtype == np.int64
    assert len(list(ds)) == 3 and len(calls) == 2
    assert ds.cardinality() == tf.data.UNKNOWN_CARDINALITY
    batches = list(ds.padded_batch(2))
    np.testing.assert_array_equal(batches[0][0], [[0, 0], [0, 1]])


def test_from_generator_with_output_types_and_shapes_and_args():
    def gen(n, scale):
        for i in range(int(n)):
            yield {"x": [i * scale, i], "y": i}

    ds = Dataset.from_generator(gen, output_types={"x": tf.float64, "y": tf.int32},
                                output_shapes={"x": [2], "y": []}, args=(3, 0.5))
    out = list(ds.as_numpy_iterator())
    assert out[2]["x"].tolist() == [1.0, 2.0] and out[2]["x"].dtype == np.float64
    assert out[1]["y"].dtype == np.int32


def test_from_generator_rejects_elements_that_do_not_fit():
    def gen():
        yield np.zeros(3)
        yield np.zeros(4)

    ds = Dataset.from_generator(gen, output_signature=tf.TensorSpec([3], tf.float32))
    with pytest.raises(ValueError, match=r"element 1 should have shape \[3\], got \[4\]"):
        list(ds)
    with pytest.raises(TypeError, match="output_signature"):
        Dataset.from_generator(gen)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator([1, 2], output_types=tf.int32)
    with pytest.raises(TypeError, match="TensorSpec"):
        Dataset.from_generator(gen, output_signature=(tf.float32,))


def test_list_files_sorted_or_shuffled_and_read_back(tmp_path):
    for name in ("b.png", "a.png", "c.txt"):
        (tmp_path / name).write_bytes(name.encode())
    ds = Dataset.list_files(str(tmp_path / "*.png"), shuffle=False)
    names = [bytes(n) for n in ds.as_numpy_iterator()]
    assert names == [str(tmp_path / "a.png").encode(), str(tmp_path / "b.png").encode()]
    contents = sorted(tf.io.read_file(f) for f in Dataset.list_files(str(tmp_path / "*")))
    assert contents == [b"a.png", b"b.png", b"c.txt"]
    with pytest.raises(ValueError, match="no files matched"):
        Dataset.list_files(str(tmp_path / "*.jpg"))


def test_interleave_order_is_tf_datas():
    ds = Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6),
                                        cycle_length=2, block_length=4)
    # the example in tf.data's documentation
    assert _values(ds) == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3,
                           4, 4, 5, 5, 5, 5, 5, 5]
    cyc = Dataset.range(3).interleave(lambda x: Dataset.range(x * 10, x * 10 + 2),
                                      cycle_length=3)
    assert _values(cyc) == [0, 10, 20, 1, 11, 21]
    with pytest.raises(ValueError, match="cycle_length"):
        Dataset.range(3).interleave(lambda x: Dataset.range(2), cycle_length=0)


def test_flat_map_chains_and_unpacks_tuples():
    ds = Dataset.from_tensor_slices(([1, 2], [10, 20]))
    flat = ds.flat_map(lambda a, b: Dataset.from_tensor_slices([a, b]))
    assert _values(flat) == [1, 10, 2, 20]
    with pytest.raises(TypeError, match="must return a Dataset"):
        list(ds.flat_map(lambda a, b: a))


def test_padded_batch_pads_to_longest_or_given_shape():
    ds = Dataset.range(1, 4).map(lambda n: (np.arange(n), n))
    a, n = next(iter(ds.padded_batch(3)))
    np.testing.assert_array_equal(a, [[0, 0, 0], [0, 1, 0], [0, 1, 2]])
    np.testing.assert_array_equal(n, [1, 2, 3])
    a, _ = next(iter(ds.padded_batch(2, padded_shapes=([5], []), padding_values=(-1, 0))))
    np.testing.assert_array_equal(a, [[0, -1, -1, -1, -1], [0, 1, -1, -1, -1]])
    assert ds.padded_batch(2, drop_remainder=True).cardinality() == 1
    with pytest.raises(ValueError, match="does not fit"):
        list(ds.padded_batch(3, padded_shapes=([2], [])))


def test_reduce_and_get_single_element():
    assert int(Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x)) == 10
    pairs = Dataset.from_tensor_slices(([1, 2, 3], [4, 5, 6]))
    total = pairs.reduce(0, lambda s, e: s + e[0] * e[1])
    assert int(total) == 32
    x, y = Dataset.from_tensors((np.ones(2), 3)).get_single_element()
    assert x.shape == (2,) and int(y) == 3
    with pytest.raises(ValueError, match="empty"):
        Dataset.range(0).get_single_element()
    with pytest.raises(ValueError, match="more than one"):
        Dataset.range(2).get_single_element()


def test_shard_and_apply():
    ds = Dataset.range(10)
    assert _values(ds.shard(3, 1)) == [1, 4, 7]
    assert ds.shard(3, 1).cardinality() == 3 and ds.shard(3, 0).cardinality() == 4
    with pytest.raises(ValueError, match="index"):
        ds.shard(3, 3)
    assert _values(ds.apply(lambda d: d.filter(lambda x: x % 2 == 0))) == [0, 2, 4, 6, 8]
    with pytest.raises(TypeError, match="must return a Dataset"):
        ds.apply(lambda d: 3)


def test_window_shift_stride_and_remainder():
    windows = Dataset.range(7).window(3, shift=2)
    assert [_values(w) for w in windows] == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]
    assert windows.cardinality() == 4
    kept = Dataset.range(7).window(3, shift=2, stride=2, drop_remainder=True)
    assert [_values(w) for w in kept] == [[0, 2, 4], [2, 4, 6]]
    assert kept.cardinality() == 2
    # the usual sliding-window pipeline
    sliding = Dataset.range(5).window(3, shift=1, drop_remainder=True).flat_map(
        lambda w: w.batch(3))
    assert _values(sliding) == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).window(2)
    x, y = next(iter(pairs))
    assert _values(x) == [0, 1] and _values(y) == [0, 10]


def test_rebatch():
    ds = Dataset.range(10).batch(4)
    assert _values(ds.rebatch(3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert _values(ds.rebatch([2, 3], drop_remainder=True)) == [[0, 1], [2, 3, 4], [5, 6],
                                                                 [7, 8, 9]]
    with pytest.raises(ValueError, match="batch_size"):
        ds.rebatch(0)


def test_ignore_errors_drops_the_failing_elements_only():
    def check(x):
        if x == 2:
            raise ValueError("bad element")
        return x * 10

    ds = Dataset.range(5).map(check)
    with pytest.raises(ValueError, match="bad element"):
        list(ds)
    assert _values(ds.ignore_errors()) == [0, 10, 30, 40]
    noisy = ds.filter(lambda x: x != 30).ignore_errors(log_warning=True)
    with pytest.warns(RuntimeWarning, match="dropped an element"):
        assert _values(noisy) == [0, 10, 40]


def test_experimental_names_and_tensor_spec():
    assert tf.data.experimental.cardinality(Dataset.range(4).batch(3)) == 2
    assert tf.data.experimental.AUTOTUNE == tf.data.AUTOTUNE
    assert tf.data.experimental.INFINITE_CARDINALITY == Dataset.range(2).repeat().cardinality()
    spec = tf.TensorSpec([None, 3], tf.int32, name="x")
    assert spec.is_compatible_with(np.zeros((4, 3), np.int32))
    assert not spec.is_compatible_with(np.zeros((4, 2), np.int32))
    assert not spec.is_compatible_with(np.zeros((4, 3), np.float32))
    assert spec == tf.TensorSpec((None, 3), "int32") and spec.shape == [None, 3]
    assert tf.TensorSpec.from_tensor(np.zeros(2)) == tf.TensorSpec([2], tf.float64)


def test_fit_trains_on_a_generator_pipeline_with_augmentation():
    def gen():
        rng = np.random.default_rng(0)
        for _ in range(24):
            x = rng.random((6, 6, 3)).astype(np.float32)
            yield x, np.float32(x.mean() > 0.5)

    ds = Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((6, 6, 3), tf.float32), tf.TensorSpec((), tf.float32)))
    ds = ds.map(lambda x, y: (tf.image.random_flip_left_right(x), y)).batch(8)
    model = tf.keras.Sequential([tf.keras.Input((6, 6, 3)), tf.keras.layers.Conv2D(2, 3),
                                 tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(history.history["loss"]))
