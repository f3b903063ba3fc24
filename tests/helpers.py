"""Numerical gradient helpers (central differences, float64) shared by op and layer tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f() * dout)`` with respect to ``x`` by central differences.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one element at a time
    (and restored), so any array the function closes over can be checked.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        saved = x[idx]
        x[idx] = saved + h
        plus = np.sum(f() * dout)
        x[idx] = saved - h
        minus = np.sum(f() * dout)
        x[idx] = saved
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error of ``a`` against ``b``, scaled by the larger of the two arrays.

    Elementwise relative errors blow up on entries that are nearly zero (where central
    differences have only absolute accuracy), so the worst absolute difference is divided by
    the arrays' largest magnitude instead. A wrong gradient formula is off by the order of
    the gradient itself and still fails by orders of magnitude.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0) / max(scale, 1e-8))


def check_training_gradients(model, x, y, atol: float, h: float = 1e-6) -> int:
    """Compare every trainable variable's ``.grad`` after one training-mode backward with
    central differences of the training loss (float64 models); returns how many variables."""
    fused, variables = model._prepare_training()
    model._compute_gradients(x, y, fused)
    for v in variables:
        analytic = v.grad.copy()
        numeric = np.zeros_like(v.value)
        for idx in np.ndindex(v.value.shape):
            old = v.value[idx]
            v.value[idx] = old + h
            up = model._forward_with_loss(x, y, fused, True)[1]
            v.value[idx] = old - h
            down = model._forward_with_loss(x, y, fused, True)[1]
            v.value[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic, numeric, atol=atol, err_msg=v.name)
    return len(variables)


def train_on_both_paths(build, x, y, steps: int = 1) -> dict:
    """Train a fresh ``build()`` model ``steps`` batches on the fast schedule (False) and on
    the plain path (True, `convnp.config.plain_path`); per path: the losses, the last
    gradients, the weights after (moving statistics included) and the predictions."""
    from convnp import config

    runs = {}
    for plain in (False, True):
        model = build()
        with config.plain_path(plain):
            losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
            grads = [v.grad.copy() for v in model.trainable_weights]
            runs[plain] = (losses, grads, model.get_weights(), model.predict(x, verbose=0))
    return runs


def assert_paths_agree(runs: dict) -> None:
    """`train_on_both_paths` gave the same numbers up to float32 rounding."""
    (losses, grads, weights, preds), plain = runs[False], runs[True]
    np.testing.assert_allclose(losses, plain[0], rtol=1e-5)
    for a, b in zip(grads, plain[1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    for a, b in zip(weights, plain[2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(preds, plain[3], rtol=1e-4, atol=1e-6)


FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures"


def load_fixture(name: str) -> dict[str, np.ndarray]:
    """Every array of the committed ``tests/fixtures/<name>`` (.npz, no pickle) by key."""
    with np.load(FIXTURES / name, allow_pickle=False) as z:
        return {key: z[key] for key in z.files}


def check_recorded_case(case: str, cases: dict, golden: dict, module, float32_tol: float = 1e-6,
                        float64_tol: float = 1e-6) -> None:
    """Run one recorded op case (``cases[case] = (inputs, differentiable, fn)``, see
    ``tests/fixtures/tf_ops_more_cases.py``) as ``fn(module, **tensors)`` under a tape and
    compare it with the reference framework's numbers in ``golden``: dtype, shape and values of
    the output, and the gradients of ``sum(y * r)`` w.r.t. the differentiable inputs (an
    all-NaN reference gradient means the reference gives none). Tolerance 1e-6, or
    ``float32_tol`` for float32 outputs (``float64_tol`` for float64 ones: the reference may
    compute parts in float32)."""
    import convnp as tf

    inputs, diff, fn = cases[case]
    tensors = {k: tf.constant(golden[f"{case}/in/{k}"]) for k in inputs}
    with tf.GradientTape() as tape:
        for k in diff:
            tape.watch(tensors[k])
        y = fn(module, **tensors)
        if f"{case}/r" in golden:
            loss = tf.reduce_sum(tf.cast(y, tf.float64) * golden[f"{case}/r"])
    assert y.dtype.name == str(golden[f"{case}/dtype"])
    expected = golden[f"{case}/y"]
    assert y.shape == expected.shape
    tol = float32_tol if expected.dtype == np.float32 else float64_tol
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(np.asarray(y), expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(np.asarray(y), expected)
    if not diff:
        return
    grads = tape.gradient(loss, [tensors[k] for k in diff])
    for k, g in zip(diff, grads):
        want = golden[f"{case}/grad/{k}"]
        if np.all(np.isnan(want)):
            assert g is None, k
        else:
            assert g is not None, f"no gradient reached {k}"
            np.testing.assert_allclose(np.asarray(g), want, rtol=tol, atol=tol, err_msg=k)


def record_row_tap_copies(monkeypatch) -> list[str]:
    """Patch `convnp.ops.row_taps.RowTaps.copy` to record the name of each thread that copies
    a slab (a conv running by kernel rows); returns the list it appends to."""
    import threading

    from convnp.ops import row_taps

    names: list[str] = []
    copy = row_taps.RowTaps.copy

    def spy(self, *args):
        names.append(threading.current_thread().name)
        return copy(self, *args)

    monkeypatch.setattr(row_taps.RowTaps, "copy", spy)
    return names
