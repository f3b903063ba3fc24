"""The thread pool convnp's kernels share the cores with (public; `convnp.ops._threads` is an
old name for this module).

What it does. NumPy releases the GIL inside copies, ufuncs and matrix products, so Python
threads can run them on several cores at once. The fast kernels cut their work into
contiguous parts (conv chunks of the batch, pooling examples, row blocks of BatchNormalization,
ReLU and the 1x1-conv GEMMs) and run one part per core: `map_parts` on a sequence of items,
`map_rows` on ranges of rows. The caller runs the last part itself; the others go to one
shared `ThreadPoolExecutor` (threads named ``convnp_*``, started on first use).

When it is used. Inside a `parallel_region` BLAS is held to one thread, because OpenBLAS
worker threads keep spinning after a GEMM returns and steal the core from the next chunk's
copy (measured here: the copies ran 4x slower). `fit`, `evaluate` and `predict` run their
whole loop in one region (the `uses_all_cores` decorator), so every kernel of a step shares
the same workers; so does a `GradientTape` block and its `gradient` call (a custom
training loop); a kernel called outside all of these opens its own region. Regions nest (an
inner one reuses the outer thread count) and overlapping regions of different threads share
one BLAS limit, restored when the last ends. Work smaller than ``2 * min_rows`` rows runs in
the calling thread alone, and so does every kernel inside a `serial_region` (inference that
gives each thread its own examples, `convnp.models.batch_split`). The first region of a
process also warms OpenBLAS's packing buffers, one per thread (`_warm_gemm_buffers`).

How to size it. The number of threads of a region is the BLAS thread count outside it
(capped at `os.cpu_count()`): set ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` before
starting Python, use `threadpoolctl.threadpool_limits(n)` around a call, or `set_thread_limit`
(``tf.config.threading.set_intra_op_parallelism_threads``) for the rest of the process, and
convnp uses that many. ``1`` runs everything in the calling thread. Without the optional
`threadpoolctl` package everything runs in one thread.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np

from convnp._floats import QUIET

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # optional: without it, no chunk parallelism
    ThreadpoolController = None

_controller = None
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_state = threading.local()  # .workers: thread count of the region this thread is in


def _blas_controller():
    global _controller
    if _controller is None and ThreadpoolController is not None:
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@functools.lru_cache(maxsize=1)
def blas_architecture() -> str | None:
    """The CPU kernels BLAS runs, as OpenBLAS names them (``"SkylakeX"``, ``"Haswell"``...);
    None when unknown (no `threadpoolctl`, or a BLAS that does not say)."""
    controller = _blas_controller()
    if controller is None:
        return None
    for lib in controller.lib_controllers:
        architecture = getattr(lib, "architecture", None)
        if architecture:
            return str(architecture)
    return None


def _blas_threads(controller) -> int:
    counts = [lib.num_threads for lib in controller.lib_controllers]
    return max(counts) if counts else 1


@contextmanager
def parallel_region() -> Iterator[int]:
    """Hold BLAS to one thread and yield how many Python threads may share the work.

    Regions nest: an inner region (a conv inside `fit`) reuses the outer one's thread count.
    Models run their whole `fit`/`evaluate`/`predict` loop in a region, so no GEMM anywhere in
    a step leaves BLAS threads spinning on the core the conv's second thread needs.
    """
    outer = getattr(_state, "workers", None)
    if outer is not None:
        yield outer
        return
    controller = _blas_controller()
    if controller is None:
        yield 1
        return
    workers = min(_blas_threads(controller), os.cpu_count() or 1)
    _state.workers = workers
    try:
        if workers <= 1:  # BLAS holds itself to one thread: its one buffer wants warming too
            _warm_gemm_buffers(controller, 1)
            yield 1
        else:
            _hold_blas(controller)
            try:
                _warm_gemm_buffers(controller, workers)
                yield workers
            finally:
                _release_blas()
    finally:
        _state.workers = None


@contextmanager
def serial_region() -> Iterator[None]:
    """Run every kernel called inside in this thread alone: the thread is already one of a
    region's workers (`convnp.models.batch_split` gives each thread its own examples)."""
    outer = getattr(_state, "workers", None)
    _state.workers = 1
    try:
        yield
    finally:
        _state.workers = outer


# Regions of several threads (predict from one thread while fit runs in another) share one
# BLAS limit: the first region to start sets it, the last to end restores the original, so
# overlapping regions can never leave BLAS held to one thread after they all finished.
_blas_holders = 0
_blas_limiter = None


def _hold_blas(controller) -> None:
    global _blas_holders, _blas_limiter
    with _lock:
        if _blas_holders == 0:
            _blas_limiter = controller.limit(limits=1)
        _blas_holders += 1


def _release_blas() -> None:
    global _blas_holders, _blas_limiter
    with _lock:
        _blas_holders -= 1
        if _blas_holders == 0 and _blas_limiter is not None:
            _blas_limiter.restore_original_limits()
            _blas_limiter = None


_thread_limit = 0  # set_thread_limit's value; 0: BLAS's own thread count
_limit_holder = None  # the threadpoolctl limiter that keeps BLAS at that count


def thread_limit() -> int:
    """The count `set_thread_limit` set (0: none set)."""
    return _thread_limit


def set_thread_limit(threads: int) -> None:
    """Run each op on at most ``threads`` threads from now on: BLAS is set to that many
    threads (through `threadpoolctl`) and, since a region takes its size from BLAS, convnp's
    kernels share their work between at most that many. ``0`` removes the limit (BLAS gets
    back the count it had). Refused (``RuntimeError``) while a region runs in any thread, as
    TensorFlow refuses it once its runtime started. Without `threadpoolctl` the count is
    kept, and everything runs in one thread anyway.
    """
    global _thread_limit, _limit_holder
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"set_thread_limit: expected an int, got {type(threads).__name__}")
    if threads < 0:
        raise ValueError(f"set_thread_limit: expected 0 (no limit) or a positive count, got "
                         f"{threads}")
    with _lock:
        if _blas_holders or getattr(_state, "workers", None) is not None:
            raise RuntimeError("the thread count cannot change while convnp's kernels run "
                               "(during fit/evaluate/predict); set it before")
        if _limit_holder is not None:
            _limit_holder.restore_original_limits()
            _limit_holder = None
        controller = _blas_controller()
        if threads and controller is not None:
            _limit_holder = controller.limit(limits=threads)
        _thread_limit = threads


def uses_all_cores(method: Callable) -> Callable:
    """Decorator: run ``method`` inside a `parallel_region` (for model-level loops), after the
    one-time malloc tuning (`convnp.ops._allocator.ensure_tuned`).

    NumPy's floating-point warnings are off inside (`convnp._floats`): a NaN or an infinity
    in a batch would otherwise warn from whichever kernel met it first.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        from convnp.ops import _allocator  # imported on first use: `import convnp` tunes nothing

        _allocator.ensure_tuned()
        with parallel_region(), np.errstate(**QUIET):
            return method(*args, **kwargs)

    return wrapper


# OpenBLAS packs a product's operands into a buffer taken from a table, one buffer per call
# running at the same moment (the first free one). Measured on an AMD EPYC with OpenBLAS
# 0.3.31's Haswell kernels: until a product of about 1024x384x1024 has run in a buffer, one-thread
# float32 products of conv shapes in it run at 10-25 GFLOP/s; after, at 30-36, for the rest of
# the process (VGG's train step 510 -> 350 ms). The small products touch less of the buffer;
# why the kernel then runs slower we could not see (no hardware counters on this VM). So the
# first region of a process runs one such product on each of its threads at once.
WARM_GEMM_SHAPE = (1024, 384, 1024)
_warmed_buffers = 0  # how many buffers the warm-up has run in so far


def _warm_gemm_buffers(controller, workers: int) -> None:
    """Run one `WARM_GEMM_SHAPE` product on ``workers`` threads at once (each in its own
    OpenBLAS buffer), the first time a region this wide starts; about 35 ms per process."""
    global _warmed_buffers
    if workers <= _warmed_buffers or not _uses_openblas(controller):
        return
    with _lock:
        if workers <= _warmed_buffers:
            return
        _warmed_buffers = workers
    m, k, n = WARM_GEMM_SHAPE
    left, right = np.ones((m, k), dtype=np.float32), np.ones((k, n), dtype=np.float32)
    start = threading.Barrier(workers)

    def warm(_part) -> None:
        try:  # a pool busy with another region's parts must not hold this one up for long
            start.wait(timeout=1.0)
        except threading.BrokenBarrierError:
            pass
        left @ right

    _run_split(warm, range(workers), workers)


def _uses_openblas(controller) -> bool:
    return any(lib.internal_api == "openblas" for lib in controller.lib_controllers)


def _executor() -> ThreadPoolExecutor:
    """The shared pool; one thread per core besides the caller's (threads start on demand)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1),
                                       thread_name_prefix="convnp")
        return _pool


def map_parts(task: Callable[[Sequence], object], items: Sequence) -> list:
    """Run ``task`` on contiguous parts of ``items``, one part per available core.

    A single item runs as is, with BLAS free to use its own threads; several run in a
    `parallel_region`. Returns the results in the order of the parts.
    """
    if len(items) <= 1:
        return [task(items)]
    with parallel_region() as workers:
        return _run_split(task, items, workers)


def map_rows(task: Callable[[slice], object], n: int, min_rows: int = 1) -> list:
    """Run ``task(rows)`` on contiguous ranges of ``range(n)``, one per available core.

    For elementwise work and partial sums over the rows (or examples) of a large array.
    Below ``2 * min_rows`` rows the work is too small to share and runs as one range.
    """
    if n < 2 * min_rows:
        return [task(slice(0, n))]
    blocks = [slice(i * n // 8, (i + 1) * n // 8) for i in range(8)] if n >= 8 else [
        slice(i, i + 1) for i in range(n)]
    return map_parts(lambda part: task(slice(part[0].start, part[-1].stop)), blocks)


def _run_split(task: Callable[[Sequence], object], items: Sequence, workers: int) -> list:
    """Run ``task`` on ``workers`` contiguous parts of ``items``; the caller runs the last."""
    workers = max(1, min(workers, len(items)))
    if workers == 1:
        return [task(items)]
    bounds = [round(i * len(items) / workers) for i in range(workers + 1)]
    parts = [items[bounds[i]:bounds[i + 1]] for i in range(workers)]
    pool = _executor()
    # NumPy's error state (`np.errstate`) belongs to each thread: the workers take the
    # caller's, so that a kernel warns (or raises, or stays quiet) the same split or not
    errors = np.geterr()
    futures = [pool.submit(_in_error_state, errors, task, part) for part in parts[:-1]]
    try:
        last = task(parts[-1])
    finally:
        # When the caller's part raises, the other parts still finish before the error goes
        # up: no part may run on (writing into the caller's arrays, holding BLAS at one thread
        # through a region of its own) after the kernel that started it has returned.
        wait(futures)
    return [f.result() for f in futures] + [last]


def _in_error_state(errors: dict, task: Callable, part: Sequence):
    """``task(part)`` under NumPy's error state ``errors`` (`np.geterr` of the caller)."""
    with np.errstate(**errors):
        return task(part)
