"""Eager control flow (tf.while_loop, scan, foldl/foldr, case, switch_case and the graph-era
no-ops) and the tf.debugging.assert_* family, checked against TensorFlow 2.21's results,
structures and exception types (written in as values: the tests do not import TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.errors import OutOfRangeError


def test_while_loop_values_structure_and_gradient():
    i, total = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), [0, 0])
    # TF 2.21: Python ints become int32 tensors; the body's tuple comes back
    assert i.dtype == tf.int32 and int(i) == 5 and int(total) == 10
    out = tf.while_loop(lambda i: i < 3, lambda i: (i + 1,), (0,))
    assert isinstance(out, tuple) and int(out[0]) == 3
    (count,) = tf.while_loop(lambda i: True, lambda i: [i + 1], [0], maximum_iterations=4)
    assert int(count) == 4
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             [0, tf.constant(1.0)])
    assert float(y) == 8.0 and float(tape.gradient(y, x)) == 12.0  # TF: 8.0 and 12.0


def test_while_loop_errors_have_tensorflows_types():
    with pytest.raises(TypeError):
        tf.while_loop(5, lambda i: i + 1, [0])
    with pytest.raises(TypeError):  # a bare value back for a list of loop variables
        tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])
    with pytest.raises(ValueError):
        tf.while_loop(lambda d: d["i"] < 3, lambda d: {"i": d["i"] + 1}, [{"i": 0}])
    with pytest.raises(ValueError):
        tf.while_loop(lambda i: i < 3, lambda i: i + 1, 0)


def test_scan_and_folds():
    np.testing.assert_array_equal(tf.scan(lambda a, e: a + e, tf.constant([1., 2., 3., 4.])),
                                  [1, 3, 6, 10])
    np.testing.assert_array_equal(
        tf.scan(lambda a, e: a * e, tf.constant([1., 2., 3.]), initializer=tf.constant(2.0)),
        [2, 4, 12])
    rev = tf.scan(lambda a, e: a + e, tf.constant([1, 2, 3]), reverse=True)
    assert rev.dtype == tf.int32
    np.testing.assert_array_equal(rev, [6, 5, 3])
    pair = tf.scan(lambda a, e: (a[0] + e, a[1] * e), tf.constant([1., 2., 3.]),
                   initializer=(tf.constant(0.), tf.constant(1.)))
    assert isinstance(pair, tuple)
    np.testing.assert_array_equal(pair[0], [1, 3, 6])
    np.testing.assert_array_equal(pair[1], [1, 2, 6])
    np.testing.assert_array_equal(
        tf.scan(lambda a, e: a + e[0] * e[1], (tf.constant([1., 2.]), tf.constant([3., 4.])),
                initializer=tf.constant(0.)), [3, 11])
    assert int(tf.foldl(lambda a, e: a + e, tf.constant([1, 2, 3]))) == 6
    assert float(tf.foldl(lambda a, e: a * e, tf.constant([1., 2., 3.]),
                          initializer=tf.constant(2.0))) == 12.0
    assert int(tf.foldr(lambda a, e: a * 10 + e, tf.constant([1, 2, 3]))) == 321
    with pytest.raises(OutOfRangeError):
        tf.foldl(lambda a, e: a + e, tf.constant([], dtype=tf.float32))
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.foldl(lambda a, e: a * x + e, tf.constant([1., 2., 3.]))
    assert float(y) == 11.0 and float(tape.gradient(y, x)) == 6.0  # TF: 11.0 and 6.0


def test_case_and_switch_case():
    t, f = tf.constant(True), tf.constant(False)
    assert int(tf.case([(f, lambda: tf.constant(1)), (t, lambda: tf.constant(2))],
                       default=lambda: tf.constant(3))) == 2
    assert int(tf.case([(f, lambda: tf.constant(1))], default=lambda: tf.constant(3))) == 3
    assert int(tf.case([(t, lambda: tf.constant(1)), (t, lambda: tf.constant(2))])) == 1
    with pytest.raises(InvalidArgumentError):
        tf.case([(f, lambda: tf.constant(1))])
    with pytest.raises(TypeError):  # TF 2.21: "pred must be a Tensor"
        tf.case([(True, lambda: 5)], default=lambda: 6)
    branches = [lambda: tf.constant(10), lambda: tf.constant(20)]
    assert float(tf.switch_case(tf.constant(0), branch_fns={
        0: lambda: tf.constant(10.), 1: lambda: tf.constant(20.)})) == 10.0
    # out of range: the default, or the last branch when there is none (TF 2.21)
    assert int(tf.switch_case(tf.constant(5), branches)) == 20
    assert int(tf.switch_case(tf.constant(-1), branches)) == 20
    assert int(tf.switch_case(tf.constant(5), branches, default=lambda: tf.constant(-1))) == -1
    with pytest.raises(TypeError):  # a Python int index is refused by TF 2.21
        tf.switch_case(1, branches)
    with pytest.raises(TypeError):
        tf.switch_case(tf.constant(1.0), branches)
    with pytest.raises(ValueError):
        tf.switch_case(tf.constant(1), {0: lambda: 1, 2: lambda: 2})


def test_graph_era_no_ops():
    assert tf.no_op() is None
    assert tf.group(tf.constant(1), tf.constant(2)) is None
    out = tf.tuple([tf.constant(1), None])
    assert isinstance(out, list) and int(out[0]) == 1 and out[1] is None
    with tf.control_dependencies([tf.constant(1)]) as deps:
        assert deps is None
    parts = tf.identity_n([tf.constant(1), tf.constant([2., 3.])])
    assert isinstance(parts, list) and parts[1].dtype == tf.float32


def test_comparison_asserts():
    a, b = tf.constant([1., 2.]), tf.constant([1., 3.])
    assert tf.debugging.assert_equal(a, a) is None
    for check, x, y in [(tf.assert_equal, a, b), (tf.assert_greater, a, b),
                        (tf.assert_less, a, b), (tf.debugging.assert_none_equal, a, b),
                        (tf.debugging.assert_greater_equal, a, b),
                        (tf.debugging.assert_less_equal, b, a)]:
        with pytest.raises(InvalidArgumentError):
            check(x, y)
    tf.debugging.assert_greater(b, 0.0)
    tf.debugging.assert_less_equal(a, b)
    # TF 2.21's argument orders and names
    tf.debugging.assert_none_equal(a, a + 10, 3, "message")  # summarize before message here
    np.testing.assert_array_equal(tf.debugging.assert_all_finite(x=a, message="m"), a)
    tf.debugging.assert_greater(tf.zeros((0,)), tf.ones((0,)))  # nothing to compare: passes
    with pytest.raises(InvalidArgumentError):  # TF 2.21: float32 against int32 is refused
        tf.debugging.assert_equal(a, tf.constant([1, 2]))
    with pytest.raises(InvalidArgumentError):
        tf.debugging.assert_equal(a, tf.constant([1., 2., 3.]))
    with pytest.raises(InvalidArgumentError):  # TF: 3.5 is no int32
        tf.debugging.assert_less(tf.constant([1, 2]), 3.5)
    tf.debugging.assert_less(tf.Variable([1, 2]), 3)
    tf.debugging.assert_equal(tf.shape(tf.zeros((2, 3))), [2, 3])


def test_value_asserts():
    a = tf.constant([1., 2.])
    tf.debugging.assert_positive(a)
    tf.debugging.assert_non_negative(a - 1)
    tf.debugging.assert_non_positive(a - 2)
    for check, x in [(tf.debugging.assert_positive, a - 1), (tf.debugging.assert_negative, a),
                     (tf.debugging.assert_non_negative, a - 2),
                     (tf.debugging.assert_non_positive, a - 1)]:
        with pytest.raises(InvalidArgumentError):
            check(x)
    tf.debugging.assert_near(a, a + 1e-7)
    tf.debugging.assert_near(a, tf.constant([1., 3.]), atol=1.5)
    with pytest.raises(InvalidArgumentError):
        tf.debugging.assert_near(a, tf.constant([1., 3.]))
    with pytest.raises(ValueError):  # integers have no epsilon
        tf.debugging.assert_near(tf.constant([1]), tf.constant([1]))
    with pytest.raises(InvalidArgumentError):
        tf.debugging.Assert(tf.constant(False), ["x is", a])
    assert tf.Assert(tf.reduce_all(a > 0), [a]) is None


def test_static_asserts_raise_value_and_type_errors():
    a = tf.constant([1., 2.])
    tf.debugging.assert_rank(a, 1)
    tf.debugging.assert_rank(a, tf.constant(1))
    tf.debugging.assert_rank_at_least(a, 0)
    tf.debugging.assert_rank_in(a, (1, 2))
    tf.debugging.assert_scalar(3)
    tf.debugging.assert_type(a, tf.float32)
    tf.debugging.assert_integer(tf.constant([1]))
    tf.debugging.assert_proper_iterable([1, 2])
    # eager TF 2.21 raises ValueError (not InvalidArgumentError) for these static checks
    for call in [lambda: tf.assert_rank(a, 2), lambda: tf.debugging.assert_rank(a, [1]),
                 lambda: tf.debugging.assert_rank_at_least(a, 2),
                 lambda: tf.debugging.assert_rank_in(a, [0, 2]),
                 lambda: tf.debugging.assert_scalar(a)]:
        with pytest.raises(ValueError) as caught:
            call()
        assert type(caught.value) is ValueError
    for call in [lambda: tf.debugging.assert_type(a, tf.int32),
                 lambda: tf.debugging.assert_integer(a),
                 lambda: tf.debugging.assert_rank(a, 1.0),
                 lambda: tf.debugging.assert_proper_iterable(a)]:
        with pytest.raises(TypeError):
            call()
    assert tf.debugging.set_log_device_placement(True) is None  # a no-op, as on one CPU
    assert tf.debugging.is_numeric_tensor(a)
    assert not tf.debugging.is_numeric_tensor(np.ones(2))


def test_assert_shapes():
    tf.debugging.assert_shapes([(tf.zeros((2, 3)), ("N", "Q")), (tf.zeros((2,)), ("N",))])
    tf.debugging.assert_shapes([(tf.zeros((2, 3)), (2, 3)), (tf.zeros(()), [])])
    tf.debugging.assert_shapes([(tf.zeros((5, 2, 3)), ("...", "N", 3)),
                                (tf.zeros((2,)), ("N",))])
    for shapes in [[(tf.zeros((2, 3)), ("N", "Q")), (tf.zeros((3,)), ("N",))],
                   [(tf.zeros((2, 3)), ("N",))], [(tf.zeros((2, 3)), (2, 4))]]:
        with pytest.raises(ValueError):
            tf.debugging.assert_shapes(shapes)


def test_top_level_names_are_tensorflows():
    # TF 2.21 has these five at the top level, the other checks only under tf.debugging
    for name in ["assert_equal", "assert_greater", "assert_less", "assert_rank", "Assert"]:
        assert callable(getattr(tf, name))
    for name in ["assert_near", "assert_positive", "assert_less_equal"]:
        assert not hasattr(tf, name)
    np.testing.assert_allclose(tf.atan2(1.0, 1.0), np.pi / 4, rtol=1e-6)
    for name in ["acos", "asin", "atan", "acosh", "asinh", "atanh", "cosh", "sinh", "tan"]:
        assert getattr(tf, name) is getattr(tf.math, name)
