"""The functional graph: `Input`, and the ordered list of layer calls a `Model` executes.

Calling layers on `KerasTensor`s records, in each output tensor, the layer and the input
tensors. `Graph` walks those records back from the model outputs, checks the graph is sound
(reachable from the inputs, no cycle) and sorts the calls so that every layer runs after the
layers that feed it. Forward runs the calls in that order; backward runs them in reverse,
adding up the gradients of a tensor that feeds several layers.

A layer may be called more than once (shared weights: the two towers of a siamese net). Each
call is its own node; a layer keeps what backward needs in ``_cache`` (a nested model in its
own graph), so after each call of a shared layer the graph keeps that call's state and puts it
back before that call's backward, and the weight gradients of the calls are summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convnp import config
from convnp.layers import base, second_order, taped
from convnp.layers._slots import Slot, fill
from convnp.layers.base import KerasTensor, Layer, OutputPick, output_source
from convnp.models import batch_split, mask_flow
from convnp.tensor.eager import to_eager


def Input(shape=None, batch_size: int | None = None, name: str | None = None,
          dtype=None, batch_shape=None) -> KerasTensor:
    """A symbolic model input, as ``tf.keras.Input``.

    Args:
        shape: shape of one example, without the batch axis, e.g. ``(64, 64, 3)``.
        batch_size: optional fixed batch size (``None`` accepts any).
        name: name of the input layer (default ``input_layer``, ``input_layer_1``, ...).
        dtype: dtype of the input layer (float32 by default); layers compute in their own.
        batch_shape: full shape including the batch axis (alternative to ``shape``).

    Returns:
        The `KerasTensor` produced by a new `InputLayer`.
    """
    from convnp.layers import InputLayer

    if shape is None and batch_shape is None:
        raise ValueError("Input() needs `shape` (the shape of one example, e.g. (64, 64, 3))")
    if batch_shape is None:
        if isinstance(shape, int):
            shape = (shape,)
        batch_shape = (batch_size,) + tuple(shape)
    layer = InputLayer(batch_shape=tuple(batch_shape), name=name, dtype=dtype)
    return input_tensor_of(layer)


def input_tensor_of(layer: Layer) -> KerasTensor:
    """The KerasTensor an InputLayer stands for (created once, then reused)."""
    tensor = getattr(layer, "output", None)
    if isinstance(tensor, KerasTensor):
        return tensor
    tensor = getattr(layer, "_model_input_tensor", None)
    if tensor is None:
        shape = getattr(layer, "batch_shape", None) or layer.input_shape_arg
        tensor = KerasTensor(tuple(shape), layer=layer, inputs=[])
        layer._model_input_tensor = tensor
    return tensor


@dataclass
class Node:
    """One layer call: ``outputs[out] = layer(values[inputs])``.

    ``inputs`` and ``out`` index into the value list the executor keeps; ``multi`` says the
    layer takes a list (merge layers) rather than one array.
    """

    layer: Layer
    inputs: list[int]
    out: int
    multi: bool
    active: bool = True  # whether backward must visit this call (set by `plan_backward`)
    fan_in_needs: list[bool] = field(default_factory=list)
    #: a user's layer called with several tensor arguments: ``(inputs, args, kwargs)`` with
    #: `Slot`s for the values ``inputs`` names (`KerasTensor.call_template`)
    template: tuple | None = None

    def run(self, arg, training, masks: dict | None = None):
        """The call's forward on ``arg`` (one value, or the list for ``multi``). ``masks``:
        mask arguments the call did not record, filled in from the masks its inputs carry
        while the model runs (`convnp.models.mask_flow`)."""
        masks = masks or {}
        if self.template is None:
            return self.layer.call(arg, training=training, **masks)
        if self.layer._autodiff:
            return taped.call_template(self.layer, self.template, arg, bool(training), masks)
        # a built-in layer called with its mask (`Layer._call_with_mask`)
        call_in, call_args, call_kwargs = fill(self.template, list(arg))
        return self.layer.call(call_in, *call_args, training=training, **call_kwargs, **masks)

    def gradients(self, dx) -> list:
        """The input gradient ``backward`` returned, one per value of ``inputs`` (None for
        those it gives none: a built-in layer called with a mask sends nothing to it)."""
        if self.template is None or self.layer._autodiff:
            return dx if self.multi else [dx]
        grads: list = [None] * len(self.inputs)
        if dx is None:  # no input gradient wanted (`needs_input_gradient`)
            return grads
        first = self.template[0]
        parts = [(first, dx)] if isinstance(first, Slot) else list(zip(first, dx))
        for slot, g in parts:
            if g is not None:
                index = slot.index
                grads[index] = g if grads[index] is None else grads[index] + g
        return grads


def _readers(schedule: list[Node]) -> dict[int, list[Node]]:
    """For each value slot, the calls of ``schedule`` that read it."""
    readers: dict[int, list[Node]] = {}
    for node in schedule:
        for s in node.inputs:
            readers.setdefault(s, []).append(node)
    return readers


def _as_list(x) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _sum_gradients(total, g):
    """``total + g``; for the outputs of a call with several (lists with None where an output
    got no gradient, `OutputPick.backward`), part by part."""
    if total is None:
        return g
    if isinstance(g, list):
        return [b if a is None else a if b is None else a + b for a, b in zip(total, g)]
    return total + g


# Set while a forward pass runs in inference-only mode, so that nested models follow it (and
# calls in tensor ops skip their private tapes: `taped.run_taped`).
_inference_only = taped.inference_only


class NotAKerasTensorError(TypeError, ValueError):
    """A model's ``inputs`` or ``outputs`` hold something other than KerasTensors (a layer, a
    layer's name, an array). TF 2.21 raises ValueError; it stays a TypeError too, as convnp
    raised before."""


class Graph:
    """The layer calls between ``inputs`` and ``outputs``, in execution order.

    ``nodes`` are the calls as written; ``schedule`` is what forward and backward run: the
    same calls, except that some pairs are reordered or fused when that computes exactly the
    same thing faster (``fuse=False`` keeps every call separate; see `_execution_schedule`).
    Under the plain path (`convnp.config.plain_path`) ``schedule`` is ``nodes``.

    Raises:
        ValueError: an output cannot be reached from the inputs.
        NotAKerasTensorError: inputs or outputs are not KerasTensors (a TypeError and a
            ValueError).
    """

    def __init__(self, inputs, outputs, fuse: bool = True):
        self.inputs: list[KerasTensor] = _as_list(inputs)
        self.outputs: list[KerasTensor] = _as_list(outputs)
        for role, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not tensors:
                raise ValueError(f"Model needs at least one tensor in `{role}`")
            for t in tensors:
                if not isinstance(t, KerasTensor):
                    raise NotAKerasTensorError(
                        f"Model `{role}` must be KerasTensors (from tf.keras.Input and layer "
                        f"calls), got {type(t).__name__}"
                    )
        self._index: dict[int, int] = {}  # id(KerasTensor) -> value slot
        self.tensors: list[KerasTensor] = []
        for t in self.inputs:
            if id(t) in self._index:
                raise ValueError(f"the same tensor {t} is listed twice in the model inputs")
            self._slot(t)
        self.nodes: list[Node] = []
        self._topological_sort()
        self.input_slots = [self._index[id(t)] for t in self.inputs]
        self.output_slots = [self._index[id(t)] for t in self.outputs]
        calls: dict[int, int] = {}
        for node in self.nodes:
            calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
        #: id of every layer called more than once in this graph
        self.shared = {key for key, n in calls.items() if n > 1}
        #: call_index[slot]: which call of its layer (in this graph) made that value
        self.call_index = [0] * len(self.tensors)
        seen: dict[int, int] = {}
        for node in self.nodes:
            if isinstance(node.layer, OutputPick):  # an output of the call that fed it
                self.call_index[node.out] = self.call_index[node.inputs[0]]
                continue
            self.call_index[node.out] = seen.get(id(node.layer), 0)
            seen[id(node.layer)] = self.call_index[node.out] + 1
        self._states: dict[int, object] = {}  # schedule position -> a shared call's state
        self._activity: dict[int, np.ndarray] = {}  # position -> output with a penalty
        # position -> (that output, its penalty as a tensor a recording tape follows)
        self._taped_activity: dict[int, tuple] = {}
        # consumers[slot] = how many calls read that value (for fan-out bookkeeping)
        self.n_consumers = [0] * len(self.tensors)
        for node in self.nodes:
            for s in node.inputs:
                self.n_consumers[s] += 1
        self.fuse = fuse
        self._fast_schedule = self._execution_schedule()
        self._inference: tuple | None = None  # (schedule, last reader of each slot), lazily
        self._ran: list[Node] | None = None  # the schedule of the last forward
        self._planned: tuple | None = None  # (schedule, input_gradients) of `plan_backward`
        #: the masks of the outputs of the last forward that carried masks (`mask_flow`)
        self._output_masks: list | None = None

    @property
    def schedule(self) -> list[Node]:
        """The calls a forward pass runs now: `nodes` under the plain path
        (`convnp.config`), else the reordered and fused schedule."""
        return self.nodes if config.plain_path_enabled() else self._fast_schedule

    def _last_schedule(self) -> list[Node]:
        """The schedule the last forward ran (backward must follow it)."""
        return self.schedule if self._ran is None else self._ran

    def inference_schedule(self) -> list[Node]:
        """The calls an inference-only forward runs (`forward` with ``inference=True``):
        `schedule`, except that with ``fuse`` and off the plain path, convolutions and what
        follows them run folded (`convnp.models.folded`). Nothing may backpropagate through
        it."""
        if config.plain_path_enabled() or not self.fuse:
            return self.schedule
        if self._inference is None:
            from convnp.models.folded import fold_schedule

            schedule = self._execution_schedule(fold_schedule(self, self.nodes))
            last = {}
            for position, node in enumerate(schedule):
                for s in node.inputs:
                    last[s] = position
            self._inference = (schedule, last)
        return self._inference[0]

    def _execution_schedule(self, nodes: list[Node] | None = None) -> list[Node]:
        """The calls forward and backward run: `nodes`, except that a plain ReLU whose only
        reader is a max pooling runs after it, on the pooled tensor.

        ``maxpool(relu(x))`` and ``relu(maxpool(x))`` agree exactly: ReLU is monotone, so the
        window maximum and its first position are the same, and a window whose maximum is
        <= 0 passes no gradient either way. After the swap ReLU touches 1/4 of the values
        behind a 2x2 pool (1/64 behind the SIGNS model's 8x8). Then, with ``fuse``, a linear
        or ReLU Conv2D or a BatchNormalization read only by a tiling max pooling runs fused with it
        (`_fuse_max_pools`), and a BatchNormalization read only by a plain ReLU, directly or
        through a two-input Add, runs fused with them (`_fuse_batch_norm_relu`).
        `nodes` (what summaries and configs show) keeps the model as written; ``nodes``
        given here are used instead of them (the folded calls of `inference_schedule`).
        """
        from convnp.layers.pooling import MaxPooling2D

        nodes = self.nodes if nodes is None else nodes

        readers: dict[int, Node] = {}
        for node in nodes:
            for s in node.inputs:
                readers[s] = node
        outputs = set(self.output_slots)
        swapped: dict[int, list[Node]] = {}  # id(pool node) -> its replacement calls
        skipped: set[int] = set()  # id of ReLU nodes that move
        for node in nodes:
            pool = readers.get(node.out)
            if (node.layer.commutes_with_max_pooling and not node.multi
                    and node.out not in outputs and self.n_consumers[node.out] == 1
                    and isinstance(pool.layer, MaxPooling2D)
                    and not self.is_shared(node.layer) and not self.is_shared(pool.layer)):
                swapped[id(pool)] = [Node(pool.layer, node.inputs, node.out, False),
                                     Node(node.layer, [node.out], pool.out, False)]
                skipped.add(id(node))
        schedule: list[Node] = []
        for node in nodes:
            if id(node) not in skipped:
                schedule.extend(swapped.get(id(node), [node]))
        if not self.fuse:
            return schedule
        return self._fuse_batch_norm_relu(self._fuse_max_pools(schedule))

    def _fusable(self, node: Node) -> bool:
        """Whether a call may be absorbed into a fused unit: not shared, no activity
        regularizer (it reads the layer's own output), no training mode of its own."""
        layer = node.layer
        return not self.is_shared(layer) \
            and layer.activity_regularizer is None and layer._fixed_training is None

    def _fuse_batch_norm_relu(self, schedule: list[Node]) -> list[Node]:
        """Replace ``BatchNormalization -> ReLU`` and ``BatchNormalization -> Add -> ReLU``
        chains (each value read by the next call only, no intermediate one a model output; the
        ReLU's output may be one: no loss fuses with a ReLU) by
        one `convnp.models.fused.BatchNormReLU` call at the ReLU's place: its inputs are the
        batch normalization's input and, with the Add, the Add's other input."""
        from convnp.models.fused import BatchNormReLU

        readers = _readers(schedule)
        outputs = set(self.output_slots)

        def sole_reader(node: Node) -> Node | None:
            found = readers.get(node.out, [])
            if node.out in outputs or len(found) != 1 or not self._fusable(found[0]):
                return None
            return found[0]

        fused: dict[int, Node] = {}  # id(ReLU call) -> the fused call
        absorbed: set[int] = set()
        for node in schedule:
            following = None if node.multi or not self._fusable(node) else sole_reader(node)
            if following is None:
                continue
            add, relu, inputs = None, following, list(node.inputs)
            if following.multi:
                add, relu = following, sole_reader(following)
                if relu is None or len(add.inputs) != 2 or id(add) in absorbed \
                        or add.inputs[0] == add.inputs[1]:
                    continue
                other = add.inputs[1 - add.inputs.index(node.out)]
                if self.tensors[other].shape != self.tensors[node.out].shape:
                    continue  # a broadcasting Add
                inputs.append(other)
            if relu.multi or not BatchNormReLU.applies(
                    node.layer, relu.layer, None if add is None else add.layer):
                continue
            unit = BatchNormReLU(node.layer, relu.layer, None if add is None else add.layer)
            fused[id(relu)] = Node(unit, inputs, relu.out, add is not None)
            absorbed.update({id(node)} if add is None else {id(node), id(add)})
        return [fused.get(id(node), node) for node in schedule if id(node) not in absorbed]

    def _fuse_max_pools(self, schedule: list[Node]) -> list[Node]:
        """Replace each call whose only reader is a tiling MaxPooling2D, when it is a linear
        or ReLU Conv2D or a BatchNormalization over the channels, by one fused call
        (`convnp.models.fused`): the pool's gradient reaches one cell of each window, so the
        layer before it needs its output gradient at those cells only."""
        from convnp.models.fused import BatchNormMaxPool, ConvMaxPool

        readers = _readers(schedule)
        outputs = set(self.output_slots)
        fused: dict[int, Node] = {}  # id(pool call) -> the fused call
        absorbed: set[int] = set()  # id of the calls the fused ones replace
        for node in schedule:
            pools = readers.get(node.out, [])
            if node.multi or node.out in outputs or len(pools) != 1 or pools[0].multi \
                    or self.is_shared(node.layer) or self.is_shared(pools[0].layer) \
                    or node.layer.activity_regularizer is not None:
                continue
            pool, shape = pools[0], self.tensors[node.out].shape
            if any(n.layer._fixed_training is not None for n in (node, pool)):
                continue  # a call with its own training mode runs as written
            for kind in (ConvMaxPool, BatchNormMaxPool):
                if kind.applies(node.layer, pool.layer, shape):
                    fused[id(pool)] = Node(kind(node.layer, pool.layer), node.inputs, pool.out,
                                           False)
                    absorbed.add(id(node))
                    break
        return [fused.get(id(node), node) for node in schedule if id(node) not in absorbed]

    def _slot(self, tensor: KerasTensor) -> int:
        self._index[id(tensor)] = len(self.tensors)
        self.tensors.append(tensor)
        return self._index[id(tensor)]

    def _topological_sort(self) -> None:
        """Iterative depth-first post-order from the outputs (no recursion limit on deep nets)."""
        input_ids = {id(t) for t in self.inputs}
        done: set[int] = set(input_ids)
        in_progress: set[int] = set()
        for out in self.outputs:
            stack: list[tuple[KerasTensor, bool]] = [(out, False)]
            while stack:
                tensor, expanded = stack.pop()
                key = id(tensor)
                if key in done:
                    continue
                if expanded:
                    in_progress.discard(key)
                    done.add(key)
                    slots = [self._index[id(t)] for t in tensor.inputs]
                    slot = self._slot(tensor)
                    template = tensor.call_template
                    multi = len(tensor.inputs) > 1 or template is not None
                    self.nodes.append(Node(tensor.layer, slots, slot, multi,
                                           template=template))
                    continue
                if not tensor.inputs:
                    names = [t.name for t in self.inputs]
                    raise ValueError(
                        f"Graph disconnected: tensor '{tensor.name}' (from layer "
                        f"'{getattr(tensor.layer, 'name', None)}') is needed to compute the "
                        f"outputs but is not one of the model inputs {names}"
                    )
                if key in in_progress:
                    raise ValueError("the layer graph has a cycle")
                in_progress.add(key)
                stack.append((tensor, True))
                for parent in reversed(tensor.inputs):
                    if id(parent) not in done:
                        stack.append((parent, False))

    def is_shared(self, layer) -> bool:
        """Whether ``layer`` is called more than once in this graph."""
        return id(layer) in self.shared

    def ref(self, slot: int) -> tuple[Layer, int, int]:
        """The value in ``slot`` as Keras names a tensor: ``(layer, call, output index)``, the
        layer that made it, which of its calls in this graph, and which of that call's
        outputs (nonzero only for a call with several outputs, `OutputPick`)."""
        layer, index = output_source(self.tensors[slot])
        return layer, self.call_index[slot], index

    @property
    def calls(self) -> list[Node]:
        """`nodes` without the `OutputPick`s: the layer calls a summary or a model file
        lists (a call with several outputs is one call)."""
        return [node for node in self.nodes if not isinstance(node.layer, OutputPick)]

    # -- layers in order ---------------------------------------------------------------------

    @property
    def input_layers(self) -> list[Layer]:
        return [t.layer for t in self.inputs if t.layer is not None]

    @property
    def layers(self) -> list[Layer]:
        """Every layer (input layers included) in the order of Keras's ``model.layers``.

        Keras sorts layers by depth (the longest path from the layer to a model output),
        deepest first, and breaks ties by the order a depth-first walk from the outputs first
        reaches them (following each call's inputs in argument order). So in a residual block
        the main path's last conv and the shortcut conv are listed together, then both batch
        normalizations, then the Add: the course's graders compare layer lists row by row, and
        weight files and `get_weights` follow this order.
        """
        if getattr(self, "_keras_layers", None) is None:
            self._keras_layers = self._keras_order()
        return list(self._keras_layers)

    def _keras_order(self) -> list[Layer]:
        input_ids = {id(t) for t in self.inputs}
        first_visit: dict[int, int] = {}
        layers: dict[int, Layer] = {}
        post_order: list[KerasTensor] = []
        finished: set[int] = set()
        for out in self.outputs:
            stack: list[tuple[KerasTensor, bool]] = [(out, False)]
            while stack:
                tensor, expanded = stack.pop()
                key = id(tensor)
                if expanded:
                    if key not in finished:
                        finished.add(key)
                        post_order.append(tensor)
                    continue
                if key in finished:
                    continue
                layer = output_source(tensor)[0]
                if id(layer) not in first_visit:
                    first_visit[id(layer)] = len(first_visit)
                    layers[id(layer)] = layer
                stack.append((tensor, True))
                if key not in input_ids:
                    stack.extend((parent, False) for parent in reversed(tensor.inputs))
        depth: dict[int, int] = {}
        for tensor in reversed(post_order):  # consumers before producers
            d = depth.setdefault(id(tensor), 0)
            if id(tensor) not in input_ids:
                # an output's pick and the call it picks from are one call, at one depth
                step = 0 if isinstance(tensor.layer, OutputPick) else 1
                for parent in tensor.inputs:
                    depth[id(parent)] = max(depth.get(id(parent), 0), d + step)
        layer_depth: dict[int, int] = {}
        for tensor in post_order:
            lid = id(output_source(tensor)[0])
            layer_depth[lid] = max(layer_depth.get(lid, 0), depth[id(tensor)])
        # inputs no output depends on (Keras keeps them) go first, as the deepest
        deepest = max(layer_depth.values(), default=0) + 1
        for layer in self.input_layers:
            if id(layer) not in layers:
                first_visit[id(layer)] = -1
                layers[id(layer)] = layer
                layer_depth[id(layer)] = deepest
        order = sorted(layers, key=lambda lid: (-layer_depth[lid], first_visit[lid]))
        return [layers[lid] for lid in order]

    def inbound_layers(self, node: Node) -> list[Layer]:
        return [self.tensors[s].layer for s in node.inputs]

    # -- execution ---------------------------------------------------------------------------

    def forward(self, inputs: list[np.ndarray], training: bool,
                inference: bool = False, masks: list | None = None) -> list[np.ndarray]:
        """Run every call in order; return the output values.

        ``inference=True`` (with ``training`` False) promises that no backward follows
        (predict, evaluate, a model called with no tape recording): the pass then runs
        `inference_schedule`, drops each value after its last reader and keeps no call's
        forward state; models nested in it do the same.

        ``masks``: one mask (or None) per input, as a model used as a layer is given them.
        A graph that carries masks (`convnp.models.mask_flow`) runs its calls as written, in
        Keras's order, and keeps its outputs' masks in ``_output_masks``.
        """
        self._output_masks = None
        if (masks is not None and any(m is not None for m in masks)) or mask_flow.tracks(self):
            return self._masked_forward(inputs, training, masks, inference)
        if not training and (inference or getattr(_inference_only, "on", False)):
            return self._inference_forward(inputs)
        values: list = [None] * len(self.tensors)
        for slot, x in zip(self.input_slots, inputs):
            values[slot] = x
        shared = self.shared
        # with training left out, each call's mode may hang on the calls before it: the calls
        # as written, in Keras's order (no fused units)
        left_out = training is None and taped.left_out_active()
        self._ran = schedule = mask_flow.keras_order(self) if left_out else self.schedule
        self._activity.clear()  # positions in the schedule run now (another pass's are stale)
        for position, node in enumerate(schedule):
            if node.multi:
                arg = [values[s] for s in node.inputs]
            else:
                arg = values[node.inputs[0]]
            mode = node.layer._fixed_training  # layer(x, training=...)
            if training is None:  # the model was called directly, model(x)
                mode = taped.left_out_mode(node.layer)
            elif mode is None:
                mode = training
            values[node.out] = node.run(arg, mode)
            if shared and id(node.layer) in shared:
                self._states[position] = node.layer.capture_call_state()
            if node.layer.activity_regularizer is not None:
                self._activity[position] = values[node.out]
        return [values[s] for s in self.output_slots]

    def _masked_forward(self, inputs: list, training, masks: list | None,
                        inference: bool) -> list:
        """`forward` carrying a mask beside each value (`convnp.models.mask_flow`)."""
        values: list = [None] * len(self.tensors)
        carried: list = [None] * len(self.tensors)
        for i, (slot, x) in enumerate(zip(self.input_slots, inputs)):
            values[slot] = x
            carried[slot] = masks[i] if masks is not None and i < len(masks) else None
        shared = self.shared
        self._ran = schedule = mask_flow.keras_order(self)
        self._activity.clear()
        inference_only = not training and (inference or getattr(_inference_only, "on", False))
        outer = getattr(_inference_only, "on", False)
        _inference_only.on = inference_only
        try:
            for position, node in enumerate(schedule):
                args = [values[s] for s in node.inputs]
                arg = args if node.multi else args[0]
                mode = node.layer._fixed_training
                if inference_only:
                    mode = bool(mode)
                elif training is None:  # the model was called directly, model(x)
                    mode = taped.left_out_mode(node.layer)
                elif mode is None:
                    mode = training
                held = [carried[s] for s in node.inputs]
                filled = mask_flow.filled_masks(node, args, held)
                previous = mask_flow.previous_mask(node, args, held, filled)
                value = node.run(arg, mode, filled)
                values[node.out] = value
                carried[node.out] = mask_flow.output_mask(node, args, previous, value, carried)
                if getattr(node.layer, "clears_input_masks", False):
                    for s in mask_flow.slots_read(node):
                        carried[s] = None  # Keras's attention takes them off its inputs
                if shared and id(node.layer) in shared:
                    self._states[position] = node.layer.capture_call_state()
                if node.layer.activity_regularizer is not None:
                    self._activity[position] = values[node.out]
        finally:
            _inference_only.on = outer
        self._output_masks = [carried[s] for s in self.output_slots]
        return [values[s] for s in self.output_slots]

    def _inference_forward(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """`forward` in inference-only mode (see there): with the batch cut between the
        cores when every call treats examples independently (`convnp.models.batch_split`)."""
        schedule = self.inference_schedule()
        if not config.plain_path_enabled() and batch_split.per_example(schedule):
            outputs = batch_split.run_by_examples(
                lambda part: self._inference_pass(part, schedule), inputs)
            if outputs is not None:
                return outputs
        return self._inference_pass(inputs, schedule)

    def _inference_pass(self, inputs: list[np.ndarray], schedule: list[Node]
                        ) -> list[np.ndarray]:
        """One inference pass of ``schedule`` (`inference_schedule`) over ``inputs``."""
        values: list = [None] * len(self.tensors)
        for slot, x in zip(self.input_slots, inputs):
            values[slot] = x
        last = self._inference[1] if self._inference is not None \
            and schedule is self._inference[0] else {}
        keep = set(self.output_slots)
        self._ran = schedule
        self._activity.clear()
        outer = getattr(_inference_only, "on", False)
        _inference_only.on = True
        try:
            for position, node in enumerate(schedule):
                if node.multi:
                    arg = [values[s] for s in node.inputs]
                else:
                    arg = values[node.inputs[0]]
                fixed = node.layer._fixed_training
                values[node.out] = node.run(arg, bool(fixed))
                if node.layer.activity_regularizer is not None:
                    self._activity[position] = values[node.out]
                if last:
                    node.layer.clear_call_state()
                    for s in node.inputs:
                        if last.get(s) == position and s not in keep:
                            values[s] = None
        finally:
            _inference_only.on = outer
        return [values[s] for s in self.output_slots]

    def activity_losses(self) -> list:
        """Each activity regularizer's penalty on the last forward's output, divided by the
        batch size (Keras 3). After a call a tape recorded, the tensors `tape_activity_losses`
        made for it (so that ``tape.gradient(loss + sum(model.losses))`` reaches them)."""
        taped_now = [self._taped_activity.get(i) for i in sorted(self._activity)]
        if taped_now and all(t is not None and t[0] is self._activity[i]
                             for i, t in zip(sorted(self._activity), taped_now)):
            return [t[1] for t in taped_now]
        schedule = self._last_schedule()
        return [schedule[i].layer.activity_regularizer(out) / len(out)
                for i, out in sorted(self._activity.items())]

    def tape_activity_losses(self) -> list:
        """The last forward's activity penalties as tensors, kept for `activity_losses`: a
        recorded call makes them outputs of its record, and `backward` scales each penalty's
        gradient by what the tape hands it (none when the loss leaves it out), as TF 2.21
        differentiates ``model.losses``."""
        schedule = self._last_schedule()
        self._taped_activity = {}
        with taped.isolated():  # the penalty's own ops: the record's VJP stands for them
            for i, out in sorted(self._activity.items()):
                value = np.asarray(schedule[i].layer.activity_regularizer(out)) / len(out)
                self._taped_activity[i] = (out, to_eager(value))
        return [self._taped_activity[i][1] for i in sorted(self._activity)]

    def _activity_scale(self, position: int):
        """What the activity penalty at ``position`` is worth to the gradient being run: 1
        outside a recorded call's VJP (fit), else the tape's gradient for its tensor (None
        when the loss differentiated leaves it out)."""
        seeds = taped.current_loss_seeds()
        kept = self._taped_activity.get(position)
        if seeds is None or kept is None or kept[0] is not self._activity.get(position) \
                or id(kept[1]) not in seeds:
            return 1
        return seeds[id(kept[1])]

    def capture_state(self) -> list:
        """What backward needs from the last forward, for every call (a nested model's)."""
        return [self._states.get(i) if self.is_shared(node.layer)
                else node.layer.capture_call_state()
                for i, node in enumerate(self._last_schedule())]

    def restore_state(self, states: list) -> None:
        for i, (node, state) in enumerate(zip(self._last_schedule(), states)):
            if self.is_shared(node.layer):
                self._states[i] = state
            else:
                node.layer.restore_call_state(state)

    def clear_state(self) -> None:
        """Forget every call's forward state (evaluate/predict free memory this way)."""
        self._states.clear()
        self._activity.clear()
        for node in self._fast_schedule + self.nodes:
            node.layer.clear_call_state()

    def plan_backward(self, input_gradients: bool = False) -> None:
        """Mark which calls backward must visit and tell layers whether to compute dx.

        A value needs a gradient when some trainable weight (or, with ``input_gradients``, a
        model input) lies upstream of it. A layer fed only by values that need none (the first
        convolution, or anything between it and the input) skips its input gradient.
        """
        schedule = self._last_schedule()
        self._planned = (schedule, input_gradients)
        needs = [False] * len(self.tensors)
        if input_gradients:
            for s in self.input_slots:
                needs[s] = True
        wanted: dict[int, bool] = {}  # a shared layer computes dx if any of its calls needs it
        for node in schedule:
            fan_in = [needs[s] for s in node.inputs]
            wants_dx = any(fan_in)
            wanted[id(node.layer)] = wanted.get(id(node.layer), False) or wants_dx
            node.layer.needs_input_gradient = wanted[id(node.layer)]
            node.fan_in_needs = fan_in
            node.active = wants_dx or bool(node.layer.weights_to_train())
            needs[node.out] = node.active

    def backward(self, output_grads: list[np.ndarray]) -> list[np.ndarray | None]:
        """Backpropagate ``d loss / d output`` for each output; return d loss / d each input.

        Input gradients are ``None`` unless `plan_backward(input_gradients=True)` was called.
        Every visited layer sets its variables' ``.grad``.
        """
        schedule = self._last_schedule()
        if self._planned is None or self._planned[0] is not schedule:
            # the plain-path switch changed since the plan: plan for what forward ran
            self.plan_backward(False if self._planned is None else self._planned[1])
        grads: list = [None] * len(self.tensors)
        for slot, g in zip(self.output_slots, output_grads):
            if g is not None:
                grads[slot] = g if grads[slot] is None else grads[slot] + g
        summed: dict[int, np.ndarray] = {}  # id(variable) -> gradient summed over the calls
        for position in reversed(range(len(schedule))):
            node = schedule[position]
            dy = grads[node.out]
            scale = self._activity_scale(position) if position in self._activity else None
            if scale is not None and node.active:
                out = self._activity[position]
                extra = node.layer.activity_regularizer.gradient(out) / out.dtype.type(len(out))
                extra = extra * np.asarray(scale, dtype=extra.dtype)  # 1 in fit: exact
                dy = extra if dy is None else dy + extra
            if not node.active or (dy is None and not taped.added_losses(node.layer)):
                continue
            # dy None: no loss reads this output, but the layer (a user's layer, a nested
            # model) added losses; its backward gives their gradient alone (a model compiled
            # without a loss trains on model.losses, as in Keras 3)
            shared = id(node.layer) in self.shared
            if shared:
                node.layer.restore_call_state(self._states.get(position))
            second_order.keep_output_gradient(self, schedule, position, dy)
            dx = node.gradients(node.layer.backward(dy))
            if shared:
                for v in node.layer.weights_to_train():
                    if v.grad is not None:
                        summed[id(v)] = v.grad if id(v) not in summed else summed[id(v)] + v.grad
            for s, g, need in zip(node.inputs, dx, node.fan_in_needs):
                if g is None or not need:
                    continue
                # a value read by several layers gets the sum of their gradients (a new
                # array, so a layer's returned array is never modified in place)
                grads[s] = _sum_gradients(grads[s], g)
            grads[node.out] = None  # free memory early
        if summed:
            for layer in self.layers:
                for v in layer.weights_to_train():
                    if id(v) in summed:
                        v.grad = summed[id(v)]
        return [grads[s] for s in self.input_slots]


#: Input sizes `trial_through_sources` tries, a pair at a time (the unknown axes of the
#: model inputs at the first size, then the second): small ones first, then multiples of 32,
#: the stride of the usual backbones, so that a feature pyramid's levels line up.
_SOURCE_TRIAL_SIZES = ((16, 24), (64, 96))


def trial_through_sources(tensors: list, call):
    """The output shape(s) of ``call(values)`` for the KerasTensors ``tensors``, where the
    values are *consistent*: the functional graph from the model inputs the tensors come from
    runs on zeros, and its results are the values.

    `taped.trial_output_shape` gives each input its own zeros, which fails for a call whose
    inputs' sizes are tied: keras.io's RetinaNet decodes ``(images, predictions)``, where the
    number of predictions follows the image size. Axes that change between the two sizes of a
    pair are unknown (None), as there; the first pair the graph and the call both run at
    decides.

    Raises:
        the last pair's error, when no pair runs.
    """
    unique = list({id(t): t for t in tensors}.values())
    sources: list = []  # the model inputs they come from, each once
    pending, seen = list(unique), set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.inputs:
            pending.extend(current.inputs)
        elif all(current is not known for known in sources):
            sources.append(current)
    graph = Graph(sources, unique, fuse=False)
    position = {id(t): i for i, t in enumerate(unique)}

    def run(size):
        zeros = [np.zeros((1,) + tuple(size if d is None else int(d) for d in s.shape[1:]),
                          dtype=getattr(s, "dtype", "float32")) for s in sources]
        with taped.isolated():
            values = graph.forward(zeros, training=False, inference=True)
            return taped._shapes_of(call([values[position[id(t)]] for t in tensors]))

    error = None
    for sizes in _SOURCE_TRIAL_SIZES:
        try:
            first, second = (run(size) for size in sizes)
            return taped._merge_trials(first, second)
        except Exception as failure:  # noqa: BLE001 (sizes this graph cannot take)
            error = failure
    raise error


base.tied_trial_hook = trial_through_sources
