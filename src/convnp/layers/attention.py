"""Keras 3's one-head attention layers: `Attention` (dot-product, Luong style) and
`AdditiveAttention` (Bahdanau style), called on ``[query, value]`` or ``[query, value, key]``.

With ``query`` ``(B, Tq, dim)``, ``value`` ``(B, Tv, dim_v)`` and ``key`` ``(B, Tv, dim)``
(the value when not given):

    scores = _calculate_scores(query, key)                         (B, Tq, Tv)
        Attention, "dot":     query @ key^T, times ``scale`` (use_scale)
        Attention, "concat":  concat_score_weight * sum(tanh(scale * (q_i + k_j)))
        AdditiveAttention:    sum(scale * tanh(q_i + k_j)), ``scale`` one weight per feature
    masked scores (value mask, causal mask) are lowered by 1e9 before the softmax
    weights = softmax(scores) over Tv, dropout in training
    output = weights @ value, zero where the query mask is False        (B, Tq, dim_v)

The methods keep Keras's names (`_calculate_scores`, `_apply_scores`,
`_calculate_score_mask`), so a user's subclass overriding one of them runs as in Keras. The
call is written in tensor ops and differentiated by the tape (`convnp.layers.taped`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convnp.random
from convnp.layers import taped
from convnp.layers.base import Layer
from convnp.layers.registry import register

#: what Keras subtracts from the scores of masked positions (65504 in float16)
_MASKED = 1.0e9


def dropout_weights(weights, rate: float, generator, dtype):
    """``weights`` with each entry dropped with probability ``rate`` and the rest scaled by
    ``1 / (1 - rate)`` (tensor ops: the tape differentiates it)."""
    keep = generator.random(np.shape(weights), dtype=np.float32) >= rate
    return weights * (keep / np.float32(1.0 - rate)).astype(dtype)


def _seed(seed, cls: str):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"{cls}: seed must be an int or None, got {seed!r}")
    return None if seed is None else int(seed)


@register
class Attention(Layer):
    """Keras 3's ``Attention``.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores.
        score_mode: ``"dot"`` (query-key dot products) or ``"concat"`` (the sum of the tanh
            of query + key, times a learned scalar ``concat_score_weight``).
        dropout: the fraction of attention weights dropped in training.
        seed: the dropout's seed (``None``: convnp's generator, so ``set_random_seed``
            repeats a run).

    Call: ``layer([query, value])`` or ``layer([query, value, key], mask=[query_mask,
    value_mask], return_attention_scores=False, training=None, use_causal_mask=False)``;
    with ``return_attention_scores`` it returns ``(output, weights)``, the weights
    ``(B, Tq, Tv)`` after the softmax (and the dropout, as in Keras).

    >>> import numpy as np
    >>> q, v = np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")
    >>> tuple(Attention()([q, v]).shape)
    (1, 2, 3)
    """

    _autodiff = True  # its ops are recorded on a caller's tape

    def compute_mask(self, inputs, mask=None):
        """Keras's: the output's steps are the query's, so it carries the query's mask."""
        self._check_mask(mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{cls}: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) \
                or not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{cls}: dropout must be a number in [0, 1), got {dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = _seed(seed, cls)
        self._generator = None if self.seed is None else np.random.default_rng(self.seed)
        self.scale = None
        self.concat_score_weight = None

    # -- building ------------------------------------------------------------------------------

    def _check_inputs(self, shapes) -> list[tuple]:
        """The shapes of ``[query, value, key]`` (key = value when not given), checked."""
        cls = type(self).__name__
        if not isinstance(shapes, (list, tuple)) or not 2 <= len(shapes) <= 3 or any(
                not isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{cls} '{self.name}' must be called on a list [query, value] or "
                             f"[query, value, key], got {shapes!r}")
        query, value, key = (tuple(s) for s in (*shapes, shapes[1])[:3])
        ranks = {len(query), len(value), len(key)}
        if len(ranks) != 1 or len(query) < 3:
            raise ValueError(f"{cls} '{self.name}': query, value and key must have one rank "
                             f">= 3 (batch, steps, features), got shapes {query}, {value}, "
                             f"{key}")
        if None not in (query[-1], key[-1]) and query[-1] != key[-1]:
            raise ValueError(f"{cls} '{self.name}': query and key need the same number of "
                             f"features, got shapes {query} and {key}")
        if None not in (value[-2], key[-2]) and value[-2] != key[-2]:
            raise ValueError(f"{cls} '{self.name}': value and key need the same number of "
                             f"steps, got shapes {value} and {key}")
        return [query, value, key]

    def build(self, input_shape) -> None:
        self._check_inputs(input_shape)
        from convnp import initializers

        if self.use_scale:
            self.scale = self.add_weight("scale", (), initializers.get("ones"))
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (),
                                                       initializers.get("ones"))
        self.built = True

    def compute_output_shape(self, input_shape):
        query, value, _ = self._check_inputs(input_shape)
        return (*query[:-1], value[-1])

    # -- the call (Keras's methods) --------------------------------------------------------------

    def _calculate_scores(self, query, key):
        """``(B, Tq, Tv)`` scores of every query against every key."""
        from convnp.tensor.ops import expand_dims, matmul, reduce_sum, tanh

        if self.score_mode == "dot":
            scores = matmul(query, key, transpose_b=True)
            return scores if self.scale is None else scores * self.scale
        pairs = expand_dims(query, -2) + expand_dims(key, -3)  # (B, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * reduce_sum(tanh(pairs), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """``(weights @ value, weights)``: the softmax of ``scores`` with the positions where
        ``scores_mask`` is False lowered by 1e9, dropped out in training."""
        from convnp.tensor import nn
        from convnp.tensor.ops import matmul, where

        if scores_mask is not None:
            hidden = np.logical_not(np.asarray(scores_mask, dtype=bool))
            if hidden.ndim == 2:  # (B, Tv): the same for every query
                hidden = hidden[:, None, :]
            big = 65504.0 if np.result_type(scores) == np.float16 else _MASKED
            scores = where(hidden, scores - np.asarray(big, np.result_type(scores)), scores)
        weights = nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = dropout_weights(weights, self.dropout,
                                      self._generator or convnp.random.generator(),
                                      self.dtype)
        return matmul(weights, value), weights

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask):
        """The mask of the scores: the value mask ``(B, Tv)``, and with ``use_causal_mask``
        the lower triangle (query ``i`` sees keys ``j <= i``), ``(B or 1, Tq, Tv)``."""
        if not use_causal_mask:
            return v_mask
        steps_q, steps_v = np.shape(scores)[-2:]
        causal = np.tril(np.ones((1, steps_q, steps_v), dtype=bool))
        if v_mask is None:
            return causal
        return np.asarray(v_mask, dtype=bool)[:, None, :] & causal

    def _check_mask(self, mask) -> None:
        if mask is not None and (not isinstance(mask, (list, tuple)) or
                                 not 2 <= len(mask) <= 3):
            raise ValueError(f"{type(self).__name__} '{self.name}': mask must be a list "
                             f"[query_mask, value_mask], got {mask!r}")

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._check_inputs([tuple(np.shape(x)) for x in inputs]
                           if isinstance(inputs, (list, tuple)) else inputs)
        self._check_mask(mask)
        return taped.run_taped(self, lambda xs: self._attend(
            xs, mask, training, return_attention_scores, use_causal_mask), list(inputs))

    def _attend(self, inputs, mask, training, return_attention_scores, use_causal_mask):
        from convnp.tensor.ops import where

        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = None if mask is None or mask[0] is None else np.asarray(mask[0], dtype=bool)
        v_mask = None if mask is None or mask[1] is None else np.asarray(mask[1], dtype=bool)
        scores = self._calculate_scores(query, key)
        scores_mask = self._calculate_score_mask(scores, v_mask, use_causal_mask)
        out, weights = self._apply_scores(scores, value, scores_mask, training)
        if q_mask is not None:
            out = where(q_mask[..., None], out, np.zeros((), np.result_type(out)))
        return (out, weights) if return_attention_scores else out

    backward = taped.taped_backward

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode,
                       "dropout": self.dropout, "seed": self.seed})
        return config


@register
class AdditiveAttention(Attention):
    """Keras 3's ``AdditiveAttention``: scores ``sum(scale * tanh(q_i + k_j))`` over the
    features, ``scale`` a learned weight per feature (``use_scale``, Glorot-uniform
    initialized; without it the plain sum). Arguments and call as `Attention`'s (no
    ``score_mode``).

    >>> import numpy as np
    >>> q, v = np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")
    >>> tuple(AdditiveAttention()([q, v]).shape)
    (1, 2, 3)
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed=None, **kwargs):
        kwargs.pop("score_mode", None)  # Keras takes it and leaves it unused
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape) -> None:
        query = self._check_inputs(input_shape)[0]
        if self.use_scale:
            dim = query[-1]
            if dim is None:
                raise ValueError(f"AdditiveAttention '{self.name}': the query's last axis "
                                 f"must be known, got shape {query}")
            self.scale = self.add_weight("scale", (dim,), "glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        from convnp.tensor.ops import expand_dims, reduce_sum, tanh

        pairs = tanh(expand_dims(query, -2) + expand_dims(key, -3))  # (B, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return reduce_sum(pairs, axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
