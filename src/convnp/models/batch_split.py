"""Inference split by examples: each core runs the whole model on its share of the batch.

The kernels share a step's work between the cores op by op (`convnp.ops.threads`): every
conv, normalization and pooling cuts its batch in parts, the threads run one part each, and
the next op waits for both. In inference no op reads another example's numbers, so the batch
can be cut once instead: each thread runs every call of the model on its own examples (its
kernels run in that thread alone, `convnp.ops.threads.serial_region`) and the outputs are
joined. The threads then never wait for each other between ops, and each one's activations
are half as large, so more of them stay in cache.

A schedule is split only when every call in it is known to treat examples independently in
inference (`per_example`):

- a built-in layer of one of the classes named in `PER_EXAMPLE_NAMES` (the exact class: a user
  subclass with its own ``call`` is not trusted), with a built-in activation;
- not called with ``training=True`` fixed (``Dropout(...)(x, training=True)`` draws random
  numbers; ``training=False``, as a frozen base model is called, is fine);
- without an activity regularizer (its penalty reads the whole output);
- or a fused unit, or a nested model, all of whose layers are.

An ``axis`` argument needs no check but Softmax's: the other built-in layers that take one
refuse the batch axis, while a Softmax over the batch axis (TF 2.21 allows it) mixes the
examples, so it keeps the op-by-op split. A `Lambda`, a TensorFlow op or a custom layer keeps the op-by-op split, and so does a
batch of fewer than `MIN_EXAMPLES` examples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from convnp import activations
from convnp import layers as _layers
from convnp.models.folded import Folded
from convnp.models.fused import Unit
from convnp.ops import threads

# Built-in layers that never mix examples in inference.
PER_EXAMPLE_NAMES = (
    # kernels
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Dense",
    # activations
    "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    # normalizations (in inference: moving statistics, or statistics of one example)
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "RMSNormalization", "LayerScale", "Normalization", "Rescaling",
    # pooling
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalMaxPooling3D", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
    # shapes
    "InputLayer", "Identity", "Flatten", "Reshape", "Permute", "RepeatVector",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
    "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Resizing", "CenterCrop",
    # merging
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
    "CustomScaleLayer",
    # arithmetic with a constant (``x / 255.0``, preprocess_input)
    "TensorFlowOpLayer",
    # the identity in inference
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout",
)
PER_EXAMPLE = frozenset(getattr(_layers, name) for name in PER_EXAMPLE_NAMES)

# Fewer examples than this run op by op (one example has nothing to split).
MIN_EXAMPLES = 2


def per_example(schedule: Sequence) -> bool:
    """Whether every call of an inference ``schedule`` (`Graph.inference_schedule`) treats
    examples independently (see the module docstring)."""
    return all(_layer_per_example(node.layer) for node in schedule)


def _layer_per_example(layer) -> bool:
    if layer._graph is not None:  # a nested model
        nested = layer._graph
        return not layer._fixed_training and layer.activity_regularizer is None \
            and per_example(nested.inference_schedule())
    if isinstance(layer, (Folded, Unit)):  # calls run as one
        return all(_layer_per_example(member) for member in layer.members)
    if type(layer) not in PER_EXAMPLE or layer._fixed_training \
            or layer.activity_regularizer is not None:
        return False
    if isinstance(layer, _layers.Softmax) and _over_the_batch(layer):
        return False
    activation = getattr(layer, "activation", None)
    return activation is None or _built_in(activation)


def _over_the_batch(softmax) -> bool:
    """Whether a (built) Softmax normalizes along the batch axis."""
    shape = softmax.input_shape
    if not isinstance(shape, tuple) or not shape:
        return True  # not known: keep it whole
    axes = softmax.axis if isinstance(softmax.axis, list) else [softmax.axis]
    return any(a % len(shape) == 0 for a in axes)


def _built_in(activation) -> bool:
    kind = type(activation)
    return kind.__module__ == activations.__name__ and kind is not activations.CallableActivation


def run_by_examples(run: Callable[[list], list], inputs: list) -> list | None:
    """``run(inputs)`` with the batch cut between the cores, each thread running ``run`` on
    its examples in a `serial_region`; the outputs joined along the batch axis. None (nothing
    run) when there is one core to use or too few examples."""
    sizes = {len(x) for x in inputs}
    m = sizes.pop() if len(sizes) == 1 else 0
    if m < MIN_EXAMPLES:
        return None
    with threads.parallel_region() as workers:
        if workers <= 1:
            return None

        def part(examples: range) -> list:
            rows = slice(examples[0], examples[-1] + 1)
            with threads.serial_region():
                return run([x[rows] for x in inputs])

        parts = threads.map_parts(part, range(m))
    return [np.concatenate(outputs) for outputs in zip(*parts)]
