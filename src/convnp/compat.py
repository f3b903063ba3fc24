"""Run a notebook's own ``import tensorflow`` lines on convnp: `as_tensorflow()`.

Opt-in only: importing convnp never touches ``sys.modules``. After ``as_tensorflow()``,

    import tensorflow as tf
    from tensorflow.keras.layers import Conv2D, BatchNormalization
    from tensorflow.keras.initializers import random_uniform, glorot_uniform
    from tensorflow.python.framework.ops import EagerTensor

resolve to convnp (``tf`` *is* the ``convnp`` module, ``EagerTensor`` is convnp's eager
result type). Limits: only what convnp implements is there (a missing name raises the usual
ImportError/AttributeError naming it); only the ``tensorflow`` names below are registered, not
``keras`` on its own; ``tensorflow.python`` holds ``framework.ops.EagerTensor`` and nothing else;
a real TensorFlow already imported in the process is not replaced unless ``force=True``.
`restore()` removes the aliases again.

It is also ``tf.compat``: the string helpers TensorFlow keeps there (`as_bytes`, `as_text`,
`as_str`, `as_str_any`, `path_to_str`), which keras.io programs use on file contents (the
"Image classification from scratch" example keeps only files whose first bytes hold
``tf.compat.as_bytes("JFIF")``).
"""

from __future__ import annotations

import importlib
import os
import sys
import types

# tensorflow.keras submodules the course's notebooks import (each taken from convnp.keras)
KERAS_SUBMODULES = (
    "activations", "applications", "applications.imagenet_utils", "applications.mobilenet_v2",
    "applications.resnet50", "applications.resnet", "applications.vgg19",
    "applications.mobilenet", "applications.densenet", "applications.efficientnet",
    "applications.xception", "applications.inception_v3",
    "applications.vgg16", "applications.resnet_v2", "applications.mobilenet_v3",
    "applications.efficientnet_v2", "applications.convnext", "backend", "callbacks", "datasets", "initializers", "layers",
    "layers.experimental", "layers.experimental.preprocessing", "losses", "metrics", "models",
    "ops", "optimizers", "optimizers.schedules", "optimizers.legacy", "optimizers.experimental",
    "preprocessing", "preprocessing.image", "utils", "saving", "regularizers", "constraints",
    "mixed_precision", "random", "dtype_policies", "visualization", "utils.bounding_boxes",
)
# tensorflow's own namespaces (``from tensorflow.image import resize``), from convnp
TF_SUBMODULES = ("data", "data.experimental", "random", "image", "nn", "math", "linalg", "io",
                 "errors", "dtypes", "config", "config.experimental", "config.threading",
                 "debugging", "summary", "summary.experimental", "nest", "test", "strings",
                 "initializers")
_registered: dict[str, object] = {}  # name -> what sys.modules held before (or _ABSENT)
_ABSENT = object()


def _resolve(root, dotted: str):
    """``root.a.b`` by attribute access (lazy submodules load), or None if convnp lacks it."""
    obj = root
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


def as_tensorflow(force: bool = False) -> list[str]:
    """Register convnp under ``tensorflow``, ``tensorflow.keras`` and their submodules.

    Args:
        force: replace a real TensorFlow already imported in this process.

    Returns:
        The module names now served by convnp (submodules convnp lacks are left out).

    Raises:
        RuntimeError: TensorFlow itself is already imported (and ``force`` is False).
    """
    import convnp
    from convnp.tensor.eager import EagerTensor

    current = sys.modules.get("tensorflow")
    if current is not None and current is not convnp and not force:
        raise RuntimeError("as_tensorflow(): the real TensorFlow is already imported in this "
                           "process; call it before any `import tensorflow`, or pass force=True")
    keras = importlib.import_module("convnp.keras")
    table: dict[str, object] = {"tensorflow": convnp, "tensorflow.keras": keras}
    for name in KERAS_SUBMODULES:
        target = _resolve(keras, name)
        if target is not None:
            table[f"tensorflow.keras.{name}"] = target
    for name in TF_SUBMODULES:
        target = _resolve(convnp, name)
        if target is not None:
            table[f"tensorflow.{name}"] = target
    framework_ops = types.ModuleType("tensorflow.python.framework.ops",
                                     "convnp's stand-in: EagerTensor only")
    framework_ops.EagerTensor = EagerTensor
    framework = types.ModuleType("tensorflow.python.framework")
    framework.ops = framework_ops
    python = types.ModuleType("tensorflow.python")
    python.framework = framework
    table.update({"tensorflow.python": python, "tensorflow.python.framework": framework,
                  "tensorflow.python.framework.ops": framework_ops})
    for name, module in table.items():
        if name not in _registered:
            _registered[name] = sys.modules.get(name, _ABSENT)
        sys.modules[name] = module
    return sorted(table)


def restore() -> None:
    """Undo `as_tensorflow`: put back what ``sys.modules`` held before."""
    for name, previous in _registered.items():
        if previous is _ABSENT:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    _registered.clear()


def as_bytes(bytes_or_text, encoding: str = "utf-8") -> bytes:
    """``tf.compat.as_bytes``: text encoded with ``encoding``; bytes (and bytearrays) as bytes.

    Raises:
        TypeError: anything else (numbers, None, paths), as TensorFlow does.
    """
    if isinstance(bytes_or_text, bytearray):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text
    raise TypeError("tf.compat.as_bytes expects a binary or unicode string, "
                    f"received {bytes_or_text!r} ({type(bytes_or_text).__name__})")


def as_text(bytes_or_text, encoding: str = "utf-8") -> str:
    """``tf.compat.as_text`` (alias ``as_str``): bytes decoded with ``encoding``; text as it is.

    Raises:
        TypeError: anything else (bytearrays too, as TensorFlow), before any decoding.
    """
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text.decode(encoding)
    raise TypeError("tf.compat.as_text expects a binary or unicode string, "
                    f"received {bytes_or_text!r} ({type(bytes_or_text).__name__})")


as_str = as_text


def as_str_any(value, encoding: str = "utf-8") -> str:
    """``tf.compat.as_str_any``: bytes decoded, anything else through ``str()``."""
    if isinstance(value, bytes):
        return as_text(value, encoding)
    return str(value)


def path_to_str(path):
    """``tf.compat.path_to_str``: a path object (``os.PathLike``) as its string; the rest as given."""
    if isinstance(path, os.PathLike):
        return as_str_any(os.fspath(path))
    return path
