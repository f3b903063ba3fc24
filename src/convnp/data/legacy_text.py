"""Keras 1's text helpers, ``tf.keras.preprocessing.text`` (still exported by TensorFlow 2.21):
`text_to_word_sequence`, `one_hot`, `hashing_trick`, the `Tokenizer` and
`tokenizer_from_json`.

They work on Python strings and lists, as Keras' do: the `Tokenizer` counts words in the order
it meets them, numbers them from 1 by falling count (ties keep that order; index 0 is never a
word, and an ``oov_token`` takes index 1), and turns texts into lists of indices or into
``(texts, num_words)`` float64 matrices. ``to_json`` writes Keras' layout, so a tokenizer
saved by TensorFlow loads here and the other way round.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def _text(value, who: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{who}: expected a string, got {type(value).__name__}")
    return value


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """The words of ``input_text``: lower-cased if ``lower``, every character of ``filters``
    turned into ``split``, split on ``split``, empty pieces dropped."""
    text = _text(input_text, "text_to_word_sequence")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [word for word in text.split(split) if word]


def _md5(word: str) -> int:
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                  analyzer=None):
    """Each word of ``text`` as ``hash(word) % (n - 1) + 1`` (an index in ``1..n-1``).

    ``hash_function``: None for Python's ``hash`` (which changes between runs unless
    ``PYTHONHASHSEED`` is set), ``"md5"`` for a stable one, or any function of a string.
    ``analyzer`` (a function of the text) replaces the word splitting."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"hashing_trick: n must be an int, got {n!r}")
    if n < 2:
        raise ValueError(f"hashing_trick: n must be at least 2 (indices 1..n-1), got {n}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5
    elif not callable(hash_function):
        raise TypeError(f"hashing_trick: hash_function must be None, 'md5' or a function, got "
                        f"{hash_function!r}")
    if analyzer is None:
        words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        words = analyzer(text)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """`hashing_trick` with Python's ``hash`` (Keras' name: it never made one-hot vectors)."""
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split, analyzer=analyzer)


class Tokenizer:
    """Keras' word (or character) index: ``fit_on_texts`` builds it, ``texts_to_sequences``
    and ``texts_to_matrix`` use it.

    Args:
        num_words: keep only the ``num_words - 1`` most frequent words when converting
            (the index itself keeps them all, as in Keras).
        filters, lower, split: as `text_to_word_sequence`.
        char_level: every character is a token.
        oov_token: a token (index 1) standing for words not kept.
        analyzer: a function splitting a text into tokens, instead of the splitting above.
        nb_words: Keras 1's name of ``num_words`` (warns); ``document_count`` (from a
            config) starts the document count.
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("Tokenizer: nb_words is now called num_words", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer got unexpected keyword arguments: {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool)
                                      or not isinstance(num_words, (int, np.integer))):
            raise TypeError(f"Tokenizer: num_words must be an int or None, got {num_words!r}")
        self.word_counts: OrderedDict = OrderedDict()
        self.word_docs: defaultdict = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs: defaultdict = defaultdict(int)
        self.word_index: dict = {}
        self.index_word: dict = {}
        self.analyzer = analyzer

    def _tokens(self, text) -> list:
        """One text's tokens: a list (or, at character level, a string) is taken as already
        split (only lower-cased); anything else goes through the analyzer or the splitting."""
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is not None:
            return list(self.analyzer(text))
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower,
                                     split=self.split)

    def fit_on_texts(self, texts) -> None:
        """Count the tokens of ``texts`` (adding to earlier fits) and renumber the index."""
        if isinstance(texts, str):
            # Keras takes a lone string as a list of one-character texts; so does convnp
            texts = list(texts)
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        # a stable sort: equal counts stay in the order the words were first met
        by_count = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token])
        vocabulary += [word for word, _ in by_count]
        self.word_index = {word: i for i, word in enumerate(vocabulary, start=1)}
        self.index_word = {i: word for word, i in self.word_index.items()}
        for word, count in self.word_docs.items():
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences) -> None:
        """Count, for ``tfidf``, in how many sequences each index appears."""
        self.document_count += len(sequences)
        for sequence in sequences:
            for index in set(sequence):
                self.index_docs[index] += 1

    def _kept(self, index) -> bool:
        return not self.num_words or index < self.num_words

    def texts_to_sequences_generator(self, texts):
        """Yield each text as a list of indices: words beyond ``num_words`` or not in the
        index become the ``oov_token``'s index, or are dropped without one."""
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            sequence = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None and self._kept(index):
                    sequence.append(index)
                elif oov is not None:
                    sequence.append(oov)
            yield sequence

    def texts_to_sequences(self, texts) -> list:
        return list(self.texts_to_sequences_generator(texts))

    def sequences_to_texts_generator(self, sequences):
        """Yield each sequence of indices as its words joined by spaces (unknown or dropped
        indices as the ``oov_token``, or left out without one)."""
        oov = self.word_index.get(self.oov_token)
        for sequence in sequences:
            words = []
            for index in sequence:
                word = self.index_word.get(index)
                if word is not None and self._kept(index):
                    words.append(word)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def sequences_to_texts(self, sequences) -> list:
        return list(self.sequences_to_texts_generator(sequences))

    def texts_to_matrix(self, texts, mode="binary") -> np.ndarray:
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary") -> np.ndarray:
        """A float64 ``(len(sequences), num_words)`` matrix (``len(word_index) + 1`` columns
        without ``num_words``): per index present, 1 (``binary``), its count (``count``), its
        share of the sequence (``freq``) or ``(1 + log count) * log(1 + docs / (1 +
        docs with it))`` (``tfidf``). Indices beyond the columns are skipped."""
        if mode not in MATRIX_MODES:
            raise ValueError(f"sequences_to_matrix: mode must be one of {list(MATRIX_MODES)}, "
                             f"got {mode!r}")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("sequences_to_matrix: give num_words or fit the Tokenizer on some "
                             "texts first")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("sequences_to_matrix: fit the Tokenizer on some data before using "
                             "the tfidf mode")
        matrix = np.zeros((len(sequences), width))
        for row, sequence in enumerate(sequences):
            counts: dict = {}
            for index in sequence:
                if index < width:
                    counts[index] = counts.get(index, 0) + 1
            for index, count in counts.items():
                if mode == "binary":
                    matrix[row, index] = 1
                elif mode == "count":
                    matrix[row, index] = count
                elif mode == "freq":
                    matrix[row, index] = count / len(sequence)
                else:
                    docs = self.index_docs.get(index, 0)
                    matrix[row, index] = (1 + np.log(count)) * np.log(
                        1 + self.document_count / (1 + docs))
        return matrix

    def get_config(self) -> dict:
        """Keras' config: the settings, and the counts and indices as JSON strings (the
        ``analyzer`` is not saved)."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs) -> str:
        """``{"class_name": "Tokenizer", "config": get_config()}`` as JSON (``kwargs`` go to
        ``json.dumps``)."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def tokenizer_from_json(json_string) -> Tokenizer:
    """A `Tokenizer` from `Tokenizer.to_json`'s string (Keras' or convnp's)."""
    config = dict(json.loads(_text(json_string, "tokenizer_from_json")).get("config"))
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    # JSON object keys are strings: the integer indices come back as ints, as in Keras
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = word_docs
    tokenizer.index_docs = index_docs
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
