"""Stride-1 convolutions by kernel rows, in 2-D and 3-D; and the copy of a strided window view.

The "rows" here are the first spatial axis: image rows of an NHWC batch, depths of an NDHWC
one. A stride-1 conv reads each input row under every kernel row (output row ``r`` reads
input rows ``r .. r + f_0 - 1``). An im2col row copies all the taps of a window, so each input
number is copied once per tap. `RowTaps` copies instead, once per *input* row, the taps of
*one* kernel row (``f_w`` of them in 2-D, ``f_h * f_w`` in 3-D), and runs one product per
kernel row on that copy shifted down by as many rows:

    out[r] = sum over i of  copy[r + i] @ W[i]

For a slab of ``s`` output rows of one example, the copy is a ``((s + f_0 - 1) * P, T * n_C)``
matrix (``P`` output positions in a row, ``T`` taps in a kernel row) and kernel row ``i``
multiplies its rows ``i * P .. (i + s) * P``: a contiguous slice, no copy. The copy is about
``f_0`` times smaller than the slab's im2col block; the price is ``f_0`` thinner products whose
results are added up while the slab's output is in cache.

- Forward (`RowTaps.conv`): as above, plus bias and ReLU on the slab.
- Weight gradient (`RowTaps.weight_gradient`): per kernel row, the shifted copy's transpose
  times the slab's output gradient, one partial sum per thread.
- Input gradient: at stride 1 it is itself a stride-1 conv (of the padded output gradient with
  the turned kernel, `convnp.ops.conv.InputGradientConv`), so it runs through `conv` too.

Slabs are pieces of work shared between the cores (`map_parts`), each about `SLAB_POSITIONS`
output positions, and at least two rows deep (a slab one row deep copies as much as im2col).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops import elementwise
from convnp.ops._threads import map_parts

# Output positions of a slab: its copy stays in cache with the products reading it (1024 and
# 4096 were no faster on the c3d model's convs; 512 was slower on the 2-D ones).
SLAB_POSITIONS = 2048


def copy_windows(windows: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """Copy a strided view of windows into ``out`` (a flat buffer reused across chunks; a new
    one when missing or too small), shaped as the view.

    The last axes of a window view often lie contiguous in memory (a kernel row of ``f_w *
    n_C`` numbers in NHWC), and NumPy's copy loop steps through such a run number by number
    with the loop's bookkeeping between runs. The run is copied instead as one opaque item (a
    ``np.void`` of its bytes): the same bytes land in the same places, 1.4-1.6x faster for
    runs of 3 to 21 numbers (the first convs of MNIST, VGG, happy and c3d) and 1.1x for runs of
    96 (measured on AVX-512 with NumPy 2.4).
    """
    size = windows.size
    if out is None or out.size < size or out.dtype != windows.dtype:
        out = np.empty(size, dtype=windows.dtype)
    copied = out.reshape(-1)[:size].reshape(windows.shape)
    run_axes = _contiguous_tail(windows)
    if size == 0 or run_axes == 0:
        np.copyto(copied, windows)
        return copied
    head = windows.shape[:windows.ndim - run_axes]
    run = prod(windows.shape[windows.ndim - run_axes:])
    item = np.dtype((np.void, run * windows.itemsize))
    runs = as_strided(windows, shape=(*head, run),
                      strides=(*windows.strides[:windows.ndim - run_axes], windows.itemsize),
                      writeable=False)
    np.copyto(copied.reshape(*head, run).view(item)[..., 0], runs.view(item)[..., 0])
    return copied


def _contiguous_tail(view: np.ndarray) -> int:
    """How many trailing axes of ``view`` form one contiguous run of numbers (0 when the last
    axis is not contiguous or the run would be a single number)."""
    step, axes = view.itemsize, 0
    for length, stride in zip(reversed(view.shape), reversed(view.strides)):
        if stride != step and length != 1:
            break
        step *= length
        axes += 1
    return axes if step > view.itemsize and axes < view.ndim else 0


@dataclass(frozen=True)
class RowTaps:
    """A stride-1, undilated conv run by kernel rows (see the module docstring).

    Attributes:
        kernel: the window's spatial size ``(f_0, f_1, ...)``.
        out: the output's spatial size ``(o_0, o_1, ...)``.
        rows: output rows per slab.
    """

    kernel: tuple[int, ...]
    out: tuple[int, ...]
    rows: int

    @classmethod
    def plan(cls, kernel, stride, dilation, out) -> RowTaps | None:
        """The plan for a conv of this geometry, or None when it does not apply: a strided
        or dilated conv, a kernel one row deep, an empty output, or rows so long that a
        slab would be one row deep."""
        if any(s != 1 for s in stride) or any(d != 1 for d in dilation) or kernel[0] == 1 \
                or 0 in out:
            return None
        rows = min(out[0], SLAB_POSITIONS // prod(out[1:]))
        if rows < min(2, out[0]):
            return None
        return cls(tuple(kernel), tuple(out), rows)

    @property
    def row_positions(self) -> int:
        """Output positions in one row."""
        return prod(self.out[1:])

    def slabs(self, m: int) -> list[tuple[int, slice]]:
        """The pieces of work: ``(example, output rows)``."""
        return [(e, slice(r, min(self.out[0], r + self.rows)))
                for e in range(m) for r in range(0, self.out[0], self.rows)]

    def kernel_rows(self, matrix: np.ndarray) -> list[np.ndarray]:
        """An im2col kernel matrix ``(taps * n_C, n_C_out)`` (rows in the window's order)
        cut into its kernel rows (views)."""
        per_row = matrix.shape[0] // self.kernel[0]
        return [matrix[i * per_row:(i + 1) * per_row] for i in range(self.kernel[0])]

    def copy(self, xp: np.ndarray, example: int, rows: slice,
             buffer: np.ndarray | None) -> np.ndarray:
        """The taps of one kernel row at every output position of the input rows that the
        output ``rows`` of ``example`` read, from the padded input ``xp`` (channels last):
        ``(positions, taps_in_a_row * n_C)``."""
        source = xp[example, rows.start:rows.stop + self.kernel[0] - 1]
        n_C, inner = source.shape[-1], source.strides[1:-1]
        view = as_strided(source, shape=(source.shape[0], *self.out[1:], *self.kernel[1:], n_C),
                          strides=(source.strides[0], *inner, *inner, source.strides[-1]),
                          writeable=False)
        return copy_windows(view, buffer).reshape(-1, prod(self.kernel[1:]) * n_C)

    def shifted(self, cols: np.ndarray, i: int, positions: int) -> np.ndarray:
        """The rows of a `copy` that kernel row ``i`` multiplies for ``positions`` outputs."""
        start = i * self.row_positions
        return cols[start:start + positions]

    def conv(self, xp: np.ndarray, kernel: np.ndarray, out: np.ndarray, bias=None,
             relu: bool = False) -> None:
        """``out`` (channels last, C-contiguous) = the conv of the padded ``xp`` with the
        im2col kernel matrix ``kernel``; plus ``bias``, then ReLU if asked. On every core."""
        parts = self.kernel_rows(kernel)
        bias = None if bias is None else elementwise.ColumnTile(
            bias, total_rows=self.rows * self.row_positions)
        n_C_out = out.shape[-1]

        def run(pieces: list[tuple[int, slice]]) -> None:
            buffer = None
            scratch = np.empty((self.rows * self.row_positions, n_C_out), dtype=out.dtype)
            for example, rows in pieces:
                cols = buffer = self.copy(xp, example, rows, buffer)
                target = out[example, rows].reshape(-1, n_C_out)
                positions = target.shape[0]
                np.matmul(cols[:positions], parts[0], out=target)
                for i in range(1, len(parts)):
                    target += np.matmul(self.shifted(cols, i, positions), parts[i],
                                        out=scratch[:positions])
                if bias is not None:
                    bias.add_to(target)
                if relu:
                    elementwise.relu(target, out=target)

        map_parts(run, self.slabs(out.shape[0]))

    def weight_gradient(self, xp: np.ndarray, dZ: np.ndarray) -> np.ndarray:
        """The kernel's gradient as an im2col kernel matrix ``(taps * n_C, n_C_out)`` from
        the padded input ``xp`` and the output gradient ``dZ`` (C-contiguous)."""
        n_C_out = dZ.shape[-1]

        def run(pieces: list[tuple[int, slice]]) -> list:
            buffer = product = None
            partial = [None] * self.kernel[0]
            for example, rows in pieces:
                cols = buffer = self.copy(xp, example, rows, buffer)
                dZ_slab = dZ[example, rows].reshape(-1, n_C_out)
                for i in range(len(partial)):
                    shifted = self.shifted(cols, i, dZ_slab.shape[0])
                    if partial[i] is None:
                        partial[i] = shifted.T @ dZ_slab
                    else:  # one scratch product per thread, added into its partial sum
                        product = np.matmul(shifted.T, dZ_slab, out=product)
                        partial[i] += product
            return partial

        parts = [part for part in map_parts(run, self.slabs(dZ.shape[0]))
                 if part[0] is not None]
        if not parts:  # an empty batch
            return np.zeros((prod(self.kernel) * xp.shape[-1], n_C_out), dtype=dZ.dtype)
        total = np.concatenate(parts[0])
        for part in parts[1:]:
            total += np.concatenate(part)
        return total
