"""``tf.keras.preprocessing.image``: ``load_img``, ``img_to_array``, ``array_to_img``."""

from convnp.datasets.directory import array_to_img, img_to_array, load_img

__all__ = ["array_to_img", "img_to_array", "load_img"]
