"""``tf.keras.applications``: `convnp.applications` (the model families, their modules with
``preprocess_input`` and ``decode_predictions``), importable as ``from
convnp.keras.applications import EfficientNetB0`` too, as ``from keras.applications import
...`` is written."""

from convnp.applications import *
from convnp.applications import __all__  # noqa: F401
