"""``tf.keras.preprocessing.image``: ``load_img``, ``img_to_array``, ``array_to_img``,
``save_img``, the legacy ``ImageDataGenerator`` with its iterators, and Keras 2's one-image
helpers (``apply_affine_transform``, the ``random_*`` transforms, the channel and brightness
shifts, ``smart_resize``; the code is in `convnp.data.legacy_image`)."""

from convnp.data.image_generator import (
    DataFrameIterator,
    DirectoryIterator,
    ImageDataGenerator,
    Iterator,
    NumpyArrayIterator,
)
from convnp.data.legacy_image import (
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    random_brightness,
    random_channel_shift,
    random_rotation,
    random_shear,
    random_shift,
    random_zoom,
    smart_resize,
)
from convnp.datasets.directory import array_to_img, img_to_array, load_img
from convnp.keras.utils import save_img

__all__ = ["DataFrameIterator", "DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
           "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift", "array_to_img",
           "img_to_array", "load_img", "random_brightness", "random_channel_shift", "random_rotation",
           "random_shear", "random_shift", "random_zoom", "save_img", "smart_resize"]
