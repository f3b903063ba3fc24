"""``tf.keras.preprocessing.sequence``: `pad_sequences` (the code is in
`convnp.data.sequences`)."""

from convnp.data.sequences import pad_sequences

__all__ = ["pad_sequences"]
