"""What the Keras applications share: argument checks, weight files, preprocessing, labels.

Nothing is ever downloaded. ``weights`` is None (fresh initial weights) or the path of a Keras
weights file (`load_weights_file`):

* Keras 2's ``.h5`` layout, which the published application weights use
  (``resnet50_weights_tf_dim_ordering_tf_kernels.h5`` ...): a top-level ``layer_names``
  attribute, one group per layer with a ``weight_names`` attribute and a dataset per name;
  matched to the model's layers with weights in order, as Keras does;
* Keras 3's ``.weights.h5`` layout (``model.save_weights``) or a ``.keras`` file: read by
  `convnp.io.keras_format`.

Every weight is checked (count and shapes) before any is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

IMAGENET_REFUSED = (
    "weights='imagenet': convnp downloads nothing; download the Keras weights file yourself "
    "(e.g. {file}) and pass its path, weights='/path/to/{file}', or use weights=None")


def weights_file_for(file: str, include_top) -> str:
    """Keras's weights file name for the network with or without its top, from either
    spelling (``*_no_top.h5`` / ``*_notop.h5`` without it, the name without that mark with
    it): what the "download it yourself" message names."""
    for mark in ("_no_top.h5", "_notop.h5"):
        if file.endswith(mark):
            return file[:-len(mark)] + ".h5" if include_top is True else file
    return file if include_top is not False else file[:-3] + "_notop.h5"


def check_arguments(name: str, weights, include_top: bool, classes: int, pooling,
                    classifier_activation, default_file: str) -> None:
    """Keras's argument rules, with convnp's one difference: no download."""
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError(f"{name}: " + IMAGENET_REFUSED.format(file=default_file))
    if weights is not None and not isinstance(weights, (str, Path)):
        # Keras's ValueError for any weights that are neither None, 'imagenet' nor a path
        raise ValueError(f"{name}: weights must be None or the path of a Keras weights file, "
                         f"got {type(weights).__name__}")
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"{name}: weights file {str(weights)!r} does not exist")
    if not isinstance(include_top, bool):
        raise TypeError(f"{name}: include_top must be a bool, got {include_top!r}")
    check_positive_int(name, "classes", classes)
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{name}: pooling must be None, 'avg' or 'max', got {pooling!r}")
    if classifier_activation is not None and not isinstance(classifier_activation, str) \
            and not callable(classifier_activation):
        raise TypeError(f"{name}: classifier_activation must be a name such as 'softmax', a "
                        f"function or None, got {type(classifier_activation).__name__}")


def image_shape(name: str, input_shape, default: int, minimum: int,
                input_tensor=None, any_size: bool = False) -> tuple:
    """``(rows, cols, channels)`` from ``input_shape``, else from ``input_tensor``, else
    ``default``x``default``x3.

    As in Keras with ``weights=None``, any size from ``minimum`` up is accepted, with or
    without the top, and any number of channels (a weights file for another size is refused
    when it loads).

    ``any_size``: Keras's rule for a model whose output does not depend on the image size
    (every family without its top, ``any_size=not include_top``; MobileNetV3 always): no
    ``input_shape`` gives ``(None, None, 3)``, and rows and columns may be None (images of
    any size, each at least ``minimum``, at run time). Without it a None size is refused
    with Keras's "static `input_shape`" message.
    """
    if input_tensor is not None:
        check_input_tensor(input_tensor)
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        return (None, None, 3) if any_size else (default, default, 3)
    shape = tuple(input_shape)

    def bad(i, s):
        if s is None:
            return not (any_size and i < 2)
        return isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1

    if (len(shape) == 3 and not any_size and None in shape[:2]
            and not any(bad(i, s) for i, s in enumerate(shape) if s is not None)):
        # Keras's words: a flattening top needs the image size
        raise ValueError(f"{name}: If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape!r}")
    if len(shape) != 3 or any(bad(i, s) for i, s in enumerate(shape)):
        allowed = " (rows and cols may be None)" if any_size else ""
        raise ValueError(f"{name}: input_shape must be (rows, cols, channels) with positive "
                         f"ints{allowed}, got {input_shape!r}")
    if any(s is not None and s < minimum for s in shape[:2]):
        raise ValueError(f"{name}: Input size must be at least {minimum}x{minimum}; Received: "
                         f"input_shape={input_shape!r}")
    return tuple(None if s is None else int(s) for s in shape)


def correct_pad(size, kernel: int) -> tuple:
    """Keras's ``correct_pad``: the zero padding before a stride-2 'valid' window of
    ``kernel`` cells that reproduces TensorFlow's 'same' (``kernel // 2`` cells each side, one
    less at the top/left of an even-sized axis). ``size``: ``(rows, cols)``; an unknown
    (None) size is padded as an even one, as Keras does."""
    half = kernel // 2
    return tuple((half - (1 if n is None else 1 - int(n) % 2), half) for n in size)


def check_alpha(name: str, alpha, published: tuple) -> None:
    """A width multiplier: any positive number builds; Keras publishes weights for
    ``published``."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        # a string or None: TypeError, as Keras fails on one
        raise TypeError(f"{name}: alpha must be a positive number (Keras's weights: "
                        f"{published}), got {type(alpha).__name__} {alpha!r}")
    if alpha <= 0:
        raise ValueError(f"{name}: alpha must be a positive number (Keras's weights: "
                         f"{published}), got {alpha!r}")


# The Args section of a `standard_builder` model's docstring (appended to its first lines).
STANDARD_ARGS = """
    Args:
        include_top: end with global average pooling and ``Dense(classes)`` (``predictions``).
        weights: None (fresh weights) or the path of a Keras weights file (``.h5`` as Keras
            publishes them, ``.weights.h5`` or ``.keras``); ``"imagenet"`` is refused
            (nothing is downloaded).
        input_tensor: a `KerasTensor` to build on instead of a new ``Input``.
        input_shape: ``(rows, cols, channels)``; without the top, rows and cols may be None
            and the default is ``(None, None, 3)`` (any image size, as in Keras); with it,
            the default size.
        pooling: without the top: None (4-D output), ``"avg"`` or ``"max"``.
        classes: outputs of the top.
        classifier_activation: activation of the top (None: logits).
        name: the model's name.
    """


def standard_builder(build, label: str, default_name: str, doc: str):
    """A public builder with Keras's usual signature (``include_top``, ``weights``,
    ``input_tensor``, ``input_shape``, ``pooling``, ``classes``, ``classifier_activation``,
    ``name``) that calls ``build`` with those arguments in that order."""
    def builder(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = default_name):
        return build(include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)

    builder.__name__ = builder.__qualname__ = label
    builder.__doc__ = doc
    return builder


def check_positive_int(name: str, argument: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: {argument} must be a positive int, got {value!r}")


def check_rate(name: str, argument: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}: {argument} must be a number in [0, 1), got {value!r}")


def conv_bn(x, filters: int, kernel, strides: int = 1, padding: str = "same",
            activation="relu", use_bias: bool = False, name: str | None = None):
    """Keras's Inception ``conv2d_bn``: a conv, batch normalization without ``scale`` unless
    the conv has a bias (then none at all), and the activation; named ``name``, ``name_bn``,
    ``name_ac`` (or all automatically, as InceptionV3's are)."""
    from convnp import layers

    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=use_bias,
                      name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=3, scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def model_input(input_shape, input_tensor):
    """The input tensor of an application: ``input_tensor`` or a new ``Input``.

    As in Keras, ``input_tensor`` wins over ``input_shape`` (which is only checked): the
    network is built on the tensor as it is."""
    from convnp.models import Input

    if input_tensor is not None:
        check_input_tensor(input_tensor)
        return input_tensor
    return Input(shape=input_shape)


def check_input_tensor(input_tensor) -> None:
    """``input_tensor`` must be a model's symbolic tensor: a ValueError otherwise, as every
    TF 2.21 application raises for an array, a tensor or anything else there."""
    from convnp.layers import KerasTensor

    if not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"input_tensor must be a KerasTensor (keras.Input(...) or a "  # noqa: TRY004
                         f"layer's output), got {type(input_tensor).__name__}")


def model_inputs(inputs):
    """What the application's model starts from: the ``keras.Input`` behind ``inputs``, as
    Keras does when ``input_tensor`` is a layer's output (say a ``Rescaling`` of an Input):
    the model then takes the raw images and runs those layers too."""
    from convnp.keras.utils import get_source_inputs

    sources = get_source_inputs(inputs)
    return sources[0] if len(sources) == 1 else sources


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
    model = Model(model_inputs(inputs), x, name=name)
    if weights is not None:
        load_weights_file(model, weights)
    return model


def dense_top(classes: int, classifier_activation):
    """The usual top: global average pooling (``avg_pool``) and ``Dense(classes)`` named
    ``predictions``, as a function of the features."""
    def top(x):
        from convnp.layers import Dense, GlobalAveragePooling2D

        x = GlobalAveragePooling2D(name="avg_pool")(x)
        return Dense(classes, activation=classifier_activation, name="predictions")(x)

    return top


# -- weight files -------------------------------------------------------------------------------


def load_weights_file(model, path) -> None:
    """Load a Keras weights file into an application, as Keras's ``weights=path`` does.

    * Keras 2's ``.h5`` layout (the published application weights): the layers with weights,
      in order, as Keras's legacy loader matches them (automatic layer names such as
      InceptionV3's ``conv2d_N`` differ from session to session, so names are not used),
      read by `convnp.io.legacy_h5`;
    * Keras 3's ``.weights.h5``, or the ``model.weights.h5`` inside a ``.keras`` archive:
      `convnp.io.keras_format.load_keras_weights` (Keras 3's keys: class names in layer order).

    Raises:
        ValueError: a different number of layers with weights, or arrays of other shapes
            (nothing is written then), or not a Keras weights file.
    """
    import tempfile
    import zipfile

    from convnp.io import keras_format, legacy_h5

    label = Path(path).name
    if zipfile.is_zipfile(path):  # a .keras archive: load its weights member
        from convnp.io import _zip

        with _zip.open_archive(path, label, "a Keras .keras file") as archive:
            data = _zip.read_member(archive, label, "model.weights.h5")
        with tempfile.TemporaryDirectory() as scratch:
            member = Path(scratch) / "model.weights.h5"
            member.write_bytes(data)
            keras_format.load_keras_weights(model, member)
        return
    legacy_h5.load_weights_h5(model, path, label)  # either HDF5 layout, by its content


# -- preprocessing and labels ---------------------------------------------------------------------

# ImageNet channel means in BGR order (the "caffe" preprocessing of ResNet50 and VGG16)
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def _float_copy(x, name: str) -> np.ndarray:
    """``x`` as a new floating-point array: float inputs keep their dtype, others (uint8
    images, ints, bools) become float32, as Keras's ``floatx``."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name}: images must be numbers, got dtype {arr.dtype}")
    return arr.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32)


def _channel_axis(arr: np.ndarray, data_format) -> int:
    """The channel axis of an image or batch, as Keras picks it: the last with
    "channels_last"; with "channels_first" the first of a single image (3-D) and the second
    otherwise (a batch)."""
    if data_format == "channels_first":
        return 0 if arr.ndim == 3 else 1
    return -1


def _rgb_channels(arr: np.ndarray, data_format) -> int:
    """The channel axis of images whose first three channels are RGB (the "caffe" and "torch"
    modes read them one by one). More channels are kept, as Keras keeps them."""
    axis = _channel_axis(arr, data_format)
    needed = 1 if axis == -1 else axis + 1
    if arr.ndim < needed or arr.shape[axis] < 3:
        where = "last" if axis == -1 else f"on axis {axis} ({data_format})"
        raise ValueError(f"preprocess_input: images must have at least 3 channels {where}, "
                         f"got shape {arr.shape}")
    return axis


def _is_eager(x) -> bool:
    """Whether ``x`` is a tensor or a Variable: Keras answers those with a tensor, computed by
    tensor operations (so a `GradientTape` sees them, as a saliency map needs)."""
    from convnp.tensor.eager import EagerTensor
    from convnp.variables import Variable

    return isinstance(x, (EagerTensor, Variable))


def _eager_float(x):
    """A tensor or Variable as it is when it holds floats, else a float32 tensor (integers
    carry no gradient)."""
    from convnp.tensor.eager import EagerTensor

    if np.issubdtype(np.asarray(x).dtype, np.floating):
        return x
    return _float_copy(x, "preprocess_input").view(EagerTensor)


def _changed_in_place(x) -> bool:
    """Whether Keras would write the result into ``x`` itself: it does for a NumPy array that
    already holds floats (only other input is converted to float32 first, into a new array),
    so ``preprocess_input(x)`` without keeping the result still changes ``x``, and a user
    program reading ``x`` afterwards sees the preprocessed values. A read-only array gets a
    new one, as every other input."""
    return (isinstance(x, np.ndarray) and not _is_eager(x) and x.dtype.kind == "f"
            and x.flags.writeable)


def _channel_constant(values, channels: int, axis: int, ndim: int, fill: float,
                      dtype) -> np.ndarray:
    """``values`` for the first channels and ``fill`` for the rest, shaped to broadcast along
    the channel ``axis`` of an ``ndim``-dimensional array."""
    full = np.full(channels, fill, dtype=np.float64)
    full[:len(values)] = values
    shape = [1] * ndim
    shape[axis] = channels
    return full.astype(dtype).reshape(shape)


def _reverse_channels(x, axis: int, ndim: int):
    index = [slice(None)] * ndim
    index[axis] = slice(None, None, -1)
    return x[tuple(index)]


def _symbolic(x, steps, rgb: bool = True):
    """On a `KerasTensor` (inside a model definition): one `TensorFlowOpLayer` per step, as
    Keras 2 recorded the ops (the course's grader lists them). ``rgb``: the steps read the
    channels one by one, so there must be exactly three, last."""
    from convnp.layers import TensorFlowOpLayer

    if rgb and x.shape[-1] != 3:
        raise ValueError(f"preprocess_input: images must have 3 channels last, got shape "
                         f"{x.shape}")
    for op, value in steps:
        x = TensorFlowOpLayer(op, value)(x)
    return x


def _is_symbolic(x) -> bool:
    from convnp.layers import KerasTensor

    return isinstance(x, KerasTensor)


def _check_symbolic_format(x, data_format) -> None:
    if data_format == "channels_first" and _is_symbolic(x):
        raise ValueError("preprocess_input: on a model's tensor (a KerasTensor) only "
                         "data_format='channels_last' is supported, got 'channels_first'")


def preprocess_caffe(x, data_format=None):
    """RGB in [0, 255] -> BGR with the ImageNet mean subtracted (for a float NumPy array, a
    flipped view of it, computed in place as Keras does; otherwise a new array, a tensor for a
    tensor; on a `KerasTensor`, the layers that compute it).

    As Keras: the whole channel axis is reversed and the means are subtracted from the first
    three channels of the result (a fourth channel, such as alpha, comes first, unchanged)."""
    check_data_format(data_format)
    _check_symbolic_format(x, data_format)
    if _is_symbolic(x):
        return _symbolic(x, [("reverse_channels", None), ("sub", _CAFFE_MEAN_BGR.tolist())])
    if _changed_in_place(x):
        # as Keras: the result is the flipped view of x, the means subtracted through it, so
        # x itself ends up holding them in its own (RGB) channel order
        axis = _rgb_channels(x, data_format)
        out = _reverse_channels(x, axis, x.ndim)
        out -= _channel_constant(_CAFFE_MEAN_BGR, x.shape[axis], axis, x.ndim, 0.0, x.dtype)
        return out
    out = _eager_float(x) if _is_eager(x) else _float_copy(x, "preprocess_input")
    arr = np.asarray(out)
    axis = _rgb_channels(arr, data_format)
    out = _reverse_channels(out, axis, arr.ndim)
    # a new array for other NumPy input (the flip is a view of the copy), a tensor for a tensor
    return out - _channel_constant(_CAFFE_MEAN_BGR, arr.shape[axis], axis, arr.ndim, 0.0,
                                   arr.dtype)


def preprocess_tf(x, data_format=None):
    """RGB in [0, 255] -> [-1, 1] (a float NumPy array itself, changed in place as Keras
    does; otherwise a new array, a tensor for a tensor; on a `KerasTensor`,
    the layers that compute it: divide by 127.5, subtract 1). Every value is scaled the same,
    so any number of channels (grayscale, RGBA) and either data format work, as in Keras."""
    check_data_format(data_format)
    if _is_symbolic(x):
        return _symbolic(x, [("truediv", 127.5), ("sub", 1.0)], rgb=False)
    if _changed_in_place(x):  # as Keras: x itself is scaled and returned
        dtype = x.dtype.type
        np.divide(x, dtype(127.5), out=x)
        np.subtract(x, dtype(1), out=x)
        return x
    out = _eager_float(x) if _is_eager(x) else _float_copy(x, "preprocess_input")
    dtype = np.asarray(out).dtype.type
    return out / dtype(127.5) - dtype(1)


# ImageNet channel statistics in RGB order, on [0, 1] pixels (the "torch" preprocessing)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess_torch(x, data_format=None):
    """RGB in [0, 255] -> [0, 1], minus the ImageNet mean, over its standard deviation, per
    channel (a float NumPy array itself, changed in place as Keras does; otherwise a new
    array, a tensor for a tensor; on a `KerasTensor`, the three layers that
    compute it). Channels after the third are only scaled to [0, 1], as in Keras."""
    check_data_format(data_format)
    _check_symbolic_format(x, data_format)
    if _is_symbolic(x):
        return _symbolic(x, [("truediv", 255.0), ("sub", _TORCH_MEAN.tolist()),
                             ("truediv", _TORCH_STD.tolist())])
    if _changed_in_place(x):  # as Keras: x itself is standardized and returned
        axis = _rgb_channels(x, data_format)
        channels, dtype = x.shape[axis], x.dtype
        np.divide(x, dtype.type(255), out=x)
        x -= _channel_constant(_TORCH_MEAN, channels, axis, x.ndim, 0.0, dtype)
        x /= _channel_constant(_TORCH_STD, channels, axis, x.ndim, 1.0, dtype)
        return x
    out = _eager_float(x) if _is_eager(x) else _float_copy(x, "preprocess_input")
    arr = np.asarray(out)
    axis = _rgb_channels(arr, data_format)
    channels, dtype = arr.shape[axis], arr.dtype
    out = out / dtype.type(255)
    out = out - _channel_constant(_TORCH_MEAN, channels, axis, arr.ndim, 0.0, dtype)
    return out / _channel_constant(_TORCH_STD, channels, axis, arr.ndim, 1.0, dtype)


def check_data_format(data_format) -> None:
    """Keras's two image layouts; None is the default, "channels_last"."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"preprocess_input: data_format must be None, 'channels_last' or "
                         f"'channels_first', got {data_format!r}")


def decode_predictions(preds, top: int = 5, class_index=None) -> list[list[tuple]]:
    """The ``top`` classes of each prediction as ``(class_id, description, score)``.

    Args:
        preds: ``(batch, classes)`` scores.
        top: how many classes per example, best first.
        class_index: the class-index JSON (Keras's ``imagenet_class_index.json``: ``{"0":
            ["n01440764", "tench"], ...}``) as a path or an already loaded dict. Keras
            downloads that file into its cache (``$KERAS_HOME`` or ``~/.keras``, then
            ``models/``) and reads it from there afterwards; convnp downloads nothing, so
            without ``class_index`` the file must already be in that cache.

    Returns:
        One list per example of ``(class_id, description, score)`` tuples, the score a NumPy
        scalar of the predictions' dtype, as Keras gives it.

    Raises:
        ValueError: ``preds`` is not ``(samples, 1000)`` (checked first, with Keras's message;
            with a ``class_index`` of other classes, ``(samples, classes)`` is enough), no
            ``class_index`` and no cached file, or it does not cover the predictions'
            classes.
    """
    shape = np.shape(preds)
    if len(shape) != 2 or (class_index is None and shape[1] != 1000):
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Received array with shape: {shape}")
    if class_index is None:
        class_index = _cached_class_index()
    table = class_index
    if not isinstance(table, dict):
        with open(class_index, encoding="utf-8") as f:
            table = json.load(f)
    preds = np.asarray(preds)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"decode_predictions: top must be a positive int, got {top!r}")
    missing = [i for i in range(preds.shape[1]) if str(i) not in table]
    if missing:
        raise ValueError(f"decode_predictions: the class index has no entry for classes "
                         f"{missing[:5]} of the {preds.shape[1]} predicted")
    results = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        results.append([(*table[str(i)][:2], row[i]) for i in best])
    return results


CLASS_INDEX_FILE = "imagenet_class_index.json"


def _cached_class_index() -> Path:
    """Keras's class-index file where Keras keeps it once downloaded (its cache's ``models``
    folder), so a machine that has it decodes offline as Keras does there."""
    from convnp.datasets.download import cache_root

    path = cache_root() / "models" / CLASS_INDEX_FILE
    if not path.is_file():
        raise ValueError(f"decode_predictions: convnp downloads nothing and {path} does not "
                         f"exist; put Keras's {CLASS_INDEX_FILE} there (the file Keras "
                         "downloads: {\"0\": [\"n01440764\", \"tench\"], ...}) or pass "
                         "class_index='/path/to/imagenet_class_index.json' or that dict")
    return path
