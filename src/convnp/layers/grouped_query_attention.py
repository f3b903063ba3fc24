"""`GroupQueryAttention`: Keras 3's grouped-query attention (Ainslie et al., 2023): the
query has ``num_query_heads`` heads, the key and value ``num_key_value_heads`` (1: multi-query
attention), each key/value head shared by ``num_query_heads // num_key_value_heads`` query
heads.

Built on `MultiHeadAttention`'s machinery (the projections, the einsums, the masked softmax,
the masks a call carries): the layer is MultiHeadAttention over sequences with the key and
value projections repeated along the heads axis before the attention. Its weights and their
names are Keras 3.15's (``query``, ``key``, ``gate``, ``value``, ``attention_output``
`EinsumDense` sublayers, saved under ``_query_dense`` ... as Keras's files hold them), so
``.keras`` and ``.weights.h5`` files go both ways. Keras's options: ``use_gate`` (the output
of the attention times ``sigmoid(gate(query))`` before the output projection) and
``sliding_window`` (a query step ``i`` sees key steps ``j`` with ``|i - j| < sliding_window``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.multi_head_attention import MultiHeadAttention, _Empty
from convnp.layers.registry import register


@register
class GroupQueryAttention(MultiHeadAttention):
    """Keras 3's ``GroupQueryAttention`` (Keras's class is ``GroupedQueryAttention``: layers
    are named and saved as ``grouped_query_attention``).

    Args:
        head_dim: the size of each head's queries, keys and values.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key and value heads (divides num_query_heads).
        dropout: the rate of dropout on the attention weights in training.
        use_bias: whether the projections add biases.
        sliding_window: None, or a positive int: each query step attends to the key steps
            less than ``sliding_window`` away (both sides; with ``use_causal_mask`` the past
            ones only).
        flash_attention: accepted as Keras's (the arithmetic is the same); True refuses
            dropout and attention scores as Keras does.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as `Dense`'s.
        use_gate: multiply the attention's output by a sigmoid gate projected from the query.
        seed: the dropout's seed.

    Call: ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)`` on ``(B, T, features)`` and ``(B, S, features)``
    sequences; the output is ``(B, T, features)`` (the query's), the scores ``(B,
    num_query_heads, T, S)``.
    """

    _keras_snake_name = "grouped_query_attention"  # Keras's class name, snake-cased

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int,
                 dropout: float = 0.0, use_bias: bool = True, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate: bool = False, seed=None, **kwargs):
        cls = type(self).__name__
        head_dim = _utils.positive_int(head_dim, "head_dim", cls)
        query_heads = _utils.positive_int(num_query_heads, "num_query_heads", cls)
        kv_heads = _utils.positive_int(num_key_value_heads, "num_key_value_heads", cls)
        if query_heads % kv_heads:
            raise ValueError(f"{cls}: num_query_heads must be divisible by "
                             f"num_key_value_heads, got {query_heads} and {kv_heads}")
        if sliding_window is not None and (
                isinstance(sliding_window, bool)
                or not isinstance(sliding_window, (int, np.integer)) or sliding_window <= 0):
            raise ValueError(f"{cls}: sliding_window must be None or a positive int, got "
                             f"{sliding_window!r}")
        if not isinstance(use_gate, (bool, np.bool_)):
            raise TypeError(f"{cls}: use_gate must be True or False, got {use_gate!r}")
        if flash_attention not in (None, True, False):
            raise TypeError(f"{cls}: flash_attention must be None, True or False, got "
                            f"{flash_attention!r}")
        if flash_attention and float(dropout) > 0:
            raise ValueError(f"{cls}: dropout ({dropout}) is not supported with "
                             "flash_attention=True; set dropout=0.0")
        super().__init__(num_heads=query_heads, key_dim=head_dim, dropout=dropout,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         seed=seed, **kwargs)
        self.head_dim = head_dim
        self.num_query_heads = query_heads
        self.num_key_value_heads = kv_heads
        self.num_repeats = query_heads // kv_heads
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.use_gate = bool(use_gate)
        self._flash_attention = flash_attention
        self.gate_dense = None

    _inverse_sqrt_head_dim = property(lambda self: self._inverse_sqrt_key_dim)
    _gate_dense = property(lambda self: self.gate_dense)

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if isinstance(query_shape, list) and value_shape is None:
            query_shape, value_shape = query_shape[0], query_shape[1]
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        cls = type(self).__name__
        for shape, what in ((query_shape, "query"), (value_shape, "value"), (key_shape, "key")):
            if len(shape) != 3:
                raise ValueError(f"{cls} '{self.name}': the {what} must be a sequence (batch, "
                                 f"steps, features), got shape {shape}")
            _utils.known_dim(shape, -1, cls, f"last (features) of the {what}")
        if value_shape[1] != key_shape[1] and None not in (value_shape[1], key_shape[1]):
            raise ValueError(f"{cls} '{self.name}': value and key must have the same steps, "
                             f"got {value_shape} and {key_shape}")
        self._attention_axes = (1,)
        # (B, T, heads, head_dim) tensors: "bquh,bkuh->buqk" and back, as Keras's
        self._dot_product_equation = "aecd,abcd->acbe"
        self._combine_equation = "acbe,aecd->abcd"
        self._softmax_axes = (3,)
        self.feature_dim = query_shape[-1]
        heads, kv, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.query_dense = self._projection("query", 3, 1, [heads, size])
        self.key_dense = self._projection("key", 3, 1, [kv, size])
        self.value_dense = self._projection("value", 3, 1, [kv, size])
        self.output_dense = self._projection("attention_output", 4, 2, [self.feature_dim])
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        denses = [self.query_dense, self.key_dense]
        if self.use_gate:
            self.gate_dense = self._projection("gate", 3, 1, [heads, size])
            self.gate_dense.build(query_shape)
            denses.append(self.gate_dense)
        self.value_dense.build(value_shape)
        self.output_dense.build((None, None, heads, size))
        denses += [self.value_dense, self.output_dense]
        for dense in denses:
            dense.built = True
        self._tracked_layers = denses  # Keras's weight order: query, key, gate, value, output
        self.built = True

    def keras_children(self) -> dict:
        children = {"_dropout_layer": _Empty()}
        if self.use_gate:
            children["_gate_dense"] = self.gate_dense
        children.update({"_key_dense": self.key_dense, "_output_dense": self.output_dense,
                         "_query_dense": self.query_dense, "_softmax": _Empty(),
                         "_value_dense": self.value_dense})
        return children

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list) and value_shape is None:
            query_shape, value_shape = query_shape[0], query_shape[1]
        if value_shape is not None and tuple(query_shape)[-1] != tuple(value_shape)[-1]:
            raise ValueError(f"{type(self).__name__} '{self.name}': the query and the value "
                             f"must have the same last axis, got {tuple(query_shape)} and "
                             f"{tuple(value_shape)}")
        return tuple(query_shape)

    def call(self, query, value=None, key=None, query_mask=None, value_mask=None,
             key_mask=None, attention_mask=None, return_attention_scores: bool = False,
             training=None, use_causal_mask=False):
        from convnp.tensor.ops import gather, multiply, sigmoid

        cls = type(self).__name__
        if value is None:
            raise TypeError(f"{cls} '{self.name}' needs `value`: call it as layer(query, "
                            "value) (self-attention: layer(x, x))")
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"{cls} '{self.name}': attention scores are not returned with "
                             "flash_attention=True")
        key = value if key is None else key
        mask = self._compute_attention_mask(query, value, query_mask=query_mask,
                                            value_mask=value_mask, key_mask=key_mask,
                                            attention_mask=attention_mask,
                                            use_causal_mask=use_causal_mask)
        gate = sigmoid(self.gate_dense.apply(query)) if self.use_gate else None
        q = self.query_dense.apply(query)
        k = self.key_dense.apply(key)
        v = self.value_dense.apply(value)
        if self.num_repeats > 1:  # each key/value head serves num_repeats query heads
            heads = np.repeat(np.arange(self.num_key_value_heads), self.num_repeats)
            k, v = gather(k, heads, axis=2), gather(v, heads, axis=2)
        out, scores = self._compute_attention(q, k, v, mask, training,
                                              return_attention_scores)
        if gate is not None:
            out = multiply(out, gate)
        out = self.output_dense.apply(out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None,
                                key_mask=None, attention_mask=None, use_causal_mask=False):
        """MultiHeadAttention's mask and, with ``sliding_window``, the band ``|i - j| <
        sliding_window``."""
        mask = super()._compute_attention_mask(
            query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, use_causal_mask=use_causal_mask)
        if self.sliding_window is not None:
            band = self._compute_sliding_window_mask(query, value)
            mask = band if mask is None else mask & band
        return mask

    def _compute_sliding_window_mask(self, query, value=None):
        """``(1, T, S)``: query step ``i`` sees key steps ``j`` with ``|i - j| <
        sliding_window``."""
        steps_q = np.shape(query)[1]
        steps_v = steps_q if value is None else np.shape(value)[1]
        distance = np.abs(np.arange(steps_q)[:, None] - np.arange(steps_v)[None, :])
        return (distance < self.sliding_window)[None]

    def get_config(self) -> dict[str, Any]:
        config = super(MultiHeadAttention, self).get_config()
        config.update({
            "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
            "use_gate": self.use_gate, "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            **self._weight_options_config(),
        })
        return config
