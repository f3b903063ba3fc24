"""Optimizers: Keras 3 update formulas (hand-written from the Keras docs), PyTorch parity where
the formulas coincide, state round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import optimizers
from convnp.variables import Variable


def _problem(seed=0, shapes=((3, 4), (4,))):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(5)]
    return values, grads


def _run(opt, values, grads):
    vars_ = [Variable(v.copy(), name=f"v{i}") for i, v in enumerate(values)]
    for step in grads:
        opt.apply_gradients(zip(step, vars_))
    return [v.value for v in vars_]


def _adam_reference(values, grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    out = []
    for i, w in enumerate(values):
        w = w.astype(np.float64)
        m = np.zeros_like(w)
        v = np.zeros_like(w)
        vhat = np.zeros_like(w)
        for t, step in enumerate(grads, start=1):
            g = step[i].astype(np.float64)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            vhat = np.maximum(vhat, v)
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            w = w - alpha * m / (np.sqrt(vhat if amsgrad else v) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_keras_formula(amsgrad):
    values, grads = _problem()
    got = _run(optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad), values, grads)
    ref = _adam_reference(values, grads, lr=0.01, amsgrad=amsgrad)
    for a, b in zip(got, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _rmsprop_reference(values, grads, lr, rho, momentum, eps, centered):
    out = []
    for i, w in enumerate(values):
        w = w.astype(np.float64)
        v = np.zeros_like(w)
        a = np.zeros_like(w)
        mom = np.zeros_like(w)
        for step in grads:
            g = step[i].astype(np.float64)
            v = rho * v + (1 - rho) * g * g
            if centered:
                a = rho * a + (1 - rho) * g
                denom = v - a * a + eps
            else:
                denom = v + eps
            inc = lr * g / np.sqrt(denom)
            mom = momentum * mom + inc
            w = w - (mom if momentum > 0 else inc)
        out.append(w)
    return out


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.0, True),
                                               (0.9, True)])
def test_rmsprop_matches_keras_formula(momentum, centered):
    values, grads = _problem(1)
    opt = optimizers.RMSprop(learning_rate=0.01, momentum=momentum, centered=centered)
    got = _run(opt, values, grads)
    ref = _rmsprop_reference(values, grads, 0.01, 0.9, momentum, 1e-7, centered)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_torch(momentum, nesterov):
    # Keras's velocity form and PyTorch's buffer form give the same iterates when the
    # learning rate is constant (v_keras = -lr * buf_torch).
    torch = pytest.importorskip("torch")
    values, grads = _problem(2)
    got = _run(optimizers.SGD(learning_rate=0.1, momentum=momentum, nesterov=nesterov),
               values, grads)
    params = [torch.nn.Parameter(torch.tensor(v.astype(np.float64))) for v in values]
    opt = torch.optim.SGD(params, lr=0.1, momentum=momentum, nesterov=nesterov)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g.astype(np.float64))
        opt.step()
    for a, p in zip(got, params):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_rmsprop_matches_torch_plain():
    # PyTorch's RMSprop adds eps outside the root; with eps=0 both are sqrt(v).
    torch = pytest.importorskip("torch")
    values, grads = _problem(3)
    got = _run(optimizers.RMSprop(learning_rate=0.01, epsilon=0.0), values, grads)
    params = [torch.nn.Parameter(torch.tensor(v.astype(np.float64))) for v in values]
    opt = torch.optim.RMSprop(params, lr=0.01, alpha=0.9, eps=0.0)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g.astype(np.float64))
        opt.step()
    for a, p in zip(got, params):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_iterations_and_learning_rate_setter():
    values, grads = _problem()
    opt = optimizers.get("sgd")
    _run(opt, values, grads)
    assert opt.iterations == 5
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    with pytest.raises(ValueError):
        opt.learning_rate = -1


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.01),
                                  lambda: optimizers.Adam(0.01, amsgrad=True),
                                  lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                  lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True)])
def test_state_round_trip_resumes_identically(make):
    values, grads = _problem(4)
    straight = _run(make(), values, grads)

    first = make()
    vars_ = [Variable(v.copy(), name=f"v{i}") for i, v in enumerate(values)]
    for step in grads[:2]:
        first.apply_gradients(zip(step, vars_))
    state = first.get_state()
    second = make()
    second.set_state(state)  # before build: applied on the first step
    for step in grads[2:]:
        second.apply_gradients(zip(step, vars_))
    for a, b in zip(straight, (v.value for v in vars_)):
        np.testing.assert_array_equal(a, b)
    assert second.iterations == 5


def test_set_state_validates_shapes():
    values, grads = _problem()
    opt = optimizers.Adam()
    _run(opt, values, grads[:1])
    state = opt.get_state()
    state["momentum/0"] = np.zeros((2, 2), np.float32)
    fresh = optimizers.Adam()
    fresh.set_state(state)  # not built yet: checked when the slots are created
    with pytest.raises(ValueError, match=r"momentum/0"):
        _run(fresh, values, grads[:1])
    with pytest.raises(ValueError, match="expected"):
        opt.set_state(state)
    with pytest.raises(ValueError, match="unexpected"):
        opt.set_state({"iterations": 1, "bogus/0": np.zeros(1)})


def test_in_place_update_keeps_array_identity():
    values, grads = _problem()
    var = Variable(values[0].copy(), name="w")
    before = var.value
    opt = optimizers.Adam()
    opt.apply_gradients([(grads[0][0], var)])
    assert var.value is before


def test_lookup_config_and_errors():
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    adam = optimizers.Adam(learning_rate=0.002, beta_1=0.8)
    again = optimizers.deserialize(optimizers.serialize(adam))
    assert again.get_config() == adam.get_config()
    assert optimizers.Adam.from_config(adam.get_config()).beta_1 == 0.8
    with pytest.raises(ValueError, match="adam"):
        optimizers.get("adamq")
    with pytest.raises(ValueError):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="shape"):
        optimizers.SGD().apply_gradients([(np.zeros(3), Variable(np.zeros(2), name="w"))])
