"""Small TensorFlow names Keras users' scripts touch: tf.config's eager switch and threading,
tf.test's GPU questions, tf.get_logger, tf.nest, tf.unique, the version strings. The expected
values are what TensorFlow 2.21 printed for the same calls."""

from __future__ import annotations

import collections
import logging
import sys

import numpy as np
import pytest

import convnp as tf
from convnp import compat
from convnp.ops import threads


def test_run_functions_eagerly_flag():
    assert tf.config.functions_run_eagerly() is False
    try:
        tf.config.run_functions_eagerly(True)
        assert tf.config.functions_run_eagerly() is True
        assert tf.config.experimental_functions_run_eagerly() is True

        @tf.function
        def double(x):
            return x * 2  # eager either way: the body sees real values

        assert double(tf.constant(2.0)).numpy() == 4.0
    finally:
        tf.config.run_functions_eagerly(False)
    assert tf.config.functions_run_eagerly() is False


def test_intra_op_threads_cap_the_kernels_and_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    threading = tf.config.threading
    assert threading.get_intra_op_parallelism_threads() == 0
    assert threading.get_inter_op_parallelism_threads() == 0

    def blas_threads():
        return max(lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                   if lib["user_api"] == "blas")

    before = blas_threads()
    try:
        threading.set_intra_op_parallelism_threads(1)
        assert threading.get_intra_op_parallelism_threads() == 1
        assert blas_threads() == 1
        with threads.parallel_region() as workers:
            assert workers == 1  # convnp's kernels run in the calling thread only
            with pytest.raises(RuntimeError, match="fit/evaluate/predict"):
                threading.set_intra_op_parallelism_threads(2)
        threading.set_intra_op_parallelism_threads(np.int64(2))
        assert blas_threads() == 2
    finally:
        threading.set_intra_op_parallelism_threads(0)
    assert threading.get_intra_op_parallelism_threads() == 0 and blas_threads() == before
    for bad, kind in ((2.5, TypeError), ("2", TypeError), (True, TypeError), (-1, ValueError)):
        with pytest.raises(kind):
            threading.set_intra_op_parallelism_threads(bad)
    try:
        threading.set_inter_op_parallelism_threads(3)
        assert threading.get_inter_op_parallelism_threads() == 3
    finally:
        threading.set_inter_op_parallelism_threads(0)


def test_module_paths_through_compat():
    try:
        compat.as_tensorflow()
        from tensorflow.config.experimental import set_memory_growth
        from tensorflow.config.threading import get_intra_op_parallelism_threads
        from tensorflow.nest import map_structure
        from tensorflow.test import is_gpu_available

        for gpu in tf.config.list_physical_devices("GPU"):  # the usual loop: no GPU, no call
            set_memory_growth(gpu, True)
        assert set_memory_growth is tf.config.experimental.set_memory_growth
        assert get_intra_op_parallelism_threads() == 0
        assert map_structure(abs, [-1]) == [1] and is_gpu_available() is False
        assert sys.modules["tensorflow"].keras.__version__ == tf.__version__
    finally:
        compat.restore()


def test_gpu_questions_and_logger():
    assert tf.test.is_gpu_available() is False
    assert tf.test.is_gpu_available(cuda_only=True, min_cuda_compute_capability=(3, 5)) is False
    assert tf.test.gpu_device_name() == ""
    assert not (tf.test.is_built_with_cuda() or tf.test.is_built_with_gpu_support()
                or tf.test.is_built_with_rocm() or tf.test.is_built_with_xla())
    logger = tf.get_logger()
    assert isinstance(logger, logging.Logger) and logger is tf.get_logger()
    previous = logger.level
    try:
        logger.setLevel("ERROR")
        assert logging.getLogger(logger.name).level == logging.ERROR
    finally:
        logger.setLevel(previous)


def test_versions():
    assert isinstance(tf.__version__, str) and tf.__version__.count(".") == 2
    assert tf.keras.__version__ == tf.__version__


P = collections.namedtuple("P", "y x")


def test_nest_flatten_and_pack():
    assert tf.nest.flatten({"b": 1, "a": [2, (3, None)]}) == [2, 3, None, 1]
    assert tf.nest.flatten(None) == [None] and tf.nest.flatten("ab") == ["ab"]
    assert tf.nest.flatten(P(1, 2)) == [1, 2]
    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    assert tf.nest.flatten(ordered) == [2, 1]  # sorted keys, even for an OrderedDict
    assert tf.nest.flatten([1, [2, [3, [4]]]]) == [1, 2, 3, 4]
    assert tf.nest.flatten(([],)) == [] and tf.nest.flatten({1, 2}) == [{1, 2}]
    packed = tf.nest.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
    assert packed == {"b": 3, "a": [1, 2]} and list(packed) == ["b", "a"]
    again = tf.nest.pack_sequence_as(ordered, [1, 2])
    assert type(again) is collections.OrderedDict and list(again.items()) == [("b", 2), ("a", 1)]
    assert tf.nest.pack_sequence_as(P(0, 0), [5, 6]) == P(y=5, x=6)
    assert tf.nest.pack_sequence_as(1, [7]) == 7
    assert tf.nest.pack_sequence_as([0, (0, 0)], (7, 8, 9)) == [7, (8, 9)]
    assert tf.nest.pack_sequence_as({"a": {}, "b": [], "c": 0}, [4]) == {"a": {}, "b": [],
                                                                         "c": 4}
    with pytest.raises(ValueError, match="Structure had 2 atoms, but flat_sequence had 1"):
        tf.nest.pack_sequence_as([0, 0], [1])
    with pytest.raises(TypeError, match="flat_sequence"):
        tf.nest.pack_sequence_as(0, 5)
    with pytest.raises(TypeError, match="sortable"):
        tf.nest.flatten({1: "a", "b": 2})
    array = np.arange(3)
    assert tf.nest.flatten(array)[0] is array and not tf.nest.is_nested(array)
    assert tf.nest.is_nested([1]) and not tf.nest.is_nested("abc")


def test_nest_map_structure_and_checks():
    assert tf.nest.map_structure(lambda a, b: a + b, {"x": 1, "y": (2, 3)},
                                 {"y": (20, 30), "x": 10}) == {"x": 11, "y": (22, 33)}
    assert tf.nest.map_structure(lambda a, b: a + b, [1, 2], (3, 4), check_types=False) == [4, 6]
    factory = collections.defaultdict(list, {"b": 1, "a": 2})
    mapped = tf.nest.map_structure(lambda v: v * 10, factory)
    assert mapped.default_factory is list and dict(mapped) == {"b": 10, "a": 20}
    with pytest.raises(TypeError, match="sequence type"):
        tf.nest.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="number of elements"):
        tf.nest.map_structure(lambda a, b: a, [1, 2], [1])
    with pytest.raises(ValueError, match="set of keys"):
        tf.nest.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="at least one structure"):
        tf.nest.map_structure(lambda a: a)
    with pytest.raises(TypeError):  # func sees None leaves, as in TensorFlow
        tf.nest.map_structure(lambda a: a * 2, [1, None])
    Q = collections.namedtuple("P", "y x")  # same name and fields: the same structure
    tf.nest.assert_same_structure(P(1, 2), Q(3, 4))
    tf.nest.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))
    with pytest.raises(TypeError):
        tf.nest.assert_same_structure(P(1, 2), (1, 2))
    with pytest.raises(ValueError, match="nested structure"):
        tf.nest.assert_same_structure([1, [2]], [1, 2])
    tf.nest.assert_same_structure([1, None], [1, 3])


def test_unique():
    y, idx = tf.unique(tf.constant([1, 1, 2, 4, 4, 4, 7, 8, 8]))
    np.testing.assert_array_equal(y.numpy(), [1, 2, 4, 7, 8])
    np.testing.assert_array_equal(idx.numpy(), [0, 0, 1, 2, 2, 2, 3, 4, 4])
    assert y.dtype == tf.int32 and idx.dtype == tf.int32
    result = tf.unique(np.array([3.0, 1.0, 3.0]), out_idx=tf.int64)
    assert type(result).__name__ == "Unique" and result.idx.dtype == tf.int64
    np.testing.assert_array_equal(result.y.numpy(), [3.0, 1.0])  # first appearance, not sorted
    np.testing.assert_array_equal(result.idx.numpy(), [0, 1, 0])
    y, idx, count = tf.unique_with_counts([5, 1, 5, 5])
    np.testing.assert_array_equal(y.numpy(), [5, 1])
    np.testing.assert_array_equal(count.numpy(), [3, 1])
    np.testing.assert_array_equal(idx.numpy(), [0, 1, 0, 0])
    empty = tf.unique(np.zeros(0, np.float32))
    assert empty.y.shape == (0,) and empty.idx.shape == (0,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="1D"):
        tf.unique(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="out_idx"):
        tf.unique([1, 2], out_idx=tf.float32)
