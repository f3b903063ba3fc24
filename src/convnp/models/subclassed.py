"""Subclassed models: ``class MyModel(tf.keras.Model)`` with layers in ``__init__`` and a
``call`` written by the user.

Such a model has no graph of its own. On first use (``model(x)``, ``build(shape)``, fit,
predict, evaluate) it gets a one-call graph ``Input -> ModelCall(model)``, so ``fit``,
``evaluate`` and ``predict`` run it like any other model. `ModelCall` runs the user's
``call`` under a private `GradientTape` and answers ``backward`` from that tape (built-in
layers inside still use their own backward as the tape's VJP). Layers and Variables assigned
to attributes are tracked in assignment order: they make ``model.layers`` and
``model.weights``.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from convnp.layers import taped
from convnp.layers.base import Layer, snake_case


class ModelCall(Layer):
    """The single layer call of a subclassed model's graph (see the module docstring)."""

    _mode_when_unset = None  # as its model: the layers the user's call runs decide

    def __init__(self, model):
        super().__init__(name=f"{model.name}_call")
        self.model = model
        self._subclassed_model = model  # what `taped.added_losses` looks into
        params = inspect.signature(type(model)._user_call).parameters
        self._takes_training = "training" in params or any(
            p.kind is p.VAR_KEYWORD for p in params.values())

    @property
    def _scope_owner(self):
        # the layers the user's call builds sit below the model's name, not this stand-in's
        return self.model

    @property
    def weights(self):
        return self.model.weights

    @property
    def trainable_weights(self):
        return self.model.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.model.non_trainable_weights

    def run(self, inputs, training=False):
        """The user's own ``call`` (tensor ops and layer calls, recorded by active tapes)."""
        user_call = type(self.model)._user_call
        self.model.__dict__["_added_losses"] = []  # the model's own add_loss, this call
        with taped.training_scope(training):  # the layers it calls follow its mode
            if self._takes_training:
                return user_call(self.model, inputs, training=training)
            return user_call(self.model, inputs)

    def call(self, inputs, training=False):
        # a dict of outputs goes through the graph as one output per key (sorted, as Keras 3
        # flattens a dict); the model gives them back as a dict (`note_structure`)
        return taped.run_taped(self, lambda x: flat_outputs(self.model, self.run(x, training)),
                               inputs)

    def compute_output_shape(self, input_shape):
        """The shape the first call on data gave (`Model._first_call`), for inputs of that
        shape; else found by a trial call (`taped.trial_output_shape`)."""
        known = self.__dict__.get("_known_output")
        if known is not None and tuple(input_shape) == known[0]:
            return known[1]
        return taped.trial_output_shape(self, input_shape)

    backward = taped.taped_backward


def mark_subclass(cls) -> None:
    """Called for every Model subclass: user classes with their own ``call`` get attribute
    tracking and the subclassed-model behaviour. A user class with no ``call`` at all (a GAN
    or a VAE: a `train_step` over models held in attributes) gets the tracking and its own
    default name; it is a *step-only* model while it has no graph (see `custom_step`)."""
    if cls.__module__.startswith("convnp."):
        return
    if "call" not in vars(cls):
        if getattr(cls, "_user_call", None) is None and not cls._builds_lazily:
            cls._may_be_step_only = True
            cls._default_name = snake_case(cls.__name__)
            cls.__setattr__ = taped.tracking_setattr
        return
    user_call = vars(cls)["call"]
    if getattr(user_call, "_routes_through_graph", False):
        return
    cls._user_call = user_call

    def call(self, inputs, training=False, **kwargs):
        # what an outer model's graph calls when this model is one of its layers: go through
        # the one-call graph, so that `backward` finds the tape of this forward
        if self._graph is None:
            self._build_for_shape((None,) + tuple(np.shape(inputs))[1:])
        outs = self._graph.forward([inputs], training=bool(training))
        return outs[0] if len(outs) == 1 else outs

    call._routes_through_graph = True
    cls.call = call
    if "build" in vars(cls):
        cls.build = _user_build(vars(cls)["build"])
    cls._subclassed = True
    cls._default_name = snake_case(cls.__name__)
    cls._autodiff = True
    cls.__setattr__ = taped.tracking_setattr


def _user_build(user_build):
    """A subclassed model's own ``build(input_shape)`` (which makes its variables with
    `add_weight`), run once, as Keras 3 runs it: by the first call on data (through
    `run_user_build`) or by the user. Once it has run, a shape given makes the model's graph
    too, so the model is built (Keras marks it built)."""
    if getattr(user_build, "_runs_once", False):
        return user_build

    @functools.wraps(user_build)
    def build(self, input_shape=None, *args, **kwargs):
        if not self.__dict__.get("_user_build_done"):
            self.__dict__["_user_build_done"] = True
            user_build(self, input_shape, *args, **kwargs)
        if self._graph is None and input_shape is not None:
            self._build_for_shape(tuple(input_shape))

    build._runs_once = True
    return build


def run_user_build(model, batch_shape) -> None:
    """Before a subclassed model's graph is made: its own ``build``, if it has one and it has
    not run (`_user_build`)."""
    if getattr(type(model).build, "_runs_once", False) and \
            not model.__dict__.get("_user_build_done"):
        model.__dict__["_user_build_done"] = True
        type(model).build.__wrapped__(model, tuple(batch_shape))


def build_graph(model, batch_shape, wrapper: ModelCall | None = None, output_shape=None):
    """The one-call graph of a subclassed model for inputs of ``batch_shape``; with
    ``output_shape`` (what a call on data gave) no trial call finds it."""
    from convnp.models.functional import Graph, Input

    inputs = Input(batch_shape=(None,) + tuple(batch_shape)[1:])
    wrapper = wrapper if wrapper is not None else ModelCall(model)
    if output_shape is not None:
        wrapper.__dict__["_known_output"] = (tuple(inputs.shape), output_shape)
    return Graph(inputs, wrapper(inputs))  # a call returning several: one output each


def flat_outputs(model, out):
    """What a user's ``call`` returned, with a dict of tensors as a tuple of its values in
    sorted-key order; notes the structure on ``model`` (`note_structure`)."""
    note_structure(model, out)
    if isinstance(out, dict):
        return tuple(out[key] for key in sorted(out))
    return out


def note_structure(model, out) -> None:
    """Have the model give its outputs back as its ``call`` returns them: a dict by key, a
    tuple or a list (Keras 3's predict and call keep the structure)."""
    if isinstance(out, dict):
        bad = [key for key in out if not isinstance(key, str)]
        if bad or not out:
            raise TypeError(f"{type(model).__name__}.call() returned a dict: its keys must be "
                            f"strings and it must not be empty, got keys {list(out)}")
    model.__dict__["_output_keys"] = sorted(out) if isinstance(out, dict) else None
    model.__dict__["_outputs_in_tuple"] = isinstance(out, tuple)


def output_shapes(out):
    """The output shape(s), batch axis None, of what a user's ``call`` returned (a dict's in
    sorted-key order)."""
    if isinstance(out, dict):
        return [output_shapes(out[key]) for key in sorted(out)]
    if isinstance(out, (list, tuple)):
        return [output_shapes(o) for o in out]
    return (None,) + tuple(np.shape(out))[1:]
