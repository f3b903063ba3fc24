"""``tf.keras.preprocessing.text``: Keras 1's `Tokenizer`, `tokenizer_from_json`,
`text_to_word_sequence`, `one_hot` and `hashing_trick` (the code is in
`convnp.data.legacy_text`)."""

from convnp.data.legacy_text import (
    Tokenizer,
    hashing_trick,
    one_hot,
    text_to_word_sequence,
    tokenizer_from_json,
)

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]
