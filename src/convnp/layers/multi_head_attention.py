"""`MultiHeadAttention`: Keras 3's scaled dot-product attention with several heads (the
attention of a Vision Transformer, MobileViT or a CNN with a transformer block:
``MultiHeadAttention(num_heads=4, key_dim=32)(x, x)``).

Its call is written in tensor ops, so a tape differentiates it (the layer is one recorded call
in a model's graph, like a user's layer; `convnp.layers.taped`). It runs as Keras 3.15's does,
through the methods Keras users override (keras.io's locality self-attention subclasses the
layer and replaces `_compute_attention`):

    call:                 mask = _compute_attention_mask(...)      (attention_mask, causal)
                          Q, K, V = query_dense, key_dense, value_dense projections
                                    (`EinsumDense`: (B, ..., heads, key_dim))
                          out, scores = _compute_attention(Q, K, V, mask, training, ...)
                          output_dense(out)
    _compute_attention:   scores = einsum(_dot_product_equation, K, Q / sqrt(key_dim))
                          scores = _masked_softmax(scores, mask)
                          out = einsum(_combine_equation, _dropout_layer(scores), V)

``attention_axes`` (default: every axis between the batch and the features) are the axes
attended over; the others are batch axes. The scores are ``(B, <other axes>, heads,
<query attention axes>, <key attention axes>)``, e.g. ``(B, heads, T, S)`` for sequences and
``(B, heads, H, W, H, W)`` for images.
"""

from __future__ import annotations

import functools
import inspect
import math
import string
from typing import Any

import numpy as np

from convnp import constraints, initializers, regularizers
from convnp.layers import _utils, taped
from convnp.layers.base import KerasTensor, Layer
from convnp.layers.core import Dropout
from convnp.layers.einsum_dense import EinsumDense
from convnp.layers.registry import register


def projection_equation(free: int, bound: int, out: int) -> tuple[str, str, int]:
    """``(equation, bias_axes, output rank)`` of a projection keeping ``free`` leading axes,
    contracting the next ``bound`` ones with the kernel and adding ``out`` new ones (Keras's
    letters: ``free=2, bound=1, out=2`` is ``"abc,cde->abde"`` with bias over ``"de"``)."""
    letters = string.ascii_lowercase
    kept, summed, added = (letters[:free], letters[free:free + bound],
                           letters[free + bound:free + bound + out])
    return f"{kept}{summed},{summed}{added}->{kept}{added}", added, free + out


def attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str, int]:
    """``(dot_product, combine, scores rank)`` einsums for projected tensors of ``rank``
    (``(B, ..., heads, channels)``) attending over ``axes``: the query-key products
    ``key, query -> scores`` and the weighted sum ``scores, value -> output``."""
    letters = string.ascii_lowercase
    query = letters[:rank]
    batch = [i for i in range(rank - 1) if i not in axes]  # with the heads axis
    fresh = iter(letters[rank:])
    key = "".join(next(fresh) if i in axes else query[i] for i in range(rank))
    scores = ("".join(query[i] for i in batch) + "".join(query[i] for i in axes)
              + "".join(key[i] for i in axes))
    return f"{key},{query}->{scores}", f"{scores},{key}->{query}", len(scores)


def _takes_scores_flag(method) -> bool:
    """Whether a `_compute_attention` takes ``return_attention_scores`` (Keras 3.15's does;
    overrides written for earlier Keras, like keras.io's, stop at ``training``). Asked on
    every call: the answer is kept per function of a class (``self`` is its first
    parameter)."""
    function = getattr(method, "__func__", None)
    if function is None:  # a function set on the instance: no self to skip
        return _scores_flag_in(list(inspect.signature(method).parameters.values()))
    return _function_takes_scores_flag(function)


@functools.lru_cache(maxsize=256)
def _function_takes_scores_flag(function) -> bool:
    return _scores_flag_in(list(inspect.signature(function).parameters.values())[1:])


def _scores_flag_in(params: list) -> bool:
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return True
    return len(params) > 5 or "return_attention_scores" in [p.name for p in params]


@register
class MultiHeadAttention(Layer):
    """Keras 3's ``MultiHeadAttention``.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head's queries and keys.
        value_dim: the size of each head's values (default ``key_dim``).
        dropout: the rate of dropout on the attention weights in training.
        use_bias: whether the projections add biases.
        output_shape: the size(s) of the output's last axes (default: the query's features).
        attention_axes: the axes attended over (an int or a tuple; negative ones count from
            the features axis; default: all the axes between the batch and the features).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as `Dense`'s.
        seed: the dropout's seed.

    Call: ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``; with ``return_attention_scores`` it returns
    ``(output, scores)`` (see the module docstring for the scores' shape). A boolean
    ``attention_mask`` (``(B, T, S)`` for sequences; broadcast over the heads) says which
    query-key pairs may attend; ``value_mask``/``key_mask`` ``(B, S)`` mask keys. The masks
    the inputs carry (after a ``Masking`` layer) are used as Keras 3 uses them: the query's
    and the value's (and key's) together; the output carries the query's.
    """

    _keras_training_default = "inherit"  # Keras 3: call(..., training=None, ...)

    _autodiff = True  # its ops are recorded on a caller's tape, as a user's layer's
    supports_masking = True  # Keras's: the output carries the query's mask
    #: Keras's call takes the masks off the tensors it reads (`convnp.models.mask_flow`)
    clears_input_masks = True

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
        if output_shape is not None:
            sizes = (output_shape,) if isinstance(output_shape, (int, np.integer)) else \
                tuple(output_shape) if isinstance(output_shape, (list, tuple)) else None
            if not sizes:
                raise ValueError(f"{cls}: output_shape must be an int or a tuple of ints, got "
                                 f"{output_shape!r}")
            output_shape = tuple(_utils.positive_int(n, "output_shape", cls) for n in sizes)
        self.partial_output_shape = output_shape
        if attention_axes is not None:
            axes = [attention_axes] if isinstance(attention_axes, (int, np.integer)) else \
                attention_axes
            if not isinstance(axes, (list, tuple)) or not axes or any(
                    isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
                raise ValueError(f"{cls}: attention_axes must be an int or a tuple of ints, "
                                 f"got {attention_axes!r}")
            attention_axes = tuple(int(a) for a in axes)
        self._attention_axes = attention_axes
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
        # no seed: the dropout draws from convnp's generator, so set_random_seed repeats runs
        self._dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("convnp."):
            # a user's subclass (overriding _compute_attention, say): the variables and
            # layers its code assigns to attributes are its weights, as in Keras
            cls.__setattr__ = taped.tracking_setattr

    # -- Keras's attribute names (its subclasses read them) --------------------------------------

    _num_heads = property(lambda self: self.num_heads)
    _key_dim = property(lambda self: self.key_dim)
    _value_dim = property(lambda self: self.value_dim)
    _dropout = property(lambda self: self.dropout)
    _use_bias = property(lambda self: self.use_bias)
    _inverse_sqrt_key_dim = property(lambda self: 1.0 / math.sqrt(float(self.key_dim)))
    _query_dense = property(lambda self: self.query_dense)
    _key_dense = property(lambda self: self.key_dense)
    _value_dense = property(lambda self: self.value_dense)
    _output_dense = property(lambda self: self.output_dense)

    @property
    def attention_axes(self):
        """The attended axes: as given until the layer is built, then Keras's normalized
        tuple."""
        return self._attention_axes

    @property
    def output_size(self):
        """The size of the output's last axis when ``output_shape`` gave one (older name)."""
        shape = self.partial_output_shape
        return None if shape is None else shape[-1]

    # -- building ------------------------------------------------------------------------------

    def _projection(self, name: str, input_rank: int, bound: int, sizes: list) -> EinsumDense:
        equation, bias_axes, rank = projection_equation(input_rank - bound, bound, len(sizes))
        return EinsumDense(equation, [None] * (rank - 1 - len(sizes)) + list(sizes),
                           bias_axes=bias_axes if self.use_bias else None,
                           kernel_initializer=self.kernel_initializer,
                           bias_initializer=self.bias_initializer,
                           kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer,
                           kernel_constraint=self.kernel_constraint,
                           bias_constraint=self.bias_constraint, dtype=self.dtype, name=name)

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        if isinstance(query_shape, list) and value_shape is None:
            query_shape, value_shape = query_shape[0], query_shape[1]
        value_shape = tuple(query_shape if value_shape is None else value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        query_shape = tuple(query_shape)
        cls = type(self).__name__
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"{cls} '{self.name}': value and key must agree on every axis but "
                             f"the last, got {value_shape} and {key_shape}")
        if not len(query_shape) == len(value_shape) >= 3:
            raise ValueError(f"{cls} '{self.name}': query and value need one rank >= 3 "
                             f"(batch, ..., features), got {query_shape} and {value_shape}")
        for shape, what in ((query_shape, "query"), (value_shape, "value"),
                            (key_shape, "key")):
            _utils.known_dim(shape, -1, cls, f"last (features) of the {what}")
        rank = len(query_shape) + 1  # the projected tensors: (B, ..., heads, channels)
        given = self._attention_axes
        axes = tuple(range(1, rank - 2)) if given is None else tuple(
            a if a >= 0 else rank - 1 + a for a in given)
        if any(not 1 <= a < rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"{cls} '{self.name}': attention_axes {given} must be distinct "
                             f"axes between the batch and the features of inputs of rank "
                             f"{rank - 1}")
        self._attention_axes = axes
        self._dot_product_equation, self._combine_equation, scores_rank = \
            attention_equations(rank, axes)
        self._softmax_axes = tuple(range(scores_rank - len(axes), scores_rank))
        heads = self.num_heads
        out = list(self.partial_output_shape or query_shape[-1:])
        self.query_dense = self._projection("query", len(query_shape), 1,
                                            [heads, self.key_dim])
        self.key_dense = self._projection("key", len(key_shape), 1, [heads, self.key_dim])
        self.value_dense = self._projection("value", len(value_shape), 1,
                                            [heads, self.value_dim])
        self.output_dense = self._projection("attention_output", len(query_shape) + 1, 2, out)
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((*query_shape[:-1], heads, self.value_dim))
        for dense in (self.query_dense, self.key_dense, self.value_dense, self.output_dense):
            dense.built = True
        self._tracked_layers = [self.query_dense, self.key_dense, self.value_dense,
                                self.output_dense]
        self.built = True

    def keras_own_variables(self) -> list:
        return list(self._variables)  # a subclass's own (a learned temperature)

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
        out = self.partial_output_shape or tuple(query_shape)[-1:]
        return (*tuple(query_shape)[:-1], *out)

    # -- the call (Keras 3.15's methods) ---------------------------------------------------------

    def call(self, query, value=None, key=None, query_mask=None, value_mask=None,
             key_mask=None, attention_mask=None, return_attention_scores: bool = False,
             training=None, use_causal_mask=False):
        if value is None:
            raise TypeError(f"MultiHeadAttention '{self.name}' needs `value`: call it as "
                            "layer(query, value) (self-attention: layer(x, x))")
        key = value if key is None else key
        mask = self._compute_attention_mask(query, value, query_mask=query_mask,
                                            value_mask=value_mask, key_mask=key_mask,
                                            attention_mask=attention_mask,
                                            use_causal_mask=use_causal_mask)
        q = self.query_dense.apply(query)
        k = self.key_dense.apply(key)
        v = self.value_dense.apply(value)
        if _takes_scores_flag(self._compute_attention):
            out, scores = self._compute_attention(q, k, v, mask, training,
                                                  return_attention_scores)
        else:  # an override written for Keras before 3.5
            out, scores = self._compute_attention(q, k, v, mask, training)
        out = self.output_dense.apply(out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False):
        """``(output, scores)`` of the projected ``query`` ``(B, T, heads, key_dim)``,
        ``key`` and ``value`` (``(B, S, heads, ...)``; more axes for images)."""
        from convnp.tensor.ops import einsum

        query = query * np.asarray(self._inverse_sqrt_key_dim, dtype=np.result_type(query))
        scores = einsum(self._dot_product_equation, key, query)
        # Keras 3.15 runs its fused dot-product attention when it can (no dropout, no scores
        # asked, sequences): there a query that may see no key attends to all alike
        fused = not (self.dropout > 0 or return_attention_scores or np.ndim(query) != 4)
        scores = self._softmax_of(scores, attention_mask, zero_hidden=not fused)
        weights = self._dropout_layer(scores, training=training) if self.dropout > 0 \
            else scores
        return einsum(self._combine_equation, weights, value), scores

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """The softmax of the scores over the key axes; where ``attention_mask`` (broadcast
        over the heads) is False the score is -1e9 before and the weight 0 after."""
        return self._softmax_of(attention_scores, attention_mask)

    def _softmax_of(self, attention_scores, attention_mask=None, zero_hidden=True):
        """`_masked_softmax`; ``zero_hidden=False`` leaves the weights of masked pairs as the
        softmax gives them (a row with every key masked: uniform)."""
        from convnp.tensor import nn
        from convnp.tensor.ops import exp, reduce_logsumexp, where

        mask = None
        if attention_mask is not None:
            mask = np.asarray(attention_mask)
            mask = mask if mask.dtype == bool else mask > 0.5
            axis = -len(self._attention_axes) * 2 - 1  # the heads axis
            while mask.ndim < np.ndim(attention_scores):
                mask = np.expand_dims(mask, axis)
            dtype = np.result_type(attention_scores)
            attention_scores = where(mask, attention_scores, np.asarray(-1e9, dtype))
        axes = self._softmax_axes
        if len(axes) == 1:
            weights = nn.softmax(attention_scores, axis=axes[0])
        else:
            weights = exp(attention_scores - reduce_logsumexp(attention_scores, axis=axes,
                                                              keepdims=True))
        if mask is not None and zero_hidden:  # a query that sees no key: no weights
            weights = where(mask, weights, np.zeros((), np.result_type(weights)))
        return weights

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None,
                                key_mask=None, attention_mask=None, use_causal_mask=False):
        """The boolean ``(B, T, S)`` mask of the call (None: every pair attends): the value
        and key masks ``(B, S)``, the causal mask and ``attention_mask`` together."""
        mask = None

        def both(a, b):
            return b if a is None else a & b

        for given, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if given is not None:
                mask = both(mask, np.expand_dims(np.asarray(given).astype(bool), axis))
        if use_causal_mask:
            mask = both(mask, self._compute_causal_mask(query, value))
        if attention_mask is not None:
            mask = both(np.asarray(attention_mask).astype(bool), mask) if mask is not None \
                else np.asarray(attention_mask).astype(bool)
        return mask

    def _compute_causal_mask(self, query, value=None):
        """``(1, T, S)``: query step ``i`` sees the steps ``j <= i`` (along axis 1)."""
        steps_q = np.shape(query)[1]
        steps_v = steps_q if value is None else np.shape(value)[1]
        return np.tril(np.ones((1, steps_q, steps_v), dtype=bool))

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
        # the masks the tensors carry (a Masking layer's) become query_mask, value_mask and
        # key_mask as Keras 3 fills them in (`convnp.layers._masks.auto_masks`; in a model,
        # when it runs): the query's always (an explicit query_mask is replaced, as Keras
        # 3.15 does), the value's and the key's unless given. The output carries the query's.
        kwargs.pop("query_mask", None)
        kwargs = {name: given for name, given in kwargs.items() if given is not None}
        out = super().__call__(query, training=training, **extra, **kwargs)
        if not isinstance(query, KerasTensor):
            # Keras's call takes the masks off its inputs (they are handled here): a layer
            # called on them afterwards sees none
            for tensor in {id(t): t for t in (query, value, key) if t is not None}.values():
                if getattr(tensor, "_keras_mask", None) is not None:
                    tensor._keras_mask = None
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        axes = self._attention_axes
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias,
            "output_shape": None if self.partial_output_shape is None else list(
                self.partial_output_shape),
            "attention_axes": None if axes is None else list(axes),
            **self._weight_options_config(),
        })
        return config

    def _weight_options_config(self) -> dict[str, Any]:
        """The config entries of the projections' initializers, regularizers and
        constraints, and the seed (shared with `GroupQueryAttention`)."""
        return {
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
        }


class _Empty(Layer):
    """A weightless sublayer Keras keeps (the attention's softmax)."""
