"""Keras 3 model files: ``.keras`` archives and ``.weights.h5`` weight files, both ways.

    from convnp.io.keras_format import load_keras, save_keras
    model = load_keras("model.keras")        # a convnp model that predicts like Keras
    save_keras(model, "from_convnp.keras")   # keras.models.load_model() reads it

The format (observed on Keras 3.15; see ``tests/fixtures/KERAS_FORMAT.md``):

* a ``.keras`` file is a zip archive with ``metadata.json``, ``config.json`` (the model as
  ``{"module", "class_name", "config", ...}``, each layer with its Keras constructor arguments)
  and ``model.weights.h5``;
* in the HDF5 file each layer's variables are the datasets ``layers/<key>/vars/0``, ``1``, ...
  in the layer's variable order (kernel, bias; gamma, beta, moving_mean, moving_variance).
  ``<key>`` is the snake-case *class* name made unique with ``_1``, ``_2``, ... in the order of
  Keras's ``model.layers``, not the layer's name. For a functional model that order is
  recomputed from the graph (see `keras_layer_order`).

Safety: nothing in a file is ever executed. The config is read as JSON and each layer class is
looked up in a fixed table of the layers convnp implements; ``Lambda`` layers (which carry
Python code), custom objects and unknown classes or arguments raise `ValueError` naming them.
No pickle anywhere.

``h5py`` is an optional dependency (``pip install convnp[h5]``), imported only here.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile
from typing import Any

import numpy as np

from convnp._hdf5 import get_node, open_file, read_dataset
from convnp._limits import expansion_limit
from convnp.io._files import atomic_write
from convnp.io._zip import loads_finite, open_archive, read_member
from convnp.layers.base import weight_budget

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"

#: The Keras release whose file layout this module follows and was checked against.
KERAS_FORMAT_VERSION = "3.15.1"

_MAX_JSON_BYTES = 64 * 2**20  # a config this large is not a CNN config; refuse before parsing

# ---------------------------------------------------------------------------------------------
# What each supported Keras layer may say in its config.
#
# ``args``: Keras arguments passed on to the convnp layer (same names).
# ``neutral``: arguments convnp does not implement, accepted only at the value that means
# "off" (Keras writes every argument, mostly as None); any other value raises.
# Every layer also has ``name``, ``trainable`` and ``dtype``.

_NONE = None
_REGULARIZED = {"kernel_regularizer": _NONE, "bias_regularizer": _NONE,
                "kernel_constraint": _NONE, "bias_constraint": _NONE}

_SPECS: dict[str, dict[str, Any]] = {
    "Conv2D": {
        "args": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                 "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer"],
        "neutral": {**_REGULARIZED, "activity_regularizer": _NONE, "lora_rank": _NONE,
                    "lora_alpha": _NONE},
    },
    "Dense": {
        "args": ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer"],
        "neutral": {**_REGULARIZED, "activity_regularizer": _NONE, "lora_rank": _NONE,
                    "lora_alpha": _NONE, "quantization_config": _NONE},
    },
    "BatchNormalization": {
        "args": ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                 "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer"],
        "neutral": {"beta_regularizer": _NONE, "gamma_regularizer": _NONE,
                    "beta_constraint": _NONE, "gamma_constraint": _NONE,
                    "synchronized": False, "renorm": False, "renorm_clipping": _NONE},
        # Only read by Keras when renorm is on, which is refused above.
        "ignored": ["renorm_momentum"],
    },
    "MaxPooling2D": {"args": ["pool_size", "strides", "padding", "data_format"]},
    "AveragePooling2D": {"args": ["pool_size", "strides", "padding", "data_format"]},
    "GlobalAveragePooling2D": {"args": ["data_format", "keepdims"]},
    "GlobalMaxPooling2D": {"args": ["data_format", "keepdims"]},
    "ZeroPadding2D": {"args": ["padding", "data_format"]},
    "Flatten": {"args": ["data_format"]},
    "Dropout": {"args": ["rate", "noise_shape", "seed"]},
    "Activation": {"args": ["activation"]},
    "ReLU": {"args": ["max_value", "negative_slope", "threshold"]},
    "Add": {"args": []},
    "Concatenate": {"args": ["axis"]},
}
# The MobileNet-style and preprocessing layers: read through their constructor arguments and
# written from their get_config() (`_generic_keras_config`).
_DEPTHWISE_NEUTRAL = {"depthwise_regularizer": _NONE, "bias_regularizer": _NONE,
                      "activity_regularizer": _NONE, "depthwise_constraint": _NONE,
                      "bias_constraint": _NONE}
_AFFINE_ARGS = ["fill_mode", "interpolation", "seed", "fill_value", "data_format"]
_GENERIC = {
    "DepthwiseConv2D": {
        "args": ["kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                 "dilation_rate", "activation", "use_bias", "depthwise_initializer",
                 "bias_initializer"],
        "neutral": _DEPTHWISE_NEUTRAL,
    },
    "SeparableConv2D": {
        "args": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                 "depth_multiplier", "activation", "use_bias", "depthwise_initializer",
                 "pointwise_initializer", "bias_initializer"],
        "neutral": {**_DEPTHWISE_NEUTRAL, "pointwise_regularizer": _NONE,
                    "pointwise_constraint": _NONE},
    },
    "RandomFlip": {"args": ["mode", "seed", "data_format"]},
    "RandomRotation": {"args": ["factor", *_AFFINE_ARGS]},
    "RandomZoom": {"args": ["height_factor", "width_factor", *_AFFINE_ARGS]},
    "RandomTranslation": {"args": ["height_factor", "width_factor", *_AFFINE_ARGS]},
    "RandomContrast": {"args": ["factor", "value_range", "seed", "data_format"]},
    "RandomCrop": {"args": ["height", "width", "seed", "data_format"]},
    "Rescaling": {"args": ["scale", "offset"]},
    "Resizing": {"args": ["height", "width", "interpolation", "crop_to_aspect_ratio",
                          "pad_to_aspect_ratio", "fill_mode", "fill_value", "antialias",
                          "data_format"]},
    "CenterCrop": {"args": ["height", "width", "data_format"]},
}
_SPECS.update(_GENERIC)
_PREPROCESSING = set(_GENERIC) - {"DepthwiseConv2D", "SeparableConv2D"}
_ALIASES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
            "Convolution2D": "Conv2D"}
# The functional-API layers (docs/functional_layers.md): the same generic path; the keys are
# those Keras 3.15's get_config() writes.
_CONV_NEUTRAL = {**_REGULARIZED, "activity_regularizer": _NONE}
_CONV_ARGS = ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
              "activation", "use_bias", "kernel_initializer", "bias_initializer"]
_POOL_1D = {"args": ["pool_size", "padding", "strides", "data_format"]}
_FN_GENERIC = {
    "Conv2DTranspose": {"args": [*_CONV_ARGS, "output_padding"], "neutral": _CONV_NEUTRAL},
    "Conv1D": {"args": [*_CONV_ARGS, "groups"], "neutral": _CONV_NEUTRAL},
    "UpSampling2D": {"args": ["size", "data_format", "interpolation"]},
    "Cropping2D": {"args": ["cropping", "data_format"]},
    **{name: {"args": []} for name in ("Subtract", "Multiply", "Average", "Maximum",
                                       "Minimum")},
    "Dot": {"args": ["axes", "normalize"]},
    "Reshape": {"args": ["target_shape"]},
    "Permute": {"args": ["dims"]},
    "LeakyReLU": {"args": ["negative_slope"]},
    "PReLU": {"args": ["alpha_initializer", "shared_axes"],
              "neutral": {"alpha_regularizer": _NONE, "alpha_constraint": _NONE}},
    "ELU": {"args": ["alpha"]},
    "Softmax": {"args": ["axis"]},
    "LayerNormalization": {
        "args": ["axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer"],
        "neutral": {"rms_scaling": False, "beta_regularizer": _NONE, "gamma_regularizer": _NONE,
                    "beta_constraint": _NONE, "gamma_constraint": _NONE}},
    "SpatialDropout2D": {"args": ["rate", "seed", "data_format"]},
    "GaussianNoise": {"args": ["stddev", "seed"]},
    "MaxPooling1D": _POOL_1D,
    "AveragePooling1D": _POOL_1D,
    "GlobalAveragePooling1D": {"args": ["data_format", "keepdims"]},
    "GlobalMaxPooling1D": {"args": ["data_format", "keepdims"]},
}
_GENERIC.update(_FN_GENERIC)
_SPECS.update(_FN_GENERIC)
_MERGE = {"Add", "Concatenate", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot"}
# Layers Keras gives a build_config (those with a build step), as Keras 3.15 writes them.
_BUILT = {"Conv2D", "Dense", "BatchNormalization", "ZeroPadding2D", "Flatten", "Add",
          "Concatenate", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Conv1D",
          "PReLU", "LayerNormalization", "Subtract", "Multiply", "Average", "Maximum",
          "Minimum", "Dot"}
_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
_FLOAT_DTYPES = {"float32", "float64"}


# ---------------------------------------------------------------------------------------------
# Small helpers


def _require_h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("reading and writing Keras .keras/.weights.h5 files needs h5py: "
                          "pip install convnp[h5]") from None
    return h5py


def _snake_case(name: str) -> str:
    from convnp.layers.base import snake_case

    return snake_case(name)


def _where(layer_name: str | None, class_name: str) -> str:
    return f"layer '{layer_name}' ({class_name})" if layer_name else f"a {class_name} layer"


# ---------------------------------------------------------------------------------------------
# Reading configs


def _dtype_name(value, where: str) -> str | None:
    """The float dtype of a layer config (a string or a Keras DTypePolicy dict)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if not isinstance(value, str):
        raise ValueError(f"{where}: unreadable dtype {value!r}")  # noqa: TRY004
    if value not in _FLOAT_DTYPES:
        raise ValueError(f"{where}: dtype policy {value!r} is not supported by convnp "
                         f"(float32 or float64 only)")
    return value


def _activation_name(value, where: str) -> str:
    """A Keras activation as a name convnp knows; refuses functions defined in user code."""
    from convnp import activations

    if value is None:
        return "linear"
    if isinstance(value, dict):
        module = str(value.get("module") or "")
        inner = value.get("config")
        if not module.startswith("keras") or not isinstance(inner, str):
            raise ValueError(f"{where}: custom activation {value!r} is not supported (convnp "
                             "only loads built-in activations and never runs code from a file)")
        value = inner
    if not isinstance(value, str):
        raise ValueError(f"{where}: unreadable activation {value!r}")  # noqa: TRY004
    try:
        activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: {error}") from None
    return value


def _initializer(value, where: str):
    """A Keras initializer as a convnp identifier, or None to keep convnp's default.

    Initializers only matter for re-initialising a layer; loaded weights overwrite them. So an
    initializer convnp lacks falls back to the default instead of failing the whole load.
    """
    from convnp import initializers

    if value is None:
        return None
    if isinstance(value, str):
        candidates = [value]
    elif isinstance(value, dict) and isinstance(value.get("class_name"), str):
        config = {k: v for k, v in (value.get("config") or {}).items() if v is not None}
        candidates = [{"class_name": value["class_name"], "config": config},
                      value["class_name"]]
    else:
        raise ValueError(f"{where}: unreadable initializer {value!r}")  # noqa: TRY004
    for candidate in candidates:
        try:
            initializers.get(candidate)
            return candidate
        except (ValueError, TypeError):
            continue
    return None


def _layer_kwargs(class_name: str, config: dict, *, sequential_first: bool = False) -> dict:
    """Turn one Keras layer config into keyword arguments for the convnp layer class."""
    name = config.get("name")
    where = _where(name, class_name)
    spec = _SPECS[class_name]
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        if key == "name":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}: layer name must be a non-empty string, got {value!r}")
            kwargs["name"] = value
        elif key == "trainable":
            kwargs["trainable"] = bool(value)
        elif key == "dtype":
            dtype = _dtype_name(value, where)
            if dtype is not None:
                kwargs["dtype"] = dtype
        elif key in ("batch_input_shape", "batch_shape", "input_shape") and sequential_first:
            # Keras 2 Sequential files put the input shape on the first layer.
            if value is not None:
                shape = list(value)
                kwargs["batch_input_shape"] = shape if key != "input_shape" else [None, *shape]
        elif key in spec["args"]:
            if key == "activation":
                kwargs[key] = _activation_name(value, where)
            elif key.endswith("_initializer"):
                init = _initializer(value, where)
                if init is not None:
                    kwargs[key] = init
            elif key == "data_format" and value not in (None, "channels_last"):
                raise ValueError(f"{where}: data_format={value!r} is not supported; convnp is "
                                 "channels_last (NHWC) only")
            elif key == "groups" and value != 1:
                raise ValueError(f"{where}: groups={value!r} is not supported (only 1)")
            else:
                kwargs[key] = _plain(value)
        elif key in spec.get("neutral", {}):
            if value != spec["neutral"][key] and value is not None:
                raise ValueError(f"{where}: {key}={value!r} is not supported by convnp "
                                 f"(only {spec['neutral'][key]!r})")
        elif key in spec.get("ignored", []):
            continue
        else:
            raise ValueError(f"{where}: unknown config key {key!r} for {class_name} "
                             f"(convnp accepts {sorted(spec['args'])} plus name, trainable, "
                             "dtype)")
    return kwargs


def _plain(value):
    """JSON lists -> tuples (Keras tuple arguments come back from JSON as lists)."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def _input_layer_kwargs(config: dict) -> dict:
    name = config.get("name")
    where = _where(name, "InputLayer")
    kwargs: dict[str, Any] = {}
    shape = None
    for key, value in config.items():
        if key == "name":
            kwargs["name"] = value
        elif key in ("batch_shape", "batch_input_shape"):
            shape = value
        elif key == "dtype":
            dtype = _dtype_name(value, where)
            if dtype is not None:
                kwargs["dtype"] = dtype
        elif key in ("sparse", "ragged", "optional", "input_tensor"):
            if value:
                raise ValueError(f"{where}: {key}={value!r} is not supported by convnp")
        else:
            raise ValueError(f"{where}: unknown config key {key!r}")
    if not isinstance(shape, (list, tuple)) or len(shape) < 2:
        raise ValueError(f"{where}: needs a batch_shape such as [null, 64, 64, 3], "
                         f"got {shape!r}")
    kwargs["batch_shape"] = tuple(shape)
    return kwargs


def _check_entry(entry, position: str) -> tuple[str, dict]:
    """Validate a ``{"class_name", "config", "module", ...}`` layer entry."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        message = (f"{position}: a layer entry must be a dict with a 'class_name', "
                   f"got {entry!r:.200}")
        raise ValueError(message)  # noqa: TRY004 - a bad file is a bad value
    class_name = entry["class_name"]
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{position}: layer {class_name!r} has no config dict")  # noqa: TRY004
    label = _where(config.get("name"), class_name)
    if class_name in _CODE_LAYERS:
        raise ValueError(f"{label}: {class_name} layers hold Python code; convnp never "
                         "executes code from a model file, so they cannot be loaded")
    module = entry.get("module")
    registered = entry.get("registered_name")
    if module is not None and not str(module).startswith("keras"):
        raise ValueError(f"{label}: custom layer from module {module!r} is not supported")
    if registered not in (None, class_name):
        raise ValueError(f"{label}: custom registered object {registered!r} is not supported")
    class_name = _ALIASES.get(class_name, class_name)
    if class_name != "InputLayer" and class_name not in _SPECS:
        raise ValueError(f"{label}: layer class {class_name!r} is not supported by convnp "
                         f"(supported: InputLayer, {', '.join(sorted(_SPECS))})")
    return class_name, config


def _make_layer(class_name: str, config: dict, *, sequential_first: bool = False):
    from convnp.layers import get_layer_class

    if class_name == "InputLayer":
        kwargs = _input_layer_kwargs(config)
    else:
        kwargs = _layer_kwargs(class_name, config, sequential_first=sequential_first)
    cls = get_layer_class(class_name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{_where(config.get('name'), class_name)}: {error}") from None


# -- functional wiring ------------------------------------------------------------------------


def _history(tensor_spec, where: str) -> str:
    """The producing layer name of one Keras tensor reference (Keras 3 or Keras 2 form)."""
    if isinstance(tensor_spec, dict):
        if tensor_spec.get("class_name") != "__keras_tensor__":
            raise ValueError(f"{where}: unsupported call argument {tensor_spec!r:.200}")
        history = (tensor_spec.get("config") or {}).get("keras_history")
    else:
        history = tensor_spec  # Keras 2: [name, node_index, tensor_index, kwargs]
    if not isinstance(history, (list, tuple)) or len(history) < 3 \
            or not isinstance(history[0], str):
        raise ValueError(f"{where}: unreadable tensor reference {tensor_spec!r:.200}")
    if history[1] != 0 or history[2] != 0:
        raise ValueError(f"{where}: refers to call {history[1]} / output {history[2]} of layer "
                         f"'{history[0]}'; shared layers and multi-output layers are not "
                         "supported")
    if len(history) > 3 and history[3]:
        raise ValueError(f"{where}: call keyword arguments {history[3]!r} are not supported")
    return history[0]


def _inbound(entry: dict, class_name: str) -> tuple[list[str], bool]:
    """``(producer names, called on a list?)`` for one functional layer entry."""
    name = entry.get("name") or (entry.get("config") or {}).get("name")
    where = _where(name, class_name)
    nodes = entry.get("inbound_nodes", [])
    if not isinstance(nodes, list):
        raise ValueError(f"{where}: inbound_nodes must be a list")  # noqa: TRY004
    if not nodes:
        return [], False
    if len(nodes) > 1:
        raise ValueError(f"{where}: the layer is called {len(nodes)} times; shared layers are "
                         "not supported")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3
        args = node.get("args")
        kwargs = node.get("kwargs") or {}
        for key, value in kwargs.items():
            if key == "training" and value in (None, False):
                continue
            if key == "training" and value is True and class_name in _PREPROCESSING:
                # Keras 3 records its preprocessing layers' default (training=True) on every
                # call; predict still runs them in inference mode (app_layers.keras's
                # predictions), which is what convnp does
                continue
            if key == "mask" and value is None:
                continue
            raise ValueError(f"{where}: call argument {key}={value!r} is not supported")
        if not isinstance(args, list) or len(args) != 1:
            raise ValueError(f"{where}: expected one positional call argument, got {args!r:.200}")
        arg = args[0]
        if isinstance(arg, list):
            return [_history(t, where) for t in arg], True
        return [_history(arg, where)], False
    if isinstance(node, list):  # Keras 2: a list of [name, node, tensor, kwargs]
        names = [_history(t, where) for t in node]
        return names, class_name in _MERGE
    raise ValueError(f"{where}: unreadable inbound node {node!r:.200}")


def _end_names(value, what: str) -> list[str]:
    """``input_layers`` / ``output_layers``: one ``[name, 0, 0]`` or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"model config: unreadable {what} {value!r}")
    names = []
    for item in value:
        if not isinstance(item, (list, tuple)) or not item or not isinstance(item[0], str):
            raise ValueError(f"model config: unreadable {what} entry {item!r}")
        if len(item) >= 3 and (item[1] != 0 or item[2] != 0):
            raise ValueError(f"model config: {what} entry {item!r} refers to a shared or "
                             "multi-output layer, which is not supported")
        names.append(item[0])
    return names


def _functional_from_config(config: dict):
    from convnp.models import Model

    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError("model config: 'layers' must be a non-empty list")
    pending = []
    seen_names: set[str] = set()
    for i, entry in enumerate(entries):
        class_name, layer_config = _check_entry(entry, f"model config layers[{i}]")
        name = entry.get("name") or layer_config.get("name")
        if not isinstance(name, str) or name in seen_names:
            raise ValueError(f"model config layers[{i}]: missing or repeated layer name {name!r}")
        seen_names.add(name)
        if layer_config.get("name", name) != name:
            raise ValueError(f"model config layers[{i}]: entry name {name!r} differs from its "
                             f"config name {layer_config.get('name')!r}")
        producers, multi = _inbound(entry, class_name)
        if (class_name == "InputLayer") != (not producers):
            raise ValueError(f"{_where(name, class_name)}: only InputLayers may have no inputs")
        pending.append((name, class_name, layer_config, producers, multi))

    tensors: dict[str, Any] = {}
    # Keras writes layers in an order where producers come first; loop anyway, so a
    # reordered (but consistent) file loads too.
    while pending:
        progressed = False
        rest = []
        for name, class_name, layer_config, producers, multi in pending:
            if any(p not in tensors for p in producers):
                rest.append((name, class_name, layer_config, producers, multi))
                continue
            layer = _make_layer(class_name, layer_config)
            if class_name == "InputLayer":
                tensors[name] = layer.output
            else:
                args = [tensors[p] for p in producers]
                try:
                    tensors[name] = layer(args if multi else args[0])
                except (TypeError, ValueError) as error:
                    raise ValueError(f"{_where(name, class_name)}: {error}") from None
            progressed = True
        if not progressed:
            missing = sorted({p for _, _, _, ps, _ in rest for p in ps if p not in tensors})
            raise ValueError(f"model config: layers {[r[0] for r in rest]} are fed by unknown "
                             f"or cyclic layers {missing}")
        pending = rest

    def lookup(names: list[str], what: str) -> list:
        unknown = [n for n in names if n not in tensors]
        if unknown:
            raise ValueError(f"model config: {what} names unknown layers {unknown}")
        return [tensors[n] for n in names]

    inputs = lookup(_end_names(config.get("input_layers"), "input_layers"), "input_layers")
    outputs = lookup(_end_names(config.get("output_layers"), "output_layers"), "output_layers")
    try:
        model = Model(inputs=inputs if len(inputs) > 1 else inputs[0],
                      outputs=outputs if len(outputs) > 1 else outputs[0],
                      name=config.get("name"))
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(f"model config: {error}") from None
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _sequential_from_config(config: dict, build_shape):
    from convnp.models import Sequential

    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError("model config: 'layers' must be a non-empty list")
    layers = []
    for i, entry in enumerate(entries):
        class_name, layer_config = _check_entry(entry, f"model config layers[{i}]")
        if class_name == "InputLayer" and i != 0:
            raise ValueError(f"model config layers[{i}]: an InputLayer may only come first")
        layers.append(_make_layer(class_name, layer_config, sequential_first=(i == 0)))
    try:
        model = Sequential(layers, name=config.get("name"))
        shape = config.get("build_input_shape") or build_shape
        if not model.built and shape is not None:
            model.build(tuple(shape))
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(f"model config: {error}") from None
    if config.get("trainable") is False:
        model.trainable = False
    return model


def model_from_keras_config(config: dict):
    """Build a convnp model (fresh weights) from a Keras ``config.json`` dict.

    Accepts ``Sequential`` and functional (``Functional`` / ``Model``) models made of the
    layers convnp implements.

    Raises:
        ValueError: an unsupported model or layer class, a ``Lambda`` layer, a custom object,
            an unknown argument, or an unsupported option value; the message names the layer.
    """
    if not isinstance(config, dict):
        got = type(config).__name__
        raise ValueError(f"model config must be a JSON object, got {got}")  # noqa: TRY004
    class_name = config.get("class_name")
    inner = config.get("config")
    module = config.get("module")
    if module is not None and not str(module).startswith("keras"):
        raise ValueError(f"model class from module {module!r} is not supported (custom model)")
    if not isinstance(inner, dict):
        raise ValueError("model config: missing 'config' dict")  # noqa: TRY004
    build_shape = (config.get("build_config") or {}).get("input_shape")
    if class_name == "Sequential":
        return _sequential_from_config(inner, build_shape)
    if class_name in ("Functional", "Model"):
        return _functional_from_config(inner)
    raise ValueError(f"model class {class_name!r} is not supported (only Sequential and "
                     "functional models)")


# ---------------------------------------------------------------------------------------------
# Layer order and weights


def keras_layer_order(model) -> list:
    """The layers in the order of Keras's ``model.layers`` for the same architecture.

    Sequential: the stacked layers (no InputLayer). Functional: Keras sorts layers by their
    depth (the longest path from the layer to a model output), deepest first, and breaks ties
    by the order a depth-first walk from the outputs first reaches them (following each call's
    inputs in argument order). This decides the ``layers/<key>`` names in weight files.
    """
    if not model.layers:
        raise ValueError(f"model '{model.name}' is not built")
    # Sequential lists its stacked layers; a functional model's `layers` are in Keras's order
    return list(model.layers)


def weight_keys(model) -> list[tuple[str, Any]]:
    """``(key, layer)`` pairs: the HDF5 group ``layers/<key>`` Keras uses for each layer."""
    counts: dict[str, int] = {}
    pairs = []
    for layer in keras_layer_order(model):
        base = _snake_case(type(layer).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        pairs.append((base if n == 0 else f"{base}_{n}", layer))
    return pairs


def _read_weights_h5(model, h5file, source: str) -> None:
    """Copy every layer's variables from an open h5py File into ``model`` (all or nothing).

    Links are checked before they are followed and each dataset's storage and shape before it
    is read (`convnp._hdf5`): data from other files, or more than the model holds, is refused.
    """
    h5py = _require_h5py()
    root = get_node(h5py, h5file, "layers", source)
    if not isinstance(root, h5py.Group):
        try:
            top = sorted(h5file.keys())
        except (OSError, RuntimeError, KeyError) as exc:
            raise ValueError(f"{source}: unreadable HDF5 file ({exc})") from None
        message = (f"{source}: no 'layers' group; not a Keras 3 weights file "
                   f"(top-level keys {top})")
        raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
    staged = []
    for key, layer in weight_keys(model):
        expected = layer.weights
        group = get_node(h5py, root, f"{key}/vars", source)
        if group is not None and not isinstance(group, h5py.Group):
            raise ValueError(f"{source}: 'layers/{key}/vars' is not a group")
        try:
            names = sorted(group.keys(), key=lambda s: int(s) if s.isdigit() else -1) \
                if group is not None else []
        except (OSError, RuntimeError, KeyError) as exc:
            raise ValueError(f"{source}: cannot list layers/{key}/vars ({exc})") from None
        if names != [str(i) for i in range(len(names))]:
            raise ValueError(f"{source}: layers/{key}/vars holds unexpected entries {names[:10]}")
        if len(names) != len(expected):
            raise ValueError(
                f"{source}: layer '{layer.name}' ({type(layer).__name__}, weights at "
                f"layers/{key}) expects {len(expected)} arrays "
                f"{[v.name for v in expected]}, the file has {len(names)}")
        values = []
        for i, variable in enumerate(expected):
            name = f"layers/{key}/vars/{i}"
            dataset = get_node(h5py, group, str(i), source)
            if not isinstance(dataset, h5py.Dataset):
                message = (f"{source}: {name} is not a numeric dataset")
                raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
            if tuple(dataset.shape or ()) != tuple(variable.shape):
                raise ValueError(
                    f"{source}: layer '{layer.name}' weight '{variable.name}' has shape "
                    f"{tuple(variable.shape)}, {name} has {dataset.shape}")
            values.append(read_dataset(h5py, dataset, source, name,
                                       expected_shape=tuple(variable.shape), kinds="fiu"))
        if values:
            staged.append((layer, values))
    for layer, values in staged:
        layer.set_weights(values)


def _write_weights_h5(model, h5file) -> None:
    """Write ``model``'s variables into an open, empty h5py File, in Keras's layout."""
    layers_group = h5file.create_group("layers")
    for key, layer in weight_keys(model):
        vars_group = layers_group.create_group(key).create_group("vars")
        vars_group.attrs["name"] = layer.name
        for i, variable in enumerate(layer.weights):
            vars_group.create_dataset(str(i), data=np.asarray(variable.value, dtype="<f4"))
    h5file.create_group("vars").attrs["name"] = getattr(model, "name", "model")


def load_keras_weights(model, path: str | os.PathLike) -> None:
    """Load a Keras 3 ``.weights.h5`` file (``model.save_weights``) into a built convnp model.

    The model must have the architecture the file was saved from. Nothing is changed unless
    every array is found with the right shape.

    Raises:
        ValueError: missing layers, wrong counts or shapes (named), or not a weights file.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    _require_built(model)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such weights file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a weights file")
    with open_file(h5py, path, path) as f:
        _read_weights_h5(model, f, path)


def save_keras_weights(model, path: str | os.PathLike) -> None:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file (loadable with Keras's
    ``model.load_weights`` on the same architecture). Written whole or not at all."""
    h5py = _require_h5py()
    path = os.fspath(path)
    _require_built(model)
    _check_savable(model)

    def write(fileobj):
        with h5py.File(fileobj, "w") as f:
            _write_weights_h5(model, f)

    atomic_write(path, write)


def _require_built(model) -> None:
    if not getattr(model, "outputs", None):
        raise ValueError(f"model '{getattr(model, 'name', model)}' is not built; build it (or "
                         "call predict once) before reading or writing weights")


# ---------------------------------------------------------------------------------------------
# .keras archives: reading


def _read_json_member(archive: zipfile.ZipFile, member: str, path: str):
    data = read_member(archive, path, member, _MAX_JSON_BYTES)
    try:
        return loads_finite(data)
    except (ValueError, RecursionError) as error:  # bad UTF-8, bad JSON, NaN, too deep
        raise ValueError(f"{path}: {member} is not valid JSON: {error}") from None


def read_keras_archive(path: str | os.PathLike) -> tuple[dict, dict | None, bytes]:
    """``(config, metadata or None, weights .h5 bytes)`` of a ``.keras`` file, unparsed beyond
    JSON. Raises `ValueError` for a file that is not such an archive (or one whose members
    declare more bytes than the limits of `convnp._limits` allow)."""
    path = os.fspath(path)
    with open_archive(path, path, "a Keras 3 .keras file (legacy Keras 2 .h5 model files "
                      "are not supported)") as archive:
        names = set(archive.namelist())
        if CONFIG_MEMBER not in names:
            raise ValueError(f"{path}: no {CONFIG_MEMBER} in the archive (members "
                             f"{sorted(names)[:10]})")
        if WEIGHTS_MEMBER not in names:
            other = [n for n in names if n.startswith("model.weights")]
            raise ValueError(f"{path}: no {WEIGHTS_MEMBER} in the archive"
                             + (f" (found {other}; only the HDF5 weights format is supported)"
                                if other else ""))
        config = _read_json_member(archive, CONFIG_MEMBER, path)
        metadata = (_read_json_member(archive, METADATA_MEMBER, path)
                    if METADATA_MEMBER in names else None)
        weights = read_member(archive, path, WEIGHTS_MEMBER)
    return config, metadata, weights


def load_keras(path: str | os.PathLike, compile: bool = True):
    """Load a Keras 3 ``.keras`` file as a convnp model.

    Args:
        path: the ``.keras`` archive (``model.save("x.keras")`` in Keras 3).
        compile: if the file records a compile config (optimizer, loss, metrics), compile the
            convnp model the same way when convnp supports them (as Keras does; a config convnp
            cannot follow leaves the model uncompiled with a warning), and give Adam/SGD the
            saved optimizer state.

    Returns:
        A convnp `Sequential` or `Model` with the file's weights, predicting like Keras.

    Raises:
        ValueError: not a ``.keras`` archive, an unsupported model or layer (named), a
            ``Lambda`` layer or custom object, or weights that do not fit.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    config, metadata, weights = read_keras_archive(path)
    if metadata is not None:
        version = str(metadata.get("keras_version", "")) if isinstance(metadata, dict) else ""
        if version and not version.startswith("3."):
            raise ValueError(f"{path}: saved by Keras {version}; only Keras 3 .keras files "
                             "are supported")
    try:
        # the model may not hold more weights than the HDF5 member could (see _limits)
        with weight_budget(expansion_limit(len(weights)), f"{path}:{WEIGHTS_MEMBER}"):
            model = model_from_keras_config(config)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    except RecursionError:
        raise ValueError(f"{path}: the model config is nested too deeply") from None
    source = f"{path}:{WEIGHTS_MEMBER}"
    with open_file(h5py, io.BytesIO(weights), source) as f:
        _read_weights_h5(model, f, source)
        if compile and isinstance(config.get("compile_config"), dict):
            _compile_from_config(model, config["compile_config"], path)
            _read_optimizer_h5(model, f, source)
    return model


_OPTIMIZER_KEYS = {
    "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"),
    "SGD": ("learning_rate", "momentum", "nesterov"),
    "RMSprop": ("learning_rate", "rho", "momentum", "epsilon", "centered"),
}


def _compile_from_config(model, compile_config: dict, path: str) -> None:
    """Compile like Keras's ``compile_from_config``, for the optimizers/losses convnp has."""
    try:
        opt = compile_config.get("optimizer")
        if isinstance(opt, dict):
            cls = opt.get("class_name")
            if cls not in _OPTIMIZER_KEYS:
                raise ValueError(f"optimizer {cls!r} is not supported")
            inner = opt.get("config") or {}
            opt = {"class_name": cls,
                   "config": {k: inner[k] for k in _OPTIMIZER_KEYS[cls]
                              if k in inner and inner[k] is not None}}
        elif not isinstance(opt, str):
            raise ValueError(f"optimizer {opt!r} is not supported")  # noqa: TRY004
        loss = compile_config.get("loss")
        metrics = compile_config.get("metrics")
        if not (loss is None or isinstance(loss, str)):
            raise ValueError(f"loss {loss!r} is not supported")
        if metrics is not None and not (isinstance(metrics, list)
                                        and all(isinstance(m, str) for m in metrics)):
            raise ValueError(f"metrics {metrics!r} are not supported")
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except (ValueError, TypeError, NotImplementedError) as error:
        warnings.warn(f"{path}: the model was loaded uncompiled; its compile config could not "
                      f"be followed: {error}", stacklevel=3)


# ---------------------------------------------------------------------------------------------
# .keras archives: writing


def _policy(dtype) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": np.dtype(dtype).name}, "registered_name": None}


def _keras_initializer(value, default: str) -> dict:
    """A convnp initializer identifier as Keras's ``{"module", "class_name", "config"}``."""
    from convnp import initializers

    try:
        serial = initializers.serialize(initializers.get(value))
    except (TypeError, ValueError):
        serial = initializers.serialize(initializers.get(default))
    return {"module": "keras.initializers", "class_name": serial["class_name"],
            "config": dict(serial.get("config") or {}), "registered_name": None}


def _generic_keras_config(cls: str, config: dict) -> dict:
    """A `_GENERIC` layer's get_config() in Keras 3's form: initializers as Keras dicts,
    tuples as lists, the neutral (None) options written out."""
    spec = _GENERIC[cls]
    out: dict[str, Any] = {}
    for key in spec["args"]:
        value = config[key]
        if key.endswith("_initializer"):
            value = _keras_initializer(value, "zeros" if key == "bias_initializer"
                                       else "glorot_uniform")
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    out.update(spec.get("neutral", {}))
    return out


def _pair_list(value) -> list:
    return [int(v) for v in value]


def _shape_list(shape) -> list | None:
    if shape is None:
        return None
    if isinstance(shape, list):  # several inputs
        return [_shape_list(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _keras_layer_config(layer) -> dict:
    """The Keras 3 config of a convnp layer (only keys Keras 3 accepts)."""
    cls = type(layer).__name__
    if cls == "InputLayer":
        return {"batch_shape": _shape_list(layer.batch_shape), "dtype": layer.dtype.name,
                "sparse": False, "name": layer.name}
    cfg = layer.get_config()
    out: dict[str, Any] = {"name": layer.name, "trainable": bool(layer.trainable),
                           "dtype": _policy(layer.dtype)}

    def act() -> str:
        return getattr(layer.activation, "name", None) or "linear"

    if cls in _GENERIC:
        out.update(_generic_keras_config(cls, cfg))
        if cls == "SpatialDropout2D":
            # Keras 3.15's SpatialDropout2D takes no `trainable` and writes a plain dtype name
            del out["trainable"]
            out["dtype"] = layer.dtype.name
    elif cls == "Conv2D":
        out.update({
            "filters": int(layer.filters), "kernel_size": _pair_list(layer.kernel_size),
            "strides": _pair_list(layer.strides), "padding": layer.padding,
            "data_format": "channels_last",
            "dilation_rate": _pair_list(layer.dilation_rate), "groups": 1,
            "activation": act(), "use_bias": bool(layer.use_bias),
            "kernel_initializer": _keras_initializer(cfg.get("kernel_initializer"),
                                                     "glorot_uniform"),
            "bias_initializer": _keras_initializer(cfg.get("bias_initializer"), "zeros"),
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
        })
    elif cls == "Dense":
        out.update({
            "units": int(layer.units), "activation": act(), "use_bias": bool(layer.use_bias),
            "kernel_initializer": _keras_initializer(cfg.get("kernel_initializer"),
                                                     "glorot_uniform"),
            "bias_initializer": _keras_initializer(cfg.get("bias_initializer"), "zeros"),
            "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None,
        })
    elif cls == "BatchNormalization":
        out.update({
            "axis": int(layer.axis), "momentum": float(layer.momentum),
            "epsilon": float(layer.epsilon), "center": bool(layer.center),
            "scale": bool(layer.scale),
            "beta_initializer": _keras_initializer(cfg.get("beta_initializer"), "zeros"),
            "gamma_initializer": _keras_initializer(cfg.get("gamma_initializer"), "ones"),
            "moving_mean_initializer": _keras_initializer(cfg.get("moving_mean_initializer"),
                                                          "zeros"),
            "moving_variance_initializer": _keras_initializer(
                cfg.get("moving_variance_initializer"), "ones"),
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
            "gamma_constraint": None, "synchronized": False,
        })
    elif cls in ("MaxPooling2D", "AveragePooling2D"):
        out.update({"pool_size": _pair_list(layer.pool_size), "padding": layer.padding,
                    "strides": _pair_list(layer.strides), "data_format": "channels_last"})
    elif cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        out.update({"data_format": "channels_last", "keepdims": bool(layer.keepdims)})
    elif cls == "ZeroPadding2D":
        out.update({"padding": [_pair_list(p) for p in layer.padding],
                    "data_format": "channels_last"})
    elif cls == "Flatten":
        out["data_format"] = "channels_last"
    elif cls == "Dropout":
        out.update({"rate": float(layer.rate),
                    "noise_shape": None if layer.noise_shape is None else list(layer.noise_shape),
                    "seed": layer.seed})
    elif cls == "Activation":
        out["activation"] = act()
    elif cls == "ReLU":
        out.update({"max_value": layer.max_value, "negative_slope": float(layer.negative_slope),
                    "threshold": float(layer.threshold)})
    elif cls == "Add":
        pass
    elif cls == "Concatenate":
        out["axis"] = int(layer.axis)
    else:
        raise ValueError(f"cannot save layer '{layer.name}' of type {cls} as a Keras file: "
                         f"Keras has no matching built-in layer (supported: InputLayer, "
                         f"{', '.join(sorted(_SPECS))})")
    return out


def _check_savable(model) -> None:
    """Refuse, before writing anything, layers that have no Keras 3 counterpart."""
    from convnp import activations

    graph = getattr(model, "_graph", None)
    for layer in getattr(graph, "layers", []):
        if graph.is_shared(layer):
            raise ValueError(f"cannot save layer '{layer.name}' as a Keras file: it is called "
                             "more than once (shared weights), which convnp's .keras writer "
                             "does not express; save to a .convnp file")
    for layer in keras_layer_order(model):
        cls = type(layer).__name__
        if cls != "InputLayer" and cls not in _SPECS:
            raise ValueError(f"cannot save layer '{layer.name}' of type {cls} as a Keras file: "
                             f"only built-in Keras layers are written (supported: InputLayer, "
                             f"{', '.join(sorted(_SPECS))})")
        activation = getattr(layer, "activation", None)
        if activation is not None:
            name = getattr(activation, "name", None)
            try:
                known = name is not None and activations.get(name) == activation
            except (ValueError, TypeError):
                known = False
            if not known:
                raise ValueError(f"cannot save layer '{layer.name}' ({cls}): its activation "
                                 f"{activation!r} is not a built-in Keras activation")


def _layer_entry(layer, input_shape) -> dict:
    cls = type(layer).__name__
    entry = {"module": "keras.layers", "class_name": cls, "config": _keras_layer_config(layer),
             "registered_name": None}
    if cls in _BUILT and input_shape is not None:
        entry["build_config"] = {"input_shape": _shape_list(input_shape)}
    return entry


def _tensor_ref(tensor) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": _shape_list(tensor.shape), "dtype": "float32",
                       "keras_history": [tensor.layer.name, 0, 0]}}


def keras_config(model) -> dict:
    """The Keras 3 ``config.json`` dict of a built convnp model (uncompiled)."""
    from convnp.models import Sequential

    _require_built(model)
    _check_savable(model)
    if isinstance(model, Sequential):
        input_tensor = model.inputs[0]
        entries = [{"module": "keras.layers", "class_name": "InputLayer",
                    "config": _keras_layer_config(input_tensor.layer), "registered_name": None}]
        for layer in model.layers:
            entries.append(_layer_entry(layer, layer.input_shape))
        shape = _shape_list(input_tensor.shape)
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": model.name, "trainable": bool(model.trainable),
                           "dtype": _policy(np.float32), "layers": entries,
                           "build_input_shape": shape},
                "registered_name": None, "build_config": {"input_shape": shape}}

    # Functional: one entry per layer, in Keras's layer order, with its call's inputs.
    calls: dict[int, Any] = {}
    for tensor in _all_tensors(model):
        calls[id(tensor.layer)] = tensor
    entries = []
    for layer in keras_layer_order(model):
        tensor = calls[id(layer)]
        cls = type(layer).__name__
        if cls == "InputLayer":
            entry = {"module": "keras.layers", "class_name": cls,
                     "config": _keras_layer_config(layer), "registered_name": None,
                     "name": layer.name, "inbound_nodes": []}
        else:
            parents = tensor.inputs
            multi = cls in _MERGE
            shapes = [p.shape for p in parents]
            entry = _layer_entry(layer, shapes if multi else shapes[0])
            refs = [_tensor_ref(p) for p in parents]
            entry["name"] = layer.name
            entry["inbound_nodes"] = [{"args": [refs] if multi else refs, "kwargs": {}}]
        entries.append(entry)

    def ends(tensors: list) -> list:
        triples = [[t.layer.name, 0, 0] for t in tensors]
        return triples[0] if len(triples) == 1 else triples

    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": model.name, "trainable": bool(model.trainable),
                       "layers": entries, "input_layers": ends(model.inputs),
                       "output_layers": ends(model.outputs)},
            "registered_name": "Functional", "build_config": {"input_shape": None}}


# Keras 3's optimizer slots, per trainable variable, in the order its .keras files list them.
_KERAS_SLOTS = {"Adam": ["momentum", "velocity"], "SGD": ["momentum"]}


def _keras_compile_config(model) -> dict | None:
    """Keras 3's ``compile_config`` for a model compiled with what Keras's files can say
    (Adam or SGD without schedule, a loss by name, metrics by name, one output); else None
    (the file is then loaded uncompiled, as before)."""
    from convnp import optimizers

    opt = getattr(model, "optimizer", None)
    if not getattr(model, "_compiled", False) or type(opt).__name__ not in _KERAS_SLOTS:
        return None
    loss, metrics = getattr(model, "loss", None), getattr(model, "_metric_ids", None) or []
    if (not isinstance(loss, str) or len(model.outputs) != 1
            or not all(isinstance(m, str) for m in metrics)
            or getattr(opt, "_schedule", None) is not None):
        return None
    inner = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
             "loss_scale_factor": None, "gradient_accumulation_steps": None,
             **optimizers.serialize(opt)["config"]}
    return {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                          "config": inner, "registered_name": None},
            "loss": loss, "loss_weights": None, "metrics": list(metrics) or None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def _write_optimizer_h5(model, h5file) -> None:
    """The optimizer's step count, rate and slots as Keras stores them (``optimizer/vars``:
    iterations, learning_rate, then each trainable variable's slots in turn)."""
    opt = model.optimizer
    if not opt.built:
        return
    state = opt.get_state()
    group = h5file.create_group("optimizer").create_group("vars")
    group.attrs["name"] = opt.name
    values = [np.asarray(state["iterations"], dtype=np.int64),
              np.asarray(opt.learning_rate, dtype="<f4")]
    names = [n for n in _KERAS_SLOTS[type(opt).__name__] if n in opt._slot_names()]
    for i in range(len(model.trainable_weights)):
        values.extend(np.asarray(state[f"{name}/{i}"], dtype="<f4") for name in names)
    for i, value in enumerate(values):
        group.create_dataset(str(i), data=value)


def _read_optimizer_h5(model, h5file, where: str) -> None:
    """Give a compiled model's Adam/SGD the slots stored in a ``.keras`` file, if any."""
    h5py = _require_h5py()
    opt = getattr(model, "optimizer", None)
    if opt is None or type(opt).__name__ not in _KERAS_SLOTS:
        return
    top = get_node(h5py, h5file, "optimizer", where) if "optimizer" in h5file else None
    group = get_node(h5py, top, "vars", where) if top is not None and "vars" in top else None
    if not isinstance(group, h5py.Group):
        return
    names = [n for n in _KERAS_SLOTS[type(opt).__name__] if n in opt._slot_names()]
    variables = model.trainable_weights
    if len(group) != 2 + len(names) * len(variables):
        warnings.warn(f"{where}: optimizer state skipped: {len(group)} arrays for "
                      f"{len(variables)} trainable variables", stacklevel=3)
        return

    def read(index: int, shape: tuple) -> np.ndarray:
        node = get_node(h5py, group, str(index), where)
        if not isinstance(node, h5py.Dataset):
            raise ValueError(f"{where}: optimizer/vars/{index} is not a dataset")  # noqa: TRY004
        return read_dataset(h5py, node, where, f"optimizer/vars/{index}", expected_shape=shape,
                            kinds="fiu")

    state = {"iterations": np.asarray(read(0, ()), dtype=np.int64)}
    k = 2
    for i, variable in enumerate(variables):
        for name in names:
            state[f"{name}/{i}"] = np.asarray(read(k, tuple(variable.shape)),
                                              dtype=variable.value.dtype)
            k += 1
    opt.set_state(state)


def _all_tensors(model) -> list:
    seen: dict[int, Any] = {}
    stack = list(model.outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen[id(tensor)] = tensor
        stack.extend(tensor.inputs)
    for tensor in model.inputs:
        seen.setdefault(id(tensor), tensor)
    return list(seen.values())


def save_keras(model, path: str | os.PathLike) -> str:
    """Write a built convnp model as a Keras 3 ``.keras`` archive.

    The archive holds ``metadata.json``, ``config.json`` (the architecture, in Keras 3's own
    layout) and ``model.weights.h5`` (the weights); ``keras.models.load_model(path)`` rebuilds
    the model and predicts like convnp. A model compiled with Adam or SGD, a loss and metrics
    by name (one output) also gets its compile config and optimizer state, so Keras (and
    convnp) reload it compiled and continue training where it stopped; otherwise the file
    loads uncompiled.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: a layer or activation with no Keras 3 counterpart (named); nothing is
            written then.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    config = keras_config(model)
    compile_config = _keras_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        _write_weights_h5(model, f)
        if compile_config is not None:
            _write_optimizer_h5(model, f)
    from convnp import __version__

    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"convnp {__version__}"}
    config_bytes = json.dumps(config, allow_nan=False).encode("utf-8")

    def write(fileobj):
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata))
            archive.writestr(CONFIG_MEMBER, config_bytes)
            archive.writestr(WEIGHTS_MEMBER, weights.getvalue())

    atomic_write(path, write)
    return path


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a model file, choosing the reader by extension.

    ``.keras`` -> `load_keras`; ``.convnp`` -> ``convnp.io.saving.load_model``. Other
    extensions (including legacy Keras 2 ``.h5`` model files) raise `ValueError`.
    """
    path_str = os.fspath(path)
    lower = path_str.lower()
    if lower.endswith(".keras"):
        return load_keras(path_str, compile=compile)
    if lower.endswith(".convnp"):
        from convnp.io import saving

        return saving.load_model(path_str)
    if lower.endswith(".weights.h5"):
        raise ValueError(f"{path_str}: a weights file holds no architecture; build the model, "
                         "then call model.load_weights(path)")
    raise ValueError(f"{path_str}: unknown model file type; expected a .keras or .convnp file")


__all__ = [
    "keras_config",
    "keras_layer_order",
    "load_keras",
    "load_keras_weights",
    "load_model",
    "model_from_keras_config",
    "read_keras_archive",
    "save_keras",
    "save_keras_weights",
    "weight_keys",
]
