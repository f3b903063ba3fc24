"""Numbers behind the pictures: layer activations and class-score gradients of a model.

These functions need no matplotlib. They run the model's own layers (each layer's ``call``
and hand-written ``backward``, never a fused unit), in inference mode, on sub-graphs of the
model's graph:

* `layer_outputs` runs the graph from the model inputs to the chosen layers;
* `score_gradient` runs it to one layer (or the input), then the rest of the graph from that
  layer to the output, and backpropagates ``d score / d activation``.

The *score* of a class is the output layer's value before its softmax or sigmoid when it has
one (the logit, as the Grad-CAM paper uses: probabilities saturate), otherwise the output
itself. Only layers of the model's own graph can be probed, not layers inside a nested model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convnp import activations
from convnp.layers.base import KerasTensor, Layer
from convnp.models.functional import Graph

# output activations whose argument is the score
_SQUASHING = ("softmax", "sigmoid")


def _graph(model) -> Graph:
    graph = getattr(model, "_graph", None)
    if graph is None:
        raise ValueError(f"model '{getattr(model, 'name', model)}' is not built yet: call it "
                         "on data or give its first layer an input_shape")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(f"expected a model with one input and one output, got "
                         f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs")
    return graph


def find_layer(model, layer) -> Layer:
    """The model's layer named ``layer`` (a str), at index ``layer`` (an int), or ``layer``
    itself (a Layer of the model)."""
    graph = _graph(model)
    called = [node.layer for node in graph.calls]
    if isinstance(layer, Layer) and any(layer is found for found in called):
        return layer
    if isinstance(layer, str):
        for found in called:
            if found.name == layer:
                return found
        raise ValueError(f"model has no layer named {layer!r}; its layers: "
                         f"{[found.name for found in called]}")
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        layers = model.layers
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"layer index {layer} is out of range for a model with "
                             f"{len(layers)} layers")
        return find_layer(model, layers[layer])
    raise TypeError(f"expected a layer name, index or Layer of the model, got {layer!r}")


def conv_layers(model) -> list[Layer]:
    """The model's layers with a 4-D kernel ``(f_h, f_w, n_C_prev, n_C)``, in call order."""
    found = []
    for node in _graph(model).calls:
        kernel = getattr(node.layer, "kernel", None)
        if kernel is not None and np.ndim(getattr(kernel, "value", kernel)) == 4:
            found.append(node.layer)
    return found


def spatial_layers(model) -> list[Layer]:
    """Layers whose output is a feature map ``(m, n_H, n_W, n_C)``, in call order."""
    graph = _graph(model)
    return [node.layer for node in graph.calls if graph.tensors[node.out].outputs is None
            and len(graph.tensors[node.out].shape) == 4]


def _tensor_of(graph: Graph, layer: Layer) -> KerasTensor:
    for node in graph.calls:
        if node.layer is layer:
            if graph.tensors[node.out].outputs is not None:
                raise ValueError(f"layer '{layer.name}' returns several tensors; probe a "
                                 "layer that reads the one you want")
            return graph.tensors[node.out]
    raise ValueError(f"layer '{layer.name}' is not called in this model's graph")


def as_batch(model, x) -> np.ndarray:
    """One image ``(H, W, C)`` or a batch ``(m, H, W, C)`` as a float batch the model takes."""
    graph = _graph(model)
    x = np.asarray(x)
    want = tuple(graph.inputs[0].shape[1:])
    if x.ndim == len(want):
        x = x[None]
    if x.ndim != len(want) + 1 or any(w is not None and w != g
                                       for w, g in zip(want, x.shape[1:])):
        raise ValueError(f"model '{model.name}' takes images of shape {want} (or a batch of "
                         f"them), got an array of shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"expected real numbers for the image, got dtype {x.dtype}")
    x = x.astype(model.dtype, copy=False)
    if not np.isfinite(x).all():
        raise ValueError("the image holds NaN or infinite values")
    return x


def layer_outputs(model, x, layers) -> list[np.ndarray]:
    """The activations of ``layers`` (Layers of the model) for the batch ``x``, in inference
    mode."""
    graph = _graph(model)
    tensors = [_tensor_of(graph, layer) for layer in layers]
    sub = Graph(graph.inputs, tensors, fuse=False)
    return [np.asarray(v) for v in sub.forward([as_batch(model, x)], training=False)]


@dataclass
class ScoreGradient:
    """What `score_gradient` returns.

    Attributes:
        values: the activations the gradient is taken with respect to (the input batch when
            no layer was named), shape ``(m, ...)``.
        gradient: ``d score / d values``, same shape.
        class_index: the class scored for each example, shape ``(m,)``.
        output: the model's output (after its activation) for the batch.
    """

    values: np.ndarray
    gradient: np.ndarray
    class_index: np.ndarray
    output: np.ndarray


def score_gradient(model, x, layer=None, class_index=None) -> ScoreGradient:
    """Gradient of each example's class score with respect to a layer's output (or the input).

    Args:
        model: a built single-input, single-output model.
        x: an image ``(H, W, C)`` or a batch.
        layer: the layer (name, index or Layer); ``None`` for the model input.
        class_index: the class to score: an int for every example, one per example, or
            ``None`` for each example's predicted class. A single-unit sigmoid output has one
            class, 0 (its logit; the gradient then points towards "positive").

    Raises:
        ValueError: bad layer, image or class index.
    """
    graph = _graph(model)
    batch = as_batch(model, x)
    if layer is None:
        start, side, values, side_values = graph.inputs[0], [], batch, []
    else:
        start = _tensor_of(graph, find_layer(model, layer))
        side = _side_inputs(graph, start)
        values, *side_values = Graph(graph.inputs, [start, *side], fuse=False).forward(
            [batch], training=False)
        values = np.asarray(values)
    head = Graph([start, *side], graph.outputs, fuse=False)
    if not head.nodes:
        raise ValueError(f"layer '{start.name}' is the model output: there is nothing after "
                         "it to take a gradient through")
    last = head.nodes[-1].layer
    activation = getattr(last, "activation", None)
    squashed = getattr(activation, "name", None) in _SQUASHING
    saved_flags = {id(node.layer): (node.layer, node.layer.needs_input_gradient)
                   for node in head.nodes}
    head.plan_backward(input_gradients=True)
    try:
        if squashed:
            last.activation = activations.get("linear")
        try:
            scores = np.asarray(head.forward([values, *side_values], training=False)[0])
            flat = scores.reshape(len(scores), -1)
            chosen = _class_indices(flat, class_index, activation)
            d_scores = np.zeros_like(flat)
            d_scores[np.arange(len(flat)), chosen] = 1.0
            gradient = head.backward([d_scores.reshape(scores.shape)])[0]
        finally:
            if squashed:
                last.activation = activation
    finally:
        for layer_obj, flag in saved_flags.values():
            layer_obj.needs_input_gradient = flag
    output = activation.forward(scores) if squashed else scores
    return ScoreGradient(values, np.asarray(gradient), chosen, np.asarray(output))


def _side_inputs(graph: Graph, start: KerasTensor) -> list[KerasTensor]:
    """Values the graph after ``start`` reads that do not depend on ``start`` (a residual
    shortcut from before it, say): the sub-graph from ``start`` takes them as fixed inputs.

    Raises:
        ValueError: the output does not depend on ``start``.
    """
    depends = {id(start)}
    side: dict[int, KerasTensor] = {}
    for node in graph.nodes:  # topological order
        if any(id(graph.tensors[s]) in depends for s in node.inputs):
            depends.add(id(graph.tensors[node.out]))
    if not all(id(t) in depends for t in graph.outputs):
        raise ValueError(f"the model output does not depend on layer '{start.name}'")
    for node in graph.nodes:
        out = graph.tensors[node.out]
        if id(out) in depends and out is not start:
            for s in node.inputs:
                tensor = graph.tensors[s]
                if id(tensor) not in depends:
                    side.setdefault(id(tensor), tensor)
    return list(side.values())


def _class_indices(flat_scores: np.ndarray, class_index, activation) -> np.ndarray:
    m, n_classes = flat_scores.shape
    if class_index is None:
        if n_classes == 1:
            return np.zeros(m, dtype=np.intp)
        return flat_scores.argmax(axis=1)
    chosen = np.asarray(class_index)
    if chosen.dtype.kind not in "iu":
        raise TypeError(f"class_index must be an int or ints, got {class_index!r}")
    chosen = np.broadcast_to(chosen, (m,)).astype(np.intp) if chosen.ndim == 0 else chosen
    if chosen.shape != (m,):
        raise ValueError(f"class_index needs one class per example ({m}), got shape "
                         f"{chosen.shape}")
    if chosen.min() < 0 or chosen.max() >= n_classes:
        raise ValueError(f"class_index must lie in [0, {n_classes - 1}], got {class_index!r}")
    return chosen


def saliency_values(model, x, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """Saliency maps ``max over channels |d score / d pixel|``, shape ``(m, H, W)``, and the
    class scored for each example."""
    result = score_gradient(model, x, None, class_index)
    return np.abs(result.gradient).max(axis=-1), result.class_index


def gradcam_values(model, x, layer=None, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM maps at the input's height and width, shape ``(m, H, W)``, and the classes.

    For the feature maps ``A_k`` of a convolutional layer (the last one by default), each
    channel's weight is the spatial mean of ``d score / d A_k``; the map is
    ``ReLU(sum_k weight_k * A_k)``, resized bilinearly to the image. Values are not
    normalised (an all-zero map means no region raised the score).
    """
    if layer is None:
        convs = conv_layers(model)
        if not convs:
            raise ValueError("the model has no convolutional layer for Grad-CAM; pass layer=")
        layer = convs[-1]
    result = score_gradient(model, x, layer, class_index)
    if result.values.ndim != 4:
        raise ValueError(f"Grad-CAM needs a layer with feature maps (m, H, W, C); layer "
                         f"{getattr(layer, 'name', layer)!r} outputs shape "
                         f"{result.values.shape}")
    weights = result.gradient.mean(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * result.values).sum(axis=-1), 0.0)
    height, width = as_batch(model, x).shape[1:3]
    return resize_bilinear(cams, height, width), result.class_index


def resize_bilinear(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``(m, h, w)`` maps to ``(m, height, width)``, sampling at pixel centres
    (half-pixel rule, edges clamped)."""
    maps = np.asarray(maps, dtype=np.float64)
    _, h, w = maps.shape

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(pos).astype(np.intp)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, pos - low

    r0, r1, fr = axis(h, height)
    c0, c1, fc = axis(w, width)
    rows = maps[:, r0, :] * (1 - fr)[None, :, None] + maps[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc) + rows[:, :, c1] * fc
