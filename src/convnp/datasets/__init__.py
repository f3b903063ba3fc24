"""Datasets for convnp, shaped like ``keras.datasets``.

* :func:`load` — built-in procedural datasets drawn from a seed (no download):
  ``"smiles"`` (binary, a stand-in for the course's Happy House) and ``"fingers"``
  (alias ``"signs"``, 6 classes, a stand-in for SIGNS). ``info(name)`` and
  ``class_names(name)`` describe them. See ``docs/datasets.md``.
* :func:`load_h5` — the course's ``.h5`` files (``train_set_x`` ...), needs h5py.
* :func:`image_folder` — PNG/JPEG images in one sub-folder per class, needs Pillow.
* ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100`` — ``keras.datasets``' modules with
  ``load_data()``, read from Keras' cache folder (``$KERAS_HOME`` or ``~/.keras``) or
  downloaded with `get_file` (CIFAR from its binary version: no pickle).

Example::

    (x_train, y_train), (x_test, y_test) = convnp.datasets.load("smiles")
    x_train.shape, y_train.shape     # (600, 64, 64, 3), (600, 1)
"""

from __future__ import annotations

from convnp.datasets import cifar10, cifar100, fashion_mnist, fingers, mnist, smiles
from convnp.datasets.builtin import DatasetInfo, available, class_names, info, load
from convnp.datasets.folder import image_folder
from convnp.datasets.h5 import H5Dataset, load_h5

__all__ = [
    "DatasetInfo",
    "H5Dataset",
    "available",
    "cifar10",
    "cifar100",
    "class_names",
    "fashion_mnist",
    "fingers",
    "image_folder",
    "info",
    "load",
    "load_h5",
    "mnist",
    "smiles",
]
