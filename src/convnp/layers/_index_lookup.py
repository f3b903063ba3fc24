"""What `StringLookup` and `IntegerLookup` share (Keras 3's ``IndexLookup``): a vocabulary
given or learned by ``adapt``, mapped to indices after the mask and OOV slots, or back.

Index layout (as Keras): ``[mask] [oov x num_oov_indices] [tokens...]``; the mask slot is
there only when ``mask_token`` is set and ``output_mode="int"``. ``adapt`` orders tokens by
count, most frequent first, and breaks ties by the tokens themselves, largest first (byte
order for strings), then keeps ``max_tokens`` slots. OOV tokens map to the one OOV slot, or,
with several, to ``token % n`` (integers, ``oov_method="floormod"``) or to a FarmHash
Fingerprint64 bucket of the token's text (strings; integers with ``"farmhash"``), or a SipHash
bucket with ``salt``. ``output_mode`` other than ``"int"`` encodes the indices as Keras does
(one-hot on a last axis of 1 or a new one, multi-hot/count/tf-idf over axis 1 of a batch).

The vocabulary of an adapted layer is not in its config: a ``.keras`` file keeps it as the
asset ``vocabulary.txt`` (one token a line, special tokens included), and TF-IDF weights as
the variable ``idf_weights``; `asset_text`/`load_asset_text` and `own_arrays`/
`load_own_arrays` give convnp's ``.keras`` reader and writer those.
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np

from convnp.layers import _hashes
from convnp.layers.base import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def as_strings(values, where: str) -> np.ndarray:
    """``values`` (str, bytes, or arrays/lists of them; ``tf.string`` bytes from a dataset)
    as an object array of Python str (bytes decoded as UTF-8)."""
    array = np.asarray(values)
    if array.dtype.kind == "U":
        return array.astype(object)
    if array.dtype.kind == "S":
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(array) \
            if array.size else array.astype(object)
    if array.dtype.kind == "O":
        def text(v):
            if isinstance(v, bytes):
                return v.decode("utf-8")
            if isinstance(v, str):
                return v
            raise TypeError(f"{where} takes strings (str or bytes), got an element of type "
                            f"{type(v).__name__}")
        return np.vectorize(text, otypes=[object])(array) if array.size else array
    raise TypeError(f"{where} takes strings (str or bytes), got an array of dtype "
                    f"{array.dtype}")


def as_integers(values, where: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "f":
        if np.any(array != np.floor(array)):
            raise TypeError(f"{where} takes integers, got non-integer floats")
        return array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise TypeError(f"{where} takes integers, got an array of dtype {array.dtype}")
    return array.astype(np.int64)


def categorical(indices: np.ndarray, output_mode: str, depth: int, dtype,
                weights: np.ndarray | None = None) -> np.ndarray:
    """Keras's ``encode_categorical_inputs`` on int64 ``indices`` (values outside ``[0,
    depth)``, e.g. -1 for a dropped mask, count nowhere). ``"one_hot"`` encodes each element
    (a last axis of 1 is replaced); ``"multi_hot"``/``"count"`` reduce axis 1 of a batch (the
    last axis of a rank-2 one; a rank-1 input is one sample), as Keras's TensorFlow backend
    does; ``weights`` (tf_idf) multiply the counts."""
    if output_mode == "one_hot":
        if indices.ndim == 0:
            indices = indices.reshape(1)
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return (indices[..., None] == np.arange(depth)).astype(dtype)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if indices.ndim > 2:  # Keras reduces axis 1 of a batch: (b, n, ...) -> (b, ..., depth)
        indices = np.moveaxis(indices, 1, -1)
    flat = indices.reshape(-1, indices.shape[-1])
    out = np.zeros((flat.shape[0], depth), np.float64)
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    cols = flat.reshape(-1)
    keep = (cols >= 0) & (cols < depth)
    np.add.at(out, (rows[keep], cols[keep]), 1.0)
    if output_mode == "multi_hot":
        out = np.minimum(out, 1.0)
    out = out.reshape(indices.shape[:-1] + (depth,))
    if weights is not None:
        return (out.astype(np.float32) * weights.astype(np.float32)).astype(dtype)
    return out.astype(dtype)


class NoGradientLayer(Layer):
    """A preprocessing layer of the text and categorical family: it takes inputs of any shape
    (strings or ids), has no weights to build and passes no gradient back."""

    def check_input_shape(self, input_shape) -> None:
        return None

    def build(self, input_shape) -> None:
        self.built = True

    def backward(self, dy):
        self.take_cache()


class IndexLookup(NoGradientLayer):
    """The shared lookup layer; use `StringLookup` or `IntegerLookup`."""

    _strings = True  # StringLookup; IntegerLookup sets False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", salt=None,
                 name=None, vocabulary_size=None, **kwargs):
        cls = type(self).__name__
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"{cls}: unrecognized keyword argument(s) {sorted(kwargs)}")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(
                max_tokens, (int, np.integer)) or max_tokens <= 1):
            raise ValueError(f"{cls}: max_tokens must be None or an int greater than 1, got "
                             f"{max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls}: pad_to_max_tokens=True needs max_tokens, got "
                             f"max_tokens=None")
        if isinstance(num_oov_indices, bool) or not isinstance(
                num_oov_indices, (int, np.integer)) or num_oov_indices < 0:
            raise ValueError(f"{cls}: num_oov_indices must be an int >= 0, got "
                             f"{num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{cls}: oov_method must be 'floormod' or 'farmhash', got "
                             f"{oov_method!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{cls}: output_mode must be one of {OUTPUT_MODES}, got "
                             f"{output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: invert=True needs output_mode='int', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError(f"{cls}: sparse=True is not supported (convnp has no sparse "
                             f"tensors); outputs are dense")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: idf_weights apply to output_mode='tf_idf' only, got "
                             f"output_mode={output_mode!r}")
        if salt is not None:
            if not self._strings and oov_method != "farmhash":
                raise ValueError(f"{cls}: salt needs oov_method='farmhash', got "
                                 f"oov_method={oov_method!r}")
            salt = check_salt(salt, cls)
        super().__init__(name=name)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = self._token(mask_token, "mask_token")
        self.oov_token = self._token(oov_token, "oov_token")
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt
        self.input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) \
            else _listed(vocabulary)
        self.input_idf_weights = _listed(idf_weights)
        self._has_input_vocabulary = bool(has_input)
        self._frozen_vocab_size = vocabulary_size
        self._tokens: list = []
        self._index: dict = {}
        self.idf_weights = None
        self._reset_counts()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{cls}: with a vocabulary and output_mode='tf_idf', give "
                             f"idf_weights too")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            self.idf_weights = np.asarray(idf_weights, np.float32)

    # -- tokens ------------------------------------------------------------------------------

    def _token(self, value, what: str):
        if value is None:
            return None
        if self._strings:
            if isinstance(value, bytes):
                return value.decode("utf-8")
            if not isinstance(value, str):
                raise TypeError(f"{type(self).__name__}: {what} must be a string, got "
                                f"{value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: {what} must be an int, got {value!r}")
        return int(value)

    def _keys(self, values) -> np.ndarray:
        where = f"{type(self).__name__} '{self.name}'"
        return as_strings(values, where) if self._strings else as_integers(values, where)

    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    # -- vocabulary --------------------------------------------------------------------------

    def vocabulary_size(self) -> int:
        """The number of indices: the tokens plus the mask and OOV slots."""
        return len(self._tokens) + self._token_start()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The tokens in index order (the mask and OOV tokens first unless
        ``include_special_tokens=False``)."""
        special = [self.mask_token] * self._oov_start() + \
            [self.oov_token] * self.num_oov_indices
        return (special if include_special_tokens else []) + list(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Replace the vocabulary: a list or 1-D array of tokens (the special tokens may lead
        it, in their order), or the path of a text file with one token a line; and, for
        ``"tf_idf"``, ``idf_weights`` of the same length."""
        cls = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: idf_weights must be set with output_mode='tf_idf'")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: idf_weights apply to output_mode='tf_idf' only, got "
                             f"output_mode={self.output_mode!r}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{cls}: output_mode='tf_idf' cannot read its vocabulary "
                                 f"from a file")
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"{cls}: vocabulary file {path} does not exist")
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            vocabulary = lines if self._strings else [int(v) for v in lines]
        if hasattr(vocabulary, "numpy") and not isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.numpy()
        values = list(np.asarray(vocabulary).reshape(-1)) if isinstance(
            vocabulary, np.ndarray) else list(vocabulary) \
            if isinstance(vocabulary, (list, tuple)) else None
        if values is None:
            raise TypeError(f"{cls}: vocabulary must be a list, tuple, 1-D array or a file "
                            f"path, got {type(vocabulary).__name__}")
        if not values:
            raise ValueError(f"{cls}: cannot set an empty vocabulary")
        values = list(self._keys(np.asarray(values, dtype=object if self._strings else None)
                                 ).reshape(-1))
        if not self._strings:
            values = [int(v) for v in values]
        start = self._token_start()
        special = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        found_special = values[:start] == special
        tokens = values[start:] if found_special else values
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary repeats {repeated}; give each token once")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{cls}: the mask token {self.mask_token!r} is in the vocabulary "
                             f"at index {values.index(self.mask_token)}; leave the special "
                             f"tokens out, or put them first in this order: {special}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(f"{cls}: the OOV token {self.oov_token!r} is in the vocabulary "
                             f"at index {values.index(self.oov_token)}; leave the special "
                             f"tokens out, or put them first in this order: {special}")
        size = start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{cls}: the vocabulary has {size} entries (special tokens "
                             f"included), more than max_tokens={self.max_tokens}")
        weights = None
        if idf_weights is not None:
            weights = np.asarray(idf_weights, np.float64)
            if weights.ndim != 1 or len(weights) != len(values):
                raise ValueError(f"{cls}: idf_weights must be 1-D with the vocabulary's "
                                 f"length {len(values)}, got shape {weights.shape}")
            front = 0 if found_special else start
            back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
            weights = np.concatenate([np.full(front, np.mean(weights)), weights,
                                      np.zeros(max(back, 0))]).astype(np.float32)
        self._check_size_unchanged(size)
        self._set_tokens(tokens)
        if weights is not None:
            self.idf_weights = weights
        self._frozen_vocab_size = self.vocabulary_size()

    def _set_tokens(self, tokens: list) -> None:
        self._tokens = list(tokens)
        start = self._token_start()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

    def _check_size_unchanged(self, size: int) -> None:
        if self.output_mode == "int" or self.pad_to_max_tokens:
            return
        if self.built and self._frozen_vocab_size is not None and \
                size != self._frozen_vocab_size:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': with output_mode="
                               f"{self.output_mode!r} the vocabulary size cannot change "
                               f"after the layer is called (was {self._frozen_vocab_size}, "
                               f"now {size})")

    # -- adapt -------------------------------------------------------------------------------

    def _reset_counts(self) -> None:
        self._counts: collections.Counter = collections.Counter()
        self._doc_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    def reset_state(self) -> None:
        if not self._has_input_vocabulary:
            self._reset_counts()

    def update_state(self, data) -> None:
        """Count the tokens of one batch (a rank-0/1 batch is one document for tf-idf)."""
        if self._has_input_vocabulary:
            raise ValueError(f"cannot adapt layer '{self.name}' after setting a vocabulary "
                             f"(the vocabulary argument or set_vocabulary())")
        keys = self._keys(data)
        if keys.ndim < 2:
            keys = keys.reshape(1, -1)
        self._count(list(keys.reshape(len(keys), -1)))

    def _count(self, documents: list) -> None:
        """Count the tokens of ``documents`` (sequences of tokens, one per document)."""
        for doc in documents:
            doc = [t if self._strings else int(t) for t in doc]
            self._counts.update(doc)
            if self.output_mode == "tf_idf":
                self._doc_counts.update(set(doc))
        self._num_documents += len(documents)

    def finalize_state(self) -> None:
        if self._has_input_vocabulary or not self._counts:
            if self._tokens:
                self._frozen_vocab_size = self.vocabulary_size()
            return
        counts = dict(self._counts)
        counts.pop(self.mask_token, None)
        counts.pop(self.oov_token, None)
        # most frequent first; ties: the larger token first (Keras's reversed lexsort)
        order = sorted(counts, key=lambda t: (counts[t], _sort_key(t)), reverse=True)
        if self.max_tokens:
            order = order[:max(self.max_tokens - self._token_start(), 0)]
        self._check_size_unchanged(self._token_start() + len(order))
        self._set_tokens(order)
        if self.output_mode == "tf_idf":
            docs = np.array([self._doc_counts[t] for t in order], np.float64)
            idf = np.log1p(self._num_documents / (1.0 + docs)).astype(np.float32)
            mean = np.float32(idf.mean()) if idf.size else np.float32(0)
            weights = np.concatenate([np.full(self._token_start(), mean, np.float32), idf])
            if self.pad_to_max_tokens:
                weights = np.concatenate([weights, np.zeros(self.max_tokens - weights.size,
                                                            np.float32)])
            self.idf_weights = weights
        self._reset_counts()
        self._frozen_vocab_size = self.vocabulary_size()

    def adapt(self, data, steps=None) -> None:
        """Learn the vocabulary from ``data``: an array or list (rows are documents; a 1-D
        array holds one token per document), or a `Dataset` or other iterable of batches
        (``steps`` batches at most). Strings may be str or bytes."""
        self.reset_state()
        for batch in adapt_batches(data, steps, type(self).__name__):
            self.update_state(batch)
        self.finalize_state()

    # -- call --------------------------------------------------------------------------------

    @property
    def _depth(self) -> int | None:
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self._depth
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return (shape[:1] + shape[2:] if len(shape) > 1 else ()) + (depth,)

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """int64 indices of ``keys`` (mask -> 0 for int output, -1 otherwise)."""
        unique, inverse = np.unique(keys.reshape(-1), return_inverse=True)
        found = np.array([self._index.get(k if self._strings else int(k), -1)
                          for k in unique], np.int64)
        if self.num_oov_indices > 1:
            missing = found < 0
            if np.any(missing):
                found[missing] = self._oov_start() + self._oov_buckets(unique[missing])
        elif self.num_oov_indices == 1:
            found[found < 0] = self._oov_start()
        if self.mask_token is not None:
            masked = np.array([k == self.mask_token for k in unique], bool)
            found[masked] = 0 if self.output_mode == "int" else -1
        if self.num_oov_indices == 0:
            bad = [k for k, f in zip(unique, found) if f < 0 and k != self.mask_token]
            if bad:
                raise ValueError(f"{type(self).__name__} '{self.name}': with "
                                 f"num_oov_indices=0 every input must be in the vocabulary; "
                                 f"found {bad[:10]} (set num_oov_indices=1 to map them to an "
                                 f"OOV index)")
        return found[inverse].reshape(keys.shape)

    def _oov_buckets(self, keys) -> np.ndarray:
        n = self.num_oov_indices
        if not self._strings and self.oov_method != "farmhash":
            return np.mod(np.asarray(keys, np.int64), n)
        return np.array([hash_bucket(k, n, self.salt) for k in keys], np.int64)

    def _invert(self, indices) -> np.ndarray:
        where = f"{type(self).__name__} '{self.name}' (invert=True)"
        ids = as_integers(indices, where)
        table = self.get_vocabulary()
        start = self._token_start()
        out = np.empty(ids.shape, dtype=object)
        flat = out.reshape(-1)
        for i, k in enumerate(ids.reshape(-1)):
            if self.mask_token is not None and k == 0:
                flat[i] = self.mask_token
            elif start <= k < len(table):
                flat[i] = table[k]
            else:
                flat[i] = self.oov_token
        if self._strings:
            return out.astype(str) if out.size else np.zeros(ids.shape, "<U1")
        return out.astype(np.int64)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = ()
        if self.invert:
            return self._invert(inputs)
        if self.output_mode != "int" and not self.pad_to_max_tokens and \
                self._frozen_vocab_size is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': with output_mode="
                               f"{self.output_mode!r} and pad_to_max_tokens=False, set the "
                               f"vocabulary (argument or set_vocabulary) or call adapt "
                               f"before calling the layer")
        keys = self._keys(inputs)
        return self._encode(self._lookup(keys))

    def _encode(self, indices: np.ndarray) -> np.ndarray:
        if self.output_mode == "int":
            return indices
        if self.output_mode == "tf_idf":
            if self.idf_weights is None:
                raise ValueError(f"{type(self).__name__} '{self.name}': output_mode='tf_idf' "
                                 f"needs idf_weights (adapt or set_vocabulary)")
            return categorical(indices, "count", self._depth, np.float32, self.idf_weights)
        return categorical(indices, self.output_mode, self._depth, np.int64)

    # -- config and files --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "dtype": {"module": "keras", "class_name": "DTypePolicy",
                          "config": {"name": "float32"}, "registered_name": None},
                "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": self.input_idf_weights,
                "vocabulary": self.input_vocabulary,
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method,
                "salt": self.salt}

    def own_arrays(self) -> dict[str, np.ndarray]:
        """Keras's ``save_own_variables``: ``idf_weights`` in tf-idf mode."""
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            return {"idf_weights": np.asarray(self.idf_weights, np.float32)}
        return {}

    def load_own_arrays(self, arrays: dict) -> None:
        if self.output_mode == "tf_idf" and "idf_weights" in arrays:
            self.idf_weights = np.asarray(arrays["idf_weights"], np.float32).reshape(-1)

    def asset_text(self) -> str | None:
        """Keras's ``vocabulary.txt`` asset: None when the config holds the vocabulary."""
        if self.input_vocabulary is not None:
            return None
        return "\n".join(str(t) for t in self.get_vocabulary())

    def load_asset_text(self, text: str) -> None:
        if self.input_vocabulary is not None:
            return
        lines = text.splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return
        values = lines if self._strings else [int(v) for v in lines]
        weights = self.idf_weights if self.output_mode == "tf_idf" else None
        has_input = self._has_input_vocabulary
        self._has_input_vocabulary = False
        self._frozen_vocab_size = None
        self.set_vocabulary(values, weights)
        if weights is not None:  # the file's weights already hold the special slots
            self.idf_weights = np.asarray(weights, np.float32)
        self._has_input_vocabulary = has_input


def _listed(value):
    if value is None:
        return None
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [v.decode("utf-8") if isinstance(v, bytes) else
                (v.item() if isinstance(v, np.generic) else v) for v in value]
    return value


def _sort_key(token):
    return token.encode("utf-8") if isinstance(token, str) else token


def check_salt(salt, cls: str) -> list[int]:
    if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"{cls}: salt must be an int or a pair of ints, got {salt!r}")


def hash_bucket(value, buckets: int, salt=None) -> int:
    """TensorFlow's ``to_hash_bucket_fast`` (FarmHash Fingerprint64) of a value's text, or
    ``to_hash_bucket_strong`` (SipHash-2-4 keyed by ``salt``)."""
    data = _hashes.as_bytes(value)
    if salt is None:
        return _hashes.fingerprint64(data) % buckets
    return _hashes.siphash((salt[0], salt[1]), data) % buckets


def adapt_batches(data, steps, layer: str):
    """The batches ``adapt`` reads: an array or list is one batch (a 1-D one made a column:
    one token per document, as Keras does); a `Dataset` or other iterable gives its batches
    (``steps`` at most)."""
    if isinstance(data, (np.ndarray, list, tuple, str, bytes)) or np.isscalar(data) or (
            hasattr(data, "shape") and hasattr(data, "dtype")):
        array = np.asarray(data, dtype=object) if isinstance(data, (list, tuple)) \
            and _ragged(data) else np.asarray(data)
        if array.ndim == 1:
            array = array[:, None]
        yield array
        return
    if hasattr(data, "as_numpy_iterator"):
        data = data.as_numpy_iterator()
    if not hasattr(data, "__iter__"):
        raise TypeError(f"{layer}.adapt takes an array, a list, a Dataset or an iterable of "
                        f"batches, got {type(data).__name__}")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, (tuple, dict)):
            raise TypeError(f"{layer}.adapt expects features only, got an element of type "
                            f"{type(batch).__name__}; map the dataset to its features first "
                            f"(e.g. ds.map(lambda x, y: x))")
        yield batch


def _ragged(data) -> bool:
    lengths = {len(row) for row in data if isinstance(row, (list, tuple))}
    return len(lengths) > 1
