"""`Wrapper`: Keras's base class for a layer that wraps one other layer (`TimeDistributed`,
`SpectralNormalization`, or a user's subclass whose ``call`` uses ``self.layer``)."""

from __future__ import annotations

from typing import Any

from convnp.layers.base import Layer
from convnp.layers.registry import deserialize, register, serialize


@register
class Wrapper(Layer):
    """Holds ``layer`` (its weights are this layer's) and writes it in its config.

    Args:
        layer: a `Layer` instance, or its serialized config.

    Keras stores the wrapped layer as the child ``layer`` of a model file's weights and
    none of the wrapper's own (a subclass holding more says so in `keras_own_variables`).
    """

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = deserialize(layer)  # from a config
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__}: layer must be a Layer instance, got "
                            f"{layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self._tracked_layers = [layer]

    def build(self, input_shape=None) -> None:
        if not self.layer.built:
            self.layer.ensure_built(input_shape)
        self.built = True

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        return {"layer": self.layer}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        # the wrapped layer as Keras 3 writes a nested layer object (module and registered_name
        # let Keras find the class when it reads a .keras file convnp wrote)
        config["layer"] = {"module": "keras.layers", **serialize(self.layer),
                           "registered_name": None}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Wrapper:
        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = deserialize(config["layer"])
        return super().from_config(config)
