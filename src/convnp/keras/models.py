"""``tf.keras.models``: `Sequential`, `Model`, and `load_model` (from `convnp.saving`)."""

from __future__ import annotations

from convnp.keras.saving import load_model, save_model
from convnp.models import Model, Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json",
           "save_model"]


def clone_model(model):
    """A new model with the same architecture and freshly initialised weights."""
    config = model.get_config()
    return type(model).from_config(config)


def model_from_json(json_string: str, custom_objects=None):
    """A model (fresh weights) from `Model.to_json` output, or from the JSON real Keras's
    ``model.to_json()`` writes (layers convnp implements).

    Raises:
        ValueError: not JSON, or not a Sequential/functional model config.
    """
    import json

    from convnp.serialization import CustomObjectScope

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json expects a JSON string: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("model_from_json expects {'class_name': ..., 'config': {...}}")  # noqa: TRY004
    kind = config.get("class_name")
    # custom_objects: the user's layer classes and Lambda functions the JSON names (registered
    # ones are found without them); nothing else is looked up or run
    with CustomObjectScope(custom_objects):
        if "module" in config:  # written by Keras itself
            from convnp.io.keras_format import model_from_keras_config

            return model_from_keras_config(config)
        if kind == "Sequential":
            return Sequential.from_config(config["config"], custom_objects=custom_objects)
        if kind in ("Functional", "Model"):
            return Model.from_config(config["config"], custom_objects=custom_objects)
    raise ValueError(f"model_from_json: model class {kind!r} is not supported (Sequential "
                     "or Functional)")
