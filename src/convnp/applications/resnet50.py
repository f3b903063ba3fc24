"""``keras.applications.resnet50``: ResNet50 and its preprocessing, from
`convnp.applications.resnet` (Keras keeps this module name for the 50-layer network)."""

from convnp.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
