"""ONNX exporters of `EinsumDense` and `MultiHeadAttention`.

An `EinsumDense` on its own is ONNX's Einsum with the layer's equation (+ the bias, the
activation). Inside `MultiHeadAttention` the four projections are MatMul + Add: each one
contracts the input's last axes (one for query, key and value, the heads and their channels
for the output) with the kernel seen as a matrix, so Reshapes around one MatMul do it. The
attention itself is Keras 3.15's, step by step:

    scores  = (query / sqrt(key_dim)) . key      over the channels, per head
    weights = softmax(scores) over the key's attended axes (masked pairs at -1e9 first)
    output  = weights . value

With the default attended axes (every axis between the batch and the features) they are
flattened into one, so the products are batched MatMuls on ``(batch, heads, steps, channels)``;
other ``attention_axes`` run through Einsum with the layer's own equations. The causal mask
(``use_causal_mask=True``) is built from the sequences' lengths at run time (Range, Less).
"""

from __future__ import annotations

import math

import numpy as np

from convnp.io import protobuf as pb
from convnp.io._onnx_graph import PLAIN, Builder, Value, activation, f32, has_activation, refuse
from convnp.io._onnx_sequence import call_arguments


def einsum_dense(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """Einsum(equation) of the input and the kernel, + bias (broadcast as the layer adds
    it), then the activation."""
    base = layer.name
    pre = f"{base}/linear" if has_activation(layer) else base
    kernel = b.constant(f"{base}/kernel", f32(layer.kernel.value))
    y = b.node("Einsum", [b.get(inputs[0], PLAIN), kernel],
               f"{pre}/einsum" if layer.bias is not None else pre,
               equation=layer.equation.replace(" ", ""))
    if layer.bias is not None:
        y = b.node("Add", [y, b.constant(f"{base}/bias", f32(layer.bias.value))], pre)
    y = activation(b, layer.activation, y, PLAIN, len(out_shape), base, layer)
    return Value(out_shape, {PLAIN: y})


def _project(b: Builder, dense, x: str, rank: int, bound: int, base: str) -> str:
    """A projection `EinsumDense` (Keras's: the last ``bound`` input axes contracted with the
    kernel's leading ones, the kernel's other axes added) as Reshape, MatMul, Add, Reshape."""
    kernel = dense.kernel.value
    added = kernel.shape[bound:]
    if bound > 1:
        x = b.node("Reshape", [x, b.ints(f"{base}/flat_shape", [0] * (rank - bound) + [-1])],
                   f"{base}/flat")
    matrix = b.constant(f"{base}/kernel", f32(kernel.reshape(-1, int(np.prod(added)))))
    y = b.node("MatMul", [x, matrix], f"{base}/matmul")
    if dense.bias is not None:
        y = b.node("Add", [y, b.constant(f"{base}/bias", f32(dense.bias.value.reshape(-1)))],
                   f"{base}/biased")
    if len(added) > 1:
        y = b.node("Reshape", [y, b.ints(f"{base}/shape", [0] * (rank - bound) + list(added))],
                   f"{base}/heads")
    return y


def check_attention(b: Builder, node, graph) -> None:
    """Refuse what `multi_head_attention` cannot write: masks carried by the inputs, masks
    on anything but sequences, unknown sizes where attended axes must be flattened."""
    from convnp.io._onnx_sequence import check_call

    check_call(b, node, graph)
    layer = node.layer
    extra = set(call_arguments(node)) - {"value", "key", "attention_mask",
                                         "return_attention_scores", "use_causal_mask"}
    if extra:
        raise refuse(layer, f"call arguments {sorted(extra)} have no ONNX form")
    axes = layer._attention_axes
    rank = len(graph.tensors[node.inputs[0]].shape) + 1
    default = axes == tuple(range(1, rank - 2))
    kwargs = call_arguments(node)
    for name in ("use_causal_mask", "attention_mask"):
        given = kwargs.get(name)
        if given is not None and given is not False and not (default and len(axes) == 1):
            raise refuse(layer, f"{name} is exported for sequences (the one axis between the "
                                f"batch and the features attended) only, got attention_axes "
                                f"{axes} on inputs of rank {rank - 1}")
    if default and len(axes) > 1:
        for slot in node.inputs:
            shape = graph.tensors[slot].shape
            if any(d is None for d in shape[1:-1]):
                raise refuse(layer, f"the attended axes of an input of shape {shape} must "
                                    "have known sizes (they are flattened into one)")


def _operand(b: Builder, inputs: list[Value], given, base: str) -> str:
    """A call argument: a model tensor (`Slot`) or a constant array."""
    from convnp.layers._slots import Slot

    if isinstance(given, Slot):
        return b.get(inputs[given.index], PLAIN)
    return b.constant(base, f32(np.asarray(given)))


def _causal_mask(b: Builder, q: str, k: str, base: str, axis: int = 1) -> str:
    """``(steps_q, steps_k)`` booleans, True where key step <= query step, from the lengths
    of axis ``axis`` of ``q`` and ``k`` at run time."""
    zero, one = b.ints(f"{base}/zero", [0]), b.ints(f"{base}/one", [1])

    def steps(x: str, label: str) -> str:
        length = b.node("Slice", [b.node("Shape", [x], f"{base}/{label}_shape"),
                                  b.ints(f"{base}/{label}_from", [axis]),
                                  b.ints(f"{base}/{label}_to", [axis + 1])],
                        f"{base}/{label}_steps_vector")
        length = b.node("Squeeze", [length, zero], f"{base}/{label}_steps")
        start, delta = (b.constant(f"{base}/{label}_{n}", np.array(v, np.int64))
                        for n, v in (("start", 0), ("delta", 1)))
        return b.node("Range", [start, length, delta], f"{base}/{label}_range")

    rows = b.node("Unsqueeze", [steps(q, "query"), one], f"{base}/rows")
    cols = b.node("Unsqueeze", [steps(k, "key"), zero], f"{base}/cols")
    return b.node("Not", [b.node("Less", [rows, cols], f"{base}/after")], f"{base}/causal")


def multi_head_attention(b: Builder, layer, inputs: list[Value], out_shape
                         ) -> Value | list[Value]:
    """Keras 3.15's MultiHeadAttention call (see the module docstring)."""
    from convnp.layers._slots import Slot

    base = layer.name
    kwargs = call_arguments(b.call)
    template_query = b.call.template[0] if b.call.template is not None else Slot(0)
    query = inputs[template_query.index]
    value_value = inputs[kwargs["value"].index] if isinstance(kwargs.get("value"), Slot) \
        else query
    key_value = inputs[kwargs["key"].index] if isinstance(kwargs.get("key"), Slot) \
        else value_value
    rank = query.rank + 1  # the projected tensors: (batch, ..., heads, channels)
    q = _project(b, layer.query_dense, b.get(query, PLAIN), query.rank, 1, f"{base}/query")
    k = _project(b, layer.key_dense, b.get(key_value, PLAIN), key_value.rank, 1, f"{base}/key")
    v = _project(b, layer.value_dense, b.get(value_value, PLAIN), value_value.rank, 1,
                 f"{base}/value")
    q = b.node("Mul", [q, b.scalar(f"{base}/inverse_sqrt_key_dim",
                                   1.0 / math.sqrt(float(layer.key_dim)))], f"{base}/scaled")
    axes = layer._attention_axes
    default = axes == tuple(range(1, rank - 2))
    mask = None
    if kwargs.get("use_causal_mask"):
        mask = _causal_mask(b, q, k, f"{base}/causal")
    given = kwargs.get("attention_mask")
    if given is not None:  # (batch, T, S), nonzero where a pair attends; over the heads
        chosen = b.node("Cast", [_operand(b, inputs, given, f"{base}/attention_mask")],
                        f"{base}/given_mask", to=pb.BOOL)
        chosen = b.node("Unsqueeze", [chosen, b.ints(f"{base}/heads_axis", [1])],
                        f"{base}/given_mask_heads")
        mask = chosen if mask is None else b.node("And", [chosen, mask], f"{base}/mask")
    wants_scores = bool(kwargs.get("return_attention_scores"))
    # Keras's unfused path (scores asked, dropout, not sequences) zeroes the masked weights
    # (a query that may see no key then attends to nothing rather than to all alike)
    zero_hidden = mask is not None and (layer.dropout > 0 or wants_scores or rank != 4)
    if default:
        out, weights = _attention_by_matmul(b, layer, q, k, v, query, key_value, mask,
                                            zero_hidden, base)
    else:
        out, weights = _attention_by_einsum(b, layer, q, k, v, base)
    output = _project(b, layer.output_dense, out, rank, 2, f"{base}/attention_output")
    if not wants_scores:
        return Value(out_shape, {PLAIN: output})
    return [Value(out_shape[0], {PLAIN: output}), Value(out_shape[1], {PLAIN: weights})]


def _softmax_masked(b: Builder, scores: str, mask: str | None, base: str,
                    zero_hidden: bool = False) -> str:
    """Softmax over the last axis; masked pairs at -1e9 before (and 0 after, with
    ``zero_hidden``)."""
    if mask is not None:
        scores = b.node("Where", [mask, scores, b.scalar(f"{base}/hidden", -1e9)],
                        f"{base}/masked_scores")
    weights = b.node("Softmax", [scores], f"{base}/weights", axis=-1)
    if zero_hidden:
        weights = b.node("Where", [mask, weights, b.scalar(f"{base}/zero", 0.0)],
                         f"{base}/visible_weights")
    return weights


def _attention_by_matmul(b: Builder, layer, q: str, k: str, v: str, query: Value,
                         key_value: Value, mask, zero_hidden: bool, base: str
                         ) -> tuple[str, str]:
    """Default attended axes: flattened into one, then (batch, heads, steps, channels)
    MatMuls; the output back in the query's axes, the weights in Keras's scores shape."""
    attended_q = list(query.shape[1:-1])
    attended_k = list(key_value.shape[1:-1])
    several = len(attended_q) > 1
    heads, key_dim, value_dim = layer.num_heads, layer.key_dim, layer.value_dim
    if several:  # (B, *A, N, H) -> (B, prod(A), N, H): the sizes are known (checked)
        q, k, v = (b.node("Reshape", [t, b.ints(f"{base}/{label}_flat_shape",
                                                 [0, -1, heads, size])], f"{base}/{label}_flat")
                   for t, label, size in ((q, "q", key_dim), (k, "k", key_dim),
                                          (v, "v", value_dim)))
    q_t = b.node("Transpose", [q], f"{base}/query_heads", perm=[0, 2, 1, 3])
    k_t = b.node("Transpose", [k], f"{base}/key_heads", perm=[0, 2, 3, 1])
    v_t = b.node("Transpose", [v], f"{base}/value_heads", perm=[0, 2, 1, 3])
    scores = b.node("MatMul", [q_t, k_t], f"{base}/scores")  # (B, N, T, S)
    weights = _softmax_masked(b, scores, mask, base, zero_hidden)
    combined = b.node("MatMul", [weights, v_t], f"{base}/combined")  # (B, N, T, Hv)
    out = b.node("Transpose", [combined], f"{base}/combined_steps", perm=[0, 2, 1, 3])
    if several:
        out = b.node("Reshape", [out, b.ints(f"{base}/combined_shape",
                                             [0, *attended_q, heads, value_dim])],
                     f"{base}/combined_axes")
        weights = b.node("Reshape", [weights, b.ints(f"{base}/scores_shape",
                                                     [0, heads, *attended_q, *attended_k])],
                         f"{base}/scores_axes")
    return out, weights


def _attention_by_einsum(b: Builder, layer, q: str, k: str, v: str,
                         base: str) -> tuple[str, str]:
    """Other attended axes: the layer's own einsums; a softmax over several key axes runs on
    them flattened into one."""
    scores = b.node("Einsum", [k, q], f"{base}/scores", equation=layer._dot_product_equation)
    count = len(layer._softmax_axes)
    if count == 1:
        weights = _softmax_masked(b, scores, None, base)
    else:
        rank = len(layer._dot_product_equation.split("->")[1])
        flat = b.node("Reshape", [scores, b.ints(f"{base}/scores_flat_shape",
                                                 [0] * (rank - count) + [-1])],
                      f"{base}/scores_flat")
        weights = b.node("Reshape", [_softmax_masked(b, flat, None, base),
                                     b.node("Shape", [scores], f"{base}/scores_shape")],
                         f"{base}/weights_axes")
    out = b.node("Einsum", [weights, v], f"{base}/combined", equation=layer._combine_equation)
    return out, weights


# -- Attention and AdditiveAttention: one head, no projections ---------------------------------


def check_dot_attention(b: Builder, node, graph) -> None:
    """Refuse masks (the inputs' or ``mask=``) and call arguments without an ONNX form."""
    from convnp.io._onnx_sequence import check_call

    check_call(b, node, graph)
    extra = set(call_arguments(node)) - {"return_attention_scores", "use_causal_mask"}
    if extra:
        raise refuse(node.layer, f"call arguments {sorted(extra)} have no ONNX form")


def dot_attention(b: Builder, layer, inputs: list[Value], out_shape) -> Value | list[Value]:
    """Keras 3's Attention (``dot``: ``q . k * scale``; ``concat``: ``w * sum(tanh(scale *
    (q_i + k_j)))``) and AdditiveAttention (``sum(scale * tanh(q_i + k_j))``); the causal
    mask lowers hidden scores by 1e9; softmax over the keys, then the weighted values."""
    base = layer.name
    kwargs = call_arguments(b.call)
    if b.call.template is not None:
        order = [slot.index for slot in b.call.template[0]]
        inputs = [inputs[i] for i in order]
    query, value = (b.get(v, PLAIN) for v in inputs[:2])
    key = b.get(inputs[2], PLAIN) if len(inputs) > 2 else value
    rank = inputs[0].rank
    scale = None if layer.scale is None else b.constant(f"{base}/scale",
                                                        f32(layer.scale.value))
    if type(layer).__name__ == "Attention" and layer.score_mode == "dot":
        swap = [*range(rank - 2), rank - 1, rank - 2]
        key_t = b.node("Transpose", [key], f"{base}/key_transposed", perm=swap)
        scores = b.node("MatMul", [query, key_t], f"{base}/products")
        if scale is not None:
            scores = b.node("Mul", [scores, scale], f"{base}/scaled_products")
    else:  # every query plus every key: (B, Tq, Tv, dim)
        pairs = b.node("Add", [
            b.node("Unsqueeze", [query, b.ints(f"{base}/query_axis", [rank - 1])],
                   f"{base}/query_column"),
            b.node("Unsqueeze", [key, b.ints(f"{base}/key_axis", [rank - 2])],
                   f"{base}/key_row")], f"{base}/pairs")
        additive = type(layer).__name__ == "AdditiveAttention"
        if scale is not None and not additive:
            pairs = b.node("Mul", [pairs, scale], f"{base}/scaled_pairs")
        pairs = b.node("Tanh", [pairs], f"{base}/tanh")
        if scale is not None and additive:
            pairs = b.node("Mul", [pairs, scale], f"{base}/scaled_tanh")
        scores = b.reduce("ReduceSum", pairs, [-1], f"{base}/summed", keepdims=False)
        if not additive:
            scores = b.node("Mul", [scores, b.constant(
                f"{base}/concat_score_weight", f32(layer.concat_score_weight.value))],
                f"{base}/weighted_sum")
    if kwargs.get("use_causal_mask"):
        causal = _causal_mask(b, query, key, f"{base}/causal", axis=rank - 2)
        lowered = b.node("Sub", [scores, b.scalar(f"{base}/hidden", 1e9)], f"{base}/lowered")
        scores = b.node("Where", [causal, scores, lowered], f"{base}/masked_scores")
    weights = b.node("Softmax", [scores], f"{base}/weights", axis=-1)
    output = b.node("MatMul", [weights, value], f"{base}/output")
    if not kwargs.get("return_attention_scores"):
        return Value(out_shape, {PLAIN: output})
    return [Value(out_shape[0], {PLAIN: output}), Value(out_shape[1], {PLAIN: weights})]
