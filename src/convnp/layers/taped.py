"""Layers and GradientTape: how layer calls are recorded, and layers users write without a
backward.

Two kinds of layer meet the tape:

* **Built-in layers** (they have a hand-written ``backward``). Called on arrays while a tape
  records, `call_on_arrays` runs the layer's fast ``call`` on plain ndarrays and records ONE
  tape entry whose vector-Jacobian product is the layer's own ``backward`` (so the fused
  kernels do the work). A layer keeps the values its backward needs from its last forward
  only; the record therefore takes a shallow snapshot of the layer's attributes after the
  forward and puts it back while its backward runs (then restores the current ones), so a
  layer called twice under one tape, or a persistent tape asked twice, still gets the right
  gradients. Models (and models inside models) snapshot every layer and fused call they run.
* **Layers users write** (a ``call`` in tensor ops and no ``backward``). `prepare_subclass`
  wraps their ``call``: it passes only the arguments the user's ``call`` accepts
  (``training``, ``mask``), and runs it under a private persistent tape that watches the
  input and the layer's variables. Their ``backward`` (used by ``fit``'s graph) asks that
  tape for the gradients. Under a user's own tape the ops inside ``call`` are recorded there
  directly. ``compute_output_shape``, when not written, is found by a trial call on zeros.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading

import numpy as np

from convnp import config
from convnp.layers import second_order
from convnp.tensor import eager
from convnp.tensor.eager import EagerTensor, map_nested, to_eager, to_numpy
from convnp.tensor.tape import (
    GradientTape,
    is_variable,
    record,
    recording,
    wanted_inputs,
)

# -- built-in layers (and models) under a tape ----------------------------------------------------


def _stateful(obj, seen: dict) -> None:
    """Collect ``obj`` and every layer / fused call it runs (recursing into nested models)."""
    if id(obj) in seen:
        return
    seen[id(obj)] = obj
    graph = obj._graph
    if graph is not None:
        for node in list(graph.nodes) + list(graph.schedule):
            _stateful(node.layer, seen)
    for inner in getattr(obj, "_tracked_layers", ()):
        _stateful(inner, seen)


class _Snapshot:
    """Attributes of a layer (and what it runs) right after one forward."""

    def __init__(self, root):
        objs: dict = {}
        _stateful(root, objs)
        self.saved = [(obj, dict(vars(obj))) for obj in objs.values()]

    def __enter__(self):
        self.current = [(obj, dict(vars(obj))) for obj, _ in self.saved]
        for obj, state in self.saved:
            vars(obj).update(state)
        return self

    def __exit__(self, *exc):
        for obj, state in self.current:
            vars(obj).clear()
            vars(obj).update(state)


# The ``training`` of the users' calls now running in this thread (innermost last). Keras 3
# hands a call's mode down to the layers a user's ``call`` runs without ``training=``: a
# BatchNormalization held by a user's layer trains when the layer does, even when that
# ``call`` has no ``training`` argument. None: the outermost call was given none either (a
# model called directly), and each layer then takes its own default.
_modes = threading.local()


class _LeftOutContext(threading.local):
    """Keras 3's call context while a model runs with ``training`` left out: one mode for the
    whole call (nested models included), set by each call that resolves one."""

    active = False
    training: bool | None = None


_left_out = _LeftOutContext()


@contextlib.contextmanager
def training_left_out():
    """The block is a model call with ``training`` left out (``model(x)``); a model called
    inside it shares its context, as in Keras."""
    if _left_out.active:
        yield
        return
    _left_out.active, _left_out.training = True, None
    try:
        yield
    finally:
        _left_out.active, _left_out.training = False, None


def _keras_default(layer) -> bool | str | None:
    """Keras 3's ``training`` default of ``layer``'s call (see `Layer._keras_training_default`);
    a user's layer's is its own call's, a model's "inherit"."""
    if layer._mode_when_unset is True:  # augmentation, Resizing, CenterCrop: training=True
        return True
    if layer._mode_when_unset is None:  # models and users' layers
        user_call = getattr(type(layer).call, "__wrapped__", None)
        if user_call is not None:
            found = inspect.signature(user_call).parameters.get("training")
            if found is not None and isinstance(found.default, bool):
                return found.default
        return "inherit"
    return layer._keras_training_default


def left_out_mode(layer) -> bool | None:
    """The mode of ``layer``'s call in a model called with ``training`` left out, as Keras 3
    resolves it: a mode given when the model was built (``layer(x, training=True)``) or the
    call's own default (True for augmentation and Resizing/CenterCrop, False for dropout)
    is used and becomes the mode of the call context; a call whose default is None
    (BatchNormalization, a user's layer, a nested model) takes the context's mode. So in
    TF 2.21 ``model(x)`` runs a BatchNormalization after a Resizing with batch statistics
    (and updates its moving ones), while ``predict`` and ``model(x, training=False)`` do not.
    Outside such a call, or with no mode yet: the layer's own `_mode_when_unset`."""
    if not _left_out.active:
        fixed = layer._fixed_training
        return layer._mode_when_unset if fixed is None else fixed
    default = layer._fixed_training
    if default is None:
        default = _keras_default(layer)
    if isinstance(default, bool):
        _left_out.training = default
        return default
    if default == "inherit" and _left_out.training is not None:
        return _left_out.training
    return layer._mode_when_unset


def left_out_eager_mode(layer) -> bool | None:
    """The mode of ``layer`` called on data with ``training`` left out inside a model call
    with ``training`` left out (a user's ``call`` running its layers), as Keras 3 resolves
    it there: the context's mode, else the call's own default when it has one (which then
    becomes the context's). None: no such model call runs, or no mode anywhere."""
    if not _left_out.active:
        return None
    if _left_out.training is not None:
        return _left_out.training
    default = _keras_default(layer)
    if isinstance(default, bool):
        _left_out.training = default
        return default
    return None


def left_out_active() -> bool:
    """Whether a model call with ``training`` left out is running (`training_left_out`)."""
    return _left_out.active


@contextlib.contextmanager
def training_scope(training):
    """Layers called inside the block with ``training=None`` follow ``training``."""
    stack = _modes.__dict__.setdefault("stack", [])
    stack.append(training)
    try:
        yield
    finally:
        stack.pop()


def inherited_training():
    """The mode of the innermost call now running (`training_scope`), or None."""
    stack = getattr(_modes, "stack", None)
    return stack[-1] if stack else None


def call_on_arrays(layer, inputs, training, forward):
    """Run ``forward(plain_inputs)`` for a layer or model called on arrays; return tensors,
    recording the call on active tapes with the layer's backward as its VJP.

    The losses the call adds (`add_loss` in a user's layer inside a model) are outputs of the
    same record: a caller's ``tape.gradient(loss + sum(model.losses), ...)`` hands their
    gradients to the layers' backward, which also sends them upstream."""
    plain = to_numpy(inputs)
    if not recording() or layer._autodiff:
        if layer._autodiff and recording():
            return forward(inputs)  # user code: its own ops are recorded
        return to_eager(forward(plain))
    # Several tapes recording (a tape inside another's block): the inner one's gradient may
    # be differentiated again, which needs a model's calls as written (no fused units)
    nested = len(eager.active_tapes) > 1 and layer._graph is not None
    _model_tapes.append(list(eager.active_tapes))
    try:
        with config.plain_path() if nested else contextlib.nullcontext():
            out = forward(plain)
    finally:
        _model_tapes.pop()
    losses = added_losses(layer)
    if layer._graph is not None and layer._graph._activity:
        # its activity penalties too (PointNet's T-net): model.losses gives these tensors
        losses = losses + layer._graph.tape_activity_losses()
    multi_out = isinstance(out, (list, tuple))
    outs = [np.asarray(o).view(EagerTensor) for o in (out if multi_out else [out])]
    multi_in = isinstance(inputs, (list, tuple))
    xs = list(inputs) if multi_in else [inputs]
    variables = list(layer.trainable_weights)
    snapshot = _Snapshot(layer)
    # an input no tape watches (the image batch of a training loop) needs no gradient: the
    # first layer then skips it, as in fit
    needs_dx = any(tape._key(x) is not None for tape in eager.active_tapes for x in xs)

    def vjp(grads):
        grads, seeds = grads[:len(outs)], grads[len(outs):]
        # what the gradient running this VJP asks for: a saliency map wants the input's
        # gradient only (the weights' are then skipped), a critic's weight step not the input's
        wanted = wanted_inputs()
        wants_dx = needs_dx and (wanted is None or any(wanted[:len(xs)]))
        wants_weights = wanted is None or any(wanted[len(xs):])
        with snapshot, _loss_seeds({id(loss): g for loss, g in zip(losses, seeds)}), \
                _weight_gradients(layer, wants_weights):
            layer.needs_input_gradient = wants_dx
            if layer._graph is not None:
                layer._graph.plan_backward(input_gradients=wants_dx)
                dxs = layer._graph.backward([None if g is None else np.asarray(g)
                                             for g in grads])
            else:
                dy = grads[0] if not multi_out else grads
                dx = layer.backward(dy)
                dxs = list(dx) if multi_in else [dx]
            var_grads = [None if v.grad is None or not wants_weights else np.array(v.grad)
                         for v in variables]
        if not wants_dx:
            dxs = [None] * len(xs)
        return list(dxs) + var_grads

    record(outs + losses, xs + variables, vjp,
           second=second_order.call_second(layer, vjp, snapshot, xs, variables, len(outs),
                                           losses, multi_in))
    return outs if multi_out else outs[0]


@contextlib.contextmanager
def _weight_gradients(layer, wanted: bool):
    """With ``wanted`` False, ``layer`` and every layer inside it skip their weight
    gradients in the block (`Layer.needs_weight_gradients`: the convolutions and Dense, whose
    weight products cost as much as their input's)."""
    if wanted:
        yield
        return
    inside = _layers_within(layer)
    for each in inside:
        each.needs_weight_gradients = False
    try:
        yield
    finally:
        for each in inside:
            vars(each).pop("needs_weight_gradients", None)


def _layers_within(layer) -> list:
    """``layer`` and the layers of the models inside it, each once."""
    found: dict[int, object] = {}
    pending = [layer]
    while pending:
        current = pending.pop()
        if id(current) in found:
            continue
        found[id(current)] = current
        pending.extend(getattr(current, "layers", None) or [])
    return list(found.values())


#: The tapes that were recording when each recorded model call now running began (innermost
#: last). The model's one record stands for its forward, so the users' layers inside run their
#: ``call`` out of those tapes' sight (`run_taped`), on their private tapes only.
_model_tapes: list[list] = []


@contextlib.contextmanager
def _hidden(tapes: list):
    """``tapes`` stop recording in the block (they stay in their order around it)."""
    if not tapes:
        yield
        return
    saved = list(eager.active_tapes)
    eager.active_tapes[:] = [t for t in saved if not any(t is h for h in tapes)]
    try:
        yield
    finally:
        eager.active_tapes[:] = saved


#: While a recorded model call's backward runs: the caller's gradient of each loss its layers
#: added (by id; None when the caller's target does not use it). None otherwise: ``fit`` adds
#: the losses to its loss as they are (gradient 1).
_seeds: dict | None = None


@contextlib.contextmanager
def _loss_seeds(seeds: dict):
    global _seeds
    saved, _seeds = _seeds, seeds
    try:
        yield
    finally:
        _seeds = saved


def current_loss_seeds() -> dict | None:
    """The gradients a recorded call's VJP now running hands its losses (``id(loss)`` ->
    gradient or None), or None outside one (fit's own backward)."""
    return _seeds


# -- layers users write ---------------------------------------------------------------------------


def _accepts(func, name: str) -> bool:
    """Whether ``func`` takes a keyword argument ``name`` (by name or ``**kwargs``). Asked on
    every call of a user's layer in a model: the answer is kept per function (a bound method
    answers as its function does)."""
    return _function_accepts(getattr(func, "__func__", func), name)


@functools.lru_cache(maxsize=4096)
def _function_accepts(func, name: str) -> bool:
    params = inspect.signature(func).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _defines(cls, base, attr: str) -> bool:
    """Whether a class between ``cls`` and ``base`` (exclusive) defines ``attr``."""
    for klass in cls.__mro__:
        if klass is base:
            return False
        if attr in vars(klass):
            return True
    return False


def prepare_subclass(cls, base) -> None:
    """Make a user's Layer subclass differentiable by the tape (see the module docstring)."""
    if cls.__module__.startswith("convnp.") or "call" not in vars(cls):
        return
    if "backward" in vars(cls):
        return  # the user wrote the backward too
    if _defines(cls, base, "backward"):
        owner = next(k for k in cls.__mro__ if "backward" in vars(k))
        raise TypeError(
            f"{cls.__name__} overrides call() of the built-in layer {owner.__name__} but not its "
            "backward(); its weights would get no gradient. Subclass tf.keras.layers.Layer and "
            f"call a {owner.__name__} held as an attribute instead (it then keeps its own "
            "backward), or write backward() too")
    user_call = vars(cls)["call"]
    if getattr(user_call, "_taped", False):
        return
    takes_training = _accepts(user_call, "training")
    takes_mask = _accepts(user_call, "mask")

    @functools.wraps(user_call)
    def call(self, inputs, *args, training=False, mask=None, **kwargs):
        if takes_training and training is not None:
            # None (no mode given, none inherited): the user's own default, as Keras 3
            kwargs["training"] = training
        if takes_mask and mask is not None:
            kwargs["mask"] = mask
        with training_scope(training):  # the layers it calls follow its mode
            return run_taped(self, lambda x: user_call(self, x, *args, **kwargs), inputs)

    call._taped = True
    cls.call = call
    cls._autodiff = True
    cls._mode_when_unset = None  # the layers its call runs decide (`training_scope`)
    cls.backward = taped_backward
    cls.__setattr__ = tracking_setattr
    if not _defines(cls, base, "compute_output_shape"):
        cls.compute_output_shape = trial_output_shape


def call_with_arguments(layer, inputs, args: tuple, kwargs: dict, training):
    """``layer(inputs, *args, **kwargs)`` for a layer whose ``call`` takes more than its
    input: a user's ``call(self, query, value)`` or ``call(self, x, factor=2.0)``, run on
    arrays or tensors (under a tape, its ops record every tensor argument). Built-in layers
    take only ``training`` (also positionally, as before). (`Layer.__call__` has refused
    KerasTensors here: a functional model records one input, or one list, per call.)"""
    call = type(layer).call
    user_call = getattr(call, "__wrapped__", call)
    builtin = type(layer).__module__.startswith("convnp.") and not layer._autodiff
    if builtin:
        if len(args) == 1 and not kwargs and (args[0] is None or isinstance(
                args[0], (bool, np.bool_))):
            return layer(inputs, training=args[0] if training is None else training)
        raise TypeError(f"{type(layer).__name__} layer '{layer.name}' takes its input and "
                        f"training=...; got extra arguments {describe(args, kwargs)}")
    try:
        bound = inspect.signature(user_call).bind(layer, inputs, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"layer '{layer.name}': {exc}") from None
    given = dict(bound.arguments)
    training = given.pop("training", training)
    mask = given.pop("mask", None)
    names = list(given)[2:]  # after self and the input
    params = inspect.signature(user_call).parameters
    by_name = {n: given[n] for n in names}
    positional = [by_name.pop(n) for n in names
                  if params[n].kind is inspect.Parameter.POSITIONAL_ONLY]
    varargs = [n for n in names if params[n].kind is inspect.Parameter.VAR_POSITIONAL]
    for n in varargs:
        positional.extend(by_name.pop(n))
    for n in [n for n in names if params[n].kind is inspect.Parameter.VAR_KEYWORD]:
        by_name.update(by_name.pop(n))
    if not layer.built:
        _build_from_arguments(layer, user_call, inputs, given)
    # no mode given: the calling layer's; none either (called on its own): None, and each
    # layer inside takes its own default (an augmentation layer augments), as Keras 3
    training = inherited_training() if training is None else bool(training)
    if mask is not None:
        by_name["mask"] = mask
    return call_on_arrays(layer, inputs, training,
                          lambda x: layer.call(x, *positional, training=training, **by_name))


def user_call_of(layer):
    """The ``call`` a user wrote for ``layer``'s class (under the tape's wrapper)."""
    call = type(layer).call
    return getattr(call, "__wrapped__", call)


def call_template(layer, template: tuple, values: list, training: bool,
                  masks: dict | None = None):
    """A user's layer called with several tensor arguments in a functional model:
    ``template`` is ``(inputs, args, kwargs)`` of the recorded call with `Slot` markers where
    ``values`` (the tensors, in slot order) go. Runs under the layer's private tape with every
    tensor watched, so its backward (`taped_backward`) returns one gradient per tensor.
    ``masks``: mask arguments to add (`convnp.models.mask_flow`; not differentiated)."""
    from convnp.layers._slots import fill

    user_call = user_call_of(layer)
    takes_training = _accepts(user_call, "training")

    def run(xs):
        inputs, args, kwargs = fill(template, list(xs))
        if masks:
            kwargs = {**kwargs, **masks}
        if takes_training:
            kwargs = {**kwargs, "training": training}
        with training_scope(training):
            return user_call(layer, inputs, *args, **kwargs)

    return run_taped(layer, run, list(values))


def _build_from_arguments(layer, user_call, inputs, given: dict) -> None:
    """Keras 3's rule: ``build(self, a_shape, b_shape)`` gets the shape of each tensor
    argument of ``call(self, a, b)`` by name; a one-argument ``build`` gets the first's."""

    def shape_of(value):
        if isinstance(value, (list, tuple)):
            return [shape_of(v) for v in value]
        if getattr(value, "_convnp_keras_tensor", False) is True:
            return tuple(value.shape)  # a symbolic call: the batch axis is None already
        return (None,) + tuple(np.shape(value))[1:]

    first = list(inspect.signature(user_call).parameters)[1]
    shapes = {f"{first}_shape": shape_of(inputs)}
    for name, value in given.items():
        if name not in ("self", first) and hasattr(value, "shape"):
            shapes[f"{name}_shape"] = shape_of(value)
    params = inspect.signature(layer.build).parameters
    required = [n for n, p in params.items() if p.default is p.empty]
    if len(params) > 1 and all(n in shapes for n in required):
        # by name; a shape whose argument was not given keeps the default (key_shape=None)
        layer.build(**{n: shapes[n] for n in params if n in shapes})
    else:
        layer.build(shapes[f"{first}_shape"])
    layer.built = True
    layer.input_shape = shapes[f"{first}_shape"]


def describe(args, kwargs) -> str:
    """Extra call arguments as an error message shows them: types, and keyword names."""
    parts = [type(a).__name__ for a in args] + [f"{k}=" for k in kwargs]
    return "(" + ", ".join(parts) + ")"


# -- add_loss ----------------------------------------------------------------------------------
# ``self.add_loss(value)`` inside a user's ``call`` (Keras's way to add a penalty to the training
# loss). Each `run_taped` collects the losses added while it runs (nested calls included), so
# its backward can differentiate them too; each layer also keeps those of its last call.

#: the collectors of the `run_taped` calls running now (innermost last)
loss_collectors: list[list] = []
#: whether any call ever added a loss (until then, `added_losses` has nothing to look for)
_any_added = False


def add_loss(layer, loss) -> None:
    """Record ``loss`` (a tensor of this call's ops, summed to a scalar) for ``layer``."""
    from convnp.tensor.ops import reduce_sum

    if callable(loss) and not hasattr(loss, "shape"):
        raise TypeError(f"layer '{layer.name}': add_loss takes a tensor or a number computed "
                        "in call(), not a function (Keras 3 dropped callable losses)")
    loss = to_eager(loss) if isinstance(loss, np.ndarray) else loss
    if np.ndim(loss) != 0:
        loss = reduce_sum(loss)
    global _any_added
    _any_added = True
    layer.__dict__.setdefault("_added_losses", []).append(loss)
    for collector in loss_collectors:
        collector.append(loss)


def held(root, skip=None) -> list:
    """``root`` and every layer it runs or holds, once each: the calls of its graph, the
    layers users' layers keep in attributes, a subclassed model behind its graph's call.
    ``skip(obj)`` true leaves ``obj`` out with everything under it."""
    found: dict = {}

    def visit(obj) -> None:
        if id(obj) in found or (skip is not None and skip(obj)):
            return
        found[id(obj)] = obj
        graph = obj._graph
        for node in graph.nodes if graph is not None else ():
            visit(node.layer)
        for inner in obj.__dict__.get("_tracked_layers", ()):
            visit(inner)
        model = obj.__dict__.get("_subclassed_model")
        if model is not None:
            visit(model)

    visit(root)
    return list(found.values())


def added_losses(root) -> list:
    """The losses ``root`` and everything it runs added on their last calls."""
    if not _any_added:
        return []
    return [loss for obj in held(root) for loss in obj.__dict__.get("_added_losses", ())]


@contextlib.contextmanager
def isolated():
    """No tape records and no loss is collected in the block (trial calls that find output
    shapes run here)."""
    tapes, collectors = list(eager.active_tapes), list(loss_collectors)
    eager.active_tapes.clear()
    loss_collectors.clear()
    try:
        yield
    finally:
        eager.active_tapes.extend(tapes)
        loss_collectors[:] = collectors


def eager_inputs(inputs):
    """``inputs`` as tensors for a user's call; a tf.Variable stays itself, since a caller's
    tape follows it by identity (as a tensor view, its gradient was lost)."""
    return map_nested(inputs, lambda v: v if is_variable(v) else to_eager(v))


#: Set while a model runs an inference-only pass (predict, evaluate: `Functional.forward`).
#: No backward follows such a pass, so a call in tensor ops needs no private tape there.
inference_only = threading.local()


def run_taped(layer, fn, inputs):
    """``fn(inputs)`` under a private tape kept for `taped_backward`, with the losses the
    call adds (`add_loss`).

    In an inference-only pass with no tape of the caller's recording, the call runs without
    the tape: recording every op's inputs there is work for a backward that never comes
    (the suite's ViT predicts in 0.82-1.16x, median 0.95x, of the time before: within this
    machine's noise). Its backward then refuses, as before any call."""
    with _hidden(_model_tapes[-1] if _model_tapes else []):
        outer = recording()
        xs = eager_inputs(inputs)
        flat = list(xs) if isinstance(xs, (list, tuple)) else [xs]
        variables = list(layer.trainable_weights)
        layer.__dict__["_added_losses"] = []
        collected: list = []
        loss_collectors.append(collected)
        keep = outer or not getattr(inference_only, "on", False)
        tape = GradientTape(persistent=True, watch_accessed_variables=False) if keep else None
        try:
            with tape if keep else contextlib.nullcontext():
                if keep:
                    tape.watch(flat)
                    if variables:
                        tape.watch(variables)
                out = fn(xs)
        finally:
            _drop_collector(collected)
    if not keep:
        layer._tape_cache = None
        return to_numpy(_as_tensors(out))
    # Under a caller's tape the added losses are recorded there (the caller adds
    # model.losses to its loss); otherwise (fit's graph) this call's backward adds them.
    layer._tape_cache = (tape, flat, out, variables, isinstance(xs, (list, tuple)),
                         [] if outer else collected)
    return out if outer else to_numpy(_as_tensors(out))


def _drop_collector(collected: list) -> None:
    """Take ``collected`` itself off `loss_collectors`. By identity: ``list.remove`` would
    take the first *equal* list, and the collectors of nested calls that added nothing are
    all equal (empty), so an inner call took its caller's collector away and the caller's
    ``add_loss`` went astray (a subclassed VAE adding its KL loss after calling its layers)."""
    for i in range(len(loss_collectors) - 1, -1, -1):
        if loss_collectors[i] is collected:
            del loss_collectors[i]
            return


def _as_tensors(out):
    if isinstance(out, (list, tuple)):
        parts = [_as_tensors(o) for o in out]
        # a named tuple takes its fields one by one (a plain tuple or list takes one iterable)
        return type(out)(*parts) if hasattr(out, "_fields") else type(out)(parts)
    if isinstance(out, np.ndarray) or out is None:
        return out
    return np.asarray(out)


def taped_backward(self, dy):
    """The input gradient of the last call (a list for several inputs); sets each trainable
    variable's ``.grad``."""
    cache = getattr(self, "_tape_cache", None)
    if cache is None:
        raise RuntimeError(f"layer '{self.name}': backward() without a forward call first")
    tape, xs, out, variables, multi, losses = cache
    if dy is None:  # no loss reads the output: the gradient of the added losses alone
        dy = ([np.zeros(np.shape(o), dtype=np.result_type(o)) for o in out]
              if isinstance(out, (list, tuple)) else
              np.zeros(np.shape(out), dtype=np.result_type(out)))
    elif isinstance(out, (list, tuple)):  # several outputs: those nothing read give zeros
        dy = [np.zeros(np.shape(o), dtype=np.result_type(o)) if g is None else g
              for o, g in zip(out, dy)]
    seeded = [(loss, np.ones(np.shape(loss), dtype=np.result_type(loss)) if _seeds is None
               else _seeds.get(id(loss))) for loss in losses]
    seeded = [(loss, seed) for loss, seed in seeded if seed is not None]
    if seeded:  # d(out . dy + the added losses . their seeds)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        grads_out = list(dy) if isinstance(out, (list, tuple)) else [dy]
        out = outs + [loss for loss, _ in seeded]
        dy = grads_out + [np.asarray(seed) for _, seed in seeded]
    grads = tape.gradient(out, xs + variables, output_gradients=dy)
    for v, g in zip(variables, grads[len(xs):]):
        v.grad = np.zeros_like(v.value) if g is None else np.asarray(g)
    if not self.needs_input_gradient:
        return [None] * len(xs) if multi else None
    dxs = [np.zeros(x.shape, dtype=x.dtype) if g is None else np.asarray(g)
           for x, g in zip(xs, grads[:len(xs)])]
    return dxs if multi else dxs[0]


def second_order_of_call(self, dy, t_dx, t_weights: dict):
    """`Layer.second_order` of a call in tensor ops (a user's layer, a TF op in a model).

    The call's private tape recorded its operations. A fresh tape given those same records
    follows the call's values as if it had watched the call; `gradient` of the private tape
    run inside it computes the backward in recorded form (each record's differentiable
    VJP), and that tape's own gradient of ``<t_dx, dx> + <t_weights, dW>`` is the rule:
    the cotangents of ``dy``, of the inputs and of the weights. An operation without a
    differentiable VJP refuses by name there."""
    from convnp.layers.second_order import refuse

    cache = getattr(self, "_tape_cache", None)
    if cache is None:
        raise refuse(f"{type(self).__name__} '{self.name}' (no forward call kept)")
    tape, xs, out, variables, multi, losses = cache
    if losses or isinstance(out, (list, tuple)):
        raise refuse(f"{type(self).__name__} '{self.name}' (several outputs or add_loss)")
    t_xs = list(t_dx) if multi else [t_dx]
    meta = GradientTape(persistent=True, watch_accessed_variables=False)
    meta._records = list(tape._records)
    meta._connected = dict(tape._connected)
    seed = to_eager(np.asarray(dy, dtype=np.result_type(out)))
    with meta:
        meta.watch(seed)
        grads = tape.gradient(out, xs + variables, output_gradients=seed,
                              unconnected_gradients="zero")
        cotangents = t_xs + [t_weights.get(id(v)) for v in variables]
        total = None
        for c, g in zip(cotangents, grads):
            if c is not None:
                term = np.add.reduce(np.multiply(g, np.asarray(c)), axis=None)
                total = term if total is None else total + term
    if total is None:
        return None, ([None] * len(xs) if multi else None), {}
    found = meta.gradient(total, [seed] + xs + variables)
    plain = [None if g is None else np.asarray(g) for g in found]
    x_bars = plain[1:1 + len(xs)]
    w_bars = {id(v): g for v, g in zip(variables, plain[1 + len(xs):]) if g is not None}
    return plain[0], (x_bars if multi else x_bars[0]), w_bars


#: The batch of the retried trial call when a batch of one fails (divisible by 1 to 6, 10,
#: 12, 15, 20, 30).
_TRIAL_BATCH = 60

#: The sizes given to unknown (None) axes other than the batch in the two trial calls of
#: `trial_output_shape`: an output axis whose size differs between them is unknown too.
#: Multiples of 8, so that strided convolutions and poolings divide them evenly.
_TRIAL_SIZES = (16, 24)


def trial_output_shape(self, input_shape, call=None):
    """The output shape found by calling the layer on zeros (batch of 1) outside any tape.

    With unknown sizes in the input (``Input((None, None, 1))``), the layer runs twice,
    with those axes at 16 and then 24: an output axis that changes between the runs is
    unknown (``None``), as in Keras (a layer tiling its input by 2 keeps ``None``; a global
    pooling gives its channels). If those runs fail, one run with the unknown axes at 1
    decides, as it did before. ``call(zeros)`` (a list of arrays, one per shape of the list
    ``input_shape``) runs the layer instead of its ``call`` (`call_template`)."""
    several = isinstance(input_shape, list)
    shapes = input_shape if several else [input_shape]
    unknown = any(d is None for s in shapes for d in tuple(s)[1:])

    def run(size, batch=1):
        zeros = [np.zeros((batch,) + tuple(size if d is None else int(d)
                                           for d in tuple(s)[1:]), dtype=self.dtype)
                 for s in shapes]
        cache = getattr(self, "_tape_cache", None)
        losses = self.__dict__.get("_added_losses")
        try:
            with isolated():
                if call is not None:
                    out = call(zeros)
                else:
                    out = self.call(zeros if several else zeros[0], training=False)
        finally:
            self._tape_cache = cache
            if losses is not None:
                self.__dict__["_added_losses"] = losses
        if hasattr(out, "_fields"):  # a named tuple: the model's outputs come back as one
            self.__dict__["_named_outputs"] = type(out)
        return _shapes_of(out)

    if unknown:
        try:
            first, second = (run(size) for size in _TRIAL_SIZES)
            return _merge_trials(first, second)
        except Exception:  # noqa: BLE001,S110 (sizes this layer cannot take: the old trial)
            pass
    try:
        return _with_batch(run(1))
    except Exception as error:  # noqa: BLE001 (retried once, then raised as it was)
        # a batch of one cannot take every call: a Lambda folding the batch into steps
        # (``ops.reshape(v, (-1, frames, features))``) needs a batch the frames divide
        try:
            return _with_batch(run(1, batch=_TRIAL_BATCH))
        except Exception:  # noqa: BLE001
            raise error from None


def _shapes_of(out):
    if isinstance(out, (list, tuple)):
        return [_shapes_of(v) for v in out]
    return tuple(np.shape(out))


def _with_batch(shape):
    if isinstance(shape, list):
        return [_with_batch(s) for s in shape]
    return (None,) + shape[1:]


def _merge_trials(a, b):
    """The shapes of two trial outputs with every axis that differs made None."""
    if isinstance(a, list):
        return [_merge_trials(x, y) for x, y in zip(a, b)]
    if len(a) != len(b):
        raise ValueError(f"a layer's output rank changed with its input sizes: {a} and {b}")
    return (None,) + tuple(x if x == y else None for x, y in zip(a[1:], b[1:]))


def tracking_setattr(self, name, value) -> None:
    """``__setattr__`` of user layers and models: Variables and layers assigned to attributes
    (also inside lists, tuples and dict values) become the object's weights and sub-layers, in
    order. As in Keras 3, attributes whose names start with ``_`` count too when the user's
    code sets them (``self._inner = Dense(3)``); convnp's own private state (set by code in
    convnp's modules) is never tracked. Private names that hold layers are remembered in
    ``_user_private`` for the file layout (Keras saves them after the public ones), as are
    those holding optimizers (a weights file keeps their state)."""
    object.__setattr__(self, name, value)
    if name.startswith("_") and (name in _INTERNAL or _set_by_convnp()):
        return
    state = self.__dict__
    if isinstance(value, dict):
        items = list(value.values())
    else:
        items = value if isinstance(value, (list, tuple)) else [value]
    holds_layer = False
    for item in items:
        if getattr(item, "_convnp_variable", False):
            variables = state.get("_variables")
            if variables is not None and not any(v is item for v in variables):
                variables.append(item)
        elif _is_metric(item) and not _set_by_convnp():
            # a user's trackers (Keras 3 lists them in model.metrics); not the compiled ones
            metrics = state.setdefault("_tracked_metrics", [])
            if not any(m is item for m in metrics):
                metrics.append(item)
        elif item is not self and hasattr(item, "trainable_weights") and hasattr(item, "call"):
            holds_layer = True
            tracked = state.setdefault("_tracked_layers", [])
            if not any(t is item for t in tracked):
                tracked.append(item)
        elif hasattr(item, "apply_gradients") and hasattr(item, "_keras_variables"):
            holds_layer = True  # an optimizer: Keras's weights file keeps its state too
    if holds_layer and name.startswith("_"):
        private = state.setdefault("_user_private", [])
        if name not in private:
            private.append(name)


def _set_by_convnp() -> bool:
    """Whether the assignment `tracking_setattr` handles was made by convnp's own code."""
    return sys._getframe(2).f_globals.get("__name__", "").partition(".")[0] == "convnp"


def _is_metric(item) -> bool:
    """A metric object (by what it does: convnp's metrics sit above the layers)."""
    return not hasattr(item, "trainable_weights") and all(
        callable(getattr(item, name, None)) for name in ("update_state", "result", "reset_state"))


# convnp's bookkeeping on layers, never tracked even when a user's code assigns it
_INTERNAL = frozenset({"_tracked_layers", "_variables", "_user_private", "_tape_cache",
                       "_tracked_metrics",
                       "_added_losses", "_weight_regularizers",
                       "_inbound_nodes"})
