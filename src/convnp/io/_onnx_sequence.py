"""ONNX exporters of the sequence layers: `Embedding` (Gather), and the checks of the calls
that take masks (the recurrent layers, `Bidirectional`, `MultiHeadAttention`).

A mask (from `Masking`, ``Embedding(mask_zero=True)`` or ``mask=`` in the call) cannot be
exported: Keras's masked step keeps the states it had, wherever it sits in the sequence, while
ONNX's recurrent operators only take a length per sequence (``sequence_lens``), right-padded.
Such a call is refused by name, before the operations that compute the mask are looked at.
"""

from __future__ import annotations

from convnp.io._onnx_graph import IDS, PLAIN, Builder, Value, f32, refuse

#: the layers whose calls may carry masks, and the call arguments that hold them
MASKED_CALLS = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "MultiHeadAttention")
_MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")


def call_arguments(node) -> dict:
    """The keyword arguments of a graph call beyond its input (`Slot`s for tensors)."""
    if node.template is None:
        return {}
    _, args, kwargs = node.template
    if args:
        raise refuse(node.layer, "it is called with positional arguments beyond its input")
    return dict(kwargs)


def check_call(b: Builder, node, graph) -> None:
    """Refuse a call that carries a mask (see the module docstring)."""
    masks = [name for name in _MASK_ARGUMENTS if name in call_arguments(node)]
    if masks:
        raise refuse(node.layer, f"its call takes a mask ({', '.join(masks)}: from Masking, "
                                 "Embedding(mask_zero=True) or mask=...), which ONNX's "
                                 "operators cannot follow (a masked step keeps its states "
                                 "anywhere in the sequence); export a model without the mask")


def embedding(b: Builder, layer, inputs: list[Value], out_shape: tuple) -> Value:
    """``Gather(embeddings, ids)`` (float ids cast to int64, as Keras casts them)."""
    table = b.constant(f"{layer.name}/embeddings", f32(layer.embeddings.value))
    y = b.node("Gather", [table, b.get(inputs[0], IDS)], layer.name, axis=0)
    return Value(out_shape, {PLAIN: y})
