"""``tf.keras.utils``: `set_random_seed`, `to_categorical`, `image_dataset_from_directory`,
`text_dataset_from_directory`, `audio_dataset_from_directory`,
`load_img`, `img_to_array`, `array_to_img`, `save_img`, `PyDataset` / `Sequence`, `get_file`,
`normalize`, `split_dataset`, `Progbar`, `count_params`, the custom-object API of
`convnp.serialization`, and Keras 3's `pack_x_y_sample_weight` / `unpack_x_y_sample_weight`,
`clear_session`, `get_source_inputs`, `is_keras_tensor`, `standardize_dtype`, the interactive
logging switches, `timeseries_dataset_from_array`, `pad_sequences`, `Config`, and ``legacy``
(Keras 2's serialize/deserialize_keras_object)."""

from __future__ import annotations

import os

import numpy as np

from convnp import serialization as _serialization
from convnp.data.sequences import pad_sequences, timeseries_dataset_from_array
from convnp.data.split import split_dataset
from convnp.datasets.audio_directory import audio_dataset_from_directory
from convnp.datasets.directory import (
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
)
from convnp.datasets.download import get_file
from convnp.datasets.text_directory import text_dataset_from_directory
from convnp.keras import _legacy_serialization as legacy
from convnp.keras import saving as _saving
from convnp.keras.backend import clear_session, is_keras_tensor
from convnp.models.data_adapter import PyDataset, Sequence, unpack_batch
from convnp.progbar import Progbar as _Progbar
from convnp.progbar import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from convnp.serialization import *
from convnp.utils import set_random_seed, to_categorical

__all__ = ["Config", "Progbar", "PyDataset", "Sequence", "array_to_img",
           "audio_dataset_from_directory", "clear_session",
           "count_params", "disable_interactive_logging", "enable_interactive_logging",
           "get_file", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
           "is_interactive_logging_enabled", "is_keras_tensor", "legacy", "load_img", "normalize",
           "pack_x_y_sample_weight", "pad_sequences", "plot_model", "save_img",
           "set_random_seed", "split_dataset", "standardize_dtype",
           "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical",
           "unpack_x_y_sample_weight"]
__all__.extend(_serialization.__all__)  # the custom-object API

# Keras 3's entries (module, registered_name) and their reading: tf.keras.saving's
serialize_keras_object = _saving.serialize_keras_object
deserialize_keras_object = _saving.deserialize_keras_object


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


def normalize(x, axis: int = -1, order: int = 2):
    """``x`` divided by its ``order``-norm along ``axis`` (rows of norm 0 are left as zeros).

    As in Keras 3, a NumPy array gives a NumPy array; anything else (a tensor, a Variable, a
    list) goes through `keras.ops.normalize` and gives a tensor, which a `GradientTape`
    follows: keras.io's supervised contrastive loss normalizes its features this way, and
    through the array path its gradients were lost."""
    from convnp.tensor.eager import EagerTensor

    if not isinstance(x, np.ndarray) or isinstance(x, EagerTensor):
        from convnp.keras import ops

        return ops.normalize(x, axis=axis, order=order)
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


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """What a custom ``train_step`` returns or a dataset yields: ``x`` alone (a list or tuple
    ``x`` wrapped as ``(x,)``, so that it is not read as ``(x, y)``), ``(x, y)``, or
    ``(x, y, sample_weight)``; as Keras, ``sample_weight`` without ``y`` gives ``x``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (missing parts None), as a custom ``train_step`` reads it.

    >>> unpack_x_y_sample_weight((1, 2))
    (1, 2, None)
    """
    return unpack_batch(tuple(data) if isinstance(data, list) else data,
                        "unpack_x_y_sample_weight")


def get_source_inputs(tensor) -> list:
    """The model inputs (``keras.Input`` tensors) that the KerasTensor ``tensor`` is computed
    from, each once, in the order they are met walking back from it.

    Keras returns a non-KerasTensor argument unchanged; convnp refuses it (`TypeError`)."""
    if not is_keras_tensor(tensor):
        raise TypeError(f"get_source_inputs expects a KerasTensor (the output of a layer of "
                        f"a functional model), got {type(tensor).__name__}")
    sources: list = []
    seen: set[int] = set()
    pending = [tensor]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if not current.inputs:  # an Input (or a tensor no layer made)
            if all(current is not known for known in sources):
                sources.append(current)
        else:
            pending.extend(reversed(current.inputs))
    return sources


# Keras 3's dtype names, and what Python's types stand for
_DTYPE_NAMES = frozenset({
    "bfloat16", "bool", "complex128", "complex64", "float16", "float32", "float64",
    "float8_e4m3fn", "float8_e5m2", "int16", "int32", "int64", "int8", "string", "uint16",
    "uint32", "uint64", "uint8"})
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64",
                  complex: "complex128"}


def standardize_dtype(dtype) -> str:
    """Keras's name of ``dtype``: None is ``"float32"`` (floatx), Python's ``int`` /
    ``float`` / ``bool`` / ``str`` are ``"int64"`` / ``"float32"`` / ``"bool"`` /
    ``"string"``, NumPy and TensorFlow dtypes their names; anything else is a `ValueError`.

    >>> standardize_dtype(np.float64), standardize_dtype(int), standardize_dtype(None)
    ('float64', 'int64', 'float32')
    """
    if dtype is None:
        return "float32"
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:  # unhashable
        pass
    if not isinstance(dtype, str):
        name = getattr(dtype, "name", None)
        dtype = name if isinstance(name, str) else getattr(dtype, "__name__", dtype)
    if not isinstance(dtype, str) or dtype not in _DTYPE_NAMES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


class Config:
    """Keras 3's configuration holder: keys read and set as attributes or items
    (``config.lr = 0.1``; ``config["lr"]``), ``freeze()`` to refuse changes (`ValueError`)
    until ``unfreeze()``, ``as_dict()`` and ``to_json()``."""

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _check_not_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        return dict(self._config)

    def to_json(self) -> str:
        import json

        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, default=None):
        return self._config.get(key, default)

    def pop(self, *args):
        self._check_not_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._check_not_frozen()
        self._config.update(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_config", "_frozen"):
            raise AttributeError(name)
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'.") from None

    def __setattr__(self, name, value):
        self._check_not_frozen()
        self._config[name] = value

    def __delattr__(self, name):
        self._check_not_frozen()
        if name not in self._config:
            raise AttributeError(f"Unknown attribute: '{name}'.")
        del self._config[name]

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self._check_not_frozen()
        self._config[key] = value

    def __delitem__(self, key):
        self._check_not_frozen()
        del self._config[key]

    def __contains__(self, key) -> bool:
        return key in self._config

    def __len__(self) -> int:
        return len(self._config)

    def __iter__(self):
        return iter(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"


def __getattr__(name: str):
    # Keras 3's ``keras.utils.bounding_boxes`` submodule, loaded when first asked for
    if name == "bounding_boxes":
        import convnp.keras.bounding_boxes

        return convnp.keras.bounding_boxes
    raise AttributeError(f"module 'convnp.keras.utils' has no attribute {name!r}")
