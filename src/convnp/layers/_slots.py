"""Call arguments with the symbolic tensors taken out: `Slot` markers where a call's tensor
inputs go (an op on KerasTensors, `convnp.layers.op_layer`; a user's layer called with several
tensor arguments in a functional model, `convnp.layers.base`), filled with values when the
call runs."""

from __future__ import annotations


class Slot:
    """Where the layer's ``index``-th input goes among the op's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __eq__(self, other) -> bool:
        return isinstance(other, Slot) and other.index == self.index

    def __hash__(self) -> int:
        return hash(("slot", self.index))

    def __repr__(self) -> str:
        return f"<input {self.index}>"


def template_of(value, tensors: list):
    """``value`` with each KerasTensor replaced by its `Slot` (appending new ones to
    ``tensors``), inside lists, tuples and dicts too."""
    if getattr(value, "_convnp_keras_tensor", False) is True:
        for i, known in enumerate(tensors):
            if known is value:
                return Slot(i)
        tensors.append(value)
        return Slot(len(tensors) - 1)
    if type(value) in (list, tuple):
        return type(value)(template_of(v, tensors) for v in value)
    if type(value) is dict:
        return {k: template_of(v, tensors) for k, v in value.items()}
    return value


def fill(value, inputs: list):
    """``value`` with each `Slot` replaced by its input."""
    if isinstance(value, Slot):
        return inputs[value.index]
    if type(value) in (list, tuple):
        return type(value)(fill(v, inputs) for v in value)
    if type(value) is dict:
        return {k: fill(v, inputs) for k, v in value.items()}
    return value


def slot_order(value) -> list[int]:
    """The input indices `Slot`s in ``value`` name, in argument order and once per use (a
    tensor passed twice, as ``query`` and ``value``, is listed twice, as Keras lists a call's
    tensor arguments)."""
    if isinstance(value, Slot):
        return [value.index]
    if type(value) in (list, tuple):
        return [i for v in value for i in slot_order(v)]
    if type(value) is dict:
        return [i for v in value.values() for i in slot_order(v)]
    return []


def slots_of(value) -> set[int]:
    """The input indices `Slot`s in ``value`` name."""
    return set(slot_order(value))
