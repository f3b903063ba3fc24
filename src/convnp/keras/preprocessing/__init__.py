"""``tf.keras.preprocessing`` (Keras 2's spelling, which the course uses):
``image_dataset_from_directory``, ``text_dataset_from_directory``,
``timeseries_dataset_from_array`` (all also in Keras 3's ``keras.preprocessing``), and the
``image``, ``sequence`` and ``text`` modules of legacy helpers. The code is in
`convnp.datasets.directory`, `convnp.datasets.text_directory`, `convnp.data.sequences` and the
``convnp.data.legacy_*`` modules."""

from convnp.data.sequences import timeseries_dataset_from_array
from convnp.datasets.directory import image_dataset_from_directory
from convnp.datasets.text_directory import text_dataset_from_directory
from convnp.keras.preprocessing import image, sequence, text

__all__ = ["image", "image_dataset_from_directory", "sequence", "text", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
