"""tf.linalg's diagonal and band functions: values as TF 2.21 prints them (hard-coded
below), gradients against central differences, and use on KerasTensors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError
from tests.tensor.gradcheck import check

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def test_values_match_tensorflow():
    linalg = tf.linalg
    # every expected list below is TF 2.21's output for the same call
    assert linalg.diag_part(X).numpy().tolist() == [[0., 5., 10.], [12., 17., 22.]]
    assert linalg.diag_part(X, k=1).numpy().tolist() == [[1., 6., 11.], [13., 18., 23.]]
    assert linalg.diag_part(X, k=-1).numpy().tolist() == [[4., 9.], [16., 21.]]
    assert linalg.trace(X).numpy().tolist() == [15., 51.]
    assert linalg.band_part(X, 0, 1).numpy().tolist() == [
        [[0., 1., 0., 0.], [0., 5., 6., 0.], [0., 0., 10., 11.]],
        [[12., 13., 0., 0.], [0., 17., 18., 0.], [0., 0., 22., 23.]]]
    assert linalg.band_part(X, -1, 0).numpy().tolist() == [
        [[0., 0., 0., 0.], [4., 5., 0., 0.], [8., 9., 10., 0.]],
        [[12., 0., 0., 0.], [16., 17., 0., 0.], [20., 21., 22., 0.]]]
    new = [[10., 20., 30.], [40., 50., 60.]]
    assert linalg.set_diag(X, new).numpy().tolist() == [
        [[10., 1., 2., 3.], [4., 20., 6., 7.], [8., 9., 30., 11.]],
        [[40., 13., 14., 15.], [16., 50., 18., 19.], [20., 21., 60., 23.]]]
    assert linalg.set_diag(X, new, k=1).numpy().tolist() == [
        [[0., 10., 2., 3.], [4., 5., 20., 7.], [8., 9., 10., 30.]],
        [[12., 40., 14., 15.], [16., 17., 50., 19.], [20., 21., 22., 60.]]]
    assert linalg.diag([[1., 2.], [3., 4.]]).numpy().tolist() == [
        [[1., 0.], [0., 2.]], [[3., 0.], [0., 4.]]]
    assert linalg.diag([1., 2.], k=1).numpy().tolist() == [
        [0., 1., 0.], [0., 0., 2.], [0., 0., 0.]]
    assert linalg.diag([1., 2.], k=-1, padding_value=9).numpy().tolist() == [
        [9., 9., 9.], [1., 9., 9.], [9., 2., 9.]]
    assert linalg.diag([1., 2.], num_rows=3).numpy().tolist() == [[1., 0.], [0., 2.], [0., 0.]]
    assert linalg.diag([1., 2.], num_cols=4).numpy().tolist() == [
        [1., 0., 0., 0.], [0., 2., 0., 0.]]
    assert linalg.eye(2, 3, batch_shape=[2]).shape == (2, 2, 3)
    assert linalg.eye is tf.eye
    # TF 2.21: trace of int64 is int64, diag_part of int32 stays int32
    assert linalg.trace(np.arange(4).reshape(2, 2)).dtype == np.int64
    assert linalg.diag_part(np.arange(4, dtype=np.int32).reshape(2, 2)).dtype == np.int32
    assert linalg.diag([1., 2.]).dtype == np.float32


def test_bad_shapes_are_refused_as_in_tensorflow():
    with pytest.raises(InvalidArgumentError, match="at least 2-dim"):
        tf.linalg.diag_part(np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="at least 2-dim"):
        tf.linalg.trace(np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="at least 2-dim"):
        tf.linalg.band_part(np.zeros(3), 0, 0)
    with pytest.raises(InvalidArgumentError, match="at least 1-dim"):
        tf.linalg.diag(np.float32(1))
    with pytest.raises(InvalidArgumentError, match="between -3 and 4"):
        tf.linalg.diag_part(X, k=5)
    with pytest.raises(InvalidArgumentError, match=r"expected diagonal shape \[2, 3\]"):
        tf.linalg.set_diag(X, [[1., 2.]])
    with pytest.raises(InvalidArgumentError, match="needs at least"):
        tf.linalg.diag([1., 2.], num_rows=1)
    with pytest.raises(InvalidArgumentError, match="has 3 entries"):
        tf.linalg.diag([1., 2.], num_rows=3, num_cols=4)
    with pytest.raises(NotImplementedError, match="range of diagonals"):
        tf.linalg.diag_part(X, k=(-1, 1))
    with pytest.raises(TypeError, match="must be an int"):
        tf.linalg.band_part(X, 0.5, 0)


def test_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((2, 3))
    check(lambda t: tf.reduce_sum(tf.linalg.diag_part(t, k=1) * w[:, :3]), m)
    check(lambda t: tf.reduce_sum(tf.linalg.diag_part(t) ** 2), m)
    check(lambda t: tf.reduce_sum(tf.linalg.trace(t) ** 2), m)
    check(lambda t: tf.reduce_sum(tf.linalg.band_part(t, 1, 0) * m), m)
    check(lambda t: tf.reduce_sum(tf.linalg.set_diag(t, tf.constant(w) * 2.0) ** 2), m)
    check(lambda t: tf.reduce_sum(tf.linalg.set_diag(tf.constant(m), t) ** 3), w)
    weights = rng.standard_normal((2, 4, 4))
    check(lambda t: tf.reduce_sum(tf.linalg.diag(t, k=-1) * weights), w)


def test_barlow_twins_loss_gradient():
    # the cross-correlation loss of Barlow Twins: diagonal to 1, off-diagonals to 0
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 4))

    def loss(c):
        on = tf.reduce_sum((tf.linalg.diag_part(c) - 1.0) ** 2)
        off = tf.reduce_sum(tf.linalg.set_diag(c, tf.zeros([4], dtype=tf.float64)) ** 2)
        return on + 0.005 * off

    check(lambda t: loss(tf.matmul(t, t, transpose_a=True) / 6.0), z)


def test_on_keras_tensors():
    keras = tf.keras
    inputs = keras.Input((3, 3))
    outputs = [tf.linalg.diag_part(inputs), tf.linalg.trace(inputs),
               tf.linalg.band_part(inputs, 0, -1), tf.linalg.diag(tf.linalg.diag_part(inputs))]
    model = keras.Model(inputs, outputs)
    assert [tuple(o.shape) for o in model.outputs] == [
        (None, 3), (None,), (None, 3, 3), (None, 3, 3)]
    x = np.random.default_rng(2).standard_normal((2, 3, 3)).astype(np.float32)
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got[0], np.diagonal(x, axis1=1, axis2=2))
    np.testing.assert_allclose(got[1], np.trace(x, axis1=1, axis2=2), rtol=1e-6)
    np.testing.assert_allclose(got[2], np.triu(x))
    rebuilt = keras.models.model_from_json(model.to_json())
    json.loads(model.to_json())
    for a, b in zip(rebuilt.predict(x, verbose=0), got):
        np.testing.assert_allclose(a, b)
