"""``tf.keras.utils``: `set_random_seed`, `to_categorical`, `image_dataset_from_directory`,
`load_img`, `img_to_array`, `array_to_img`, `save_img`, `PyDataset` / `Sequence`, `get_file`,
`normalize`, `split_dataset`, `Progbar`, `count_params`, and the custom-object API of
`convnp.serialization`."""

from __future__ import annotations

import os

import numpy as np

from convnp import serialization as _serialization
from convnp.data.split import split_dataset
from convnp.datasets.directory import (
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
)
from convnp.datasets.download import get_file
from convnp.models.data_adapter import PyDataset, Sequence
from convnp.progbar import Progbar as _Progbar
from convnp.serialization import *
from convnp.utils import set_random_seed, to_categorical

__all__ = ["Progbar", "PyDataset", "Sequence", "array_to_img", "count_params", "get_file",
           "image_dataset_from_directory", "img_to_array", "load_img", "normalize",
           "plot_model", "save_img", "set_random_seed", "split_dataset", "to_categorical"]
__all__.extend(_serialization.__all__)  # the custom-object API


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's graph to ``to_file`` with matplotlib (see `convnp.plot.model_graph`)."""
    from convnp.plot import model_graph

    return model_graph(model, to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, **kwargs)


def count_params(weights) -> int:
    """The number of scalars in ``weights``, an iterable of variables or arrays (anything
    with a ``shape``), as an int: ``count_params(model.trainable_weights)``.

    Keras 2 had it as ``keras.utils.layer_utils.count_params``; Keras 3 keeps it in
    ``keras.src.utils.summary_utils`` (same rule: the sum of the products of the shapes).

    >>> import numpy as np
    >>> count_params([np.zeros((3, 3, 2, 4)), np.zeros(4)])
    76
    """
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__iter__"):
        raise TypeError(f"count_params expects an iterable of weights (variables or arrays), "
                        f"got {type(weights).__name__}")
    total = 0
    for weight in weights:
        shape = getattr(weight, "shape", None)
        if shape is None:
            raise TypeError(f"count_params: each weight needs a shape (a variable or an "
                            f"array), got {type(weight).__name__}")
        total += int(np.prod(tuple(shape), dtype=np.int64))
    return total


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (rows of norm 0 are left as zeros)."""
    array = np.asarray(x)
    if array.dtype.kind not in "fiu" or array.ndim == 0:
        raise ValueError(f"normalize expects a numeric array with an axis, got dtype "
                         f"{array.dtype} and shape {array.shape}")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(f"normalize: axis {axis} is out of range for shape {array.shape}")
    norm = np.atleast_1d(np.linalg.norm(array, order, axis))
    norm[norm == 0] = 1
    return array / np.expand_dims(norm, axis)


def save_img(path, x, data_format=None, file_format=None, scale: bool = True, **kwargs) -> None:
    """Save an array ``(height, width, 1|3|4)`` as an image file (Pillow; the format from
    ``file_format`` or the suffix), written whole or not at all."""
    from convnp.io._files import atomic_write

    image = array_to_img(x, data_format=data_format, scale=scale)
    fmt = file_format or os.path.splitext(os.fspath(path))[1].lstrip(".").upper() or None
    if fmt == "JPG":
        fmt = "JPEG"
    if image.mode == "RGBA" and fmt == "JPEG":
        image = image.convert("RGB")  # JPEG has no alpha channel (Keras drops it too)
    atomic_write(path, lambda f: image.save(f, format=fmt, **kwargs))


class Progbar(_Progbar):
    """Keras' progress bar: ``Progbar(target, width=20, verbose=1, interval=0.05,
    stateful_metrics=None, unit_name="step")``; ``update(current, values)`` with ``values`` a
    list of ``(name, value)`` pairs, averaged over the steps so far unless the name is in
    ``stateful_metrics``; ``add(n, values)`` moves ``n`` steps on."""

    def __init__(self, target, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics=None, unit_name: str = "step"):
        super().__init__(target, verbose=verbose, width=width, interval=interval,
                         unit_name=unit_name)
        self.stateful_metrics = set(stateful_metrics or ())
        self._sums: dict[str, list[float]] = {}
        self._seen_so_far = 0

    def update(self, current, values=None, finalize=None) -> None:
        pairs = list(values.items()) if isinstance(values, dict) else list(values or [])
        steps = max(current - self._seen_so_far, 1)
        shown = {}
        for name, value in pairs:
            if name in self.stateful_metrics:
                self._sums[name] = [float(np.mean(value)), 1.0]
            else:
                total, count = self._sums.get(name, [0.0, 0.0])
                self._sums[name] = [total + float(np.mean(value)) * steps, count + steps]
        for name, (total, count) in self._sums.items():
            shown[name] = total / count
        self._seen_so_far = current
        super().update(current, shown or None, finalize=finalize)

    def add(self, n, values=None) -> None:
        self.update(self._seen_so_far + n, values)
