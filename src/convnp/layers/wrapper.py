"""`Wrapper`: Keras's base class for a layer that wraps one other layer (`TimeDistributed`,
`SpectralNormalization`, or a user's subclass whose ``call`` uses ``self.layer``).

In Keras a model is a layer too, so the wrapped layer may be a model:
``TimeDistributed(feature_extractor)`` runs a small CNN model over every frame of a video.
convnp's models are not `Layer` subclasses (they share `LayerContract`, what a graph calls),
so the few layer questions a wrapper asks of its layer (build it for a shape, check a shape,
its output shape, its config) go through the helpers below, which answer them for both."""

from __future__ import annotations

from typing import Any

from convnp.layers.base import Layer
from convnp.layers.registry import deserialize, register, serialize

#: The class names a model's config goes by (Keras writes ``Functional`` for a model built
#: from ``Input``s, ``Sequential`` for a stack).
_MODEL_CLASS_NAMES = ("Functional", "Sequential", "Model")


def is_model(layer) -> bool:
    """Whether ``layer`` is a convnp model (imported here, late: models import layers)."""
    from convnp.models.model import Model

    return isinstance(layer, Model)


def build_inner(layer, input_shape) -> None:
    """Build the wrapped ``layer`` (or model) for ``input_shape``, or check that shape
    against the one it was built for. A functional or Sequential model is built already
    and checks the shape; a subclassed one is built for it, as its first call would."""
    if not is_model(layer):
        layer.ensure_built(input_shape)
        return
    if not layer.built:
        layer.build(tuple(input_shape))
    layer._check_input_shapes([input_shape])


def inner_output_shape(layer, input_shape):
    """The output shape of the wrapped ``layer`` (or model) for ``input_shape``; a model
    answers from its graph (a list of shapes when it has several outputs)."""
    if not is_model(layer):
        return layer.compute_output_shape(input_shape)
    build_inner(layer, input_shape)
    shapes = [(input_shape[0], *tensor.shape[1:]) for tensor in layer._graph.outputs]
    return shapes[0] if len(shapes) == 1 else shapes


def _layer_from_config(config: dict):
    """The layer (or model: Keras writes a wrapped model as its ``Functional`` or
    ``Sequential`` entry) of a wrapper's config."""
    if config.get("class_name") in _MODEL_CLASS_NAMES:
        from convnp.keras.layers import deserialize as keras_deserialize

        return keras_deserialize(config)
    return deserialize(config)


@register
class Wrapper(Layer):
    """Holds ``layer`` (its weights are this layer's) and writes it in its config.

    Args:
        layer: a `Layer` instance or a model (as in Keras, where a model is a layer), or
            its serialized config.

    Keras stores the wrapped layer as the child ``layer`` of a model file's weights and
    none of the wrapper's own (a subclass holding more says so in `keras_own_variables`).
    """

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = _layer_from_config(layer)  # from a config
        if not (isinstance(layer, Layer) or is_model(layer)):
            # a ValueError, as Keras's TimeDistributed, Bidirectional and Wrapper raise
            raise ValueError(f"{type(self).__name__}: layer must be a Layer instance or a "
                            f"model, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self._tracked_layers = [layer]

    def build(self, input_shape=None) -> None:
        if not self.layer.built:
            build_inner(self.layer, input_shape)
        self.built = True

    def keras_own_variables(self) -> list:
        return []

    def keras_children(self) -> dict:
        return {"layer": self.layer}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        # the wrapped layer as Keras 3 writes a nested layer object (module and registered_name
        # let Keras find the class when it reads a .keras file convnp wrote)
        if is_model(self.layer):  # Keras's entry of a model ("Functional", its module)
            from convnp.keras.saving import serialize_keras_object

            config["layer"] = serialize_keras_object(self.layer)
        else:
            config["layer"] = {"module": "keras.layers", **serialize(self.layer),
                               "registered_name": None}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Wrapper:
        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = _layer_from_config(config["layer"])
        return super().from_config(config)
