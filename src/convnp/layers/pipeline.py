"""`Pipeline`: layers applied one after the other, as one layer (Keras 3's preprocessing
pipeline: ``layers.Pipeline([layers.RandomFlip(), layers.RandomRotation(0.1)])`` mapped over a
dataset, or called first in a model).

Unlike a `Sequential` model it is a plain layer, and its calls default to ``training=True``:
called on data (a ``Dataset.map``), the augmentation layers in it augment. In a model it
follows the model's mode (augmenting in ``fit`` only), as the augmentation layers themselves
do.
"""

from __future__ import annotations

from typing import Any

from convnp.layers import taped
from convnp.layers.base import Layer, _is_symbolic
from convnp.layers.registry import deserialize, register, serialize


@register
class Pipeline(Layer):
    """``layers[-1](...layers[1](layers[0](x)))``, as one layer.

    Args:
        layers: a list of `Layer` instances (their weights are this layer's).
        name: the layer's name.
    """

    _mode_when_unset = True  # a model called directly runs its augmentation, as Keras does

    def __init__(self, layers, name: str | None = None, **kwargs):
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"`Pipeline` takes a list of layers, got {type(layers).__name__}")
        layers = [deserialize(layer) if isinstance(layer, dict) else layer for layer in layers]
        bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if bad:
            raise TypeError(f"`Pipeline` takes Layer instances, got {bad}")
        super().__init__(name=name, **kwargs)
        self._pipeline_layers = list(layers)
        self._tracked_layers = list(layers)

    @property
    def layers(self) -> list[Layer]:
        return list(self._pipeline_layers)

    def keras_own_variables(self) -> list:
        """Keras stores none for the pipeline itself; its layers' under ``layers/<key>``."""
        return []

    def keras_children(self) -> dict:
        return {"layers": self.layers}

    def __call__(self, inputs, *args, training: bool | None = None, **kwargs):
        if args or kwargs or _is_symbolic(inputs):
            return super().__call__(inputs, *args, training=training, **kwargs)
        if training is None:  # Keras's default for a pipeline called on data: augment
            training = taped.inherited_training()
            training = True if training is None else training
        for layer in self._pipeline_layers:  # each call as the layer itself takes it
            inputs = layer(inputs, training=training)  # (one image, a tape recording...)
        self.built = True  # its layers built themselves on the data, as Keras marks it
        return inputs

    def build(self, input_shape) -> None:
        shape = input_shape
        for layer in self._pipeline_layers:
            layer.ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._pipeline_layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def call(self, inputs, training: bool = True):
        states = []
        for layer in self._pipeline_layers:
            inputs = layer.call(inputs, training=training)
            states.append(layer.capture_call_state())
        self._cache = states
        return inputs

    def backward(self, dy):
        states = self.take_cache()
        for layer, state in zip(reversed(self._pipeline_layers), reversed(states)):
            layer.restore_call_state(state)
            layer.needs_input_gradient = True
            dy = layer.backward(dy)
        return dy

    def get_config(self) -> dict[str, Any]:
        # Keras writes only the layers and the name
        return {"layers": [{"module": "keras.layers", **serialize(layer),
                            "registered_name": None} for layer in self._pipeline_layers],
                "name": self.name}
