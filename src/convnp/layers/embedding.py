"""`Embedding`: integer ids to rows of a learned table (a Vision Transformer's position
embedding, ``Embedding(num_patches, dim)(ops.arange(num_patches))``; class ids for a
conditional GAN).

The ids index the table; the table's gradient adds each output row's gradient to the row it
came from (an id used twice gets both). The ids get no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import constraints, initializers, regularizers
from convnp.layers import _masks, _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.tensor.errors import InvalidArgumentError


@register
class Embedding(Layer):
    """``outputs[..., :] = embeddings[ids[...]]``.

    Args:
        input_dim: the number of ids (ids are ``0 .. input_dim - 1``).
        output_dim: the length of each row.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: as a kernel's
            (Keras's default initializer is ``"uniform"``, in [-0.05, 0.05]).
        mask_zero: id 0 is padding: the output carries a mask (the ids that are not 0) to
            the recurrent layers after it, as Keras's (in a model, made by the op
            ``not_equal``, as Keras 3 records it).
        weights: a starting table (``[matrix]`` or the matrix, shaped ``(input_dim,
            output_dim)``), as pretrained word vectors are given
            (``Embedding(n, d, weights=[glove], trainable=False)``); the layer is built with
            it at once, as in Keras 3.

    Shape: ids ``(m, ...)`` (integers, or floats holding integers) -> ``(m, ..., output_dim)``.
    Caches the ids.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 mask_zero: bool = False, activity_regularizer=None, input_length=None,
                 lora_rank=None, weights=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        self.input_dim = _utils.positive_int(input_dim, "input_dim", cls, ValueError)
        self.output_dim = _utils.positive_int(output_dim, "output_dim", cls, ValueError)
        table = self._starting_table(weights)
        if not isinstance(mask_zero, (bool, np.bool_)):
            raise TypeError(f"{cls}: mask_zero must be True or False, got {mask_zero!r}")
        _utils.not_supported(cls, lora_rank=lora_rank, lora_alpha=lora_alpha,
                             quantization_config=quantization_config)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero  # Keras's: its output carries the mask then
        self._makes_masks = self.mask_zero
        self.input_length = input_length  # Keras 2's argument: kept, not used
        self._embeddings_initializer = embeddings_initializer  # as given, for get_config
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.embeddings = None
        if table is not None:
            self.build((None, None))
            self.embeddings.assign(table)

    def _starting_table(self, weights) -> np.ndarray | None:
        """``weights`` (one matrix, alone or in a list or tuple) checked against the table's
        shape before anything is made; None when not given."""
        if weights is None:
            return None
        if isinstance(weights, (list, tuple)):
            if len(weights) != 1:
                raise ValueError(f"{type(self).__name__}: weights must hold one matrix (the "
                                 f"table), got a list of {len(weights)}")
            weights = weights[0]
        try:
            table = np.asarray(weights, dtype=self.dtype)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: weights must be a numeric matrix, got "
                            f"{type(weights).__name__}") from None
        if table.shape != (self.input_dim, self.output_dim):
            raise ValueError(f"{type(self).__name__}: weights must be shaped (input_dim, "
                             f"output_dim) = {(self.input_dim, self.output_dim)}, got "
                             f"{table.shape}")
        return table

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list):
            raise TypeError(f"Embedding takes a single input, got a list of "
                            f"{len(input_shape)}")
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        return None  # any shape of ids

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def _ids(self, inputs) -> np.ndarray:
        ids = np.asarray(inputs)
        if ids.dtype.kind == "f":
            # a model's input arrives as floats; ids are their integer values (Keras casts)
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iub":
            raise TypeError(f"Embedding '{self.name}' takes integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < -self.input_dim or ids.max() >= self.input_dim):
            bad = int(ids.min()) if ids.min() < -self.input_dim else int(ids.max())
            # TF 2.21's gather error: InvalidArgumentError (a ValueError here too)
            raise InvalidArgumentError(f"Embedding '{self.name}': id {bad} is not in "
                                       f"[-{self.input_dim}, {self.input_dim})")
        if ids.size and ids.min() < 0:
            # a negative id counts from the end of the table, as in TF 2.21 (Keras 3 looks
            # ids up with ops.take, which wraps them)
            ids = np.where(ids < 0, ids + self.input_dim, ids)
        return ids

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` with ``mask_zero`` (None without)."""
        if not self.mask_zero:
            return None
        return _masks.not_equal(inputs, 0)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        ids = self._ids(inputs)
        self._cache = ids
        return self.embeddings.value[ids]

    def backward(self, dy: np.ndarray):
        """Sets ``embeddings.grad``; the ids get no gradient (returns None)."""
        ids = self.take_cache()
        grad = np.zeros_like(self.embeddings.value)
        np.add.at(grad, ids.reshape(-1),
                  _utils.as_dtype(dy, self.dtype).reshape(-1, self.output_dim))
        self.embeddings.grad = grad

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _utils.initializer_config(self._embeddings_initializer,
                                                                self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        })
        return config
