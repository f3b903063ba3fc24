"""The TensorFlow ops user code reaches for in custom losses, layers and training loops
(``tf.clip_by_global_norm``, ``tf.nn.dropout``, ``tf.scatter_nd``, ...): forward values, dtypes
and tape gradients of ``sum(y * r)`` against TensorFlow 2.21's numbers in
``tests/fixtures/tf_ops_more.npz`` (made by ``make_tf_ops_more.py`` from the calls in
``tf_ops_more_cases.py``), and the exception classes TensorFlow raises for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from tests.fixtures.tf_ops_more_cases import CASES, error_probes
from tests.helpers import check_recorded_case

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tf_ops_more.npz"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradient_match_tensorflow(case, golden):
    check_recorded_case(case, CASES, golden, tf)


ERROR_PROBES = error_probes(tf)


@pytest.mark.parametrize("probe", sorted(ERROR_PROBES))
def test_bad_input_raises_tensorflows_exception_class(probe, golden):
    expected = str(golden[f"errors/{probe}"])
    assert expected, "TensorFlow raised nothing for this probe"
    with pytest.raises(Exception) as info:
        ERROR_PROBES[probe]()
    assert type(info.value).__name__ == expected
    assert isinstance(info.value, (ValueError, TypeError))


def test_numpy_function_passes_arrays_and_blocks_the_gradient(golden):
    x = tf.constant(np.arange(3.0))
    seen = []

    def double(a):
        seen.append(type(a))
        return a * 2.0

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.numpy_function(double, [x], tf.float64)
        loss = tf.reduce_sum(y * x)
    assert seen == [np.ndarray]
    np.testing.assert_array_equal(y.numpy(), golden["numpy_function/y"])
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(),
                                  golden["numpy_function/grad/x"])


def test_py_function_with_several_outputs_and_dtype_checks():
    a, b = tf.py_function(lambda t: (t + 1.0, tf.cast(t, tf.int32)), [tf.constant([1.5])],
                          [tf.float32, tf.int32])
    assert a.dtype == tf.float32 and b.dtype == tf.int32
    with pytest.raises(tf.errors.InvalidArgumentError, match="Tout"):
        tf.py_function(lambda t: t, [tf.constant([1.5])], tf.int32)
    with pytest.raises(TypeError, match="Tout"):
        tf.py_function(lambda t: t, [tf.constant([1.5])], None)
    # eager TensorFlow keeps a NumPy result's dtype; a Python number takes Tout's
    assert tf.numpy_function(lambda a: a, [np.float32(1.0)], tf.float64).dtype == tf.float32
    assert tf.numpy_function(lambda a: 2.0, [1.0], tf.float32).dtype == tf.float32


def test_dropout_keeps_rate_and_scales_and_differentiates():
    tf.random.set_seed(3)
    x = tf.ones([200, 50])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.dropout(x, rate=0.25)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), y.numpy())
    assert y.dtype == tf.float32
    same = tf.nn.dropout(tf.ones([4, 3]), 0.0)
    np.testing.assert_array_equal(same.numpy(), np.ones((4, 3)))


def test_dropout_noise_shape_and_seed():
    y = tf.nn.dropout(tf.ones([6, 5, 4]), rate=0.5, noise_shape=[6, 1, 4]).numpy()
    assert np.all(y == y[:, :1, :])  # one draw shared along the size-1 axis
    y = tf.nn.dropout(tf.ones([6, 5, 4]), rate=0.5, noise_shape=[None, 1, 4]).numpy()
    assert np.all(y == y[:, :1, :])
    tf.random.set_seed(11)
    first = tf.nn.dropout(tf.ones([30]), 0.5, seed=4).numpy()
    tf.random.set_seed(11)
    np.testing.assert_array_equal(tf.nn.dropout(tf.ones([30]), 0.5, seed=4).numpy(), first)
    with pytest.raises(ValueError, match="noise_shape"):
        tf.nn.dropout(tf.ones([3, 4]), 0.5, noise_shape=[2, 4])


def test_clip_by_global_norm_with_variables_and_infinite_norm():
    v = tf.Variable([3.0, 4.0])
    clipped, norm = tf.clip_by_global_norm([v, None], 1.0)
    assert clipped[1] is None
    np.testing.assert_allclose(norm.numpy(), 5.0)
    np.testing.assert_allclose(clipped[0].numpy(), [0.6, 0.8], rtol=1e-6)
    clipped, norm = tf.clip_by_global_norm([tf.constant([np.inf, 1.0])], 1.0)
    assert np.all(np.isnan(clipped[0].numpy()))
    clipped, norm = tf.clip_by_global_norm((tf.constant([3.0, 4.0]),), 1.0, use_norm=10.0)
    np.testing.assert_allclose(clipped[0].numpy(), [0.3, 0.4], rtol=1e-6)


def test_control_flow_helpers():
    with tf.name_scope("block") as scope:
        assert scope == "block/"
    pair = {"a": tf.constant([1.0, 2.0]), "b": tf.constant([3.0, 4.0])}
    out = tf.map_fn(lambda p: {"s": p["a"] + p["b"]}, pair,
                    fn_output_signature={"s": tf.float32})
    np.testing.assert_allclose(out["s"].numpy(), [4.0, 6.0])
    with pytest.raises(ValueError, match="fn_output_signature"):
        tf.map_fn(lambda p: {"s": p["a"] + p["b"]}, pair)  # TensorFlow refuses it too
    with pytest.raises(tf.errors.InvalidArgumentError, match="int32"):
        tf.map_fn(lambda r: tf.cast(r, tf.int32), tf.constant([1.5]))
    empty = tf.map_fn(lambda r: tf.reduce_sum(r), tf.zeros([0, 3]))
    assert empty.shape == (0,) and empty.dtype == tf.float32
    ints = tf.map_fn(lambda r: tf.cast(tf.reduce_sum(r), tf.int32), tf.constant([[1.5, 2.0]]),
                     fn_output_signature=tf.int32)
    assert ints.dtype == tf.int32
    with pytest.raises(ValueError, match="same first size"):
        tf.map_fn(lambda p: p[0], (tf.ones([2]), tf.ones([3])))
    with pytest.raises(ValueError, match="scalar"):
        tf.cond(tf.constant([True, False]), lambda: 1, lambda: 2)


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match="output_shape"):
        tf.nn.conv2d_transpose(tf.ones([1, 3, 3, 2]), tf.ones([3, 3, 4, 2]), [1, 6, 6], 2)
    with pytest.raises(ValueError, match="input channels"):
        tf.nn.depthwise_conv2d(tf.ones([1, 5, 5, 2]), tf.ones([3, 3, 3, 1]), [1, 1, 1, 1],
                               "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="updates must have shape"):
        tf.scatter_nd([[0], [1]], tf.ones([3, 2]), [4, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="dtype"):
        tf.tensor_scatter_nd_add(tf.zeros([3]), [[0]], tf.constant([1], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same dtype"):
        tf.math.divide_no_nan(tf.ones([2]), tf.ones([2], tf.float64))
    with pytest.raises(ValueError, match="indexing"):
        tf.meshgrid(tf.ones([2]), indexing="yx")
    with pytest.raises(ValueError, match="padding"):
        tf.keras.ops.depthwise_conv(tf.ones([1, 4, 4, 1]), tf.ones([2, 2, 1, 1]), padding="full")
    with pytest.raises(TypeError, match="floating dtype"):
        tf.keras.ops.conv_transpose(tf.ones([1, 3, 3, 2]), tf.ones([3, 3, 4, 2], tf.float64))


NAMES = {
    tf: ["broadcast_to", "clip_by_global_norm", "clip_by_norm", "cos", "sin", "eye", "reverse",
         "slice", "scatter_nd", "tensor_scatter_nd_update", "tensor_scatter_nd_add",
         "meshgrid", "map_fn", "vectorized_map", "cond", "name_scope", "py_function",
         "numpy_function"],
    tf.nn: ["dropout", "sigmoid_cross_entropy_with_logits", "batch_normalization",
            "depthwise_conv2d", "conv2d_transpose", "gelu", "selu", "top_k"],
    tf.math: ["confusion_matrix", "divide_no_nan", "in_top_k", "bincount", "top_k"],
    tf.linalg: ["global_norm"],
    tf.keras.ops: ["top_k", "in_top_k", "bincount", "divide_no_nan", "gelu", "selu", "meshgrid",
                   "slice", "scatter", "scatter_update", "broadcast_to", "flip", "eye",
                   "identity", "cond", "map", "vectorized_map", "depthwise_conv",
                   "conv_transpose"],
}


@pytest.mark.parametrize("namespace", list(NAMES),
                         ids=["tf", "tf.nn", "tf.math", "tf.linalg", "keras.ops"])
def test_names_are_exported(namespace):
    missing = [n for n in NAMES[namespace] if not hasattr(namespace, n)]
    assert not missing
