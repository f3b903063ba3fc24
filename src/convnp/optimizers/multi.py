"""Keras 3's ``MultiOptimizer`` and ``OptimizerMap``: one optimizer per group of variables.

An `OptimizerMap` maps variable paths to optimizers: a key matches a path exactly or, failing
that, as a regular expression matching the whole path (``re.fullmatch``: ``"encoder/.*"``
for everything under ``encoder``); an unmatched path goes to the default optimizer. A
`MultiOptimizer` built on a model's variables hands each variable's gradient to its
optimizer; each optimizer counts its own steps and keeps its own slots (and moving averages),
and the MultiOptimizer's variables are its own step count and rate followed by each
optimizer's variables (the optimizers of the map first, in its order, then the default).

convnp's paths are ``<layer>/<weight>`` (``dense_1/kernel``); Keras 3 prefixes a
Sequential's with the model's name (``sequential/dense_1/kernel``). A pattern such as
``".*dense_1/.*"`` matches in both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

from convnp.optimizers.base import OPTIMIZERS, Optimizer, _AttributeVariable, keras_object
from convnp.optimizers.loss_scale import LossScaleOptimizer
from convnp.serialization import snake_case
from convnp.variables import Variable

_PREFIX = "optimizers/"


def _check_inner(optimizer: Any, where: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where} must be an optimizer, got {type(optimizer).__name__}: "
                        f"{optimizer!r}")
    if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
        raise ValueError(  # noqa: TRY004 - Keras's error
            f"{where}: a {type(optimizer).__name__} cannot be used inside a MultiOptimizer "
            "(wrap the MultiOptimizer in the LossScaleOptimizer instead)")


class OptimizerMap(MutableMapping):
    """Variables' paths (or regular expressions over them) to optimizers.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: ``{path or pattern: optimizer}``.

    Raises:
        TypeError: a default or an entry that is no optimizer, a map that is no dict, a key
            that is no string.
        ValueError: a key given twice, an entry that is a LossScaleOptimizer or a
            MultiOptimizer, a key that is no regular expression.
    """

    def __init__(self, default_optimizer: Optimizer,
                 optimizer_map: dict[str, Optimizer] | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be an optimizer, got "
                            f"{type(default_optimizer).__name__}: {default_optimizer!r}")
        _check_inner(default_optimizer, "default_optimizer")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dict, got {type(optimizer_map).__name__}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer of path ``key``: its exact entry, else the one entry whose pattern
        matches the whole path, else the default.

        Raises:
            ValueError: several patterns match.
        """
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key!r}: the patterns "
                             f"{matching} all match it")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise TypeError(f"an OptimizerMap key must be a string (a path or a pattern), got "
                            f"{key!r}")
        if key in self._optimizer_map:
            raise ValueError(f"{key!r} already exists in the OptimizerMap (with "
                             f"{self._optimizer_map[key].name!r}); keys must not repeat")
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(f"OptimizerMap key {key!r} is not a regular expression "
                             f"({error})") from None
        _check_inner(optimizer, f"the optimizer of {key!r}")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[str(getattr(variable, "path", None) or getattr(variable, "name", ""))]

    def get_config(self) -> dict[str, Any]:
        return {"default_optimizer": keras_object(self._default_optimizer),
                "optimizer_map": {key: keras_object(optimizer)
                                  for key, optimizer in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> OptimizerMap:
        if not isinstance(config, dict) or "default_optimizer" not in config:
            raise ValueError(f"an OptimizerMap config needs its 'default_optimizer', got "
                             f"{config!r}")
        entries = config.get("optimizer_map") or {}
        if not isinstance(entries, dict):
            raise ValueError(  # noqa: TRY004 - a bad config is a ValueError
                f"OptimizerMap config: 'optimizer_map' must be a dict, got {entries!r}")
        return cls(OPTIMIZERS.deserialize(config["default_optimizer"], custom_objects),
                   {key: OPTIMIZERS.deserialize(value, custom_objects)
                    for key, value in entries.items()})


class MultiOptimizer(Optimizer):
    """Several optimizers, each updating its own variables (Keras 3.15).

    Args:
        optimizer_map: an `OptimizerMap`, or a function of a variable returning its
            optimizer (such a MultiOptimizer cannot be saved with its config: Keras cannot
            either).
        loss_scale_factor: set on every inner optimizer (see `Optimizer`).
        name: the optimizer's name.

    It has no learning rate of its own: read and set those of `optimizers`.
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable[[Any], Optimizer],
                 loss_scale_factor: float | None = None, name: str | None = None):
        if not isinstance(optimizer_map, OptimizerMap) and not callable(optimizer_map):
            raise TypeError(f"optimizer_map must be an OptimizerMap or a function of a "
                            f"variable returning its optimizer, got "
                            f"{type(optimizer_map).__name__}: {optimizer_map!r}")
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor,
                         name=name)
        self._optimizer_map = optimizer_map
        if isinstance(optimizer_map, OptimizerMap):
            for optimizer in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._add(optimizer)
        self._assignment: dict[int, int] = {}

    def _add(self, optimizer: Optimizer) -> int:
        """The index of ``optimizer`` among the inner ones (added if new)."""
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers, in Keras's order."""
        return list(self._inner_optimizers)

    @property
    def loss_scale_factor(self) -> float | None:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value) -> None:
        self.__dict__["_loss_scale_factor"] = value
        for optimizer in self.__dict__.get("_inner_optimizers", []):
            optimizer.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer: read it on "
                             "the individual optimizers (MultiOptimizer.optimizers)")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer: set it on the "
                             "individual optimizers (MultiOptimizer.optimizers)")

    lr = learning_rate

    def _all_slot_names(self) -> list[str]:
        return []  # the inner optimizers keep them

    # -- building and stepping ---------------------------------------------------------------
    def build(self, values) -> None:
        """Give each of the model's variables (``values``: Variables, whose paths the map
        reads) to its optimizer and build each optimizer on its own."""
        values = list(values)
        groups: list[list] = [[] for _ in self._inner_optimizers]
        assignment = {}
        for variable in values:
            optimizer = self._optimizer_map(variable)
            name = getattr(variable, "path", None) or getattr(variable, "name", "?")
            _check_inner(optimizer, f"the optimizer of variable {name!r}")
            index = self._add(optimizer)
            while len(groups) < len(self._inner_optimizers):
                groups.append([])
            groups[index].append(variable)
            assignment[id(variable)] = index
        for optimizer, variables in zip(self._inner_optimizers, groups):
            if variables and not optimizer.built:
                optimizer._keras_placeholders = self._keras_placeholders
                optimizer.build(variables)
        self._assignment = assignment
        super().build(values)

    def _unbuild(self) -> None:
        super()._unbuild()
        for optimizer in self._inner_optimizers:
            optimizer._unbuild()

    def _grouped(self, pairs: list) -> list[list]:
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for grad, variable in pairs:
            index = self._assignment.get(id(variable))
            if index is None:
                name = getattr(variable, "path", None) or getattr(variable, "name", "?")
                raise ValueError(f"Unknown variable {name!r}: the MultiOptimizer was built "
                                 "with others; create a new one for a new set of variables")
            groups[index].append((grad, variable))
        return groups

    def apply(self, grads, trainable_variables=None) -> None:
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError("MultiOptimizer.apply: pass trainable_variables, or call "
                                 "optimizer.build(variables) first")
            trainable_variables = self._owners
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"MultiOptimizer.apply: {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables")
        if not self.built:
            self.build(trainable_variables)
        for optimizer, pairs in zip(self._inner_optimizers,
                                    self._grouped(list(zip(grads, trainable_variables)))):
            if pairs:
                optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        self._count_step()

    def _apply_pairs(self, pairs: list) -> int:
        if not self.built:
            self.build([var for _, var in pairs])
        for optimizer, group in zip(self._inner_optimizers, self._grouped(pairs)):
            if group:
                optimizer._apply_pairs(group)
        return self._count_step()

    def _count_step(self) -> int:
        self._iterations.value += 1
        self._iterations.mark_modified()
        return int(self._iterations.value)

    def finalize_variable_values(self, var_list) -> None:
        if not self.built:
            return
        for optimizer, pairs in zip(self._inner_optimizers,
                                    self._grouped([(None, v) for v in var_list])):
            if pairs:
                optimizer.finalize_variable_values([v for _, v in pairs])

    # -- Keras's variables, state and config ------------------------------------------------------
    def _keras_variables(self) -> list[tuple[str, Variable]]:
        out = [("iterations", self._iterations),
               ("learning_rate", _AttributeVariable(self, "_learning_rate", np.float32,
                                                    "learning_rate"))]
        for index, optimizer in enumerate(self._inner_optimizers):
            out += [(f"{_PREFIX}{index}/{key}", variable)
                    for key, variable in optimizer._keras_variables()]
        return out

    def _keras_children(self) -> list[tuple[str, Optimizer]]:
        # Keras names each by its class in snake case, numbered when it repeats
        children, used = [], {}
        for optimizer in self._inner_optimizers:
            name = snake_case(type(optimizer).__name__)
            count = used.get(name)
            used[name] = 0 if count is None else count + 1
            children.append((f"optimizers/{name if count is None else f'{name}_{count + 1}'}",
                             optimizer))
        return children

    def get_state(self) -> dict[str, np.ndarray]:
        state = {"iterations": np.array(int(self._iterations.value), dtype=np.int64)}
        for index, optimizer in enumerate(self._inner_optimizers):
            state.update({f"{_PREFIX}{index}/{key}": value
                          for key, value in optimizer.get_state().items()})
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        if not isinstance(state, dict) or "iterations" not in state:
            raise ValueError("optimizer state must be a dict with an 'iterations' entry")
        parts: dict[int, dict] = {}
        for key, value in state.items():
            if key == "iterations":
                continue
            index, _, inner = key[len(_PREFIX):].partition("/") if key.startswith(
                _PREFIX) else ("", "", "")
            if not index.isdigit() or not inner or int(index) >= len(self._inner_optimizers):
                raise ValueError(f"unexpected MultiOptimizer state key {key!r} (it has "
                                 f"{len(self._inner_optimizers)} optimizers)")
            parts.setdefault(int(index), {})[inner] = value
        iterations = int(np.asarray(state["iterations"]))
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        for index, part in parts.items():
            self._inner_optimizers[index].set_state(part)
        self._iterations.value[...] = iterations
        self._iterations.mark_modified()

    def get_config(self) -> dict[str, Any]:
        if not isinstance(self._optimizer_map, OptimizerMap):
            raise ValueError(  # noqa: TRY004 - what cannot be saved is a ValueError
                "a MultiOptimizer made with a function cannot be written as a config (nor "
                "saved with its compile state): give it an OptimizerMap")
        return {"optimizer_map": {"module": "keras.optimizers", "class_name": "OptimizerMap",
                                  "config": self._optimizer_map.get_config(),
                                  "registered_name": None},
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> MultiOptimizer:
        config = dict(config)
        mapping = config.pop("optimizer_map", None)
        if not isinstance(mapping, dict) or mapping.get("class_name", "OptimizerMap") != \
                "OptimizerMap":
            raise ValueError(f"a MultiOptimizer config needs an OptimizerMap as its "
                             f"'optimizer_map', got {mapping!r}")
        return cls(OptimizerMap.from_config(mapping.get("config", mapping), custom_objects),
                   **config)
