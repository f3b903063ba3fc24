"""``keras.datasets.mnist``: 70,000 handwritten digits, 28x28 grey levels."""

from __future__ import annotations

from convnp.datasets.keras_files import (
    MNIST_ORIGIN,
    MNIST_SHA256,
    cached_or_fetched,
    load_mnist_npz,
)

__all__ = ["load_data"]


def load_data(path: str = "mnist.npz"):
    """``(x_train, y_train), (x_test, y_test)``: ``(60000, 28, 28)`` and ``(10000, 28, 28)``
    uint8 images, ``(60000,)`` and ``(10000,)`` uint8 labels 0-9, as Keras gives them.

    Read from Keras' cache (``$KERAS_HOME`` or ``~/.keras``, then ``datasets/<path>``); when it
    is not there, downloaded from Keras' bucket and checked against its sha256.
    """
    return load_mnist_npz(cached_or_fetched(path, MNIST_ORIGIN, MNIST_SHA256))
