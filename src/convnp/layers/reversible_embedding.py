"""`ReversibleEmbedding`: Keras 3's embedding for language models that also projects back
from the embedding size to the vocabulary: ``layer(ids)`` looks rows up as `Embedding`;
``layer(hidden, reverse=True)`` returns the logits ``hidden @ embeddings.T`` (tied weights,
the default) or ``hidden @ reverse_embeddings`` (``tie_weights=False``: a second trainable
``(output_dim, input_dim)`` table), squashed to ``logit_soft_cap * tanh(logits /
logit_soft_cap)`` when a cap is given.

Its call is written in tensor ops (a tape differentiates both directions; one layer may be
called both ways in a model, as a language model's input embedding and output head).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import taped
from convnp.layers._masks import set_mask
from convnp.layers.embedding import Embedding
from convnp.layers.registry import register


@register
class ReversibleEmbedding(Embedding):
    """Keras 3's ``ReversibleEmbedding``.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
            embeddings_constraint, mask_zero: as `Embedding`'s.
        tie_weights: the reverse projection uses the transposed embeddings (True) or its own
            ``reverse_embeddings`` weight (False, initialized as the embeddings).
        reverse_dtype: the float dtype of the reverse projection (default: the layer's).
        logit_soft_cap: None, or a positive number ``c``: reverse logits become ``c *
            tanh(logits / c)``.

    Call: ``layer(ids)`` -> ``(..., output_dim)`` (with a mask when ``mask_zero``);
    ``layer(x, reverse=True)`` on ``(..., output_dim)`` -> ``(..., input_dim)``.
    """

    _autodiff = True  # both directions in tensor ops, recorded on a caller's tape

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, reverse_dtype=None,
                 logit_soft_cap=None, quantization_config=None, **kwargs):
        cls = type(self).__name__
        if not isinstance(tie_weights, (bool, np.bool_)):
            raise TypeError(f"{cls}: tie_weights must be True or False, got {tie_weights!r}")
        if logit_soft_cap is not None and (
                isinstance(logit_soft_cap, bool)
                or not isinstance(logit_soft_cap, (int, float, np.integer, np.floating))
                or not np.isfinite(logit_soft_cap) or logit_soft_cap <= 0):
            raise ValueError(f"{cls}: logit_soft_cap must be None or a positive number, got "
                             f"{logit_soft_cap!r}")
        if reverse_dtype is not None:
            try:
                kind = np.dtype(reverse_dtype).kind
            except TypeError:
                kind = None
            if kind != "f":
                raise ValueError(f"{cls}: reverse_dtype must be None or a float dtype name, "
                                 f"got {reverse_dtype!r}")
        if quantization_config is not None:
            raise ValueError(f"{cls}: quantization_config is not supported (convnp computes "
                             f"in floats), got {quantization_config!r}")
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else np.dtype(reverse_dtype).name
        self.logit_soft_cap = None if logit_soft_cap is None else (
            logit_soft_cap if isinstance(logit_soft_cap, float) else float(logit_soft_cap))
        self.reverse_embeddings = None

    def build(self, input_shape=None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings", (self.output_dim, self.input_dim),
                self.embeddings_initializer)
        self.built = True

    def keras_build_config(self, shapes: list) -> dict:
        return {"input_shape": list(shapes[0])}

    def compute_output_shape(self, input_shape, reverse: bool = False):
        shape = tuple(input_shape)
        if reverse:
            return (*shape[:-1], self.input_dim)
        return (*shape, self.output_dim)

    def compute_mask(self, inputs, mask=None):
        return None  # the forward call sets its mask itself (Keras's override)

    def __call__(self, inputs, *args, reverse: bool = False, **kwargs):
        if not isinstance(reverse, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__} '{self.name}': reverse must be True or "
                            f"False, got {reverse!r}")
        if reverse:
            if not self.built:
                raise ValueError(f"{type(self).__name__} '{self.name}' is called with "
                                 "reverse=True before it is built: call it on ids first")
            return super(Embedding, self).__call__(inputs, *args, reverse=True, **kwargs)
        out = super(Embedding, self).__call__(inputs, *args, **kwargs)
        if self.mask_zero and not isinstance(inputs, (list, tuple)):
            set_mask(out, Embedding.compute_mask(self, inputs))
        return out

    def call(self, inputs, reverse: bool = False, training=None):
        return taped.run_taped(self, lambda x: self._compute(x, bool(reverse)), inputs)

    def _compute(self, inputs, reverse: bool):
        from convnp.tensor.ops import cast, gather, matmul, multiply, tanh, transpose

        if not reverse:
            return gather(self.embeddings, self._ids(inputs))
        width = np.shape(inputs)[-1]
        if width != self.output_dim:
            raise ValueError(f"{type(self).__name__} '{self.name}': reverse=True takes inputs "
                             f"whose last axis is output_dim ({self.output_dim}), got shape "
                             f"{tuple(np.shape(inputs))}")
        kernel = transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = cast(inputs, self.reverse_dtype), cast(kernel, self.reverse_dtype)
        logits = matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = np.asarray(self.logit_soft_cap, dtype=np.result_type(logits))
            logits = multiply(tanh(logits / cap), cap)
        return logits

    backward = taped.taped_backward

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"quantization_config": None, "tie_weights": self.tie_weights,
                       "reverse_dtype": self.reverse_dtype,
                       "logit_soft_cap": self.logit_soft_cap})
        return config
