"""The work-sharing paths (chunked conv, threads, row blocks) give the same numbers.

Small test shapes normally fit in one chunk or one row block, so these tests shrink the
thresholds to force many chunks and blocks, and compare with the reference loops or with the
unsplit computation.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from convnp import ops
from convnp.layers import BatchNormalization, ReLU
from convnp.layers import core as layers_core
from convnp.ops import batchnorm as batchnorm_ops
from convnp.ops import conv as fast_conv
from convnp.ops import reference
from convnp.ops import threads as _threads

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.mark.parametrize("hp", [{"stride": 1, "pad": "same"}, {"stride": 2, "pad": 1}])
def test_many_chunks_match_reference(monkeypatch, hp):
    monkeypatch.setattr(fast_conv, "CHUNK_BYTES", 256)  # about one example per chunk
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 6, 5, 3))
    W = rng.standard_normal((3, 3, 3, 4))
    b = rng.standard_normal((1, 1, 1, 4))
    assert len(fast_conv.batch_chunks(7, fast_conv.conv_geometry(A, W, b, hp), 3, 8)) == 7
    Z, cache = ops.conv_forward(A, W, b, hp)
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-10, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for got, want in zip(ops.conv_backward(dZ, cache), reference.conv_backward(dZ, cache_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_parallel_region_respects_blas_limits_and_nests():
    with threadpoolctl.threadpool_limits(1, user_api="blas"), \
            _threads.parallel_region() as workers:
        assert workers == 1
    with _threads.parallel_region() as outer, _threads.parallel_region() as inner:
        assert inner == outer


def test_map_parts_keeps_order_and_covers_every_item():
    with _threads.parallel_region():
        parts = _threads.map_parts(lambda part: list(part), list(range(11)))
    assert [x for part in parts for x in part] == list(range(11))
    rows = _threads.map_rows(lambda r: (r.start, r.stop), 100, min_rows=1)
    assert rows[0][0] == 0 and rows[-1][1] == 100
    assert all(a[1] == b[0] for a, b in itertools.pairwise(rows))


def test_a_failing_part_lets_the_other_parts_finish_first():
    import time

    finished = []

    def task(part):
        if part[-1] == 1:  # the caller's part (the last) fails at once
            raise ValueError("bad part")
        time.sleep(0.2)
        finished.append(list(part))
        return part

    with threadpoolctl.threadpool_limits(2, user_api="blas"), _threads.parallel_region() as n:
        assert n == 2
        with pytest.raises(ValueError, match="bad part"):
            _threads.map_parts(task, [0, 1])
        assert finished == [[0]]  # the pool's part was done when the error came out


def test_parts_run_under_the_callers_numpy_error_state():
    """NumPy's error state belongs to each thread: every part of a split kernel runs under
    the caller's, so a kernel raises (or warns, or stays quiet) the same split or not."""
    seen = []

    def task(part):
        seen.append(np.geterr()["invalid"])
        return np.zeros(1) / np.zeros(1)  # an invalid value in every part

    with threadpoolctl.threadpool_limits(2, user_api="blas"), _threads.parallel_region() as n:
        assert n == 2
        with np.errstate(invalid="ignore"):
            _threads.map_parts(task, [0, 1])
        assert seen == ["ignore", "ignore"]
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            _threads.map_parts(lambda part: task(part) if part[0] == 0 else None, [0, 1])


def _run_layer(layer, x, dy, training):
    y = layer(x, training=training)
    return y, layer.backward(dy)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_row_blocks_match_one_block(monkeypatch, training):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 6, 6, 5)) * 3 + 2).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    whole = BatchNormalization()
    split = BatchNormalization()
    y1, dx1 = _run_layer(whole, x, dy, training)
    monkeypatch.setattr(batchnorm_ops, "MIN_ROWS", 1)
    y2, dx2 = _run_layer(split, x, dy, training)
    np.testing.assert_allclose(y2, y1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split.gamma.grad, whole.gamma.grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split.moving_variance.value, whole.moving_variance.value,
                               rtol=1e-6)


def test_relu_blocks_match_one_block(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 5, 4)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y1, dx1 = _run_layer(ReLU(), x, dy, True)
    monkeypatch.setattr(layers_core, "_MIN_ELEMENTS", 1)
    y2, dx2 = _run_layer(ReLU(), x, dy, True)
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_array_equal(dx2, dx1)
    np.testing.assert_array_equal(y1, np.maximum(x, 0))


@pytest.fixture
def warm_spy(monkeypatch):
    """Forget earlier warm-ups, make the warm-up product tiny, and record each warm-up:
    ``(parts, thread idents that ran a part)``."""
    monkeypatch.setattr(_threads, "_warmed_buffers", 0)
    monkeypatch.setattr(_threads, "WARM_GEMM_SHAPE", (8, 4, 8))
    runs = []
    real = _threads._run_split

    def spy(task, items, workers):
        if task.__name__ != "warm":
            return real(task, items, workers)
        idents = []

        def recorded(part):
            idents.append(threading.get_ident())
            return task(part)

        runs.append((len(items), idents))
        return real(recorded, items, workers)

    monkeypatch.setattr(_threads, "_run_split", spy)
    return runs


def test_first_region_warms_one_gemm_buffer_per_thread_once(warm_spy, monkeypatch):
    monkeypatch.setattr(_threads, "_uses_openblas", lambda controller: True)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        with _threads.parallel_region() as workers:
            pass
        if workers < 2:
            pytest.skip("one core: no second thread to warm")
        with _threads.parallel_region():
            pass
    assert len(warm_spy) == 1
    parts, idents = warm_spy[0]
    assert parts == workers and len(set(idents)) == workers


def test_a_one_thread_region_warms_its_one_buffer(warm_spy, monkeypatch):
    monkeypatch.setattr(_threads, "_uses_openblas", lambda controller: True)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        with _threads.parallel_region() as workers:
            assert workers == 1
        with _threads.parallel_region():
            pass
    assert [parts for parts, _ in warm_spy] == [1]
    assert warm_spy[0][1] == [threading.get_ident()]  # in the caller's thread


def test_no_warm_up_without_openblas(warm_spy, monkeypatch):
    monkeypatch.setattr(_threads, "_uses_openblas", lambda controller: False)
    with threadpoolctl.threadpool_limits(2, user_api="blas"), _threads.parallel_region():
        pass
    assert warm_spy == []


def _blas_threads() -> int:
    return threadpoolctl.ThreadpoolController().select(user_api="blas").info()[0]["num_threads"]


def test_a_gradient_tape_block_and_its_gradient_run_in_one_region():
    """A custom training loop's tape block (and `tape.gradient`) holds BLAS to one thread
    and lends convnp's kernels the cores, as fit does; BLAS gets its threads back after,
    also when the block raises, and nested tapes share the outer region."""
    import convnp as tf

    if len(threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers) == 0:
        pytest.skip("no BLAS library that threadpoolctl can limit")
    x = tf.Variable([1.0, 2.0])
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert _blas_threads() == 2
        with tf.GradientTape() as outer:
            assert _blas_threads() == 1 and _threads._state.workers == 2
            with tf.GradientTape() as inner:
                y = tf.reduce_sum(x * x)
                assert _threads._state.workers == 2
            g = inner.gradient(y, x)
            z = tf.reduce_sum(g * g)
        assert _blas_threads() == 2 and _threads._state.workers is None
        np.testing.assert_allclose(outer.gradient(z, x).numpy(), [8.0, 16.0])
        assert _blas_threads() == 2
        with pytest.raises(ValueError, match="in the block"), tf.GradientTape():
            raise ValueError("in the block")
        assert _blas_threads() == 2 and _threads._state.workers is None
