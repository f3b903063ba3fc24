"""``keras.datasets.cifar100``: 60,000 32x32 colour images in 100 classes (20 superclasses).

convnp reads the *binary* version of CIFAR-100 (``cifar-100-binary.tar.gz``), not the pickled
Python version Keras downloads: convnp never unpickles. See docs/datasets.md.
"""

from __future__ import annotations

import numpy as np

from convnp.datasets.keras_files import load_cifar

__all__ = ["load_data"]


def load_data(label_mode: str = "fine"):
    """``(x_train, y_train), (x_test, y_test)``: ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)``
    uint8 images and ``(50000, 1)`` / ``(10000, 1)`` int64 labels (as Keras gives them):
    the 100 classes with ``label_mode="fine"``, the 20 superclasses with ``"coarse"``.

    Read from Keras' cache: the folder ``datasets/cifar-100-binary`` if it holds ``train.bin``
    and ``test.bin``, else the archive ``datasets/cifar-100-binary.tar.gz`` (downloaded from
    https://www.cs.toronto.edu/~kriz/ and checked against its md5 when missing).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}')
    (x_train, y_train), (x_test, y_test) = load_cifar(
        "cifar100", label_index=1 if label_mode == "fine" else 0)
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))
