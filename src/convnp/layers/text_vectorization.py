"""Keras 3's `TextVectorization`: standardize, split, make n-grams, then look the tokens up
in a vocabulary (a `StringLookup` with ``mask_token=""``, kept as ``_lookup_layer`` as in
Keras, whose ``.keras`` files store the vocabulary under that name too).

Strings are processed as TensorFlow does: ``"lower"`` lowercases ASCII letters only
(``tf.strings.lower``), ``"strip_punctuation"`` removes the ASCII punctuation of Keras's
pattern, ``"whitespace"`` splits on ASCII whitespace (space, tab, newline, CR, VT, FF) and
``"character"`` into Unicode code points. Inputs may be str or bytes (UTF-8), as the
``tf.string`` batches of `text_dataset_from_directory`.

A callable ``standardize`` receives a NumPy array of Python str (the batch) and returns an
array (or list) of str of the same shape; a callable ``split`` receives a 1-D array of str
and returns one list of tokens per string.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from convnp.layers._index_lookup import NoGradientLayer, adapt_batches, as_strings
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.layers.string_lookup import StringLookup

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_WHITESPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")


def _choice(value, options: tuple, what: str):
    if value is None or callable(value) or value in options:
        return value
    raise ValueError(f"TextVectorization: {what} must be None, a callable or one of "
                     f"{options}, got {value!r}")


def ngrams_of(tokens: list[str], widths: tuple[int, ...]) -> list[str]:
    """``tf.strings.ngrams`` with ``separator=" "``: every n-gram of each width in turn (a
    width longer than the sequence gives none)."""
    out: list[str] = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


@register
class TextVectorization(NoGradientLayer):
    """Text to token indices (``output_mode="int"``) or to a fixed-size encoding.

    Args:
        max_tokens: the vocabulary's largest size (padding and OOV included).
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None or a callable (see the module docstring).
        split: ``"whitespace"`` (default), ``"character"``, None (each string is one token)
            or a callable.
        ngrams: None, an int ``n`` (1..n-grams) or a tuple of widths.
        output_mode: ``"int"`` (default), ``"multi_hot"``, ``"count"``, ``"tf_idf"`` (or
            ``"one_hot"``, with ``split=None``).
        output_sequence_length: ``"int"`` only: pad with 0 or cut every sequence to this
            length (None: pad the batch to its longest sequence).
        pad_to_max_tokens: encodings have ``max_tokens`` entries.
        vocabulary, idf_weights: a given vocabulary (list or text file) and tf-idf weights.
        encoding: ``"utf-8"`` only. ``sparse``/``ragged``: False only.

    >>> layer = TextVectorization(vocabulary=["cat", "the"], output_sequence_length=4)
    >>> layer(["The cat, the dog."]).numpy().tolist()
    [[3, 2, 3, 1]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 vocabulary_size=None, **kwargs):
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        _choice(standardize, STANDARDIZE, "standardize")
        _choice(split, SPLIT, "split")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool)
                                   and ngrams >= 1)
                or (isinstance(ngrams, tuple) and ngrams and all(
                    isinstance(n, int) and not isinstance(n, bool) and n >= 1
                    for n in ngrams))):
            raise ValueError(f"TextVectorization: ngrams must be None, an int >= 1 or a tuple "
                             f"of them, got {ngrams!r}")
        if output_mode == "int" and output_sequence_length is not None and (
                isinstance(output_sequence_length, bool)
                or not isinstance(output_sequence_length, (int, np.integer))
                or output_sequence_length < 1):
            raise ValueError(f"TextVectorization: output_sequence_length must be None or an "
                             f"int >= 1, got {output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"TextVectorization: output_sequence_length applies to "
                             f"output_mode='int' only, got output_mode={output_mode!r}")
        if ragged:
            raise ValueError("TextVectorization: ragged=True is not supported (convnp has "
                             "no ragged tensors); use output_sequence_length or the padded "
                             "default")
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = None if output_sequence_length is None \
            else int(output_sequence_length)
        self._ragged = False
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, has_input_vocabulary=has_input, encoding=encoding,
            vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")

    #: a Sequential starting with this layer makes a dtype="string" input
    takes_text = True

    # -- vocabulary --------------------------------------------------------------------------

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The tokens in index order (``""`` and ``"[UNK]"`` first unless
        ``include_special_tokens=False``)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (a list, 1-D array or text file path; tf-idf weights too)."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary from texts: an array or list (each element a document), or a
        `Dataset` or iterable of batches of texts (str or bytes; ``steps`` batches at
        most). A dataset of ``(text, label)`` pairs must be mapped to its texts first."""
        self._lookup_layer.reset_state()
        for batch in adapt_batches(data, steps, "TextVectorization"):
            self.update_state(batch)
        self._lookup_layer.finalize_state()

    def update_state(self, data) -> None:
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(f"cannot adapt layer '{self.name}' after setting a vocabulary "
                             f"(the vocabulary argument or set_vocabulary())")
        tokens = self._preprocess(data)
        if isinstance(tokens, np.ndarray):  # split=None: a dense array of strings
            if tokens.ndim < 2:
                tokens = tokens.reshape(1, -1)
            documents = [list(row.reshape(-1)) for row in tokens]
        else:
            documents = tokens if tokens and isinstance(tokens[0], list) else [tokens]
        lookup._count(documents)

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    # -- processing --------------------------------------------------------------------------

    def _standardized(self, texts: np.ndarray) -> np.ndarray:
        mode = self._standardize
        if mode in ("lower", "lower_and_strip_punctuation"):
            texts = np.vectorize(lambda s: s.translate(_ASCII_LOWER), otypes=[object])(texts) \
                if texts.size else texts
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = np.vectorize(lambda s: _PUNCTUATION.sub("", s), otypes=[object])(texts) \
                if texts.size else texts
        if callable(mode):
            result = np.asarray(mode(texts.astype(str) if texts.size else texts))
            texts = as_strings(result, f"TextVectorization '{self.name}': standardize")
        return texts

    def _split_one(self, text: str) -> list[str]:
        if self._split == "whitespace":
            return [t for t in _WHITESPACE.split(text) if t]
        return list(text)

    def _preprocess(self, inputs):
        """Standardized and split texts: an array of strings (``split=None``), else one list
        of tokens per text (a single list for a scalar input)."""
        texts = as_strings(inputs, f"TextVectorization '{self.name}'")
        texts = self._standardized(texts)
        if self._split is None:
            if self._ngrams is not None:
                raise ValueError("TextVectorization: ngrams need a split (split=None gives "
                                 "one token per string)")
            return texts
        scalar = texts.ndim == 0
        if texts.ndim > 1:
            if texts.shape[-1] != 1:
                raise ValueError(f"TextVectorization '{self.name}': to split strings the "
                                 f"input must have rank 1 or a last axis of 1, got shape "
                                 f"{texts.shape}")
            texts = texts[..., 0]
        if texts.ndim > 1:
            raise ValueError(f"TextVectorization '{self.name}': inputs of shape "
                             f"{texts.shape + (1,)} are not supported; give a batch of texts "
                             f"(n,) or (n, 1)")
        flat = texts.reshape(-1)
        if callable(self._split):
            result = self._split(flat.astype(str) if flat.size else flat)
            rows = [list(as_strings(np.asarray(r, dtype=object), "split").reshape(-1))
                    for r in result]
            if len(rows) != len(flat):
                raise ValueError(f"TextVectorization '{self.name}': split returned "
                                 f"{len(rows)} token lists for {len(flat)} texts")
        else:
            rows = [self._split_one(t) for t in flat]
        if self._ngrams is not None:
            rows = [ngrams_of(r, self._ngrams) for r in rows]
        return rows[0] if scalar else rows

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self._output_mode == "int":
            if self._split is None:
                return shape if self._output_sequence_length is None else \
                    shape[:-1] + (self._output_sequence_length,)
            return (shape[0] if shape else None, self._output_sequence_length)
        if self._split is None:
            if len(shape) <= 1:
                shape = shape + (1,)
        else:
            shape = (shape[0] if shape else None, None)
        return self._lookup_layer.compute_output_shape(shape)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = ()
        tokens = self._preprocess(inputs)
        lookup = self._lookup_layer
        if isinstance(tokens, np.ndarray):
            out = lookup.call(tokens)
            if self._output_mode == "int" and self._output_sequence_length is not None:
                out = _fit_length(out, self._output_sequence_length)
            return out
        scalar = not tokens or not isinstance(tokens[0], list)
        rows = [tokens] if scalar else tokens
        longest = max((len(r) for r in rows), default=0)
        width = longest if self._output_mode != "int" or self._output_sequence_length is None \
            else max(longest, 1)
        # padding with the mask token "" gives index 0 ("int") or nothing (the encodings)
        padded = np.full((len(rows), width), "", dtype=object)
        for i, r in enumerate(rows):
            padded[i, :len(r)] = r
        out = lookup.call(padded)
        if self._output_mode == "int" and self._output_sequence_length is not None:
            out = _fit_length(out, self._output_sequence_length)
        return out[0] if scalar else out

    # -- config and files --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer
        return {"name": self.name, "trainable": self.trainable,
                "dtype": {"module": "keras", "class_name": "DTypePolicy",
                          "config": {"name": "float32"}, "registered_name": None},
                "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": False,
                "ragged": False, "vocabulary": lookup.input_vocabulary,
                "idf_weights": lookup.input_idf_weights, "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        for key in ("standardize", "split"):
            value = config.get(key)
            if value is not None and not isinstance(value, str) and not callable(value):
                raise ValueError(f"TextVectorization: a {key} function in a config cannot be "
                                 f"rebuilt (got {value!r}); make the layer in code")
        return cls(**config)

    def keras_children(self) -> dict[str, Layer]:
        """Keras saves the inner `StringLookup` as ``<this layer>/_lookup_layer``."""
        return {"_lookup_layer": self._lookup_layer}

    def own_arrays(self) -> dict[str, np.ndarray]:
        return self._lookup_layer.own_arrays()

    def load_own_arrays(self, arrays: dict) -> None:
        self._lookup_layer.load_own_arrays(arrays)

    def asset_text(self) -> str | None:
        return self._lookup_layer.asset_text()

    def load_asset_text(self, text: str) -> None:
        self._lookup_layer.load_asset_text(text)


def _fit_length(indices: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad the last axis to ``length``."""
    indices = indices[..., :length]
    missing = length - indices.shape[-1]
    if missing > 0:
        pad = [(0, 0)] * (indices.ndim - 1) + [(0, missing)]
        indices = np.pad(indices, pad)
    return indices
