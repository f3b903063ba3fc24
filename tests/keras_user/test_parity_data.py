"""tf.data programs as a Keras user writes them, with TensorFlow 2.21's answers written in.

Each expected value, dtype, structure or exception type below is what TensorFlow 2.21 gave
for the same program (run side by side with convnp).
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

Dataset = tf.data.Dataset


# ----------------------------------------------------------------------------- cardinality


def test_cardinality_is_an_int64_tensor_programs_compute_with():
    ds = Dataset.range(10).batch(2)
    card = ds.cardinality()
    # TF 2.21: a 0-d int64 tensor; the tutorials call .numpy() on it and take a fifth of it
    assert card.numpy() == 5 and card.dtype == tf.int64 and card.shape == ()
    val_batches = tf.data.experimental.cardinality(ds)
    assert val_batches.numpy() == 5
    assert "n %d" % val_batches == "n 5"  # noqa: UP031 (the tutorials' own spelling)
    assert int(ds.take(val_batches // 5).cardinality()) == 1
    assert next(ds.skip(val_batches // 5).as_numpy_iterator()).tolist() == [2, 3]
    assert bool(ds.repeat().cardinality() == tf.data.INFINITE_CARDINALITY)
    assert len(ds) == 5


def test_counts_and_sizes_take_integer_tensors():
    r = Dataset.range(5)
    # TF 2.21: tensors are counts as good as ints
    assert list(r.take(tf.constant(2, tf.int64)).as_numpy_iterator()) == [0, 1]
    assert [b.tolist() for b in r.batch(r.cardinality() // 2).as_numpy_iterator()] == [
        [0, 1], [2, 3], [4]]
    assert len(list(r.shuffle(r.cardinality()))) == 5


def test_negative_counts_mean_all_as_in_tensorflow():
    r = Dataset.range(5)
    # TF 2.21: any negative count is -1 ("all"): take everything, skip everything, repeat forever
    assert list(r.take(-5).as_numpy_iterator()) == [0, 1, 2, 3, 4]
    assert list(r.skip(-5).as_numpy_iterator()) == []
    assert int(r.repeat(-5).cardinality()) == tf.data.INFINITE_CARDINALITY


@pytest.mark.parametrize("call", [
    lambda r: r.take(2.0), lambda r: r.skip(2.5), lambda r: r.repeat(2.0),
    lambda r: r.shuffle(2.0), lambda r: r.batch(2.0), lambda r: r.take("a")])
def test_non_integer_counts_are_type_errors(call):
    # TF 2.21: TypeError (it cannot convert 2.0 to an int64 tensor)
    with pytest.raises(TypeError):
        call(Dataset.range(5))


@pytest.mark.parametrize("call", [
    lambda r: r.map(3), lambda r: r.filter(3), lambda r: r.reduce(0, 3),
    lambda r: r.flat_map(3), lambda r: r.batch(None)])
def test_a_non_function_is_a_value_error(call):
    # TF 2.21: "Argument `func` must be a callable" is a ValueError; so is batch(None)
    with pytest.raises(ValueError):
        call(Dataset.range(5))


def test_assert_cardinality_declares_and_checks_the_length():
    ds = Dataset.range(10).filter(lambda v: v % 2 == 0)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    known = ds.apply(tf.data.experimental.assert_cardinality(5))
    # TF 2.21: the declared length, the same elements
    assert int(known.cardinality()) == 5 and len(known) == 5
    assert list(known.as_numpy_iterator()) == [0, 2, 4, 6, 8]
    wrong = ds.apply(tf.data.experimental.assert_cardinality(3))
    with pytest.raises(tf.errors.FailedPreconditionError):
        list(wrong)


# ----------------------------------------------------------------------------- predicates


def test_filter_wants_a_boolean_scalar():
    r = Dataset.range(4)
    # TF 2.21: Python True is fine, an int or float or a vector is a ValueError
    assert list(r.filter(lambda v: True).as_numpy_iterator()) == [0, 1, 2, 3]
    for bad in (lambda v: v, lambda v: tf.cast(v, tf.float32),
                lambda v: tf.stack([v > 1, v > 2])):
        with pytest.raises(ValueError, match="boolean scalar"):
            list(r.filter(bad))


# ----------------------------------------------------------------------------- dtypes


def test_python_lists_take_tensorflows_dtypes():
    # TF 2.21: Python ints are int32 and floats float32 (NumPy arrays keep int64/float64)
    ints = Dataset.from_tensor_slices([1, 2, 3])
    assert ints.element_spec.dtype == tf.int32
    assert [type(v) for v in ints.as_numpy_iterator()] == [np.int32] * 3
    assert Dataset.from_tensor_slices([1., 2.]).element_spec.dtype == tf.float32
    pair = Dataset.from_tensor_slices(([1, 2], [3., 4.])).element_spec
    assert (pair[0].dtype, pair[1].dtype) == (tf.int32, tf.float32)
    assert Dataset.from_tensor_slices(np.arange(3)).element_spec.dtype == tf.int64
    assert Dataset.from_tensor_slices(np.ones(3)).element_spec.dtype == tf.float64
    assert Dataset.from_tensor_slices([True, False]).element_spec.dtype == tf.bool
    assert next(Dataset.from_tensor_slices([1, 1, 2]).unique().as_numpy_iterator()).dtype \
        == np.int32


def test_from_tensors_of_a_list_is_one_tensor():
    spec = Dataset.from_tensors([1, 2]).element_spec
    # TF 2.21: TensorSpec(shape=(2,), dtype=tf.int32), not a tuple of two scalars
    assert tuple(spec.shape) == (2,) and spec.dtype == tf.int32


def test_range_output_type():
    ds = Dataset.range(3, output_type=tf.int32)
    # TF 2.21: TensorSpec(shape=(), dtype=tf.int32); a float type counts in floats
    assert ds.element_spec.dtype == tf.int32
    assert [type(v) for v in ds.as_numpy_iterator()] == [np.int32] * 3
    assert list(Dataset.range(1, 6, 2, output_type=tf.float32).as_numpy_iterator()) == [
        1.0, 3.0, 5.0]
    assert Dataset.range(3).element_spec.dtype == tf.int64


# ----------------------------------------------------------------------------- zip


def test_zip_keeps_dict_and_nested_structures():
    x = np.arange(4, dtype=np.float32).reshape(2, 2)
    a = Dataset.from_tensor_slices((x, np.arange(2)))
    b = Dataset.from_tensor_slices({"a": x, "b": np.arange(2)})
    first = next(Dataset.zip({"p": a, "q": b}).as_numpy_iterator())
    # TF 2.21: {'p': (array([0., 1.]), 0), 'q': {'a': array([0., 1.]), 'b': 0}}
    assert set(first) == {"p", "q"} and isinstance(first["p"], tuple)
    assert first["p"][0].tolist() == [0.0, 1.0] and first["q"]["b"] == 0
    nested = next(Dataset.zip((a, (b, a))).as_numpy_iterator())
    assert isinstance(nested[1], tuple) and isinstance(nested[1][0], dict)
    two = list(Dataset.zip(Dataset.range(2), Dataset.range(2)).as_numpy_iterator())
    assert two == [(0, 0), (1, 1)]
    with pytest.raises(TypeError):
        Dataset.zip((Dataset.range(3), 3))


# ----------------------------------------------------------------------------- iterators


def test_iterator_get_next_and_optional():
    it = iter(Dataset.range(2))
    # TF 2.21: get_next() gives the next tensor, then OutOfRangeError at the end
    assert it.get_next().numpy() == 0
    opt = it.get_next_as_optional()
    assert bool(opt.has_value()) and opt.get_value().numpy() == 1
    empty = it.get_next_as_optional()
    assert not bool(empty.has_value())
    with pytest.raises(tf.errors.InvalidArgumentError):
        empty.get_value()
    with pytest.raises(tf.errors.OutOfRangeError):
        it.get_next()
    with pytest.raises(StopIteration):
        next(it)
    x, y = next(iter(Dataset.from_tensor_slices((np.ones((2, 3)), np.arange(2)))))
    assert x.shape == (3,) and y.numpy() == 0


# ----------------------------------------------------------------------------- element_spec


def _shape(spec):
    return tuple(spec.shape)


def test_element_spec_of_a_generator_is_its_signature():
    def gen():
        for i in range(3):
            yield np.ones(i + 1, "float32"), i

    g = Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec(shape=(None,), dtype=tf.float32), tf.TensorSpec(shape=(), dtype=tf.int32)))
    # TF 2.21: the signature as given (None stays None), not the first element's (1,)
    assert [_shape(s) for s in g.element_spec] == [(None,), ()]
    # padded_batch: TensorSpec(shape=(None, None)) and (None,)
    assert [_shape(s) for s in g.padded_batch(2).element_spec] == [(None, None), (None,)]
    fixed = g.padded_batch(2, padded_shapes=([4], []), drop_remainder=True).element_spec
    assert [_shape(s) for s in fixed] == [(2, 4), (2,)]


def test_element_spec_without_running_the_pipeline():
    # TF 2.21's specs: an empty dataset still has one, batches of batches keep inner sizes
    assert Dataset.range(3).filter(lambda v: v > 10).element_spec == tf.TensorSpec((), tf.int64)
    assert _shape(Dataset.range(0).batch(2).element_spec) == (None,)
    assert _shape(Dataset.range(4).batch(2).batch(2).element_spec) == (None, None)
    assert _shape(Dataset.range(4).batch(2, drop_remainder=True).batch(2).element_spec) == (
        None, 2)
    rows = Dataset.from_tensor_slices(np.ones((4, 3, 2)))
    assert _shape(rows.unbatch().element_spec) == (2,)
    assert _shape(rows.padded_batch(2, padded_shapes=[None, 5]).element_spec) == (None, None, 5)
    assert [_shape(s) for s in Dataset.range(5).enumerate().element_spec] == [(), ()]
    assert Dataset.random(seed=1).element_spec.dtype == tf.int64
    spec = Dataset.zip({"a": rows, "n": Dataset.range(4)}).shuffle(4).take(2).element_spec
    assert set(spec) == {"a", "n"} and _shape(spec["a"]) == (3, 2)


def test_concatenate_joins_specs_and_refuses_a_mismatch():
    three = Dataset.from_tensor_slices(np.ones((4, 3)))
    two = Dataset.from_tensor_slices(np.ones((4, 2)))
    # TF 2.21: TensorSpec(shape=(None,), dtype=tf.float64)
    assert _shape(three.concatenate(two).element_spec) == (None,)
    # TF 2.21: TypeError "Incompatible dataset elements" (dtype or structure)
    with pytest.raises(TypeError):
        Dataset.range(3).concatenate(three)
    with pytest.raises(TypeError):
        Dataset.range(3).concatenate(Dataset.zip((Dataset.range(3), Dataset.range(3))))


# ----------------------------------------------------------------------------- file paths


def test_the_load_images_tutorials_label_from_a_path(tmp_path):
    # TensorFlow's "Load and preprocess images" tutorial: the label is the folder's index in
    # class_names (NumPy str), read from a list_files path (bytes)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.png").write_bytes(b"")
    class_names = np.array(["cat", "dog"])

    def get_label(file_path):
        parts = tf.strings.split(file_path, "/")
        return tf.argmax(parts[-2] == class_names)

    files = Dataset.list_files(str(tmp_path / "*" / "*"), shuffle=False)
    # TF 2.21: [0, 1]
    assert list(files.map(get_label).as_numpy_iterator()) == [0, 1]


def test_bytes_and_str_compare_by_their_utf8_bytes():
    # TF 2.21: a bool tensor True, and [True, False]
    same = tf.constant(b"cat") == "cat"
    assert same.numpy() == np.True_ and isinstance(same, type(tf.constant(1)))
    assert (tf.constant(b"cat") == np.array(["cat", "dog"])).numpy().tolist() == [True, False]
    assert (tf.constant(b"cat") != "cat").numpy() == np.False_
    assert ("d\u00e9j\u00e0" == tf.constant("d\u00e9j\u00e0".encode())).numpy() == np.True_
    parts = tf.strings.split(tf.constant("/a/cat/x.png"), "/")
    assert (parts == "cat").numpy().tolist() == [False, False, True, False]


def test_string_helpers_of_file_pipelines():
    # TF 2.21's values
    assert tf.strings.split(tf.constant("/a/cat/x.png"), "/").numpy().tolist() == [
        b"", b"a", b"cat", b"x.png"]
    assert tf.strings.split("a  b c").numpy().tolist() == [b"a", b"b", b"c"]
    assert tf.strings.split("a,b,c", ",", maxsplit=1).numpy().tolist() == [b"a", b"b,c"]
    assert tf.strings.regex_replace(tf.constant("a.png"), r"\.png$", "").numpy() == b"a"
    assert tf.strings.regex_replace("aaa", "a", "b", replace_global=False).numpy() == b"baa"
    assert tf.strings.substr(tf.constant("hello"), 1, 3).numpy() == b"ell"
    assert tf.strings.substr("hello", -3, 2).numpy() == b"ll"
    number = tf.strings.to_number(tf.constant("3.5"))
    assert number.numpy() == 3.5 and number.dtype == tf.float32
    assert tf.strings.to_number(["1", "22"], out_type=tf.int32).numpy().tolist() == [1, 22]
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.strings.to_number("cat")
    with pytest.raises(NotImplementedError, match="RaggedTensor"):
        tf.strings.split(["a b", "c"])


# ----------------------------------------------------------------------------- grouping


def _sequences():
    def gen():
        for n in [1, 5, 2, 7, 3, 1, 6, 2]:
            yield np.arange(1, n + 1, dtype=np.int32), n

    return Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)))


def test_bucket_by_sequence_length():
    g = _sequences()
    b = g.bucket_by_sequence_length(lambda x, y: tf.shape(x)[0], [3, 6], [2, 2, 3])
    # TF 2.21's batches, in its order (the unfinished buckets last, smallest first)
    assert [(x.tolist(), y.tolist()) for x, y in b.as_numpy_iterator()] == [
        ([[1, 0], [1, 2]], [1, 2]),
        ([[1, 2, 3, 4, 5], [1, 2, 3, 0, 0]], [5, 3]),
        ([[1, 0], [1, 2]], [1, 2]),
        ([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 0]], [7, 6])]
    assert [tuple(s.shape) for s in b.element_spec] == [(None, None), (None,)]
    dropped = g.bucket_by_sequence_length(lambda x, y: tf.shape(x)[0], [3, 6], [2, 2, 3],
                                          drop_remainder=True)
    assert [x.shape for x, _ in dropped.as_numpy_iterator()] == [(2, 2), (2, 5), (2, 2)]
    to_boundary = g.take(6).bucket_by_sequence_length(
        lambda x, y: tf.shape(x)[0], [3, 8], [2, 2, 3], pad_to_bucket_boundary=True)
    assert [x.shape for x, _ in to_boundary.as_numpy_iterator()] == [
        (2, 2), (2, 7), (1, 2), (1, 7)]
    padded = g.take(3).bucket_by_sequence_length(lambda x, y: tf.shape(x)[0], [3], [2, 2],
                                                 padding_values=(-1, 0))
    assert [x.tolist() for x, _ in padded.as_numpy_iterator()] == [
        [[1, -1], [1, 2]], [[1, 2, 3, 4, 5]]]
    with pytest.raises(ValueError):
        g.bucket_by_sequence_length(lambda x, y: tf.shape(x)[0], [3, 6], [2, 2])


def test_group_by_window():
    r = Dataset.range(10)
    # TF 2.21's elements
    assert [x.tolist() for x in r.group_by_window(
        lambda v: v % 3, lambda k, w: w.batch(2), window_size=2).as_numpy_iterator()] == [
        [0, 3], [1, 4], [2, 5], [6, 9], [7], [8]]
    assert [x.tolist() for x in r.group_by_window(
        lambda v: v % 2, lambda k, w: w.batch(5),
        window_size_func=lambda k: k + 2).as_numpy_iterator()] == [
        [0, 2], [1, 3, 5], [4, 6], [8], [7, 9]]
    assert [x.tolist() for x in r.group_by_window(
        lambda v: v % 3, lambda k, w: w.map(lambda e: e * 0 + k).batch(4),
        window_size=4).as_numpy_iterator()] == [[0, 0, 0, 0], [1, 1, 1], [2, 2, 2]]
    with pytest.raises(ValueError):
        r.group_by_window(lambda v: v % 2, lambda k, w: w, window_size=2,
                          window_size_func=lambda k: k + 2)


def test_options_ensure_shape_and_get_single_element():
    options = tf.data.Options()
    options.deterministic = False
    ds = Dataset.range(10).with_options(options).batch(4)
    # TF 2.21: the options read back; the elements as without them
    assert ds.options().deterministic is False
    assert Dataset.range(2).options().deterministic is None
    assert list(ds.as_numpy_iterator())[-1].tolist() == [8, 9]
    assert int(tf.data.experimental.get_single_element(Dataset.range(5).take(1))) == 0
    images = Dataset.from_tensor_slices(np.ones((2, 4, 4, 3), np.float32))
    assert tuple(next(iter(images.map(lambda x: tf.ensure_shape(x, [4, 4, 3])))).shape) == (
        4, 4, 3)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.ensure_shape(np.ones((2, 3)), [2, 4])


# ----------------------------------------------------------------------------- save / load


def test_save_and_load_keep_elements_and_spec(tmp_path):
    features = {"a": np.arange(6.0).reshape(3, 2), "s": np.array(["x", "y", "z"])}
    ds = Dataset.from_tensor_slices((features, np.arange(3))).batch(2)
    ds.save(str(tmp_path / "saved"))
    loaded = Dataset.load(str(tmp_path / "saved"))
    # TF 2.21: the same elements, the same element_spec, the cardinality known
    assert loaded.element_spec == ds.element_spec
    assert int(loaded.cardinality()) == 2
    (f0, y0), (f1, y1) = loaded.as_numpy_iterator()
    assert f0["a"].tolist() == [[0.0, 1.0], [2.0, 3.0]] and y0.tolist() == [0, 1]
    assert y1.tolist() == [2]
    assert f1["s"].tolist() == ["z"]
    again = tf.data.experimental.load(str(tmp_path / "saved"))
    assert [y.tolist() for _, y in again.unbatch().batch(3).as_numpy_iterator()] == [[0, 1, 2]]
    ragged = Dataset.range(5).map(lambda v: tf.range(v)).padded_batch(2)
    ragged.save(tmp_path / "ragged", compression="GZIP")
    assert [b.shape for b in Dataset.load(tmp_path / "ragged").as_numpy_iterator()] == [
        (2, 1), (2, 3), (1, 4)]
    with pytest.raises(FileNotFoundError):
        Dataset.load(tmp_path / "nothing")
    with pytest.raises(ValueError):
        Dataset.range(3).repeat().save(tmp_path / "forever")


def test_python_numbers_returned_by_functions_take_tensorflows_dtypes():
    r = Dataset.range(3)
    # TF 2.21: int32 and float32 for Python numbers, NumPy scalars keep theirs
    spec = r.map(lambda v: (v, 1, 1.5)).element_spec
    assert [s.dtype for s in spec] == [tf.int64, tf.int32, tf.float32]
    assert r.map(lambda v: np.float64(1.0)).element_spec.dtype == tf.float64
    assert [s.dtype for s in r.map(lambda v: [1.0, 2.0]).element_spec] == [tf.float32] * 2
    total = r.reduce(0, lambda s, e: s + 1)
    assert total.numpy() == 3 and total.dtype == tf.int32
    assert [type(v) for v in r.scan(0, lambda s, e: (s + 1, s)).as_numpy_iterator()] == [
        np.int32] * 3


def test_dataset_save_writes_no_pickles_and_load_checks_declared_sizes(tmp_path):
    import io
    import zipfile

    from convnp.data import saved

    with pytest.raises(ValueError, match="without pickle"):
        saved.write(tmp_path / "o", [[np.array([1, "a"], dtype=object)]], ("tensor",),
                    [([2], "object")], None)
    tf.data.Dataset.from_tensor_slices(np.arange(3.0)).save(str(tmp_path / "d"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**9,)})
    header.write(b"\0" * 16)
    with zipfile.ZipFile(tmp_path / "d" / "elements.npz", "w") as archive:
        for i in range(3):
            archive.writestr(f"e{i}_0.npy", header.getvalue())
    with pytest.raises(ValueError, match="declares shape"):
        tf.data.Dataset.load(str(tmp_path / "d"))
