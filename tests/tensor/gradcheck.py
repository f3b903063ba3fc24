"""Central differences in float64 for functions written with convnp's tensor ops."""

import numpy as np

import convnp as tf


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f(x) / dx by central differences (``f`` returns a scalar)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        up = float(np.asarray(f(tf.constant(x))))
        x[i] = old - eps
        down = float(np.asarray(f(tf.constant(x))))
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def tape_grad(f, x: np.ndarray) -> np.ndarray:
    t = tf.constant(np.array(x, dtype=np.float64))
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = f(t)
    g = tape.gradient(y, t)
    assert g is not None, "no gradient reached the input"
    return g.numpy()


def check(f, x, rtol=1e-5, atol=1e-7) -> None:
    numeric = numeric_grad(f, x)
    scale = 1.0 + float(np.max(np.abs(numeric), initial=0.0))
    np.testing.assert_allclose(tape_grad(f, x), numeric, rtol=rtol, atol=atol * scale)
