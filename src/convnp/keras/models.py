"""``tf.keras.models``: `Sequential`, `Model`, and `load_model` (from `convnp.saving`)."""

from __future__ import annotations

import warnings

from convnp.keras.saving import load_model, save_model
from convnp.layers._slots import fill
from convnp.layers.base import OutputPick
from convnp.models import Model, Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json",
           "save_model"]


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model with the architecture of ``model``, as Keras 3's ``clone_model``.

    Each layer of a Sequential or functional model is made by ``clone_function(layer)``
    (default: a new layer of the same class from ``layer.get_config()``, so weights start
    fresh; copy them with ``clone.set_weights(model.get_weights())``). A layer called more
    than once is cloned once, so shared layers stay shared. Input layers are always new,
    unless ``input_tensors`` gives the KerasTensors to build on (the structure of
    ``model.input``: one tensor, a list, or a dict by input name).

    ``call_function(layer, inputs, **kwargs)`` (functional models only) calls each cloned
    layer, so it can add layers around it. With ``recursive=True`` nested Sequential and
    functional models are cloned the same way (``clone_function`` reaches their layers);
    otherwise ``clone_function`` gets the nested model itself.

    A compiled model gives a clone compiled the same way (with a new optimizer). A
    subclassed model is rebuilt from its config (``type(model).from_config(
    model.get_config())``), and takes neither ``clone_function`` nor ``input_tensors``
    nor ``call_function``, as in Keras.

    Raises:
        ValueError: unknown keyword arguments; ``input_tensors`` that are not KerasTensors
            or do not match the inputs; ``call_function`` with a Sequential model; any of
            the three with a subclassed model.
        TypeError: ``model`` is not a model; a function argument is not callable.
    """
    cache = kwargs.pop("_cache", None)
    if kwargs:
        raise ValueError(f"clone_model got unexpected keyword argument(s) {sorted(kwargs)}")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a Model, got {type(model).__name__}")
    for what, fn in (("clone_function", clone_function), ("call_function", call_function)):
        if fn is not None and not callable(fn):
            raise TypeError(f"clone_model: {what} must be callable, got {fn!r}")
    if isinstance(model, Sequential) and not model._subclassed:
        if call_function is not None:
            raise ValueError("clone_model: call_function is for functional models only; a "
                             "Sequential model lists its layers without calling them")
        clone = _clone_sequential(model, _cloner(clone_function, None, recursive, cache),
                                  input_tensors)
    elif not (model._subclassed or model._step_only) and model._graph is not None:
        clone = _clone_functional(model, _cloner(clone_function, call_function, recursive,
                                                 cache), input_tensors, call_function)
    else:
        given = [n for n, v in (("clone_function", clone_function),
                                ("input_tensors", input_tensors),
                                ("call_function", call_function)) if v is not None]
        if given:
            raise ValueError(f"clone_model: {', '.join(given)}: for Sequential and "
                             f"functional models; {type(model).__name__} '{model.name}' is a "
                             "subclassed model (it is rebuilt from its get_config())")
        return _clone_subclassed(model)
    _compile_like(model, clone)
    return clone


def _clone_subclassed(model):
    """Keras's rule for a model class of the user's: a new instance from its own
    ``get_config()``, through its ``from_config`` (default: ``cls(**config)``), built for
    the input shape of ``model`` when that one is built (TF 2.21's clone has its weights,
    fresh ones, at once)."""
    cls = type(model)
    # a class with no get_config of its own gives Keras's base config and, when they are
    # plain values, its constructor's arguments (`Model._subclass_config`)
    config = model.get_config()
    if getattr(cls.from_config, "__func__", None) is getattr(Model.from_config, "__func__",
                                                                None):
        clone = cls(**config)
    else:
        clone = cls.from_config(config)
    inputs = getattr(model, "inputs", None) if model.built else None
    if inputs and len(inputs) == 1 and not clone.built:
        clone.build((None, *tuple(inputs[0].shape)[1:]))
    return clone


def _cloner(clone_function, call_function, recursive: bool, cache):
    """``clone_function`` made to give one clone per layer (shared layers stay shared) and,
    with ``recursive``, to clone nested models through `clone_model`."""
    if clone_function is None:
        def clone_function(layer):
            return type(layer).from_config(layer.get_config())
    cache = {} if cache is None else cache

    def clone(layer):
        key = id(layer)
        if key not in cache:
            if recursive and isinstance(layer, Model) and not layer._subclassed \
                    and not layer._step_only:
                cache[key] = clone_model(
                    layer, clone_function=clone_function, recursive=True, _cache=cache,
                    call_function=None if isinstance(layer, Sequential) else call_function)
            else:
                cache[key] = clone_function(layer)
        return cache[key]

    return clone


def _check_keras_tensors(tensors) -> None:
    from convnp.layers.base import KerasTensor

    flat = list(tensors.values()) if isinstance(tensors, dict) else (
        list(tensors) if isinstance(tensors, (list, tuple)) else [tensors])
    bad = [type(t).__name__ for t in flat if not isinstance(t, KerasTensor)]
    if bad:
        raise ValueError(f"clone_model: input_tensors must be KerasTensors (from "
                         f"keras.Input or layer calls), got {bad}")


def _new_input(tensor, name=None):
    from convnp.models import Input

    return Input(batch_shape=tuple(tensor.shape), dtype=getattr(tensor.layer, "dtype", None),
                 name=name)


def _clone_sequential(model, clone, input_tensors):
    from convnp.layers import InputLayer

    layers = [clone(layer) for layer in model.layers]
    first = model._input_layer
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError(f"clone_model: a Sequential model takes one input tensor, "
                                 f"got {len(input_tensors)}")
            input_tensors = input_tensors[0]
        _check_keras_tensors(input_tensors)
        tensor = input_tensors
        if tensor.inputs or not isinstance(tensor.layer, InputLayer):
            # a tensor computed elsewhere: the clone starts from an input of its shape
            tensor = _new_input(tensor, name=None if first is None else first.name)
        layers = [tensor, *layers]
    elif first is not None:
        layers = [_new_input(first.output if hasattr(first, "output") else
                             _input_of(first), name=first.name), *layers]
    return Sequential(layers, name=model.name, trainable=model.trainable)


def _input_of(layer):
    from convnp.models.functional import input_tensor_of

    return input_tensor_of(layer)


def _clone_functional(model, clone, input_tensors, call_function):
    graph = model._graph
    old_inputs = list(graph.inputs)
    keys = model._input_keys
    if input_tensors is None:
        new_inputs = [_new_input(t, name=t.layer.name) for t in old_inputs]
    else:
        _check_keras_tensors(input_tensors)
        if keys is not None:
            if not isinstance(input_tensors, dict) or set(input_tensors) != set(keys):
                raise ValueError(f"clone_model: input_tensors must be a dict with the keys "
                                 f"{list(keys)} (the model's inputs), got {input_tensors!r}")
            new_inputs = [input_tensors[k] for k in keys]
        else:
            new_inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) \
                else [input_tensors]
            single = len(old_inputs) == 1 and not isinstance(model.input, (list, tuple))
            if len(new_inputs) != len(old_inputs) or (
                    single and isinstance(input_tensors, (list, tuple))):
                raise ValueError(f"clone_model: input_tensors must have the structure of "
                                 f"model.input ({model.input!r}), got {input_tensors!r}")
    made = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    for node in graph.nodes:
        if isinstance(node.layer, OutputPick):  # one output of the cloned call before it
            made[id(graph.tensors[node.out])] = made[id(graph.tensors[node.inputs[0]])][
                node.layer.index]
            continue
        layer = clone(node.layer)
        args = [made[id(graph.tensors[s])] for s in node.inputs]
        arg = args if node.multi else args[0]
        call_kwargs = {}
        if node.layer._fixed_training is not None:  # layer(x, training=...) in the original
            call_kwargs["training"] = node.layer._fixed_training
        if node.template is not None:  # layer(x, g, scale=2.0) in the original
            call_in, call_args, template_kwargs = fill(node.template, args)
            call_kwargs = {**template_kwargs, **call_kwargs}
            call = call_function if call_function is not None else (
                lambda target, *a, **k: target(*a, **k))
            made[id(graph.tensors[node.out])] = call(layer, call_in, *call_args, **call_kwargs)
            continue
        made[id(graph.tensors[node.out])] = (
            call_function(layer, arg, **call_kwargs) if call_function is not None
            else layer(arg, **call_kwargs))
    outputs = [made[id(t)] for t in graph.outputs]
    inputs_arg = dict(zip(keys, new_inputs)) if keys is not None else (
        new_inputs if isinstance(model.input, (list, tuple)) else new_inputs[0])
    outputs_arg = model._structured_outputs(outputs)
    cls = type(model)
    try:
        clone_of = cls(inputs=inputs_arg, outputs=outputs_arg, name=model.name)
    except TypeError:  # a subclass whose constructor takes other arguments: Keras's rule
        clone_of = Model(inputs=inputs_arg, outputs=outputs_arg, name=model.name)
    if not model.trainable:
        clone_of.trainable = False
    return clone_of


def _compile_like(model, clone) -> None:
    """Compile ``clone`` as ``model`` was (a new optimizer from its config), as Keras does."""
    from convnp import optimizers
    from convnp.io.compile_state import compile_config, loss_objects, resolve_functions

    config = compile_config(model)
    if config is None:
        return
    try:
        optimizer = config.get("optimizer")
        loss = loss_objects(resolve_functions(config.get("loss")))
        metrics = resolve_functions(config.get("metrics") or [])
    except ValueError as error:  # a user's function nobody registered: found by name only
        warnings.warn(f"clone_model: the clone of '{model.name}' is not compiled: {error}",
                      UserWarning, stacklevel=3)
        return
    clone.compile(optimizer=optimizers.deserialize(optimizer) if optimizer else "rmsprop",
                  loss=loss, metrics=metrics, loss_weights=config.get("loss_weights"))


def model_from_json(json_string: str, custom_objects=None):
    """A model (fresh weights) from `Model.to_json` output, or from the JSON real Keras's
    ``model.to_json()`` writes (layers convnp implements; a user's Model subclass from its
    registered class or ``custom_objects``). JSON with a non-empty ``compile_config`` (a
    compiled model's ``to_json()``) gives a compiled model, as in TF 2.21, so that ``fit``
    runs on it at once; a compile config convnp cannot follow leaves it uncompiled, warned.

    Raises:
        ValueError: not JSON, or not a Sequential/functional model config.
        UnknownClassError (a ValueError and a TypeError, TF's type): a user's class that
            is neither registered nor in ``custom_objects``.
    """
    import json

    from convnp.serialization import CustomObjectScope

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json expects a JSON string: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("model_from_json expects {'class_name': ..., 'config': {...}}")  # noqa: TRY004
    kind = config.get("class_name")
    # custom_objects: the user's layer classes and Lambda functions the JSON names (registered
    # ones are found without them); nothing else is looked up or run
    with CustomObjectScope(custom_objects):
        if "module" in config:  # written by Keras itself
            from convnp.io.keras_format import _compile_from_config, model_from_keras_config

            model = model_from_keras_config(config)
            compiled = config.get("compile_config")
            if isinstance(compiled, dict) and compiled:
                _compile_from_config(model, compiled, "model_from_json")
            return model
        if kind == "Sequential":
            return Sequential.from_config(config["config"], custom_objects=custom_objects)
        if kind in ("Functional", "Model"):
            return Model.from_config(config["config"], custom_objects=custom_objects)
    raise ValueError(f"model_from_json: model class {kind!r} is not supported (Sequential "
                     "or Functional)")
