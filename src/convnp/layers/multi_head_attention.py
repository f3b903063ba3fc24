"""`MultiHeadAttention`: Keras 3's scaled dot-product attention with several heads (the
attention of a Vision Transformer, MobileViT or a CNN with a transformer block:
``MultiHeadAttention(num_heads=4, key_dim=32)(x, x)``).

Its call is written in tensor ops, so a tape differentiates it (the layer is one recorded call
in a model's graph, like a user's layer; `convnp.layers.taped`). Per head ``h``:

    Q = query @ Wq[:, h] + bq[h]         (B, T, key_dim), scaled by 1 / sqrt(key_dim)
    K = key @ Wk[:, h] + bk[h]           (B, S, key_dim)
    V = value @ Wv[:, h] + bv[h]         (B, S, value_dim)
    A = softmax(Q K^T), masked positions excluded, dropout in training
    out = sum_h (A V) @ Wo[h] + bo       (B, T, output dim)

Inputs of rank > 3 (images ``(B, H, W, C)``) attend over all their middle axes, as Keras's
default ``attention_axes`` does: they are flattened to ``(B, H * W, C)`` and back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import convnp.random
from convnp import constraints, initializers, regularizers
from convnp.layers import _utils, taped
from convnp.layers.base import Layer
from convnp.layers.registry import register


class _Projection(Layer):
    """The kernel and bias of one of the attention's projections (Keras's ``EinsumDense``
    sublayers ``query_dense``, ... hold them; so the weights are stored as Keras stores
    them). Computing with them is the attention layer's."""

    def __init__(self, kernel_shape, bias_shape, owner, **kwargs):
        super().__init__(**kwargs)
        self.kernel = self.add_weight("kernel", kernel_shape, owner.kernel_initializer,
                                      regularizer=owner.kernel_regularizer,
                                      constraint=owner.kernel_constraint, dtype=owner.dtype)
        self.bias = None if bias_shape is None else self.add_weight(
            "bias", bias_shape, owner.bias_initializer, regularizer=owner.bias_regularizer,
            constraint=owner.bias_constraint, dtype=owner.dtype)
        self.built = True

    def project(self, x, equation: str):
        from convnp.tensor.ops import einsum

        out = einsum(equation, x, self.kernel)
        return out if self.bias is None else out + self.bias


@register
class MultiHeadAttention(Layer):
    """Keras 3's ``MultiHeadAttention``.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head's queries and keys.
        value_dim: the size of each head's values (default ``key_dim``).
        dropout: the rate of dropout on the attention weights in training.
        use_bias: whether the projections add biases.
        output_shape: the size of the output's last axis (default: the query's).
        attention_axes: Keras's; only attention over all the middle axes (the default) is
            supported.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as `Dense`'s.
        seed: the dropout's seed.

    Call: ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``; with ``return_attention_scores`` it returns
    ``(output, scores)``, scores ``(B, num_heads, T, S)``.
    """

    _autodiff = True  # its ops are recorded on a caller's tape, as a user's layer's

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, use_gate: bool = False, sliding_window=None,
                 flash_attention=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        _utils.not_supported(cls, use_gate=use_gate, sliding_window=sliding_window,
                             flash_attention=flash_attention)
        self.num_heads = _utils.positive_int(num_heads, "num_heads", cls)
        self.key_dim = _utils.positive_int(key_dim, "key_dim", cls)
        self.value_dim = self.key_dim if value_dim is None else _utils.positive_int(
            value_dim, "value_dim", cls)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{cls}: dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, (int, np.integer)):
            shape = tuple(output_shape)
            if len(shape) != 1:
                raise ValueError(f"{cls}: output_shape must be one size, got {output_shape!r}")
            output_shape = shape[0]
        self.output_size = None if output_shape is None else _utils.positive_int(
            output_shape, "output_shape", cls)
        self.attention_axes = None if attention_axes is None else tuple(
            [attention_axes] if isinstance(attention_axes, int) else attention_axes)
        self._kernel_initializer = kernel_initializer  # as given, for get_config
        self._bias_initializer = bias_initializer
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"MultiHeadAttention: seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        # no seed: draw from convnp's generator, so set_random_seed makes runs repeat
        self._generator = None if seed is None else np.random.default_rng(self.seed)

    # -- building ------------------------------------------------------------------------------

    def _check_axes(self, rank: int) -> None:
        every = tuple(range(1, rank - 1))
        if self.attention_axes is not None and tuple(
                a % rank for a in self.attention_axes) != every:
            raise NotImplementedError(
                f"MultiHeadAttention '{self.name}': attention_axes={self.attention_axes} on "
                f"inputs of rank {rank}; convnp attends over all the middle axes {every} only")
        self.attention_axes = every

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if isinstance(query_shape, list) and value_shape is None:
            query_shape, value_shape = query_shape[0], query_shape[1]
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        cls = type(self).__name__
        self._check_axes(len(query_shape))
        d_query = _utils.known_dim(query_shape, -1, cls, "last (features) of the query")
        d_value = _utils.known_dim(value_shape, -1, cls, "last (features) of the value")
        d_key = _utils.known_dim(key_shape, -1, cls, "last (features) of the key")
        heads, bias = self.num_heads, self.use_bias
        out = self.output_size or d_query
        self.query_dense = _Projection((d_query, heads, self.key_dim),
                                       (heads, self.key_dim) if bias else None, self,
                                       name="query")
        self.key_dense = _Projection((d_key, heads, self.key_dim),
                                     (heads, self.key_dim) if bias else None, self, name="key")
        self.value_dense = _Projection((d_value, heads, self.value_dim),
                                       (heads, self.value_dim) if bias else None, self,
                                       name="value")
        self.output_dense = _Projection((heads, self.value_dim, out), (out,) if bias else None,
                                        self, name="attention_output")
        self._tracked_layers = [self.query_dense, self.key_dense, self.value_dense,
                                self.output_dense]
        self.built = True

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        """Keras's sublayers, in the order its file lists them (the dropout and softmax hold
        no weights: their groups are empty)."""
        return {"_dropout_layer": _Empty(), "_softmax": _Empty(),
                "key_dense": self.key_dense, "output_dense": self.output_dense,
                "query_dense": self.query_dense, "value_dense": self.value_dense}

    def keras_build_config(self, shapes: list) -> dict:
        """Keras's build config: the call's tensor shapes by argument name."""
        names = ("query_shape", "value_shape", "key_shape")
        if len(shapes) == 1:  # self-attention on one tensor: layer(x, x)
            shapes = shapes * 2
        return {"shapes_dict": dict(zip(names, [list(s) for s in shapes]))}

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list) and value_shape is None:
            query_shape = query_shape[0]
        out = self.output_size or query_shape[-1]
        return (*tuple(query_shape)[:-1], out)

    # -- the call --------------------------------------------------------------------------------

    def call(self, query, value=None, key=None, attention_mask=None,
             return_attention_scores: bool = False, training=None, use_causal_mask=False):
        from convnp.tensor import nn
        from convnp.tensor.ops import einsum, reshape, where

        if value is None:
            raise TypeError(f"MultiHeadAttention '{self.name}' needs `value`: call it as "
                            "layer(query, value) (self-attention: layer(x, x))")
        key = value if key is None else key
        outer = tuple(np.shape(query)[1:-1])  # (T,) or an image's (H, W)

        def flat(x):  # (B, ..., d) -> (B, positions, d)
            return reshape(x, (-1, math.prod(np.shape(x)[1:-1]), np.shape(x)[-1]))

        q_in, v_in, k_in = flat(query), flat(value), flat(key)
        q = self.query_dense.project(q_in, "btd,dhk->bthk")
        k = self.key_dense.project(k_in, "bsd,dhk->bshk")
        v = self.value_dense.project(v_in, "bsd,dhv->bshv")
        q = q * np.float32(1.0 / math.sqrt(self.key_dim)).astype(self.dtype)
        logits = einsum("bthk,bshk->bhts", q, k)
        mask = self._mask(attention_mask, use_causal_mask, np.shape(logits))
        if mask is not None:
            # Keras fills excluded positions with a large negative number before softmax
            logits = where(mask, logits, np.asarray(-1e9, dtype=self.dtype))
        scores = nn.softmax(logits, axis=-1)
        weights = scores
        if training and self.dropout > 0:
            generator = self._generator or convnp.random.generator()
            keep = generator.random(np.shape(scores), dtype=np.float32) >= self.dropout
            weights = scores * (keep / np.float32(1.0 - self.dropout)).astype(self.dtype)
        context = einsum("bhts,bshv->bthv", weights, v)
        out = self.output_dense.project(context, "bthv,hvo->bto")
        out = reshape(out, (-1, *outer, np.shape(out)[-1]))
        return (out, scores) if return_attention_scores else out

    @staticmethod
    def _mask(attention_mask, causal: bool, logits_shape) -> np.ndarray | None:
        """Which (query, key) pairs may attend, broadcast to ``(B, heads, T, S)``."""
        _, _, t, s = logits_shape
        mask = None
        if attention_mask is not None:
            mask = np.asarray(attention_mask).astype(bool)
            if mask.ndim == 3:  # (B, T, S): the same for every head
                mask = mask[:, None]
        if causal:
            lower = np.tril(np.ones((t, s), dtype=bool))
            mask = lower if mask is None else mask & lower
        return mask

    backward = taped.taped_backward

    def __call__(self, query, value=None, key=None, attention_mask=None,
                 return_attention_scores: bool = False, training=None,
                 use_causal_mask: bool = False, **kwargs):
        # the query is the layer's input; everything else is an argument of the call
        extra = {name: given for name, given in (
            ("value", value), ("key", key), ("attention_mask", attention_mask),
            ("return_attention_scores", return_attention_scores),
            ("use_causal_mask", use_causal_mask)) if given is not None and given is not False}
        if "value" not in extra:
            raise TypeError(f"MultiHeadAttention '{self.name}' needs `value`: call it as "
                            "layer(query, value) (self-attention: layer(x, x))")
        return super().__call__(query, training=training, **extra, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias,
            "output_shape": self.output_size,
            "attention_axes": None if self.attention_axes is None else list(
                self.attention_axes),
            "kernel_initializer": _utils.initializer_config(self._kernel_initializer,
                                                            self.kernel_initializer),
            "bias_initializer": _utils.initializer_config(self._bias_initializer,
                                                          self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        })
        return config


class _Empty(Layer):
    """A weightless sublayer Keras keeps (the attention's dropout and softmax)."""
