"""Learning-rate schedules (``tf.keras.optimizers.schedules``), Keras 3 formulas.

A schedule is called with the optimizer's step count (0 for the first update) and returns
the learning rate of that update. Give one as an optimizer's ``learning_rate``.

* ExponentialDecay: ``initial * decay_rate ** (step / decay_steps)`` (the exponent floored
  with ``staircase=True``);
* PiecewiseConstantDecay: ``values[0]`` while ``step <= boundaries[0]``, ``values[i]``
  while ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last;
* CosineDecay: ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``
  with ``s = min(step, decay_steps)``; with ``warmup_target``, first a linear ramp from
  ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then the cosine
  from ``warmup_target``;
* InverseTimeDecay: ``initial / (1 + decay_rate * step / decay_steps)`` (the ratio floored with
  ``staircase=True``);
* PolynomialDecay: ``(initial - end) * (1 - s / decay_steps) ** power + end`` with
  ``s = min(step, decay_steps)``; with ``cycle=True`` ``decay_steps`` grows to the first
  multiple of itself not below the step instead;
* CosineDecayRestarts (SGDR): cosine periods, the first ``first_decay_steps`` long, each next
  one ``t_mul`` times longer and starting at ``m_mul`` times the previous peak; the multiplier
  inside a period is ``(1 - alpha) * peak * 0.5 * (1 + cos(pi * fraction)) + alpha``.

>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(schedule(20), 6)
0.025
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.serialization import Configurable, Registry, get_registered_name
from convnp.tensor.eager import to_eager

__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
           "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
           "get", "serialize"]


def _positive(name: str, value, integer: bool = False) -> float:
    return check_number(name, value, 0.0, low_open=True, integer=integer)


def _steps(name: str, value) -> float | int:
    """A positive step count kept as given once checked: an int stays an int, so that
    ``get_config()`` shows ``decay_steps=1000`` as Keras does (the formulas divide by it as
    floats anyway)."""
    checked = _positive(name, value)
    return int(value) if isinstance(value, (int, np.integer)) else checked


class Rate(float):
    """A built-in schedule's rate at one step. Keras's schedules return a float32 scalar
    tensor, and Keras code reads it as one (``schedule(step).numpy()`` to print or plot a
    schedule); a float that also answers ``.numpy()`` and ``.dtype`` keeps both that code and
    plain arithmetic (``round``, ``float``, the optimizers' update rules) working."""

    dtype = np.dtype(np.float32)

    def numpy(self) -> np.float32:
        return np.float32(self)


class LearningRateSchedule(Configurable):
    """Base class: ``schedule(step) -> float``; ``get_config()`` / ``from_config()``.

    The built-in schedules write their rule for one step in ``_rate``; called on one step they
    give a `Rate`, on an array of steps a float32 tensor of rates, one per step, as Keras's
    schedules (which run on tensors) do: the "Overfit and underfit" tutorial plots
    ``schedule(np.linspace(...))``. A user's subclass writes ``__call__`` itself."""

    def __call__(self, step):
        if np.ndim(step) > 0:
            steps = np.asarray(step, dtype=np.float64)
            rates = np.array([self._rate(s) for s in steps.ravel()], dtype=np.float32)
            return to_eager(rates.reshape(steps.shape))
        return Rate(self._rate(step))

    def _rate(self, step) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step)")


def rate_at(schedule, step: int):
    """``schedule(step)`` as an optimizer calls it for its next update. A user's own subclass
    gets the step as Keras 3 hands it over, an int64 scalar tensor (its ``iterations``), so
    that a ``__call__`` reading ``step.dtype`` or comparing tensors works; convnp's own
    schedules take the Python int."""
    if type(schedule).__module__.startswith("convnp."):
        return schedule(step)
    return schedule(to_eager(np.asarray(step, dtype=np.int64)))


class _StepDecay(LearningRateSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share; `_progress` is
    ``step / decay_steps``, floored with ``staircase``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name or type(self).__name__

    def _progress(self, step) -> float:
        ratio = float(step) / self.decay_steps
        return math.floor(ratio) if self.staircase else ratio

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    def _rate(self, step) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        boundaries = list(boundaries)
        values = [check_number("values", v, 0.0) for v in values]
        for boundary in boundaries:
            check_number("boundaries", boundary)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay needs one more value than boundaries, got "
                             f"{len(boundaries)} boundaries and {len(values)} values")
        if any(b >= c for b, c in itertools.pairwise(boundaries)):
            raise ValueError(f"boundaries must increase, got {boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name

    def _rate(self, step) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0):
        self.initial_learning_rate = check_number("initial_learning_rate",
                                                  initial_learning_rate, 0.0)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.alpha = check_number("alpha", alpha, 0.0, 1.0)
        self.name = name
        self.warmup_target = None if warmup_target is None else check_number(
            "warmup_target", warmup_target, 0.0)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, 0.0, integer=True)

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def _rate(self, step) -> float:
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * step / self.warmup_steps + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class InverseTimeDecay(_StepDecay):
    def _rate(self, step) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


class PolynomialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        self.initial_learning_rate = check_number("initial_learning_rate",
                                                  initial_learning_rate, 0.0)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.end_learning_rate = check_number("end_learning_rate", end_learning_rate, 0.0)
        self.power = check_number("power", power, 0.0)
        self.cycle = bool(cycle)
        self.name = name

    def _rate(self, step) -> float:
        step, length = float(step), self.decay_steps
        if self.cycle:
            # the period stretches to the first multiple of decay_steps at or past the step
            # (the first period when the step is 0)
            length = self.decay_steps * max(1.0, math.ceil(step / self.decay_steps))
        else:
            step = min(step, length)
        left = (1.0 - step / length) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * left \
            + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecayRestarts(LearningRateSchedule):
    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay"):
        self.initial_learning_rate = check_number("initial_learning_rate",
                                                  initial_learning_rate, 0.0)
        self.first_decay_steps = _steps("first_decay_steps", first_decay_steps)
        self.t_mul = _positive("t_mul", t_mul)
        self.m_mul = check_number("m_mul", m_mul, 0.0)
        self.alpha = check_number("alpha", alpha, 0.0, 1.0)
        self.name = name

    def _period_and_fraction(self, elapsed: float) -> tuple[int, float]:
        """Which period ``elapsed`` (in units of the first period) falls in, and how far
        into that period it is, as a fraction of the period's length."""
        if self.t_mul == 1.0:
            period = math.floor(elapsed)
            return period, elapsed - period
        # periods 0..i-1 last (t_mul**i - 1) / (t_mul - 1) first periods together
        period = math.floor(math.log(1.0 - elapsed * (1.0 - self.t_mul)) / math.log(self.t_mul))
        before = (1.0 - self.t_mul ** period) / (1.0 - self.t_mul)
        return period, (elapsed - before) / self.t_mul ** period

    def _rate(self, step) -> float:
        period, fraction = self._period_and_fraction(float(step) / self.first_decay_steps)
        peak = self.m_mul ** period
        cosine = 0.5 * peak * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


SCHEDULES = Registry("learning-rate schedule", LearningRateSchedule)
for _cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay, InverseTimeDecay,
             PolynomialDecay, CosineDecayRestarts):
    SCHEDULES.add(_cls)


def get(identifier) -> LearningRateSchedule:
    """A schedule from a schedule object, a ``{"class_name", "config"}`` dict or a name."""
    return SCHEDULES.get(identifier)


def serialize(schedule: LearningRateSchedule | None) -> dict[str, Any] | None:
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` of a schedule:
    ``"keras.optimizers.schedules"`` for convnp's own; for a user's class its own module
    (None when defined in ``__main__``), its class name and its registered name, as an
    optimizer's ``get_config`` writes it. None gives None."""
    if schedule is None:
        return None
    written = SCHEDULES.serialize(schedule)
    cls = type(schedule)
    if cls.__module__.startswith("convnp."):
        return {"module": "keras.optimizers.schedules", **written, "registered_name": None}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__,
            "class_name": cls.__name__, "config": written["config"],
            "registered_name": get_registered_name(cls)}


def deserialize(config: dict[str, Any], custom_objects=None) -> LearningRateSchedule:
    return SCHEDULES.deserialize(config, custom_objects)
