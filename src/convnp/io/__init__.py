"""File formats: ``.convnp`` model files, Keras 3 ``.keras`` / ``.weights.h5``, ONNX export.

* `convnp.io.saving`: ``save_model`` / ``load_model`` / ``save_weights`` / ``load_weights``;
* `convnp.io.keras_format`: ``load_keras`` / ``save_keras`` and the ``.weights.h5`` pair;
* `convnp.io.legacy_h5`: Keras's legacy ``.h5`` model files and Keras 2's weights layout;
* `convnp.io.onnx`: ``export(model, path, opset=17)`` (NumPy + stdlib only), on
  `convnp.io.protobuf`;
* `convnp.io.records`: TFRecord files (``tf.io.TFRecordWriter``, the reader behind
  ``tf.data.TFRecordDataset``, the framing TensorBoard's event files share);
* `convnp.io.example`: ``tf.train.Example`` and its parts, ``tf.io.parse_single_example`` /
  ``parse_example`` with ``FixedLenFeature`` / ``FixedLenSequenceFeature``,
  ``serialize_tensor`` / ``parse_tensor``;
* `convnp.io._files`: ``atomic_write`` (a file is written whole or not at all).

The submodules are imported on use, so ``import convnp`` does not pay for them. ``h5py`` is an
optional extra (``pip install convnp[h5]``) needed only for the Keras files.
"""

from __future__ import annotations

import importlib

__all__ = [
    "FixedLenFeature",
    "FixedLenSequenceFeature",
    "TFRecordOptions",
    "TFRecordWriter",
    "VarLenFeature",
    "decode_image",
    "decode_jpeg",
    "decode_png",
    "decode_raw",
    "encode_jpeg",
    "encode_png",
    "export_onnx",
    "gfile",
    "load_keras",
    "load_keras_weights",
    "parse_example",
    "parse_sequence_example",
    "parse_single_example",
    "parse_single_sequence_example",
    "parse_tensor",
    "read_file",
    "save_keras",
    "save_keras_weights",
    "serialize_tensor",
    "write_file",
]

_LAZY = {
    "read_file": ("convnp.tensor.io", "read_file"),
    # TensorFlow has the image codecs under tf.io too (keras.io's segmentation example)
    "decode_png": ("convnp.tensor.image", "decode_png"),
    "decode_jpeg": ("convnp.tensor.image", "decode_jpeg"),
    "decode_image": ("convnp.tensor.image", "decode_image"),
    "encode_png": ("convnp.tensor.image", "encode_png"),
    "encode_jpeg": ("convnp.tensor.image", "encode_jpeg"),
    "write_file": ("convnp.tensor.io", "write_file"),
    "export_onnx": ("convnp.io.onnx", "export"),
    # TFRecord input pipelines (tf.data.TFRecordDataset reads the files)
    "decode_raw": ("convnp.io.example", "decode_raw"),
    "FixedLenFeature": ("convnp.io.example", "FixedLenFeature"),
    "FixedLenSequenceFeature": ("convnp.io.example", "FixedLenSequenceFeature"),
    "TFRecordOptions": ("convnp.io.records", "TFRecordOptions"),
    "TFRecordWriter": ("convnp.io.records", "TFRecordWriter"),
    "VarLenFeature": ("convnp.io.example", "VarLenFeature"),
    "parse_example": ("convnp.io.example", "parse_example"),
    "parse_single_example": ("convnp.io.example", "parse_single_example"),
    "parse_single_sequence_example": ("convnp.io.example", "parse_single_sequence_example"),
    "parse_sequence_example": ("convnp.io.example", "parse_sequence_example"),
    "parse_tensor": ("convnp.io.example", "parse_tensor"),
    "serialize_tensor": ("convnp.io.example", "serialize_tensor"),
    "load_keras": ("convnp.io.keras_format", "load_keras"),
    "save_keras": ("convnp.io.keras_format", "save_keras"),
    "load_keras_weights": ("convnp.io.keras_format", "load_keras_weights"),
    "save_keras_weights": ("convnp.io.keras_format", "save_keras_weights"),
}


def __getattr__(name: str):
    if name == "gfile":  # tf.io.gfile: a module of its own
        return importlib.import_module("convnp.io.gfile")
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'convnp.io' has no attribute {name!r}")
