"""Where Keras 3 keeps each variable of a model in its weights file, nested models and users'
layers included.

Keras saves a model by walking it as a tree of objects (observed on Keras 3.15, see
``tests/fixtures/KERAS_FORMAT.md``):

* a Sequential or functional model stores no variables of its own (an empty ``vars`` group
  named after it) and lists its layers under ``layers/<key>``, where ``<key>`` is the
  snake-case *class* name made unique with ``_1``, ``_2``, ... in the order of
  ``model.layers``. A model used as a layer is such a subtree: ``layers/sequential/vars``,
  ``layers/sequential/layers/dense/vars/0``, ...;
* a built-in layer stores its variables as ``<path>/vars/0``, ``1``, ...; a built-in layer
  holding layers stores them as children (a wrapper's ``<path>/layer``, a Pipeline's
  ``<path>/layers/<key>``) and only its own variables in ``<path>/vars``: such a class gives
  `keras_children` and `keras_own_variables`;
* a user's layer (or a subclassed model) stores its own variables, trainable ones first, then
  each layer held in one of its attributes under ``<path>/<attribute>`` (a list of layers
  under ``<path>/<attribute>/<key>``), attributes in sorted order; a subclassed model's
  ``layers`` property counts as one of them (a layer in an attribute sorting after it is
  stored as ``<path>/layers/<key>``);
* an object reached twice (a nested model used twice, a layer shared by two models) is
  stored once, where the walk first meets it.

`state_groups` is that walk, used both to write and to read, so the two always agree.
"""

from __future__ import annotations

from typing import Any

from convnp._checks import NotSavableError


def refuse_step_only(model) -> None:
    """A user's model with no call (a GAN's `train_step` over the models it holds) has no
    layout of its own to save: a `NotSavableError` saying to save the models it holds."""
    if getattr(model, "_step_only", False):
        raise NotSavableError(f"model '{model.name}' has no call(), so no file layout of its own: "
                         "save the models it holds (e.g. its generator) one by one")


def is_model(obj) -> bool:
    """Whether ``obj`` is a convnp model (used as a layer, or the model being saved)."""
    from convnp.models import Model

    return isinstance(obj, Model)


def is_user_object(obj) -> bool:
    """A layer or model of a class the user wrote (not convnp's own)."""
    if is_model(obj):
        return bool(getattr(obj, "_subclassed", False))
    from convnp.layers.registry import is_builtin

    return not is_builtin(type(obj))


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _own_variables(obj) -> list:
    if is_model(obj) and not is_user_object(obj):
        return []
    if is_user_object(obj):
        own = list(getattr(obj, "_variables", ()))
        return [v for v in own if v.trainable] + [v for v in own if not v.trainable]
    own = getattr(obj, "keras_own_variables", None)  # a built-in layer holding layers
    return list(own() if own is not None else obj.weights)


def _is_saveable(value) -> bool:
    from convnp.layers.base import Layer

    return isinstance(value, Layer) or is_model(value)


def _container_children(items, path: str) -> list[tuple[str, Any]]:
    # Keras's saving names a child by `naming.to_snake_case` of its class, the rule layer names
    # follow: ConvLSTM2D -> conv_lstm2d (serialization's spelling, for initializers and
    # metrics, would give conv_lst_m2d)
    from convnp.layers.base import class_snake_name

    counts: dict[str, int] = {}
    children = []
    for item in items:
        base = class_snake_name(type(item)) if _is_saveable(item) else "container"
        n = counts.get(base, 0)
        counts[base] = n + 1
        key = base if n == 0 else f"{base}_{n}"
        if _is_saveable(item):
            children.append((_join(path, key), item))
        elif isinstance(item, (list, tuple)):
            children.extend(_container_children(item, _join(path, key)))
    return children


def _children(obj, path: str) -> list[tuple[str, Any]]:
    if is_model(obj) and not is_user_object(obj):
        # Sequential lists its stacked layers, a functional model its layers in Keras's order
        return _container_children(list(obj.layers), _join(path, "layers"))
    if not is_user_object(obj):
        # a built-in layer holding layers names them as Keras stores them (a wrapper's
        # ``layer``, a Pipeline's ``layers``)
        held = getattr(obj, "keras_children", None)
        children = []
        for name, value in (held() if held is not None else {}).items():
            if isinstance(value, (list, tuple)):
                children.extend(_container_children(value, _join(path, name)))
            else:
                children.append((_join(path, name), value))
        return children
    # Keras walks the public attributes in sorted order, then the private ones (sorted), each
    # object once; a subclassed model's `layers` property is one of the public ones, so a
    # layer whose attribute sorts after "layers" (or is private) is stored as layers/<key>
    # (keys counted over all of model.layers). The private ones are those the user's code set
    # (convnp's own private state holds no saveable state of Keras's).
    attributes = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    if is_model(obj):
        attributes["layers"] = list(obj.layers)
    private = {k: vars(obj)[k] for k in vars(obj).get("_user_private", ()) if k in vars(obj)}
    attributes.update(private)
    children = []
    for name in sorted(attributes, key=lambda k: (k.startswith("_"), k)):
        value = attributes[name]
        if _is_saveable(value) and value is not obj:
            children.append((_join(path, name), value))
        elif isinstance(value, dict):
            children.extend(_container_children(list(value.values()), _join(path, name)))
        elif isinstance(value, (list, tuple)):
            children.extend(_container_children(value, _join(path, name)))
    return children


def held_optimizers(model) -> list[tuple[str, Any]]:
    """``(path, optimizer)`` for each optimizer a user's model keeps in its own attributes
    besides the one `compile` gave it (CycleGAN's ``self.gen_G_optimizer = ...`` in its
    `compile` override). Keras's walk meets them as it meets layers and stores their
    variables under ``<attribute>/vars`` (a list of them under ``<attribute>/<class key>``);
    one optimizer under two attributes is stored under the first in Keras's order.

    Only the model's own attributes are looked at (an optimizer kept by one of its layers
    is not), and the compiled optimizer is always the ``optimizer`` group."""
    from convnp.layers.base import class_snake_name
    from convnp.optimizers import Optimizer

    if not (is_model(model) and is_user_object(model)):
        return []
    compiled = getattr(model, "optimizer", None)
    seen = {id(compiled)}
    found: list[tuple[str, Any]] = []

    def add(path: str, value) -> None:
        if id(value) not in seen:
            seen.add(id(value))
            found.append((path, value))

    attributes = {k: v for k, v in vars(model).items() if not k.startswith("_")}
    attributes.update({k: vars(model)[k] for k in vars(model).get("_user_private", ())
                       if k in vars(model)})
    for name in sorted(attributes, key=lambda k: (k.startswith("_"), k)):
        value = attributes[name]
        if isinstance(value, Optimizer):
            add(name, value)
        elif isinstance(value, (list, tuple, dict)):
            counts: dict[str, int] = {}  # Keras's keys count every saveable in the list
            items = list(value.values()) if isinstance(value, dict) else value
            for item in items:
                if not (isinstance(item, Optimizer) or _is_saveable(item)):
                    continue
                base = class_snake_name(type(item))
                n = counts.get(base, 0)
                counts[base] = n + 1
                if isinstance(item, Optimizer):
                    add(_join(name, base if n == 0 else f"{base}_{n}"), item)
    return found


def state_groups(model) -> list[tuple[str, Any, list]]:
    """``(path, object, variables)`` for every object Keras gives a ``<path>/vars`` group, in
    the order of Keras's walk (the model itself first, with path ``""``)."""
    groups: list[tuple[str, Any, list]] = []
    seen: set[int] = set()

    def visit(obj, path: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        groups.append((path, obj, _own_variables(obj)))
        for child_path, child in _children(obj, path):
            visit(child, child_path)

    visit(model, "")
    return groups


def vars_path(path: str) -> str:
    """The HDF5 group of one object's variables."""
    return _join(path, "vars")


__all__ = ["held_optimizers", "is_model", "is_user_object", "state_groups", "vars_path"]
