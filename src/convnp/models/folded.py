"""The inference schedule: a convolution and the calls after it run as one `Folded` call.

In inference mode (``predict``, ``evaluate``, ``model(x)`` with no tape recording) nothing
needs a backward pass, and a `BatchNormalization` is a fixed affine map per channel. So a
`Conv2D`, `DepthwiseConv2D` or `Dense` whose only reader is a batch normalization runs with
the normalization folded into its weights (`convnp.ops.fold`), and the calls that follow, each
the only reader of the one before, join it:

- a two-input `Add` of equal shapes (a residual block's end), added in place;
- a ReLU, plain or capped (``ReLU(6.0)``, ``Activation("relu")``), applied in place;
- a `MaxPooling2D` whose windows tile its input (after a `Conv2D`, with no `Add`): the conv
  and the pool run as `convnp.ops.conv_pool` (a ReLU commutes with the max, so it runs on
  the pooled values).

A convolution with its own ReLU activation (and no batch normalization) is a unit too when a
tiling max pool reads it. The folded weights are kept on the unit and rebuilt when one of the
variables they come from changed (`convnp.variables.Variable.mark_modified`, called by every
write through convnp). The layers' own weights are never touched.

The rest of the model then gets the training schedule's rewrites (`Graph._execution_schedule`);
under the plain path (`convnp.config`) none of this happens.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from convnp import activations, ops
from convnp.layers import _utils
from convnp.layers.base import LayerContract
from convnp.layers.conv import Conv2D
from convnp.layers.core import Dense
from convnp.layers.depthwise import DepthwiseConv2D
from convnp.layers.merging import Add
from convnp.layers.normalization import BatchNormalization
from convnp.models.fused import relu_cap, tiles
from convnp.ops import batchnorm
from convnp.ops.conv_pool import conv_max_pool_forward
from convnp.ops.depthwise import depthwise_conv_forward
from convnp.ops.fold import finish_inplace, fold_kernel, pointwise_forward

_KERNEL_LAYERS = (Conv2D, DepthwiseConv2D, Dense)


class Folded(LayerContract):
    """``pool(relu(batch_norm(layer(x)) + shortcut))`` in inference mode, every part but
    ``layer`` optional: one kernel call with folded weights, then one in-place pass.

    Args:
        layer: a `Conv2D`, `DepthwiseConv2D` or `Dense` (linear when ``bn`` is given).
        bn: the `BatchNormalization` folded into ``layer`` (None: the weights as they are).
        add: an `Add` whose other input (the shortcut) is the unit's second input.
        relu: the ReLU layer after them (None: the layer's own activation decides).
        pool: a tiling `MaxPooling2D` (only after a `Conv2D`, without ``add``).

    Inference only: `call` keeps nothing and `backward` refuses.
    """

    def __init__(self, layer, bn=None, add=None, relu=None, pool=None):
        self.layer, self.bn, self.add, self.relu, self.pool = layer, bn, add, relu, pool
        self.members = tuple(m for m in (layer, bn, add, relu, pool) if m is not None)
        self.name = "+".join(m.name for m in self.members)
        self._activation = layer.activation  # what the chain was matched with
        if relu is not None:
            self.rectify, self.max_value = True, relu_cap(relu)[1]
        else:
            self.rectify, self.max_value = _own_relu(layer)
        self._folded: tuple | None = None  # (key, kernel, bias)
        # a Dense layer, or a 1x1 conv (its 'same' pads nothing): one GEMM on the pixels
        self._pointwise = type(layer) is Dense or (
            type(layer) is Conv2D and pool is None and layer.kernel_size == (1, 1)
            and layer.dilation_rate == (1, 1))

    trainable_weights = property(lambda self: [w for m in self.members
                                               for w in m.trainable_weights])
    dtype = property(lambda self: self.layer.dtype)

    def _sources(self) -> list:
        """The variables the kernel's weights come from."""
        layer, bn = self.layer, self.bn
        found = [layer.kernel, layer.bias]
        if bn is not None:
            found += [bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance]
        return [v for v in found if v is not None]

    def weights(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(kernel, bias)`` to run: the layer's own without a batch normalization, else the
        folded ones, rebuilt when a source variable was written or replaced since."""
        layer, bn = self.layer, self.bn
        bias = None if layer.bias is None else layer.bias.value
        if bn is None:
            return layer.kernel.value, bias
        sources = self._sources()
        if self._folded is not None:
            key = self._folded[0]
            if all(v.value is value and v._version == version
                   for v, (value, version) in zip(sources, key)):
                return self._folded[1], self._folded[2]
        key = tuple((v.value, v._version) for v in sources)
        scale, shift = batchnorm.scale_and_shift(
            bn.moving_mean.value, bn.moving_variance.value,
            None if bn.gamma is None else bn.gamma.value,
            None if bn.beta is None else bn.beta.value, bn.epsilon, layer.dtype)
        kernel, bias = fold_kernel(layer.kernel.value, bias, scale, shift)
        self._folded = (key, kernel, bias)
        return kernel, bias

    def call(self, inputs, training: bool = False) -> np.ndarray:
        if training:
            raise RuntimeError(f"{self.name}: a folded unit runs in inference mode only")
        layer = self.layer
        if layer.activation is not self._activation:  # changed since (a probe, a user)
            return self._as_written(inputs)
        shortcut = None
        if self.add is not None:
            inputs, shortcut = inputs
        x = _utils.as_dtype(inputs, layer.dtype)
        kernel, bias = self.weights()
        if self._pointwise:
            if type(layer) is Conv2D and layer.strides != (1, 1):
                x = x[:, ::layer.strides[0], ::layer.strides[1]]  # 1x1: the sampled pixels
            return pointwise_forward(np.ascontiguousarray(x), kernel, bias, shortcut,
                                     self.rectify, self.max_value)
        b4 = layer._zero_bias if bias is None else bias.reshape(1, 1, 1, -1)
        if self.pool is not None:
            z, _ = conv_max_pool_forward(x, kernel, b4, {"stride": layer.strides,
                                                         "pad": layer.padding},
                                         self.pool.pool_size, keep_winners=False)
        elif type(layer) is DepthwiseConv2D:
            z, _ = depthwise_conv_forward(x, kernel, b4, layer._hparameters)
        else:
            z, _ = ops.conv_forward(x, kernel, b4, layer._hparameters)
        return finish_inplace(z, shortcut, self.rectify, self.max_value)

    def _as_written(self, inputs) -> np.ndarray:
        """The member layers one after the other, in inference mode."""
        shortcut = None
        if self.add is not None:
            inputs, shortcut = inputs
        y = self.layer.call(inputs, training=False)
        for member in self.members[1:]:
            if member is self.add:
                y = member.call([y, shortcut], training=False)
            else:
                y = member.call(y, training=False)
            member.clear_call_state()
        self.layer.clear_call_state()
        return y

    def backward(self, dy):
        raise RuntimeError(f"{self.name}: a folded unit runs in inference mode only; "
                           "a forward pass that backward follows uses the training schedule")


def _own_relu(layer) -> tuple[bool, float | None]:
    """Whether a kernel layer's own activation is a ReLU we apply in place, and its cap."""
    if layer.activation is activations.get("relu"):
        return True, None
    if layer.activation is activations.get("relu6"):
        return True, 6.0
    return False, None


def _linear(layer) -> bool:
    return layer.activation is activations.get("linear")


def fold_schedule(graph, nodes: list) -> list:
    """``nodes`` with every foldable chain (see the module docstring) replaced by one
    `Folded` call at the place of its last call."""
    from convnp.layers.pooling import MaxPooling2D

    readers: dict[int, list] = {}  # value slot -> the calls that read it
    for node in nodes:
        for s in node.inputs:
            readers.setdefault(s, []).append(node)
    outputs = set(graph.output_slots)

    def sole_reader(node):
        found = readers.get(node.out, [])
        if node.out in outputs or len(found) != 1 or not graph._fusable(found[0]) \
                or id(found[0]) in absorbed:
            return None
        return found[0]

    def same_dtype(node, layer) -> bool:
        return node is not None and node.layer.dtype == layer.dtype

    placed: dict[int, object] = {}  # id(last call of a chain) -> the unit's call
    absorbed: set[int] = set()
    for node in nodes:
        layer = node.layer
        if node.multi or type(layer) not in _KERNEL_LAYERS or not layer.built \
                or not graph._fusable(node) or id(node) in absorbed:
            continue
        if type(layer) is Conv2D and layer.groups != 1:
            continue  # a grouped kernel is not a conv_forward kernel
        chain, inputs = [node], list(node.inputs)
        nxt = sole_reader(node)
        bn = add = relu = pool = None
        if _linear(layer) and same_dtype(nxt, layer) and not nxt.multi \
                and type(nxt.layer) is BatchNormalization and nxt.layer.built \
                and nxt.layer._axis == len(graph.tensors[node.out].shape) - 1:
            bn = nxt
            chain.append(bn)
            nxt = sole_reader(bn)
        own_relu = _own_relu(layer)[0]
        if not own_relu and not _linear(layer):
            continue
        if not own_relu and same_dtype(nxt, layer) and nxt.multi and type(nxt.layer) is Add \
                and len(nxt.inputs) == 2 and nxt.inputs[0] != nxt.inputs[1]:
            other = nxt.inputs[1 - nxt.inputs.index(chain[-1].out)]
            if graph.tensors[other].shape == graph.tensors[chain[-1].out].shape:
                add = nxt
                chain.append(add)
                inputs.append(other)
                nxt = sole_reader(add)
        if not own_relu and same_dtype(nxt, layer) and not nxt.multi \
                and relu_cap(nxt.layer)[0]:
            relu = nxt
            chain.append(relu)
            nxt = sole_reader(relu)
        if add is None and type(layer) is Conv2D and layer.dilation_rate == (1, 1) \
                and same_dtype(nxt, layer) and not nxt.multi \
                and type(nxt.layer) is MaxPooling2D \
                and tiles(nxt.layer, graph.tensors[node.out].shape):
            pool = nxt
            chain.append(pool)
        if len(chain) == 1:
            continue
        unit = Folded(layer, *(None if n is None else n.layer for n in (bn, add, relu, pool)))
        # the graph's Node, made from the chain's last call (this module does not import
        # the graph's: `functional` imports it)
        placed[id(chain[-1])] = dataclasses.replace(chain[-1], layer=unit, inputs=inputs,
                                                    multi=add is not None)
        absorbed.update(id(n) for n in chain)
    return [placed.get(id(n), n) for n in nodes if id(n) in placed or id(n) not in absorbed]
