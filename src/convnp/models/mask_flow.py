"""A model's forward pass carrying masks beside its values, as Keras 3 runs a functional model.

Keras keeps a mask on the tensor it belongs to (``_keras_mask``) while a model runs, and each
layer call fills in the mask arguments its model did not record from the masks its inputs
carry (`convnp.layers._masks.auto_masks`), then gives its output the mask `compute_mask`
gives when it supports masking. Most masks are also tensors of the model (the ``not_equal``
and ``any`` ops a recurrent layer's ``mask=`` reads), but not all of them:

* a model used as a layer hands the masks its own layers made to what reads its outputs
  (Keras records no mask on its output tensor), and takes the masks of its inputs to its
  layers (``model(x, mask=m)``);
* a call on a list (`Attention`, the merge layers: `Multiply`, `Maximum` and `Minimum` use the
  masks of their inputs) or on several tensors (`MultiHeadAttention`'s query, value and key
  masks) gets its masks only while the model runs;
* `MultiHeadAttention` takes the masks off the tensors it reads: a call reading one of them
  after it sees none.

So a graph with a layer that makes masks (`Embedding(mask_zero=True)`, `Masking`, a model
holding one, ...), or run with masks given, runs here: its calls in Keras's order (the last
point depends on it) and without the scheduler's fused units (which take no masks).
"""

from __future__ import annotations

from convnp.layers import _masks
from convnp.layers._slots import Slot, fill
from convnp.layers.base import OutputPick


def makes_masks(layer) -> bool:
    """Whether calls of ``layer`` may give their output a mask their input did not carry."""
    if layer._graph is not None:
        return not getattr(layer, "_subclassed", False) and tracks(layer._graph)
    return bool(getattr(layer, "_makes_masks", False))


def tracks(graph) -> bool:
    """Whether ``graph`` runs here even with no masks given: a call in it may make a mask, or
    reads one it was given (``layer(x, mask=m)``)."""
    found = graph.__dict__.get("_tracks_masks")
    if found is None:
        found = any(makes_masks(node.layer) or (
            node.template is not None and "mask" in node.template[2]) for node in graph.nodes)
        graph._tracks_masks = found
    return found


def keras_order(graph) -> list:
    """``graph.nodes`` in the order Keras 3 runs a functional model's calls (deepest first;
    within a depth, the order of Keras's ``map_graph``), each `OutputPick` right after the
    call it picks from."""
    found = graph.__dict__.get("_keras_node_order")
    if found is not None:
        return found
    producer = {}  # value slot -> the (non-pick) node that made it
    picks: dict[int, list] = {}
    for node in graph.nodes:
        if isinstance(node.layer, OutputPick):
            source = producer[node.inputs[0]]
            producer[node.out] = source
            picks.setdefault(id(source), []).append(node)
        else:
            producer[node.out] = node
    # Keras's _build_map: a depth-first walk from the outputs, each call after its inputs'
    post_order: list = []
    finished: set[int] = set()
    for slot in graph.output_slots:
        stack = [(producer.get(slot), False)]
        while stack:
            node, expanded = stack.pop()
            if node is None or (id(node) in finished and not expanded):
                continue
            if expanded:
                if id(node) not in finished:
                    finished.add(id(node))
                    post_order.append(node)
                continue
            stack.append((node, True))
            for s in reversed(node.inputs):
                stack.append((producer.get(s), False))
    # Keras's map_graph: depths from the outputs, a shared layer at its deepest call's depth
    depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    by_id = {id(node): node for node in post_order}
    for node in reversed(post_order):
        d = depth.setdefault(id(node), 0)
        d = max(d, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = d
        depth[id(node)] = d
        for s in node.inputs:
            before = producer.get(s)
            if before is not None:
                depth[id(before)] = max(d + 1, depth.get(id(before), 0))
    levels: dict[int, list] = {}
    for key, d in depth.items():
        levels.setdefault(d, []).append(by_id[key])
    order = []
    for d in sorted(levels, reverse=True):
        for node in levels[d]:
            order.append(node)
            order.extend(sorted(picks.get(id(node), []), key=lambda n: n.layer.index))
    graph._keras_node_order = order
    return order


def _first_argument(node, values: list):
    """What Keras calls the first argument of the call, from ``values`` (one per slot of
    ``node.inputs``): the input, or the list of inputs."""
    if node.template is not None:
        return fill(node.template[0], values)
    return values if node.multi else values[0]


def _recorded_mask(node, masks_of_inputs: list):
    """The mask the call recorded (``layer(x, mask=m)``), read from the graph's values."""
    if node.template is None or "mask" not in node.template[2]:
        return None
    return node.template[2]["mask"]


def filled_masks(node, args: list, masks_of_inputs: list) -> dict:
    """The mask arguments Keras fills in for this call while the model runs (only those
    its recorded arguments leave unset)."""
    layer = node.layer
    if isinstance(layer, OutputPick):
        return {}
    if node.template is None:
        inputs, call_args, call_kwargs = _first_argument(node, args), (), {}
        masked = _first_argument(node, masks_of_inputs)
        return _masks.auto_masks(layer, _Carrier.wrap(inputs, masked), call_args, call_kwargs)
    carriers = [_Carrier(a, m) for a, m in zip(args, masks_of_inputs)]
    inputs, call_args, call_kwargs = fill(node.template, carriers)
    return _masks.auto_masks(layer, inputs, call_args, call_kwargs)


class _Carrier:
    """A value of the graph seen with the mask it carries (what `auto_masks` reads)."""

    __slots__ = ("_keras_mask", "value")
    _convnp_keras_tensor = True  # read as a tensor argument

    def __init__(self, value, mask):
        self.value = value
        self._keras_mask = mask

    @classmethod
    def wrap(cls, values, masks):
        if isinstance(values, (list, tuple)):
            return [cls.wrap(v, m) for v, m in zip(values, masks)]
        return cls(values, masks)


def output_mask(node, args: list, previous, value, masks: list):
    """The mask the call's output carries (a list for a call with several outputs)."""
    layer = node.layer
    if isinstance(layer, OutputPick):
        whole = masks[node.inputs[0]]
        return whole[layer.index] if isinstance(whole, list) else None
    own = _masks.mask_of(value)
    if _masks.any_mask(own):
        return own  # the call set it
    if layer._graph is not None:
        found = getattr(layer._graph, "_output_masks", None)
        if found is None:
            return None
        return found if len(found) > 1 else found[0]
    if not layer.supports_masking:
        return None
    computed = layer.compute_mask(_first_argument(node, args), previous)
    if isinstance(value, list):  # a call with several outputs: one mask each
        parts = _masks.flat(computed) if computed is not None else []
        return [parts[i] if i < len(parts) else None for i in range(len(value))]
    return computed


def previous_mask(node, args: list, masks_of_inputs: list, filled: dict):
    """Keras's ``previous_mask`` of a call: its ``mask`` argument when it has one, else the
    mask of its first argument."""
    given = filled.get("mask")
    if given is None:
        recorded = _recorded_mask(node, masks_of_inputs)
        if recorded is not None:
            given = fill(recorded, args)
    if given is not None:
        return given
    return _first_argument(node, masks_of_inputs)


def slots_read(node) -> list[int]:
    """The value slots a call reads as tensors (not its recorded mask)."""
    if node.template is None:
        return list(node.inputs)
    recorded = node.template[2].get("mask")
    skip = {node.inputs[s.index] for s in _slots(recorded)} if recorded is not None else set()
    return [s for s in node.inputs if s not in skip]


def _slots(value) -> list:
    if isinstance(value, Slot):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _slots(v)]
    return []
