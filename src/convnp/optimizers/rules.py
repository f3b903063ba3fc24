"""Keras 3's classic update rules: SGD, Adam, RMSprop, AdamW, Adagrad, Adamax, Nadam,
Adadelta, Lion, Lamb, Ftrl (each `_update` works on a variable, or a block of it, in place).

Update formulas (from Keras 3's `keras/src/optimizers/{sgd,adam,rmsprop}.py`), t = step number
starting at 1, lr = learning rate, g = gradient:

* SGD, momentum 0: `w -= lr*g`. With momentum: `v = momentum*v - lr*g`, then `w += v`; Nesterov:
  `w += momentum*v - lr*g` (with the new v).
* Adam: `alpha = lr*sqrt(1-beta_2**t)/(1-beta_1**t)`; `m += (g-m)*(1-beta_1)`;
  `v += (g*g-v)*(1-beta_2)`; (amsgrad: `v_hat = max(v_hat, v)`, used in place of v);
  `w -= alpha*m/(sqrt(v)+epsilon)`. Note epsilon is added to the *un*-bias-corrected sqrt(v),
  which differs slightly from PyTorch's Adam.
* RMSprop: `v = rho*v + (1-rho)*g*g`; centered also `a = rho*a + (1-rho)*g` and the
  denominator is `sqrt(v - a*a + epsilon)`, else `sqrt(v + epsilon)` (epsilon inside the root);
  `inc = lr*g/denominator`; with momentum `mom = momentum*mom + inc; w -= mom`, else `w -= inc`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.optimizers.base import Optimizer, _check_rate


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, Keras 3 rules."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = _check_rate("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _slot_names(self):
        return ["momentum"] if self.momentum != 0 else []

    def _update(self, slots, grad, value):
        t = value.dtype.type
        lr = t(self._rate())
        if self.momentum == 0:
            value -= lr * grad
            return
        m = slots["momentum"]
        mom = t(self.momentum)
        m *= mom
        m -= lr * grad
        if self.nesterov:
            value += mom * m - lr * grad
        else:
            value += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _TwoMoments(Optimizer):
    """What Adam, Adamax and Nadam share: the decay rates ``beta_1`` (first moment) and
    ``beta_2`` (second), each in [0, 1], and ``epsilon``; the subclass gives the update."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, name: str, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_rate("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_rate("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_rate("epsilon", epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adam(_TwoMoments):
    """Adam, Keras 3 rules (epsilon added to the un-corrected sqrt(v))."""

    _interleaved_slots = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.amsgrad = bool(amsgrad)
        self._step_scalars: dict = {}

    def _slot_names(self):
        return ["momentum", "velocity"] + (["velocity_hat"] if self.amsgrad else [])

    def _before_updates(self) -> None:
        self._step_scalars = {}

    def _scalars(self, dtype: np.dtype) -> tuple:
        """This step's ``(alpha, 1 - beta_1, 1 - beta_2, epsilon)`` in ``dtype`` (as Keras
        casts them before computing), made once a step: the update runs on many blocks."""
        scalars = self._step_scalars.get(dtype)
        if scalars is None:
            t = dtype.type
            step = t(self._step + 1)
            b1, b2 = t(self.beta_1), t(self.beta_2)
            alpha = t(self._rate()) * np.sqrt(t(1) - b2 ** step) / (t(1) - b1 ** step)
            scalars = (alpha, t(1 - self.beta_1), t(1 - self.beta_2), t(self.epsilon))
            self._step_scalars = {**self._step_scalars, dtype: scalars}  # threads read it
        return scalars

    def _update(self, slots, grad, value):
        alpha, one_minus_b1, one_minus_b2, epsilon = self._scalars(value.dtype)
        m, v = slots["momentum"], slots["velocity"]
        buf = np.empty_like(value)
        # m += (g - m) * (1 - beta_1)
        np.subtract(grad, m, out=buf)
        buf *= one_minus_b1
        m += buf
        # v += (g*g - v) * (1 - beta_2)
        np.multiply(grad, grad, out=buf)
        buf -= v
        buf *= one_minus_b2
        v += buf
        if self.amsgrad:
            vh = slots["velocity_hat"]
            np.maximum(vh, v, out=vh)
            v = vh
        # w -= alpha * m / (sqrt(v) + eps)
        np.sqrt(v, out=buf)
        buf += epsilon
        np.divide(m * alpha, buf, out=buf)
        value -= buf

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop, Keras 3 rules (epsilon inside the square root)."""

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_rate("rho", rho, 0.0, 1.0)
        self.momentum = _check_rate("momentum", momentum, 0.0, 1.0)
        self.epsilon = _check_rate("epsilon", epsilon)
        self.centered = bool(centered)

    def _slot_names(self):
        names = ["velocity"]
        if self.momentum > 0:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        return names

    def _update(self, slots, grad, value):
        t = value.dtype.type
        rho = t(self.rho)
        one_minus = t(1 - self.rho)
        v = slots["velocity"]
        v *= rho
        v += one_minus * (grad * grad)
        if self.centered:
            a = slots["average_gradient"]
            a *= rho
            a += one_minus * grad
            denom = v - a * a + t(self.epsilon)
        else:
            denom = v + t(self.epsilon)
        np.sqrt(denom, out=denom)
        inc = t(self._rate()) * grad
        inc /= denom
        if self.momentum > 0:
            mom = slots["momentum"]
            mom *= t(self.momentum)
            mom += inc
            value -= mom
        else:
            value -= inc

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): each step first
    ``w -= w * weight_decay * lr``, then Adam's update."""

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, name: str | None = None, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a number >= 0), got None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name, weight_decay=weight_decay,
                         **kwargs)


class _StartedAccumulator(Optimizer):
    """An optimizer whose ``accumulator`` slots start at ``initial_accumulator_value``
    (unless restored state gave them values)."""

    initial_accumulator_value: float = 0.0

    def _make_slot(self, name, value, owner):
        if name == "accumulator":
            return np.full_like(value, self.initial_accumulator_value)
        return super()._make_slot(name, value, owner)


class Adagrad(_StartedAccumulator):
    """Adagrad, Keras 3 rules: ``acc += g*g``; ``w -= lr * g / sqrt(acc + epsilon)``."""

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = _check_rate("initial_accumulator_value",
                                                     initial_accumulator_value)
        self.epsilon = _check_rate("epsilon", epsilon)

    def _slot_names(self):
        return ["accumulator"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        acc = slots["accumulator"]
        acc += grad * grad
        value -= t(self._rate()) * grad / np.sqrt(acc + t(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


class Adamax(_TwoMoments):
    """Adamax, Keras 3 rules: ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 u, |g|)``;
    ``w -= lr * m / ((1 - beta_1**t) (u + epsilon))``."""

    _interleaved_slots = ("m", "u")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def _slot_names(self):
        return ["m", "u"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        m, u = slots["m"], slots["u"]
        m += (grad - m) * t(1 - self.beta_1)
        np.maximum(t(self.beta_2) * u, np.abs(grad), out=u)
        correction = t(1) - t(self.beta_1) ** t(self._step + 1)
        value -= t(self._rate()) * m / (correction * (u + t(self.epsilon)))


class Nadam(_TwoMoments):
    """Nadam, Keras 3 rules (momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96**t)``; the
    product of the ``u_t`` so far is part of the state)."""

    _interleaved_slots = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.u_product = 1.0

    def _slot_names(self):
        return ["momentum", "velocity"]

    def _u(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** step)

    def _before_updates(self) -> None:
        self.u_product = float(np.float32(self.u_product * self._u(self._step + 1)))

    def _update(self, slots, grad, value):
        t = value.dtype.type
        step = self._step + 1
        u_t, u_next = t(self._u(step)), t(self._u(step + 1))
        product = t(self.u_product)
        m, v = slots["momentum"], slots["velocity"]
        m += (grad - m) * t(1 - self.beta_1)
        v += (grad * grad - v) * t(1 - self.beta_2)
        m_hat = u_next * m / (t(1) - product * u_next) + (t(1) - u_t) * grad / (t(1) - product)
        v_hat = v / (t(1) - t(self.beta_2) ** t(step))
        value -= m_hat * t(self._rate()) / (np.sqrt(v_hat) + t(self.epsilon))

    def get_state(self):
        return {**super().get_state(), "u_product": np.array(self.u_product)}

    def set_state(self, state):
        state = dict(state)
        product = state.pop("u_product", None)
        super().set_state(state)
        if product is not None:
            self.u_product = float(np.asarray(product))


class Adadelta(Optimizer):
    """Adadelta, Keras 3 rules: ``acc_g = rho acc_g + (1 - rho) g^2``;
    ``step = sqrt(acc_d + eps) / sqrt(acc_g + eps) * g``; ``acc_d = rho acc_d + (1 - rho)
    step^2``; ``w -= lr * step``."""

    _interleaved_slots = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_rate("rho", rho, 0.0, 1.0)
        self.epsilon = _check_rate("epsilon", epsilon)

    def _slot_names(self):
        return ["accumulated_grad", "accumulated_delta_var"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        rho, eps = t(self.rho), t(self.epsilon)
        acc_grad, acc_delta = slots["accumulated_grad"], slots["accumulated_delta_var"]
        acc_grad *= rho
        acc_grad += t(1 - self.rho) * (grad * grad)
        step = np.sqrt(acc_delta + eps) / np.sqrt(acc_grad + eps) * grad
        acc_delta *= rho
        acc_delta += t(1 - self.rho) * (step * step)
        value -= t(self._rate()) * step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (Chen et al., 2023), Keras 3 rules: ``w -= lr * sign(beta_1 m + (1 - beta_1) g)``,
    then ``m = beta_2 m + (1 - beta_2) g``. Its steps are all of size ``lr``: use a rate
    3-10x smaller than Adam's."""

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_rate("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_rate("beta_2", beta_2, 0.0, 1.0)
        if self.beta_1 == 0.0:
            raise ValueError("Lion's beta_1 must be > 0 (with 0 the momentum is never read)")

    def _slot_names(self):
        return ["momentum"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        m = slots["momentum"]
        direction = np.sign(m * t(self.beta_1) + grad * t(1 - self.beta_1))
        value -= t(self._rate()) * direction
        m *= t(self.beta_2)
        m += grad * t(1 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(_TwoMoments):
    """LAMB (You et al., 2019), Keras 3.15's rules: Adam's bias-corrected step
    ``u = m_hat / (sqrt(v_hat) + epsilon)`` scaled by the trust ratio
    ``||w|| / ||u||`` of the whole variable (1 when either norm is 0):
    ``w -= lr * ratio * u``."""

    _whole_variables = True
    _interleaved_slots = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def _slot_names(self):
        return ["momentum", "velocity"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        step = t(self._step + 1)
        m, v = slots["momentum"], slots["velocity"]
        m += (grad - m) * t(1 - self.beta_1)
        v += (grad * grad - v) * t(1 - self.beta_2)
        m_hat = m / (t(1) - t(self.beta_1) ** step)
        root = np.sqrt(v / (t(1) - t(self.beta_2) ** step)) + t(self.epsilon)
        update = m_hat / root
        w_norm = np.sqrt(np.sum(np.square(value)))
        u_norm = np.sqrt(np.sum(np.square(update)))
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else t(1)
        value -= (ratio * t(self._rate())) * update


class Ftrl(_StartedAccumulator):
    """FTRL-Proximal (McMahan et al., 2013), Keras 3 rules, with ``p = -learning_rate_power``:
    ``n' = n + g^2``; ``z += g + 2 l2_shrinkage w - (n'^p - n^p) / lr * w``;
    ``w = (clip(z, -l1, l1) - z) / (n'^p / lr + 2 (l2 + beta / (2 lr)))``."""

    _interleaved_slots = ("accumulator", "linear")

    def __init__(self, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.learning_rate_power = check_number("learning_rate_power", learning_rate_power,
                                                None, 0.0)
        self.initial_accumulator_value = _check_rate("initial_accumulator_value",
                                                     initial_accumulator_value)
        self.l1_regularization_strength = _check_rate("l1_regularization_strength",
                                                      l1_regularization_strength)
        self.l2_regularization_strength = _check_rate("l2_regularization_strength",
                                                      l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = _check_rate(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
        self.beta = _check_rate("beta", beta)

    def _slot_names(self):
        return ["accumulator", "linear"]

    def _update(self, slots, grad, value):
        t = value.dtype.type
        lr, power = t(self._rate()), t(-self.learning_rate_power)
        acc, linear = slots["accumulator"], slots["linear"]
        new_acc = acc + grad * grad
        shrunk = grad + t(2 * self.l2_shrinkage_regularization_strength) * value
        linear += shrunk - (new_acc ** power - acc ** power) / lr * value
        quadratic = new_acc ** power / lr + t(2) * (t(self.l2_regularization_strength)
                                                    + t(self.beta) / (t(2) * lr))
        l1 = t(self.l1_regularization_strength)
        value[...] = (np.clip(linear, -l1, l1) - linear) / quadratic
        acc[...] = new_acc

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
