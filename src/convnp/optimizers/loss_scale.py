"""Keras 3's ``LossScaleOptimizer``: dynamic loss scaling around another optimizer.

``fit`` differentiates the loss times the current scale (`scale_loss`); a step whose
gradients are all finite divides them by the scale and hands them to the wrapped optimizer,
one with an infinite or NaN gradient changes no weight and halves the scale; after
``dynamic_growth_steps`` finite steps in a row the scale doubles. In half precision this keeps
small gradients from underflowing; convnp computes in float32, where it works the same way
(a scale so large that the gradients overflow comes down by halves).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.optimizers.base import (
    OPTIMIZERS,
    Optimizer,
    UnknownArgumentError,
    _AttributeVariable,
    keras_object,
)
from convnp.variables import Variable

# the options of every optimizer, which Keras's LossScaleOptimizer takes at their defaults
# only (configs written by older Keras list them)
_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
             "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
             "loss_scale_factor": None, "gradient_accumulation_steps": None}
_INNER = "inner_optimizer/"


def _all_finite(grads) -> bool:
    return all(g is None or bool(np.isfinite(g).all()) for g in grads)


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around ``inner_optimizer`` (Keras 3.15's rules).

    Args:
        inner_optimizer: the optimizer that makes the updates (its own ``loss_scale_factor``
            is switched off: the gradients would be unscaled twice).
        initial_scale: the first scale (a number > 0); large is better, it comes down fast.
        dynamic_growth_steps: finite steps in a row after which the scale doubles (>= 1).
        name: the optimizer's name.

    ``learning_rate``, ``iterations`` and the moving averages are the inner optimizer's;
    ``dynamic_scale`` (float32) and ``step_counter`` (int64, the finite steps since the scale
    last changed) are Keras's variables of the same names.
    """

    _skips_non_finite = True

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs: Any):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports dynamic=False (Keras 3): "
                             "set loss_scale_factor on the inner optimizer instead")
        for key, default in _DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"LossScaleOptimizer does not support {key!r}; set it on the "
                                 "inner_optimizer instead")
        if kwargs:
            raise UnknownArgumentError(f"LossScaleOptimizer got unexpected arguments "
                                       f"{sorted(kwargs)}")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"inner_optimizer must be an optimizer, got "
                            f"{type(inner_optimizer).__name__}: {inner_optimizer!r}")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError("inner_optimizer is a LossScaleOptimizer already: one scales the "
                            "loss")
        initial_scale = check_number("initial_scale", initial_scale, 0.0, low_open=True)
        dynamic_growth_steps = check_number("dynamic_growth_steps", dynamic_growth_steps, 1,
                                            integer=True)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        inner_optimizer.loss_scale_factor = None  # the gradients come here unscaled once
        self.step_counter = Variable(0, dtype=np.int64, trainable=False, name="step_counter")
        self.dynamic_scale = Variable(np.float32(initial_scale), dtype=np.float32,
                                      trainable=False, name="dynamic_scale")
        for variable in (self.step_counter, self.dynamic_scale):
            variable.path = f"{self.name}/{variable.name}"

    # -- the inner optimizer's numbers --------------------------------------------------------
    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def iterations(self) -> Variable:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value) -> None:
        self.inner_optimizer.iterations = value

    def _all_slot_names(self) -> list[str]:
        return []  # the inner optimizer keeps them all

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # -- scaling --------------------------------------------------------------------------------
    def _loss_scale(self) -> float:
        return float(self.dynamic_scale.value) if self.built else float(self.initial_scale)

    def scale_loss(self, loss):
        """The loss times the current scale (the initial one before the first step)."""
        return loss * self._loss_scale()

    def build(self, values) -> None:
        if not self.inner_optimizer.built:
            # Keras builds the inner optimizer with its variable tracking off: placeholders
            # (Adafactor's) are then left out of its variables
            self.inner_optimizer._keras_placeholders = False
            self.inner_optimizer.build(values)
        super().build(values)

    def _build_on_first_step(self, values) -> None:
        """`build` as the first step makes it: Keras builds inside the wrapper's name scope
        there, so the inner optimizer's slot paths start with "<wrapper's name>/" (an
        explicit ``optimizer.build(variables)`` leaves them without it)."""
        if not self.inner_optimizer.built:
            self.inner_optimizer._path_scope = f"{self.name}/"
        self.build(values)

    def _unbuild(self) -> None:
        super()._unbuild()
        self.inner_optimizer._unbuild()

    def apply(self, grads, trainable_variables=None) -> None:
        grads = list(grads)
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self._build_on_first_step(trainable_variables)
        if not _all_finite(grads):
            self._skip()
            return
        self.inner_optimizer.apply(self._unscaled(grads), trainable_variables)
        self._count_finite_step()

    def _apply_pairs(self, pairs: list) -> int:
        if not self.built:
            self._build_on_first_step([var for _, var in pairs])
        grads = [g for g, _ in pairs]
        if not _all_finite(grads):
            self._skip()
        else:
            self.inner_optimizer._apply_pairs(list(zip(self._unscaled(grads),
                                                       [var for _, var in pairs])))
            self._count_finite_step()
        return int(self.iterations)

    def _unscaled(self, grads: list) -> list:
        scale = self.dynamic_scale.value
        return [None if g is None else np.asarray(g) / scale.astype(np.asarray(g).dtype)
                for g in grads]

    def _skip(self) -> None:
        """A step with a non-finite gradient: no update, the scale halves, the count of
        finite steps starts again."""
        self.step_counter.assign(0)
        self.dynamic_scale.assign(self.dynamic_scale.value * np.float32(0.5))

    def _count_finite_step(self) -> None:
        if int(self.step_counter.value) == self.dynamic_growth_steps - 1:
            self.step_counter.assign(0)
            self.dynamic_scale.assign(self.dynamic_scale.value * np.float32(2.0))
        else:
            self.step_counter.assign(int(self.step_counter.value) + 1)

    # -- Keras's variables, state and config ------------------------------------------------------
    def _keras_variables(self) -> list[tuple[str, Variable]]:
        """Keras's order: its own step count and rate (never used), the counter and the
        scale (once built), then the inner optimizer's variables."""
        out = [("iterations", self._iterations),
               ("learning_rate", _AttributeVariable(self, "_learning_rate", np.float32,
                                                    "learning_rate"))]
        if self.built:
            out += [("step_counter", self.step_counter), ("dynamic_scale", self.dynamic_scale)]
        return out + [(_INNER + key, variable)
                      for key, variable in self.inner_optimizer._keras_variables()]

    def _keras_children(self) -> list[tuple[str, Optimizer]]:
        return [("inner_optimizer", self.inner_optimizer)]

    def _own_variables(self) -> list[Variable]:
        """Keras's ``set_weights`` of the wrapper sets its own variables only (the step
        count, the rate, the counter and the scale): the inner optimizer's stay as they
        are."""
        return [variable for key, variable in self._keras_variables()
                if not key.startswith(_INNER)]

    def get_state(self) -> dict[str, np.ndarray]:
        state = {"iterations": np.array(int(self._iterations.value), dtype=np.int64),
                 "step_counter": np.array(int(self.step_counter.value), dtype=np.int64),
                 "dynamic_scale": np.array(self.dynamic_scale.value, dtype=np.float32)}
        state.update({_INNER + key: value
                      for key, value in self.inner_optimizer.get_state().items()})
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not isinstance(state, dict) or "iterations" not in state:
            raise ValueError("optimizer state must be a dict with an 'iterations' entry")
        unknown = [k for k in state if not k.startswith(_INNER)
                   and k not in ("iterations", "step_counter", "dynamic_scale")]
        if unknown:
            raise ValueError(f"unexpected LossScaleOptimizer state keys {unknown}")
        scale = float(np.asarray(state.get("dynamic_scale", self.initial_scale)))
        counter = int(np.asarray(state.get("step_counter", 0)))
        if not (0 < scale < math.inf) or counter < 0:
            raise ValueError(f"LossScaleOptimizer state: dynamic_scale must be a finite number "
                             f"> 0 and step_counter >= 0, got {scale} and {counter}")
        inner = {k[len(_INNER):]: v for k, v in state.items() if k.startswith(_INNER)}
        if inner:
            self.inner_optimizer.set_state(inner)
        self.step_counter.assign(counter)
        self.dynamic_scale.assign(np.float32(scale))

    def get_config(self) -> dict[str, Any]:
        # Keras writes these four only
        return {"name": self.name, "inner_optimizer": keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> LossScaleOptimizer:
        config = dict(config)
        if "inner_optimizer" not in config:
            raise ValueError("a LossScaleOptimizer config needs its 'inner_optimizer'")
        inner = OPTIMIZERS.deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)
