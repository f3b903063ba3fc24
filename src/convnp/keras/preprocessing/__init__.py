"""``tf.keras.preprocessing`` (Keras 2's spelling, which the course uses):
``image_dataset_from_directory`` and the ``image`` helpers. The code is in
`convnp.datasets.directory`."""

from convnp.datasets.directory import image_dataset_from_directory
from convnp.keras.preprocessing import image

__all__ = ["image", "image_dataset_from_directory"]
