"""``keras.datasets.cifar10``: 60,000 32x32 colour images in 10 classes.

convnp reads the *binary* version of CIFAR-10 (``cifar-10-binary.tar.gz``), not the pickled
Python version Keras downloads: convnp never unpickles. See docs/datasets.md.
"""

from __future__ import annotations

from convnp.datasets.keras_files import load_cifar

__all__ = ["load_data"]


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)``
    uint8 images and ``(50000, 1)`` / ``(10000, 1)`` uint8 labels, as Keras gives them.

    Read from Keras' cache: the folder ``datasets/cifar-10-batches-bin`` if it holds the six
    ``.bin`` files, else the archive ``datasets/cifar-10-binary.tar.gz`` (downloaded from
    https://www.cs.toronto.edu/~kriz/ and checked against its md5 when missing).
    """
    return load_cifar("cifar10")
