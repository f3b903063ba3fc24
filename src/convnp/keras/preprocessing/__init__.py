"""``tf.keras.preprocessing`` (Keras 2's spelling, which the course uses):
``image_dataset_from_directory``, ``text_dataset_from_directory`` (both also in Keras 3's
``keras.preprocessing``), the ``image`` helpers and ``sequence.pad_sequences``. The code is in
`convnp.datasets.directory`, `convnp.datasets.text_directory` and `convnp.data.sequences`."""

from convnp.datasets.directory import image_dataset_from_directory
from convnp.datasets.text_directory import text_dataset_from_directory
from convnp.keras.preprocessing import image, sequence

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory"]
