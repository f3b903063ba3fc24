"""Keras 3's `StringLookup`: strings to vocabulary indices (or their encodings), and back.

See `convnp.layers._index_lookup` for the index layout, ``adapt``'s ordering, OOV buckets and
how a ``.keras`` file keeps the vocabulary. Inputs may be str or bytes (``tf.string`` batches
of `text_dataset_from_directory`); ``invert=True`` returns a NumPy unicode array.
"""

from __future__ import annotations

from typing import Any

from convnp.layers._index_lookup import IndexLookup
from convnp.layers.registry import register


@register
class StringLookup(IndexLookup):
    """Map strings to int64 indices: ``[mask] [OOV...] [vocabulary...]``.

    Args:
        max_tokens: the most indices (special ones included) ``adapt`` keeps; None: all.
        num_oov_indices: OOV slots (default 1; 0 makes unknown strings an error; several
            spread unknown strings by FarmHash Fingerprint64, or SipHash with ``salt``).
        mask_token: a string mapped to 0 (``"int"``) or dropped (other modes); None: none.
        oov_token: what ``invert=True`` returns for unknown indices (default ``"[UNK]"``).
        vocabulary: a list/array of strings or a text file path (one a line).
        idf_weights: the tf-idf weights of a given vocabulary.
        invert: map indices back to strings (``output_mode="int"`` only).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        pad_to_max_tokens: encodings have ``max_tokens`` entries whatever the vocabulary.
        encoding: ``"utf-8"`` only (accepted for Keras configs). ``sparse``: False only.

    >>> layer = StringLookup(vocabulary=["a", "b"])
    >>> layer(["b", "a", "z"]).numpy().tolist()
    [2, 1, 0]
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None,
                 salt=None, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        if str(encoding).lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise ValueError(f"StringLookup: only encoding='utf-8' is supported, got "
                             f"{encoding!r}")
        self.encoding = "utf-8"
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt,
                         name=name, **kwargs)

    @property
    def takes_text(self) -> bool:
        """Whether the layer reads strings (not when it maps indices back)."""
        return not self.invert

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "encoding": self.encoding}
