"""``tf.keras.utils``: `set_random_seed`, `to_categorical`, `image_dataset_from_directory`,
`load_img`, `img_to_array`, `array_to_img`."""

from convnp.datasets.directory import (
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
)
from convnp.utils import set_random_seed, to_categorical

__all__ = ["array_to_img", "image_dataset_from_directory", "img_to_array", "load_img",
           "set_random_seed", "to_categorical"]
