"""Matrix products split between the cores (`convnp.ops._threads`).

Inside `fit` BLAS is held to one thread (its spinning workers would steal the core from
convnp's own threads), so a single big GEMM would run on one core. These helpers cut the
product into row blocks, one per thread, each a one-thread BLAS call. Products too small
to be worth a thread hand-off run as one call.
"""

from __future__ import annotations

import numpy as np

from convnp.ops import elementwise
from convnp.ops._threads import map_rows

# Below this many multiply-adds a product runs as one BLAS call.
MIN_SPLIT_MACS = 1 << 21


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
           bias: np.ndarray | None = None, relu: bool = False) -> np.ndarray:
    """``a @ b (+ bias)`` with the rows of ``a`` (and of the result) shared between threads.

    Args:
        a: ``(M, K)``; b: ``(K, N)``; out: optional C-contiguous ``(M, N)`` result buffer;
        bias: optional ``(N,)`` added to every row while the block is still in cache;
        relu: then ``max(., 0)``, in the same pass.
    """
    M, K = a.shape
    N = b.shape[1]
    if out is None:
        out = np.empty((M, N), dtype=np.result_type(a, b))

    bias_tile = None if bias is None else elementwise.ColumnTile(
        np.asarray(bias, dtype=out.dtype), total_rows=M)

    def block(rows: slice) -> None:
        np.matmul(a[rows], b, out=out[rows])
        if bias_tile is not None:
            bias_tile.add_to(out[rows])
        if relu:
            elementwise.relu(out[rows], out=out[rows])

    if M * K * N < MIN_SPLIT_MACS:
        block(slice(0, M))
    else:
        map_rows(block, M, min_rows=8)
    return out


def matmul_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` for ``a`` ``(M, K)`` and ``b`` ``(M, N)`` (weight gradients, whose
    reduction runs over every output pixel of the batch), shared between the threads.

    With many rows (``M >= K / 2``) each thread multiplies a block of rows and the ``(K, N)``
    partial products are summed. With few (ResNet-50's last stages: 128 pixels against 512 to
    2048 channels) the partial products would be as big as the work, so each thread computes
    a block of rows of the result from all of ``b`` instead: 0.83-0.88x the time there.
    """
    M, K = a.shape
    N = b.shape[1]
    if M * K * N < MIN_SPLIT_MACS:
        return a.T @ b
    if 2 * M < K:
        out = np.empty((K, N), dtype=np.result_type(a, b))
        map_rows(lambda rows: np.matmul(a[:, rows].T, b, out=out[rows]), K, min_rows=8)
        return out
    parts = map_rows(lambda rows: a[rows].T @ b[rows], M, min_rows=8)
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total
