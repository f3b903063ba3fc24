"""``tf.keras.preprocessing.image``: ``load_img``, ``img_to_array``, ``array_to_img`` and the
legacy ``ImageDataGenerator`` with its iterators."""

from convnp.data.image_generator import (
    DataFrameIterator,
    DirectoryIterator,
    ImageDataGenerator,
    Iterator,
    NumpyArrayIterator,
)
from convnp.datasets.directory import array_to_img, img_to_array, load_img

__all__ = ["DataFrameIterator", "DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
           "array_to_img", "img_to_array", "load_img"]
