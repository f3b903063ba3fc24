"""``tf.keras.preprocessing.sequence``: `pad_sequences` (the code is in
`convnp.data.sequences`) and Keras 1's `TimeseriesGenerator`, `make_sampling_table` and
`skipgrams` (in `convnp.data.legacy_sequence`)."""

from convnp.data.legacy_sequence import TimeseriesGenerator, make_sampling_table, skipgrams
from convnp.data.sequences import pad_sequences

__all__ = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]
