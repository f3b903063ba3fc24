"""``keras.datasets.fashion_mnist``: 70,000 pictures of clothes in 10 classes, 28x28 grey."""

from __future__ import annotations

from convnp.datasets.keras_files import load_fashion_mnist

__all__ = ["load_data"]


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: ``(60000, 28, 28)`` / ``(10000, 28, 28)``
    uint8 images and ``(60000,)`` / ``(10000,)`` uint8 labels, as Keras gives them.

    Read from the four gzip IDX files in Keras' cache folder ``datasets/fashion-mnist``
    (downloaded there when missing).
    """
    return load_fashion_mnist()
