"""Keras 3's `IntegerLookup`: integer ids to vocabulary indices (or their encodings), and
back. See `convnp.layers._index_lookup` for the index layout, ``adapt``'s ordering, OOV
buckets and how a ``.keras`` file keeps the vocabulary."""

from __future__ import annotations

from convnp.layers._index_lookup import IndexLookup
from convnp.layers.registry import register


@register
class IntegerLookup(IndexLookup):
    """Map integers to int64 indices: ``[mask] [OOV...] [vocabulary...]``.

    As `StringLookup`, with integer tokens: ``oov_token`` defaults to -1, ``mask_token`` to
    None; several OOV slots take ``token % num_oov_indices`` (``oov_method="floormod"``, the
    default) or a FarmHash bucket of the token's decimal text (``"farmhash"``, which
    ``salt`` turns into SipHash). ``vocabulary_dtype`` must be ``"int64"`` as in Keras.

    >>> layer = IntegerLookup(vocabulary=[12, 36])
    >>> layer([36, 12, 7]).numpy().tolist()
    [2, 1, 0]
    """

    _strings = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup: only vocabulary_dtype='int64' is supported, "
                             f"got {vocabulary_dtype!r}")
        self.vocabulary_dtype = "int64"
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": "int64"}
