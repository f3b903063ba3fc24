"""Big contractions on the tape: ``tf.einsum`` plans its contraction (pairwise, through
matrix products) once its operands are large or more than two, and ``tf.image.resize`` /
``tf.image.ssim`` apply their two interpolation matrices as two products. Both used to run
one loop nest over every letter (a 32-image resize to twice the size took 30 s on a tape).
The numbers must not change: values and gradients against NumPy's unplanned einsum in
float64, and second derivatives through a resize against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor import image as tensor_image
from convnp.tensor import ops as tensor_ops
from tests.tensor.gradcheck import numeric_grad

CASES = [
    # (equation, operand shapes): big enough to be planned (above _EINSUM_PLANNED numbers)
    ("bhwc,cd->bhwd", [(4, 16, 16, 48), (48, 24)]),
    ("Hh,Ww,nhwc->nHWc", [(20, 10), (18, 9), (3, 10, 9, 40)]),
    ("bij,bjk->bik", [(16, 40, 50), (16, 50, 30)]),
    ("...ij,jk->...ik", [(2, 4, 60, 70), (70, 20)]),
    ("bqhd,bkhd->bhqk", [(4, 60, 4, 16), (4, 80, 4, 16)]),
    ("ij,ij->i", [(300, 200), (300, 200)]),  # a row-wise dot: no matrix product
    ("bi,i->b", [(400, 100), (100,)]),
    ("bxc,c->bx", [(1, 50000, 3), (3,)]),  # a size-1 axis in front
    # Keras's EinsumDense projections and a dot product: one split matrix product
    ("abc,cde->abde", [(8, 64, 32), (32, 4, 16)]),
    ("abcd,cde->abe", [(8, 64, 4, 16), (4, 16, 32)]),
    ("ab,ab->", [(300, 200), (300, 200)]),
]


@pytest.mark.parametrize("equation, shapes", CASES)
def test_planned_einsum_keeps_values_and_gradients(equation, shapes):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    variables = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        out = tf.einsum(equation, *variables)
        weights = rng.standard_normal(out.shape).astype(np.float32)
        loss = tf.reduce_sum(out * weights)
    grads = tape.gradient(loss, variables)

    wide = [a.astype(np.float64) for a in arrays]
    want = np.einsum(equation, *wide)
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-4)
    for i, (grad, a) in enumerate(zip(grads, wide)):
        # d loss / d a_i: perturbing a_i along a random direction moves the loss by <grad, dir>
        direction = rng.standard_normal(a.shape)
        moved = [b + 1e-3 * direction if j == i else b for j, b in enumerate(wide)]
        back = [b - 1e-3 * direction if j == i else b for j, b in enumerate(wide)]
        slope = (np.sum(np.einsum(equation, *moved) * weights)
                 - np.sum(np.einsum(equation, *back) * weights)) / 2e-3
        assert np.sum(grad.numpy() * direction) == pytest.approx(slope, rel=1e-3, abs=1e-2)


def test_small_einsum_is_not_planned(monkeypatch):
    """Small operands keep NumPy's single loop (a plan costs more than it saves there)."""
    seen = []
    real = np.einsum
    monkeypatch.setattr(tensor_ops.np, "einsum",
                        lambda *a, **k: seen.append(k.get("optimize")) or real(*a, **k))
    tf.einsum("ij,kj->ik", tf.ones((3, 4)), tf.ones((5, 4)))
    tf.einsum("ij,jk,kl->il", tf.ones((3, 4)), tf.ones((4, 5)), tf.ones((5, 2)))
    assert seen == [False, True]


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area"])
def test_resize_second_derivatives_match_central_differences(method):
    """A gradient penalty through tf.image.resize (nested tapes; its float64 twin): the
    gradient of the squared input-gradient norm against central differences."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((1, 3, 4, 2))
    weights = tf.constant(rng.standard_normal((1, 5, 7, 2)))

    def penalty(x):
        with tf.GradientTape() as inner:
            inner.watch(x)
            # the float64 twin of tf.image.resize (which gives float32, as TensorFlow)
            y = tensor_image._resize(x, (5, 7), method=method)
            loss = tf.reduce_sum(tf.square(y) * weights)
        g = inner.gradient(loss, x)
        return tf.reduce_sum(g * g)

    x = tf.constant(x0)
    with tf.GradientTape() as outer:
        outer.watch(x)
        p = penalty(x)
    got = outer.gradient(p, x).numpy()
    np.testing.assert_allclose(got, numeric_grad(penalty, x0), rtol=1e-6, atol=1e-8)


def test_resize_of_one_image_and_ssim_gradients():
    """A single (h, w, c) image resizes as a batch of one; SSIM's blurs (the same two
    products) keep their gradient (central differences)."""
    rng = np.random.default_rng(3)
    image = rng.random((6, 5, 3))
    want = tf.image.resize(tf.constant(image[None]), (9, 4))[0].numpy()
    np.testing.assert_allclose(tf.image.resize(tf.constant(image), (9, 4)).numpy(), want)
    other = tf.constant(rng.random((1, 12, 12, 1)))
    x0 = rng.random((1, 12, 12, 1))

    def score(x):
        return tf.reduce_sum(tensor_image._ssim(x, other, max_val=1.0, filter_size=5))

    x = tf.constant(x0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = score(x)
    np.testing.assert_allclose(tape.gradient(s, x).numpy(), numeric_grad(score, x0),
                               rtol=1e-5, atol=1e-8)


def test_einsum_dense_equations_take_one_split_product(monkeypatch):
    """Equations that are one matrix product after reshapes skip NumPy's einsum (and its
    transposing copies) for `convnp.ops.gemm`, forward and backward; others do not."""
    from convnp.ops import gemm

    calls = []
    real = gemm.matmul
    monkeypatch.setattr(gemm, "matmul", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = tf.Variable(np.ones((2, 3, 4), np.float32))
    kernel = tf.Variable(np.ones((4, 5, 6), np.float32))
    with tf.GradientTape() as tape:
        y = tf.einsum("abc,cde->abde", x, kernel)
    assert y.shape == (2, 3, 5, 6) and np.all(y.numpy() == 4)
    gx, gk = tape.gradient(y, [x, kernel])
    assert calls == [1, 1] and np.all(gx.numpy() == 30) and np.all(gk.numpy() == 6)
    calls.clear()
    tf.einsum("abc,dc->abd", x, tf.ones((5, 4)))  # the kernel transposed: a general einsum
    tf.einsum("abc,cde->abde", tf.zeros((0, 3, 4)), kernel)  # nothing to multiply
    assert calls == []
