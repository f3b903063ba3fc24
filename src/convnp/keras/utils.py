"""``tf.keras.utils``: `set_random_seed`, `to_categorical`."""

from convnp.utils import set_random_seed, to_categorical

__all__ = ["set_random_seed", "to_categorical"]
