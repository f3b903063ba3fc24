"""``tf.keras.datasets``: `convnp.datasets` (``mnist``, ``fashion_mnist``, ``cifar10``,
``cifar100`` with ``load_data()``, and convnp's own built-in and course datasets), importable as
``from convnp.keras.datasets import mnist`` too."""

from convnp.datasets import *
from convnp.datasets import __all__  # noqa: F401
