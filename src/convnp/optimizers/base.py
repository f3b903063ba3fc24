"""The optimizer base class: slots, step count, clipping, weight decay, gradient accumulation,
the moving average of the weights (``use_ema``), loss scaling, state and config.

`apply_gradients(grads_and_vars)` takes `(ndarray gradient, Variable)` pairs and updates each
`Variable.value` in place, in the variable's dtype (float32 for layers). Slot arrays (momenta,
velocities) are created on the first call, one per variable, in the order the pairs arrive; the
caller must keep that order stable (the model passes `model.trainable_weights` in order).

`get_state()` / `set_state()` exchange a flat `dict[str, ndarray]` (`"iterations"`, and
`"<slot>/<index>"` with the variable's position in the order `apply_gradients` saw them), so a
model file can save an optimizer and resume training bit for bit.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from convnp._checks import check_number
from convnp._names import auto_name
from convnp.serialization import Configurable, Registry, get_registered_name
from convnp.tensor.errors import InvalidArgumentError
from convnp.variables import Variable


def _check_rate(name: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
    return check_number(name, value, low, high)


class UnknownArgumentError(TypeError, ValueError):
    """An optimizer given a keyword argument it does not take. Keras 3 raises ValueError
    ("Argument(s) not recognized"), Python itself TypeError for an unknown keyword: this is
    both, so either ``except`` catches it."""


class LearningRateTypeError(TypeError, ValueError):
    """A learning rate that is neither a number, a schedule nor a function. Keras 3 raises
    ValueError for it, convnp's other number arguments TypeError: this is both."""


class _CallableRate:
    """A learning rate given as a function of no arguments (Keras 3 takes one and calls it
    for every update): it stands where a schedule would, called with the step it ignores."""

    def __init__(self, function):
        self.function = function
        self._last: tuple[int, float] | None = None  # (step, rate)

    def __call__(self, step) -> float:
        # one call per update, as Keras makes (the function may count its calls): the rate
        # is read several times during a step
        step = int(step)
        if self._last is None or self._last[0] != step:
            self._last = (step, float(self.function()))
        return self._last[1]

    def config(self) -> dict[str, Any]:
        """What Keras writes for a function in a config: its name, no way back to it."""
        return {"module": "builtins", "class_name": "function",
                "config": getattr(self.function, "__name__", "function"),
                "registered_name": "function"}


class LearningRate(float):
    """What ``optimizer.learning_rate`` gives: the rate as a number that also answers the
    calls Keras code makes on its learning-rate variable, ``.assign(value)`` (sets the
    optimizer's rate), ``.numpy()`` and ``.value``. The number itself does not change: read
    ``optimizer.learning_rate`` again after an assignment."""

    def __new__(cls, value: float, optimizer: Optimizer | None = None):
        rate = super().__new__(cls, value)
        rate._optimizer = optimizer
        return rate

    def assign(self, value) -> None:
        if self._optimizer is None:
            raise TypeError("this learning rate comes from a schedule and cannot be assigned")
        self._optimizer.learning_rate = value

    def numpy(self) -> np.float32:
        return np.float32(self)

    @property
    def value(self) -> float:
        return float(self)

    def __repr__(self) -> str:
        return f"<LearningRate {float(self)!r}>"


class _AttributeVariable(Variable):
    """A number an optimizer keeps as a plain attribute (its learning rate, Nadam's
    ``u_product``) seen as one of Keras's optimizer variables: reading gives the attribute's
    current value, `assign` sets the attribute (with the optimizer's own checks)."""

    def __init__(self, optimizer, attribute: str, dtype, name: str | None = None):
        self._optimizer, self._attribute, self._dtype = optimizer, attribute, np.dtype(dtype)
        self.name = name or attribute
        self.path = f"{optimizer.name}/{self.name}"
        self.trainable = False
        self.constraint = None
        self.grad = None

    @property
    def value(self) -> np.ndarray:
        return np.array(getattr(self._optimizer, self._attribute), dtype=self._dtype)

    def _set(self, number) -> None:
        setattr(self._optimizer, self._attribute, float(np.asarray(number)))
        self.mark_modified()

    def assign(self, value, use_locking=None, name=None, read_value=True):
        self._set(self._checked(value, "assign to"))
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        self._set(self.value + self._checked(delta, "assign_add to"))
        return self

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        self._set(self.value - self._checked(delta, "assign_sub to"))
        return self


# the state key (``"added/<i>"``) of the variables a subclass adds with `add_variable`
ADDED = "added"

# the kinds of saved arrays a slot of each kind takes: numbers for a float slot, integers for
# an integer one (Adafactor's placeholders)
_KINDS = {"f": "fiu", "i": "iu", "u": "iu"}


def _part(array: np.ndarray | None, block: slice | None) -> np.ndarray | None:
    """The block ``block`` of the flattened ``array`` (all of it for None)."""
    if array is None or block is None:
        return array
    return array.reshape(-1)[block]


# Numbers of a variable updated at once (256 KiB of float32): the block of the variable, its
# gradient, two slots and scratch space stay in a core's L2 or the shared L3 cache. Each block
# costs a dozen NumPy calls whatever its size; blocks of 16K numbers spent more time in those
# calls than in the arithmetic (Adam over ResNet-50: 64K blocks 0.76x the CPU time of 16K;
# 32K-128K tie, 256K 1.1x).
UPDATE_BLOCK = 1 << 16
# Below this many parameters in all, the update runs in one thread.
PARALLEL_UPDATE_SIZE = 1 << 18


class Optimizer(Configurable):
    """Base class: slot bookkeeping, iteration count, state and config.

    Subclasses list their slot names in `_slot_names()` and implement
    `_update(slots, grad, value)` which updates `value` (a variable's array, or a block of
    it) in place, given the matching parts of its slot arrays.
    """

    def __init__(self, learning_rate: float = 0.01, name: str | None = None, **kwargs: Any):
        if "lr" in kwargs:  # Keras 2 spelling (course notebooks: Adam(lr=...)); it wins, as there
            learning_rate = kwargs.pop("lr")
        weight_decay = kwargs.pop("weight_decay", None)
        # Keras 2's `decay`: the rate of each update is divided by 1 + decay * iterations
        # (its "time-based" decay), while `learning_rate` itself stays what callbacks read
        # and set, as in Keras 2.
        decay = kwargs.pop("decay", 0.0)
        clipping = {k: kwargs.pop(k, None) for k in ("clipnorm", "clipvalue", "global_clipnorm")}
        accumulation = kwargs.pop("gradient_accumulation_steps", None)
        use_ema = kwargs.pop("use_ema", False)
        ema_momentum = kwargs.pop("ema_momentum", 0.99)
        ema_overwrite_frequency = kwargs.pop("ema_overwrite_frequency", None)
        loss_scale_factor = kwargs.pop("loss_scale_factor", None)
        if kwargs:
            raise UnknownArgumentError(f"{type(self).__name__} got unexpected arguments "
                                       f"{sorted(kwargs)}")
        # Keras's step counter: an int64 variable (``optimizer.iterations``) whose array is
        # the count itself; convnp's own code reads it through `_step`
        self._iterations = Variable(0, dtype=np.int64, trainable=False, name="iteration")
        self._schedule = None
        # the base class's setter, whatever a subclass makes of `learning_rate` (a wrapper
        # hands it to the optimizer it wraps)
        Optimizer.learning_rate.fset(self, learning_rate)
        # without a name, Keras 3's automatic one: the snake case of the class name, numbered
        # from the second optimizer of a class on (sgd, sgd_1; rm_sprop, adam_w as Keras
        # spells those; a user's GCAdam subclass is gc_adam)
        self.name = name or auto_name(type(self).__name__)
        self._iterations.path = f"{self.name}/iteration"
        self.weight_decay = None if weight_decay is None else _check_rate("weight_decay",
                                                                          weight_decay)
        self.decay = _check_rate("decay", decay)
        # exclude_from_weight_decay: ids of variables, and a pattern searched in their names
        self._decay_excluded_ids: set[int] = set()
        self._decay_excluded_pattern: re.Pattern | None = None
        given = [k for k, v in clipping.items() if v is not None]
        if len(given) > 1:
            raise ValueError(f"only one of clipnorm, clipvalue and global_clipnorm can be set, "
                             f"got {given}")
        for key, value in clipping.items():
            setattr(self, key, None if value is None else _check_rate(key, value))
        if accumulation is not None and not isinstance(accumulation, bool) \
                and isinstance(accumulation, (int, np.integer)) and accumulation == 0:
            accumulation = None  # no accumulation, as Keras 3 takes a 0
        if accumulation is not None and (isinstance(accumulation, bool) or not isinstance(
                accumulation, (int, np.integer)) or accumulation < 2):
            raise ValueError(f"gradient_accumulation_steps must be an integer >= 2 (or None), "
                             f"got {accumulation!r}")
        #: Keras 3's gradient accumulation: the gradients of this many steps are averaged and
        #: applied together on the last of them (None: every step updates)
        self.gradient_accumulation_steps = None if accumulation is None else int(accumulation)
        if not isinstance(use_ema, (bool, np.bool_)):
            raise TypeError(f"use_ema must be True or False, got {use_ema!r}")
        #: Keras 3's moving average of the weights (Polyak averaging): after every step each
        #: variable's ``average`` slot becomes ``ema_momentum * average + (1 -
        #: ema_momentum) * variable`` (the variable itself on the first update); every
        #: ``ema_overwrite_frequency`` updates, and at the end of ``fit``
        #: (`finalize_variable_values`), the averages replace the variables
        self.use_ema = bool(use_ema)
        self.ema_momentum = check_number("ema_momentum", ema_momentum, 0.0, 1.0)
        if ema_overwrite_frequency is not None and (
                isinstance(ema_overwrite_frequency, (bool, np.bool_))
                or not isinstance(ema_overwrite_frequency, (int, np.integer))
                or ema_overwrite_frequency < 0):
            raise ValueError(f"ema_overwrite_frequency must be an integer >= 1 or None, got "
                             f"{ema_overwrite_frequency!r}")  # (0: as None, as Keras takes it)
        #: 0 or None: the averages replace the variables at the end of ``fit`` only
        self.ema_overwrite_frequency = None if ema_overwrite_frequency is None \
            else int(ema_overwrite_frequency)
        #: Keras's static loss scaling: ``fit`` differentiates the loss times this factor
        #: (`scale_loss`) and the gradients are divided by it before anything else
        self.loss_scale_factor = None if loss_scale_factor is None else check_number(
            "loss_scale_factor", loss_scale_factor, 0.0, low_open=True)
        self._slots: dict[str, list[np.ndarray]] = {}
        self._shapes: list[tuple[int, ...]] | None = None
        # the variables the slots belong to, in slot order (None until a step or build
        # names them: an optimizer built from arrays or restored from a file)
        self._owners: list | None = None
        self._pending_state: dict[str, np.ndarray] | None = None
        # Keras 3's own optimizer variables a subclass adds (`add_variable`,
        # `add_variable_from_reference`, in its `build`), in creation order; and the saved
        # values of those not made yet (restored before the build), by position
        self._added_variables: list[Variable] = []
        self._pending_added: dict[int, np.ndarray] = {}

    # -- step count -----------------------------------------------------------------------
    @property
    def iterations(self) -> Variable:
        """The number of updates applied, as Keras's int64 variable: ``.numpy()``, ``int()``,
        ``.assign(n)``, arithmetic and comparisons (``iterations % 4 == 0`` is a bool tensor,
        fit for ``tf.cond`` or an ``if``). Assigning a number sets it. With
        ``gradient_accumulation_steps`` the variable counts every step (Keras saves that
        count) and this is the number of updates, a copy, as Keras's property gives it."""
        if self.gradient_accumulation_steps:
            return Variable(self._step, dtype=np.int64, trainable=False, name="iteration")
        return self._iterations

    @iterations.setter
    def iterations(self, value) -> None:
        count = np.asarray(value.value if isinstance(value, Variable) else value)
        if count.shape != () or not (np.issubdtype(count.dtype, np.integer)
                                     or (np.issubdtype(count.dtype, np.floating)
                                         and float(count).is_integer())):
            raise TypeError(f"optimizer.iterations must be set to an integer, got {value!r}")
        if int(count) < 0:
            raise ValueError(f"iterations must be >= 0, got {int(count)}")
        self._iterations.value[...] = int(count)
        self._iterations.mark_modified()

    @property
    def _step(self) -> int:
        """The number of updates as a Python int (what the update rules and schedules use):
        the step count, divided by ``gradient_accumulation_steps`` when gradients are
        accumulated."""
        count = int(self._iterations.value)
        return count // self.gradient_accumulation_steps if self.gradient_accumulation_steps \
            else count

    def _all_slot_names(self) -> list[str]:
        """`_slot_names`, after Keras's ``average`` (the moving average of each variable)
        with ``use_ema`` and ``gradient_accumulator`` when gradients are accumulated (the
        sum of the steps since the last update)."""
        return (["average"] if self.use_ema else []) + (
            ["gradient_accumulator"] if self.gradient_accumulation_steps else []) + list(
            self._slot_names())

    # -- Keras's list of variables ---------------------------------------------------------
    #: slots Keras 3 creates together, variable by variable ("kernel_momentum,
    #: kernel_velocity, bias_momentum, ..."); the others come slot by slot, every variable in
    #: turn. A user's subclass inherits the order of the convnp optimizer it extends.
    _interleaved_slots: ClassVar[tuple[str, ...]] = ()

    @property
    def variables(self) -> list[Variable]:
        """Keras 3's ``optimizer.variables``: the step count (int64), the learning rate
        (float32; none when a schedule gives it), then, once built, the slots of each model
        variable (named ``<variable path with _>_<slot>``) and the optimizer-wide numbers
        (Nadam's ``u_product``). Each is live: the slots share their arrays with the
        optimizer, the rate and scalars read and assign the optimizer's own numbers."""
        return [variable for _, variable in self._keras_variables()]

    def set_weights(self, weights) -> None:
        """Keras 3's ``optimizer.set_weights(weights)``: each array of ``weights`` assigned to
        the variable of `variables` at its position (the step count, the rate, the slots), in
        turn; a shorter list leaves the remaining variables as they are, as Keras's does.

        Raises:
            ValueError: the optimizer is not built yet (no slots to set: build it with
                ``optimizer.build(model.trainable_variables)`` first), or an array whose shape
                is not its variable's.
        """
        if not self.built:
            raise ValueError(f"{type(self).__name__}.set_weights: the optimizer is not built "
                             "yet; call optimizer.build(trainable_variables) first")
        weights = list(weights)
        variables = self._own_variables()
        for variable, weight in zip(variables, weights):
            shape = tuple(np.shape(weight))
            if shape != tuple(np.shape(variable.value)):
                raise ValueError(f"optimizer variable {variable.path!r} has shape "
                                 f"{tuple(np.shape(variable.value))}, got an array of shape "
                                 f"{shape}")
        for variable, weight in zip(variables, weights):
            variable.assign(weight)

    def _own_variables(self) -> list[Variable]:
        """The variables `set_weights` sets: all of `variables` (a wrapper: its own only)."""
        return self.variables

    def _keras_variables(self) -> list[tuple[str, Variable]]:
        """`variables` with the `get_state` key of each (``"learning_rate"`` for the rate,
        which the state leaves out): the order and the values a Keras file stores."""
        out: list[tuple[str, Variable]] = [("iterations", self._iterations)]
        if self._schedule is None:
            out.append(("learning_rate", _AttributeVariable(self, "learning_rate", np.float32)))
        if not self.built:
            return out
        keys = self._slot_keys()
        cached = getattr(self, "_slot_variables", None)
        if cached is None or [id(v.value) for v in cached] != [
                id(self._slot_array(key)) for key in keys]:
            cached = self._make_slot_variables(keys)
            self._slot_variables = cached
        by_key = dict(zip(keys, cached))
        out += [(key, by_key[key]) for key in self._keras_slot_order()]
        for name in self._scalar_names():
            # Keras's Nadam names its running product plain "variable"
            out.append((name, _AttributeVariable(self, name, np.float32,
                                                 "variable" if name == "u_product" else None)))
        out += [(f"{ADDED}/{i}", variable) for i, variable in enumerate(self._added_variables)]
        return out

    def _keras_children(self) -> list[tuple[str, Optimizer]]:
        """The optimizers inside this one, each with the group a ``.keras`` file also
        stores its variables under (``inner_optimizer``, ``optimizers/<name>``)."""
        return []

    def _scalar_names(self) -> list[str]:
        """The optimizer-wide numbers of the state besides the step count (Nadam's
        ``u_product``), sorted: Keras lists them after the slots."""
        return sorted(k for k in self.get_state() if "/" not in k and k != "iterations")

    def _slot_array(self, key: str) -> np.ndarray | None:
        """The slot array of state key ``"<slot>/<index>"`` (None: that variable has none)."""
        name, _, index = key.rpartition("/")
        return self._slots[name][int(index)]

    def _slot_keys(self) -> list[str]:
        """The state keys of the slots that exist, slot by slot."""
        return [f"{name}/{i}" for name in self._all_slot_names()
                for i, array in enumerate(self._slots.get(name, [])) if array is not None]

    def _keras_slot_order(self) -> list[str]:
        """`_slot_keys` in the order of Keras's variables (built only): the slots of
        `_all_slot_names` that are not the rule's own (gradient accumulators) first, every
        variable in turn; then the rule's slots, the `_interleaved_slots` variable by
        variable, the others slot by slot."""
        n = len(self._shapes)
        names = list(self._slot_names())
        pairs = [name for name in self._interleaved_slots if name in names]
        order = [f"{name}/{i}" for name in self._all_slot_names() if name not in names
                 for i in range(n)]
        order += [f"{name}/{i}" for i in range(n) for name in pairs]
        order += [f"{name}/{i}" for name in names if name not in pairs for i in range(n)]
        return [key for key in order if self._slot_array(key) is not None]

    def _make_slot_variables(self, keys: list[str]) -> list[Variable]:
        owners = self._owners or getattr(self, "_applied_variables", None) or []
        made = []
        for key in keys:
            name, _, index = key.partition("/")
            index = int(index)
            owner = owners[index] if index < len(owners) else None
            array = self._slots[name][index]
            var = Variable(np.zeros((), array.dtype), trainable=False,
                           name=self._slot_variable_name(name, owner, index))
            var.value = array  # the slot itself: updates show, assignments reach it
            var.path = f"{self._path_scope}{self.name}/{var.name}"
            made.append(var)
        return made

    #: what the paths of the slot variables start with before the optimizer's name: a
    #: LossScaleOptimizer that builds the optimizer it wraps puts its own name there, as
    #: Keras creates the slots inside the wrapper's name scope
    _path_scope = ""

    def _slot_variable_name(self, slot: str, owner, index: int) -> str:
        """Keras's name of a slot variable: ``<owner's path with _>_<slot>``."""
        base = getattr(owner, "path", None) or getattr(owner, "name", None) \
            or f"variable_{index}"
        return f"{base.replace('/', '_')}_{slot}"

    # -- Keras 3's API for writing an optimizer ----------------------------------------------
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     layout=None, name=None) -> Variable:
        """Keras 3's ``optimizer.add_variable``: a new optimizer variable (not trainable) of
        ``shape``, listed in `variables` after the built-in ones and saved with them; path
        ``<optimizer name>/<name>``. ``initializer`` is ``"zeros"``, ``"ones"``, or any
        initializer ``keras.initializers.get`` reads."""
        from convnp import initializers

        dtype = np.dtype(dtype or "float32")
        shape = tuple(int(n) for n in shape)
        init = initializers.get(initializer)
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype).reshape(shape)
        variable = Variable(value, dtype=dtype, trainable=False,
                            name=name or f"variable_{len(self._added_variables)}")
        variable.path = f"{self.name}/{variable.name}"
        saved = self._pending_added.pop(len(self._added_variables), None)
        if saved is not None:  # a state restored before the build
            variable.assign(saved)
        self._added_variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None,
                                    initializer="zeros") -> Variable:
        """Keras 3's: an optimizer variable shaped like ``reference_variable`` (a model
        variable), in its dtype, named ``<its path with _>_<name>`` as Keras names slots."""
        base = getattr(reference_variable, "path", None) or getattr(
            reference_variable, "name", None) or "variable"
        return self.add_variable(np.shape(reference_variable.value), initializer=initializer,
                                 dtype=reference_variable.value.dtype,
                                 name=f"{base.replace('/', '_')}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """Keras 3's: `add_variable_from_reference` for each model variable, one list per
        name of ``name`` (a string: that list; a list of names: a tuple of lists), made
        variable by variable (``kernel_m, kernel_v, bias_m, ...``) as Keras makes them.
        ``initializer`` is one for all the names or a list with one per name."""
        names = [name] if isinstance(name, str) else list(name)
        if isinstance(name, str) or not isinstance(initializer, (list, tuple)):
            inits = [initializer] * len(names)
        else:
            inits = list(initializer)
            if len(inits) != len(names):
                raise ValueError(f"add_optimizer_variables: {len(names)} names and "
                                 f"{len(inits)} initializers")
        made: tuple[list[Variable], ...] = tuple([] for _ in names)
        for variable in trainable_variables:
            for k, (var_name, init) in enumerate(zip(names, inits)):
                made[k].append(self.add_variable_from_reference(variable, name=var_name,
                                                                initializer=init))
        return made[0] if isinstance(name, str) else made

    def assign(self, variable, value) -> None:
        """Keras 3's ``self.assign(variable, value)`` for an `update_step`."""
        variable.assign(value)

    def assign_add(self, variable, value) -> None:
        variable.assign_add(value)

    def assign_sub(self, variable, value) -> None:
        variable.assign_sub(value)

    def _get_variable_index(self, variable) -> int:
        """Keras 3's position of a model variable among those the optimizer was built with
        (what indexes the lists a subclass's `build` makes)."""
        owners = self._owners or getattr(self, "_applied_variables", None) or []
        for index, owner in enumerate(owners):
            if owner is variable:
                return index
        raise KeyError(f"{type(self).__name__} was not built with variable "
                       f"{getattr(variable, 'path', None) or getattr(variable, 'name', '?')!r}")

    def update_step(self, gradient, variable, learning_rate) -> None:
        """Keras 3's update of one variable. A subclass that overrides it (its own rule, or
        one that changes the gradient and calls ``super().update_step``) is called once per
        variable on every update, after clipping and weight decay, as Keras calls it; here
        it runs the optimizer's own rule on that variable (at the optimizer's own rate, the
        one Keras passes)."""
        index = self._get_variable_index(variable)
        value = variable.value
        grad = np.asarray(gradient, dtype=value.dtype)
        if grad.shape != value.shape:
            raise ValueError(f"update_step: gradient of shape {grad.shape} for variable "
                             f"{variable.path!r} of shape {value.shape}")
        slots = {name: self._slots[name][index] for name in self._slot_names()}
        self._update(slots, grad, value)
        variable.mark_modified()

    def _writes_update_step(self) -> bool:
        """Whether a user's subclass overrides `update_step` (updates then go through it)."""
        return type(self).update_step is not Optimizer.update_step

    def _run_update_steps(self, work: list) -> None:
        """`update_step` of each ``(gradient, variable)`` in turn, with the gradient as a
        tensor and the rate as a float32 scalar tensor, as Keras passes them."""
        from convnp.tensor.eager import to_eager

        rate = to_eager(np.asarray(self._rate(), dtype=np.float32))
        for grad, variable in work:
            self.update_step(to_eager(grad), variable, rate)

    # -- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self) -> LearningRate:
        """The rate of the next update (a schedule's value at the current step), a float
        with Keras' variable calls (`LearningRate`: ``.assign``, ``.numpy()``).

        A schedule is read at the count of every step, not of the updates: with
        ``gradient_accumulation_steps=2`` the first update (the second step) takes the
        schedule's value at 1, as Keras 3 reads its schedules at its raw step counter."""
        if self._schedule is not None:
            from convnp.schedules import rate_at

            return LearningRate(rate_at(self._schedule, int(self._iterations.value)))
        return LearningRate(self._learning_rate, self)

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        from convnp.schedules import LearningRateSchedule

        if isinstance(value, LearningRateSchedule):
            self._schedule = value
            return
        if callable(value) and not isinstance(value, (int, float, np.number)) \
                and not hasattr(value, "__float__") and self._schedule is None:
            self._schedule = _CallableRate(value)  # called for each update, as in Keras 3
            return
        if self._schedule is not None:
            raise TypeError(f"{type(self).__name__} was created with a learning-rate schedule "
                            f"{type(self._schedule).__name__}; its rate cannot be set to "
                            "a number")
        if getattr(value, "_convnp_variable", False):
            value = value.value
        if isinstance(value, np.ndarray) and value.shape == ():
            # a scalar tensor or array (a callback's ``lr * tf.math.exp(-0.1)``): its number,
            # as Keras assigns it to its learning-rate variable
            value = value.item()
        try:
            self._learning_rate = float(_check_rate("learning_rate", value))
        except TypeError as error:
            raise LearningRateTypeError(
                f"{error}; a learning rate is a number, a LearningRateSchedule or a function "
                "of no arguments") from None

    lr = learning_rate  # Keras 2 spelling, still used in course notebooks

    def _rate(self) -> float:
        """The rate the next update uses: `learning_rate`, with Keras 2's time-based `decay`
        applied when one was given."""
        rate = float(self.learning_rate)
        if self.decay:
            rate /= 1.0 + self.decay * self._step
        return rate

    # -- slots ----------------------------------------------------------------------------
    def _slot_names(self) -> list[str]:
        return []

    def build(self, values: list[np.ndarray]) -> None:
        """Create the slots of the variables `values` (called on the first apply; zeroed
        unless `_make_slot` says otherwise). Keras 3's
        ``optimizer.build(model.trainable_variables)`` works too: the Variables are then
        what `apply` updates when it is given gradients only."""
        variables = [v for v in values if getattr(v, "_convnp_variable", False)]
        if variables:
            self._applied_variables = variables
        self._owners = variables if variables and len(variables) == len(values) else None
        owners = self._owners or [None] * len(values)
        values = [v.value if getattr(v, "_convnp_variable", False) else np.asarray(v)
                  for v in values]
        self._shapes = [v.shape for v in values]
        self._slots = {name: [self._make_slot(name, v, owner) for v, owner in zip(values, owners)]
                       for name in self._all_slot_names()}
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self._load_slots(state)

    def _make_slot(self, name: str, value: np.ndarray, owner) -> np.ndarray | None:
        """The starting array of slot ``name`` for a variable holding ``value`` (``owner``:
        the Variable, None when built from arrays); None when that variable has no such
        slot. Zeros shaped like the variable unless a rule says otherwise."""
        return np.zeros_like(value)

    def _unbuild(self) -> None:
        """Forget the slots (back to before the first step): a file whose state did not fit
        leaves the optimizer as it was."""
        self._shapes, self._slots, self._owners = None, {}, None
        self._slot_variables = None
        self._added_variables = []

    @property
    def built(self) -> bool:
        return self._shapes is not None

    @built.setter
    def built(self, value) -> None:
        """A subclass's `build` may end with Keras's ``self.built = True`` after
        ``super().build(variables)`` (which built it already); False forgets the slots."""
        if not value:
            self._unbuild()
        elif not self.built:
            raise ValueError(f"{type(self).__name__}.built = True before the optimizer was "
                             "built: call super().build(variables) in build()")

    def apply(self, grads, trainable_variables=None) -> None:
        """Keras 3's ``optimizer.apply(grads, trainable_variables)``: one step on each
        variable; without the variables, those the optimizer was built or last applied with.
        `apply_gradients` and ``fit`` come here, so a subclass overriding either method (to
        centralize or clip gradients) changes every update, as in Keras.

        A `None` gradient skips its variable (its slots are untouched), with a warning
        naming it, as Keras does.

        Returns:
            None, as Keras 3 (`iterations` has the count).

        Raises:
            ValueError: no variables given and none known yet; a count that differs; every
                gradient is None (the loss does not depend on the variables: Keras's "No
                gradients provided for any variable").
        """
        grads = list(grads)
        if trainable_variables is None:
            trainable_variables = getattr(self, "_applied_variables", None)
            if trainable_variables is None:
                raise ValueError(f"{type(self).__name__}.apply: pass trainable_variables, or "
                                 "call optimizer.build(variables) first")
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables")
        pairs = list(zip(grads, trainable_variables))
        missing = [getattr(var, "name", str(i)) for i, (grad, var) in enumerate(pairs)
                   if grad is None]
        if pairs and len(missing) == len(pairs):
            raise ValueError(f"No gradients provided for any variable ({len(pairs)} given): "
                             "the loss does not depend on them as the tape recorded it")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss; they are left as they are", UserWarning, stacklevel=2)
        self._apply_pairs(pairs)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[np.ndarray, Any]]) -> Variable:
        """Apply one step to each variable (in place) and count the iteration: `apply` of
        the pairs ``(gradient, Variable)``.

        Returns:
            `iterations`, the step-count variable, as Keras 3 returns it (``int()`` of it is
            the new count).
        """
        pairs = list(grads_and_vars)
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"apply_gradients expects (gradient, Variable) pairs; item {i} "
                                f"is a {type(pair).__name__}")
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def _overridden_step(self) -> bool:
        """Whether a user's subclass overrides `apply` or `apply_gradients` (fit then goes
        through them instead of straight to the update)."""
        cls = type(self)
        builtin = next(c for c in cls.__mro__ if c.__module__.startswith("convnp.optimizers."))
        return cls.apply is not builtin.apply or cls.apply_gradients is not \
            builtin.apply_gradients

    def _apply_pairs(self, pairs: list) -> int:
        """`apply_gradients` without its checks for missing gradients (fit's own step, in
        which a variable no loss depends on simply keeps its value)."""
        values = []
        for i, (grad, var) in enumerate(pairs):
            value = getattr(var, "value", None)
            if not isinstance(value, np.ndarray):
                raise TypeError(
                    f"apply_gradients expects (gradient, Variable) pairs; item {i} has a "
                    f"{type(var).__name__}")
            values.append(value)
        if not self.built:  # the Variables themselves: rules may read their paths
            self.build([var if getattr(var, "_convnp_variable", False) else value
                        for (_, var), value in zip(pairs, values)])
        slots = self._slot_indices(pairs, values)
        grads: list = []
        for i, ((grad, var), value) in enumerate(zip(pairs, values)):
            if grad is not None:
                grad = np.asarray(grad)
                if grad.shape != value.shape:
                    # TensorFlow's error for it (a ValueError too)
                    raise InvalidArgumentError(
                        f"gradient for variable {getattr(var, 'name', i)!r} has shape "
                        f"{grad.shape}, expected {value.shape}")
                grad = grad.astype(value.dtype, copy=False)
                if self.loss_scale_factor is not None:  # Keras: unscaled before all else
                    grad = grad / value.dtype.type(self.loss_scale_factor)
            grads.append(grad)
        # with accumulation, a step that only adds its gradients up changes no variable
        update = not self.gradient_accumulation_steps or self._accumulate(slots, grads)
        if update:
            grads = self._clip(grads)
            lr = self._rate()
            for index, grad, value, (_, var) in zip(slots, grads, values, pairs):
                decay = self._weight_decay_of(index)
                if grad is not None and decay and self._decays(var):
                    # decoupled decay before the update, as Keras: w -= w * weight_decay * lr
                    value -= value * value.dtype.type(decay * lr)
            self._before_updates()
            if self._writes_update_step():
                self._run_update_steps([(g, var) for g, (_, var) in zip(grads, pairs)
                                        if g is not None])
            else:
                self._run_updates([(i, g, v) for i, g, v in zip(slots, grads, values)
                                   if g is not None])
        if self.use_ema:  # Keras: every step, before the constraints
            self._update_averages()
        for (grad, var), value in zip(pairs, values):
            if grad is None or not update:
                continue
            constraint = getattr(var, "constraint", None)  # a user's variable may lack one
            if constraint is not None:
                value[...] = constraint(value)  # Keras: projected after its update
            if hasattr(var, "mark_modified"):
                var.mark_modified()  # values derived from it (folded weights) are stale
        self._iterations.value += 1
        self._iterations.mark_modified()
        self._applied_variables = [var for _, var in pairs]
        return self._step

    def _weight_decay_of(self, index: int) -> float | None:
        """The decoupled weight decay of the variable with slots ``index``."""
        return self.weight_decay

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keras 3's: no weight decay for the variables of ``var_list``, nor for those whose
        name matches one of the regular expressions ``var_names`` anywhere
        (``var_names=["bias", "gamma", "beta"]``: the transformer recipes' choice). From
        the next step on (TF 2.21 takes it after the first step too)."""
        if var_names is not None and (isinstance(var_names, str) or not all(
                isinstance(name, str) for name in var_names)):
            raise TypeError(f"var_names must be a list of strings, got {var_names!r}")
        self._decay_excluded_ids = {id(v) for v in var_list or []}
        self._decay_excluded_pattern = re.compile("|".join(var_names)) if var_names else None

    def _decays(self, var) -> bool:
        """Whether the weight decay applies to ``var`` (see `exclude_from_weight_decay`)."""
        if id(var) in getattr(self, "_decay_excluded_ids", ()):
            return False
        pattern = getattr(self, "_decay_excluded_pattern", None)
        return pattern is None or pattern.search(str(getattr(var, "name", ""))) is None

    # -- moving average of the weights (use_ema) --------------------------------------------
    def _update_averages(self) -> None:
        """Keras's EMA step, after the update (with accumulation, after every step): each
        variable's average moves towards it by ``1 - ema_momentum`` (becomes it while no
        update has been made); every ``ema_overwrite_frequency`` updates the averages then
        replace the variables."""
        first = self._step == 0  # the updates made before this step
        for owner, average in zip(self._owners, self._slots["average"]):
            value = owner.value
            t = value.dtype.type
            momentum = t(0) if first else t(self.ema_momentum)
            average *= momentum  # momentum * average + (1 - momentum) * value, in place
            average += (t(1) - momentum) * value
        frequency = self.ema_overwrite_frequency
        if frequency and (self._step + 1) % frequency == 0:
            self._replace_by_averages(self._owners)

    def _average_index(self, variables: list) -> list[int]:
        """The slot index of each of ``variables`` (all the optimizer's in turn when it knows
        them by position only).

        Raises:
            ValueError: a variable the optimizer was not built with, or (known by position)
                another number of them.
        """
        if self._owners is None:
            if [np.shape(v.value) for v in variables] != self._shapes:
                raise ValueError(f"{type(self).__name__} keeps the averages of "
                                 f"{len(self._shapes)} variables of shapes {self._shapes}; "
                                 f"got {len(variables)} variables")
            return list(range(len(variables)))
        known = {id(v): i for i, v in enumerate(self._owners)}
        missing = [getattr(v, "path", None) or getattr(v, "name", "?") for v in variables
                   if id(v) not in known]
        if missing:
            raise ValueError(f"{type(self).__name__} keeps no moving average of the variables "
                             f"{missing}: it was built with others")
        return [known[id(v)] for v in variables]

    def _replace_by_averages(self, variables: list) -> None:
        for variable, index in zip(variables, self._average_index(variables)):
            variable.value[...] = self._slots["average"][index]
            if hasattr(variable, "mark_modified"):
                variable.mark_modified()

    def _swap_averages(self) -> None:
        """Exchange each variable's value and its moving average, in place
        (`convnp.callbacks.SwapEMAWeights`)."""
        variables = self._owners or []
        for variable, index in zip(variables, self._average_index(variables)):
            average = self._slots["average"][index]
            kept = variable.value.copy()
            variable.value[...] = average
            average[...] = kept
            if hasattr(variable, "mark_modified"):
                variable.mark_modified()

    def _averages_from_variables(self) -> None:
        """Set each moving average to its variable's value."""
        variables = self._owners or []
        for variable, index in zip(variables, self._average_index(variables)):
            self._slots["average"][index][...] = variable.value

    def finalize_variable_values(self, var_list) -> None:
        """Keras's end of training: with ``use_ema``, each variable of ``var_list`` takes
        its moving average (``fit`` calls this after its last epoch). Nothing otherwise, or
        before the first step.

        Raises:
            ValueError: a variable the optimizer keeps no average of.
        """
        if self.use_ema and self.built and "average" in self._slots:
            self._replace_by_averages(list(var_list))

    # -- loss scaling -------------------------------------------------------------------------
    def scale_loss(self, loss):
        """Keras's ``optimizer.scale_loss``: the loss times ``loss_scale_factor`` (the loss
        itself without one). ``fit`` differentiates what this gives; the optimizer divides
        the gradients by the factor again."""
        scale = self._loss_scale()
        return loss if scale is None else loss * scale

    def _loss_scale(self) -> float | None:
        """The factor `scale_loss` multiplies by (None: none)."""
        return self.loss_scale_factor

    #: whether a step with a non-finite gradient is this optimizer's to handle (a dynamic
    #: loss scale skips it and lowers the scale) rather than an error of the training step
    _skips_non_finite = False

    def _accumulate(self, slots: list[int], grads: list) -> bool:
        """Keras 3's gradient accumulation: add this step's gradients to the accumulators;
        on the last step of each ``gradient_accumulation_steps`` replace ``grads`` (in place)
        by the mean over those steps, zero the accumulators and return True (update now)."""
        steps = self.gradient_accumulation_steps
        sums = self._slots["gradient_accumulator"]
        update = (int(self._iterations.value) + 1) % steps == 0
        for k, (index, grad) in enumerate(zip(slots, grads)):
            if grad is None:
                continue
            if update:
                grads[k] = (grad + sums[index]) / grad.dtype.type(steps)
                sums[index][...] = 0
            else:
                sums[index] += grad
        return update

    def _slot_indices(self, pairs: list, values: list) -> list[int]:
        """The slots of each variable of a step. Variables the optimizer knows are found by
        identity, so a step may update any of them in any order (Keras 3: a frozen layer's
        weights drop out of the trainable list; a GAN step updates part of a model). Until
        it knows them (built from arrays, or state restored from a file) a step gives every
        variable, in slot order, and those become its variables.

        Raises:
            ValueError: a variable the optimizer was not built with (as Keras 3's "Unknown
                variable"): its slots would belong to another variable.
        """
        if self._owners is None:
            if [v.shape for v in values] != self._shapes:
                raise ValueError(
                    f"{type(self).__name__} was built for variables of shapes {self._shapes}, "
                    f"received {[v.shape for v in values]}; use a new optimizer for a new "
                    "model")
            self._owners = [var for _, var in pairs]
            return list(range(len(pairs)))
        known = {id(var): i for i, var in enumerate(self._owners)}
        slots = []
        for (_, var), value in zip(pairs, values):
            index = known.get(id(var))
            if index is None:
                name = getattr(var, "path", None) or getattr(var, "name", None) or "?"
                raise ValueError(
                    f"Unknown variable {name!r} of shape {value.shape}: {type(self).__name__} "
                    f"can only be called for the {len(self._owners)} variables it was "
                    "originally built with; create a new optimizer for a new set of variables "
                    "(one per model in a GAN)")
            slots.append(index)
        return slots

    def _clip(self, grads: list) -> list:
        """Keras's clipping: each gradient to norm ``clipnorm``, all of them together to
        ``global_clipnorm``, or each entry to ``[-clipvalue, clipvalue]``."""
        if self.clipnorm:
            out = []
            for g in grads:
                if g is not None:
                    norm = np.sqrt(np.sum(np.square(g, dtype=np.float64)))
                    g = (g * g.dtype.type(self.clipnorm) / g.dtype.type(max(norm, self.clipnorm)))
                out.append(g)
            return out
        if self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64)))
                                 for g in grads if g is not None))
            scale = self.global_clipnorm * min(1.0 / norm if norm else math.inf,
                                               1.0 / self.global_clipnorm)
            return [None if g is None else g * g.dtype.type(scale) for g in grads]
        if self.clipvalue:
            v = self.clipvalue
            return [None if g is None else np.clip(g, -v, v) for g in grads]
        return grads

    def _before_updates(self) -> None:
        """Hook run once per step before the per-variable updates (Nadam's product)."""

    def _run_updates(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        """Update every ``(index, grad, value)`` of ``work`` in cache-sized blocks.

        An update is a handful of elementwise passes over the variable, its gradient and its
        slots. Run on whole variables, each pass streams megabytes through memory (ResNet-50
        has 23.6M parameters); run on blocks of `UPDATE_BLOCK` numbers, the passes of a
        block work in cache and every array is read and written once. The blocks of all the
        variables are shared between the cores; the arithmetic, and so the result, is the
        same as on whole variables.
        """
        from convnp.ops.threads import map_parts

        tasks = []  # (index, grad, value, slice of the flat variable or None: all of it)
        for index, grad, value in work:
            if value.size <= UPDATE_BLOCK or self._whole_variables or not (
                    value.flags.c_contiguous and grad.flags.c_contiguous):
                tasks.append((index, grad, value, None))
                continue
            flat_grad, flat_value = grad.reshape(-1), value.reshape(-1)
            for start in range(0, value.size, UPDATE_BLOCK):
                block = slice(start, start + UPDATE_BLOCK)
                tasks.append((index, flat_grad[block], flat_value[block], block))
        names = self._slot_names()

        def run(part) -> None:
            for index, grad, value, block in part:
                slots = {name: _part(self._slots[name][index], block) for name in names}
                self._update(slots, grad, value)

        if sum(value.size for _, _, value in work) >= PARALLEL_UPDATE_SIZE:
            map_parts(run, tasks)
        else:
            run(tasks)

    #: whether a rule's placeholder variables (Adafactor's int32 ``r`` and ``c`` of a vector)
    #: are among its variables: Keras tracks them unless the optimizer is built inside a
    #: LossScaleOptimizer's build (which turns Keras's tracking off)
    _keras_placeholders = True

    #: whether `_update` needs each variable whole (its rule reads norms of the variable),
    #: not in blocks
    _whole_variables = False

    def _update(self, slots: dict[str, np.ndarray], grad: np.ndarray,
                value: np.ndarray) -> None:
        """Update ``value`` in place from ``grad``; ``slots`` maps each slot name to the part
        of that slot array that goes with ``value`` (same shape)."""
        raise NotImplementedError

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Flat copy of everything needed to resume: iterations and slot arrays."""
        # every step counted (with accumulation, more than the updates), as Keras saves it
        state = {"iterations": np.array(int(self._iterations.value), dtype=np.int64)}
        for name, arrays in self._slots.items():
            for i, a in enumerate(arrays):
                if a is not None:
                    state[f"{name}/{i}"] = a.copy()
        for i, variable in enumerate(self._added_variables):
            state[f"{ADDED}/{i}"] = np.array(variable.value)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `get_state` returned.

        Before the first `apply_gradients` the slots do not exist yet; the state is kept and
        loaded (and checked) when they are built.

        Raises:
            ValueError: missing/unknown keys or shapes that do not match the variables.
        """
        if not isinstance(state, dict) or "iterations" not in state:
            raise ValueError("optimizer state must be a dict with an 'iterations' entry")
        expected_names = set(self._all_slot_names()) | {ADDED}
        for key in state:
            if key == "iterations":
                continue
            slot, _, idx = key.partition("/")
            if slot not in expected_names or not idx.isdigit():
                raise ValueError(
                    f"unexpected optimizer state key {key!r}; {type(self).__name__} has slots "
                    f"{sorted(expected_names)}")
        iterations = int(np.asarray(state["iterations"]))
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        added = {int(key.partition("/")[2]): np.array(value) for key, value in state.items()
                 if key.partition("/")[0] == ADDED}
        state = {key: value for key, value in state.items()
                 if key.partition("/")[0] != ADDED}
        if self.built:
            self._load_slots(state)
        else:
            self._pending_state = {k: np.array(v) for k, v in state.items()}
        self._pending_added = {}
        for index, value in added.items():
            if index < len(self._added_variables):
                self._added_variables[index].assign(value)
            else:  # made by the subclass's build, later
                self._pending_added[index] = value
        self._iterations.value[...] = iterations  # the count of steps (`get_state`)
        self._iterations.mark_modified()

    def _keras_restore(self, state: dict[str, np.ndarray]) -> None:
        """Take the values of a Keras file's optimizer variables, by the keys of
        `_keras_variables` (the rate left out: the compile config gives it)."""
        self.set_state(state)

    def _load_slots(self, state: dict[str, np.ndarray]) -> None:
        assert self._shapes is not None
        if not any("/" in key for key in state):
            # saved before the first update: the optimizer had no slots yet, so they start
            # as they would have
            return
        for name in self._all_slot_names():
            arrays = self._slots[name]
            expected = [f"{name}/{i}" for i, a in enumerate(arrays) if a is not None]
            keys = [k for k in state if k.startswith(name + "/")]
            if sorted(keys) != sorted(expected):
                raise ValueError(
                    f"optimizer state has {len(keys)} '{name}' slots, expected "
                    f"{len(expected)} (one per trainable variable that has one)")
            for key in expected:
                slot, arr = self._slot_array(key), np.asarray(state[key])
                if arr.shape != slot.shape or arr.dtype.kind not in _KINDS[slot.dtype.kind]:
                    raise ValueError(
                        f"optimizer slot '{key}' has shape {arr.shape} and dtype {arr.dtype}, "
                        f"expected {slot.shape} and {slot.dtype}")
        for key in self._slot_keys():
            self._slot_array(key)[...] = state[key]

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from convnp import schedules

        if isinstance(self._schedule, _CallableRate):
            rate: Any = self._schedule.config()
        elif self._schedule is not None:
            # as Keras 3 serializes it (TF 2.21's get_config): with its module and
            # registered name, a user's class by its own module (None for __main__)
            rate = schedules.serialize(self._schedule)
        else:
            rate = self._learning_rate
        config = {"name": self.name, "learning_rate": rate, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                  "clipvalue": self.clipvalue}
        config.update({"use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                       "ema_overwrite_frequency": self.ema_overwrite_frequency,
                       "loss_scale_factor": self.loss_scale_factor,
                       "gradient_accumulation_steps": self.gradient_accumulation_steps})
        if self.decay:  # Keras 2's argument, written only when used (Keras 3 lacks it)
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Optimizer:
        """The optimizer `get_config` describes. ``custom_objects`` (``{"Name": class}``)
        finds a user's learning-rate schedule class named in the config, as Keras 3's
        ``Optimizer.from_config(config, custom_objects)`` does."""
        from convnp import schedules

        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)


# Keras's spellings of the optimizers (filled by the package: convnp.optimizers), here so
# that a wrapper's from_config finds the optimizer it wraps
OPTIMIZERS = Registry("optimizer", Optimizer)


def keras_object(optimizer: Optimizer) -> dict[str, Any]:
    """``optimizer`` as Keras writes an optimizer inside another's config: ``{"module",
    "class_name", "config", "registered_name"}`` (a user's class by its registered name)."""
    cls = type(optimizer)
    config = optimizer.get_config()
    rate = config.get("learning_rate")
    if isinstance(rate, dict) and "module" not in rate:  # a schedule, as Keras names it
        config["learning_rate"] = {"module": "keras.optimizers.schedules", **rate,
                                   "registered_name": None}
    builtin = cls.__module__.startswith("convnp.optimizers.")
    return {"module": "keras.optimizers" if builtin else None, "class_name": cls.__name__,
            "config": config,
            "registered_name": None if builtin else get_registered_name(cls)}
