"""Inference split by examples (`convnp.models.batch_split`): predict and evaluate give the
numbers of the op-by-op run, the batch really is cut between the threads when there are two
cores, and a model with any call that may mix examples is never cut."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import convnp as tf
from convnp import config
from convnp.models import batch_split
from convnp.models.functional import Graph
from convnp.ops import threads

tfl = tf.keras.layers

try:
    import threadpoolctl  # without it convnp runs on one thread
    CORES = min(2, os.cpu_count() or 1)
except ImportError:
    threadpoolctl = None
    CORES = 1


@pytest.fixture(autouse=True)
def two_blas_threads():
    """A region's thread count is BLAS's (`convnp.ops.threads`): hold BLAS at two threads,
    as the ops tests that count threads do (a full run once reached this module with BLAS
    at one thread, and every split here ran whole)."""
    if CORES < 2:
        yield
        return
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield


def _cnn(seed=0):
    """Most layer kinds the split accepts: a residual block with BN (folded in inference), a
    depthwise conv with ReLU6, an upsampling path joined by Concatenate, dropout, pooling and
    a softmax head."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(12, 12, 3))
    x = tfl.Conv2D(8, 3, padding="same")(inputs)
    x = tfl.ReLU()(tfl.BatchNormalization()(x))
    y = tfl.BatchNormalization()(tfl.Conv2D(8, 3, padding="same")(x))
    x = tfl.Activation("relu")(tfl.Add()([x, y]))
    x = tfl.ReLU(6.0)(tfl.DepthwiseConv2D(3, padding="same")(x))
    down = tfl.MaxPooling2D()(x)
    up = tfl.Conv2DTranspose(8, 3, strides=2, padding="same")(down)
    x = tfl.Concatenate()([x, up])
    x = tfl.Dropout(0.3)(tfl.Conv2D(4, 1, activation="relu")(x))
    x = tfl.GlobalAveragePooling2D()(x)
    outputs = tfl.Dense(5, activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # statistics that show a wrong fold or a mixed-up example
        if isinstance(layer, tfl.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.2, 2.0, n).astype("float32"))
    return model


def _images(m, seed=1):
    return np.random.default_rng(seed).standard_normal((m, 12, 12, 3)).astype(np.float32)


@pytest.fixture
def passes(monkeypatch):
    """Record ``(thread name, examples)`` of every inference pass of a graph."""
    seen: list[tuple[str, int]] = []
    run = Graph._inference_pass

    def spy(self, inputs, schedule):
        seen.append((threading.current_thread().name, len(inputs[0])))
        return run(self, inputs, schedule)

    monkeypatch.setattr(Graph, "_inference_pass", spy)
    return seen


def _op_by_op(monkeypatch):
    monkeypatch.setattr(batch_split, "MIN_EXAMPLES", 1 << 30)


@pytest.mark.parametrize("m", [1, 2, 7, 32])
def test_predict_split_by_examples_matches_op_by_op(monkeypatch, passes, m):
    model = _cnn()
    x = _images(m)
    got = model.predict(x, batch_size=32, verbose=0)
    split = [n for _, n in passes]
    with monkeypatch.context() as patch:
        _op_by_op(patch)
        passes.clear()
        want = model.predict(x, batch_size=32, verbose=0)
        assert [n for _, n in passes] == [m]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if m >= 2 and CORES == 2:  # the two threads record their passes in either order
        assert sorted(split) == sorted([m // 2, m - m // 2])
    else:
        assert split == [m]


def test_each_thread_runs_its_examples_through_the_whole_model(passes):
    model = _cnn()
    model.predict(_images(8), batch_size=8, verbose=0)
    names = {name for name, _ in passes}
    assert len(names) == CORES
    if CORES == 2:
        assert any(name.startswith("convnp") for name in names)


def test_evaluate_and_a_direct_call_split_and_agree(monkeypatch, passes):
    model = _cnn()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _images(10), np.arange(10) % 5
    got = model.evaluate(x, y, batch_size=10, verbose=0)
    called = model(x).numpy()
    split = len(passes)
    _op_by_op(monkeypatch)
    want = model.evaluate(x, y, batch_size=10, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(called, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert split == 2 * CORES


def test_validation_inside_fit_splits_and_agrees(monkeypatch, passes):
    model = _cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = _images(12), np.arange(12) % 5
    history = model.fit(x, y, batch_size=12, epochs=1, validation_data=(x, y), verbose=0)
    assert sorted(n for _, n in passes) == ([6, 6] if CORES == 2 else [12])
    _op_by_op(monkeypatch)
    want = model.evaluate(x, y, batch_size=12, verbose=0)  # the weights after the epoch
    np.testing.assert_allclose(history.history["val_loss"][0], want, rtol=1e-5)


def test_two_inputs_two_outputs_and_a_nested_model_split(monkeypatch, passes):
    tf.keras.utils.set_random_seed(2)
    inner = tf.keras.Sequential([tf.keras.Input(shape=(6,)), tfl.Dense(4, activation="tanh"),
                                 tfl.LayerNormalization()])
    a, b = tf.keras.Input(shape=(6,)), tf.keras.Input(shape=(3,))
    joined = tfl.Concatenate()([inner(a), b])
    model = tf.keras.Model([a, b], {"score": tfl.Dense(1)(joined),
                                    "probs": tfl.Dense(3, activation="softmax")(joined)})
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((9, 6)).astype("float32"),
          rng.standard_normal((9, 3)).astype("float32")]
    got = model.predict(xs, verbose=0)
    top = [n for name, n in passes if n in (9, 4, 5)]
    _op_by_op(monkeypatch)
    want = model.predict(xs, verbose=0)
    assert set(got) == {"score", "probs"}
    for key in got:
        assert got[key].shape == want[key].shape
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6)
    if CORES == 2:  # the outer graph is cut; the nested one runs inside each part
        assert sorted(top) == [4, 4, 5, 5]


def test_a_base_model_called_in_inference_mode_splits(monkeypatch, passes):
    """Transfer learning calls its frozen base with ``training=False``: still per example."""
    base = _cnn()
    base.trainable = False
    inputs = tf.keras.Input(shape=(12, 12, 3))
    model = tf.keras.Model(inputs, tfl.Dense(2)(base(inputs, training=False)))
    x = _images(6)
    got = model.predict(x, verbose=0)
    sizes = sorted(n for _, n in passes)  # each part runs the outer pass and the base's
    _op_by_op(monkeypatch)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert sizes == ([3, 3, 3, 3] if CORES == 2 else [6, 6])


class _BatchCentered(tfl.Layer):
    """A user layer that reads the whole batch."""

    def call(self, x):
        return x - tf.reduce_mean(x, axis=0)


class _MyDense(tfl.Dense):
    """A subclass of a built-in layer: not trusted, whatever it overrides."""


def _batch_mean(x):
    return x - tf.reduce_mean(x, axis=0, keepdims=True)


MIXERS = {
    "Lambda": lambda x: tfl.Lambda(_batch_mean)(x),
    "custom layer": lambda x: _BatchCentered()(x),
    "subclass of Dense": lambda x: _MyDense(4)(x),
    "dropout fixed to training": lambda x: tfl.Dropout(0.5)(x, training=True),
    "activity regularizer": lambda x: tfl.Dense(4, activity_regularizer="l2")(x),
    "custom activation": lambda x: tfl.Dense(4, activation=_batch_mean)(x),
}


@pytest.mark.parametrize("kind", sorted(MIXERS))
def test_a_call_that_may_mix_examples_keeps_the_op_by_op_run(passes, kind):
    inputs = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(inputs, tfl.Dense(2)(MIXERS[kind](tfl.Dense(4)(inputs))))
    assert not batch_split.per_example(model._graph.inference_schedule())
    model.predict(np.ones((6, 4), "float32"), verbose=0)
    assert [n for _, n in passes] == [6]


def test_a_nested_model_with_a_mixing_call_keeps_the_outer_model_whole(passes):
    inner = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tfl.Lambda(_batch_mean)])
    inputs = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(inputs, tfl.Dense(2)(inner(inputs)))
    x = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    got = model.predict(x, verbose=0)
    assert [n for _, n in passes] == [6, 6]  # outer, then nested, both whole
    want = (x - x.mean(0)) @ model.layers[-1].kernel.numpy() + model.layers[-1].bias.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_plain_path_is_never_split(passes):
    model = _cnn()
    with config.plain_path():
        model.predict(_images(6), verbose=0)
    assert [n for _, n in passes] == [6]


def test_a_serial_region_runs_every_part_in_its_thread():
    seen: list[str] = []
    with threads.parallel_region():
        with threads.serial_region():
            threads.map_parts(lambda part: seen.append(threading.current_thread().name),
                              range(8))
        assert getattr(threads._state, "workers", None) != 1  # restored on the way out
    assert seen == [threading.current_thread().name]
