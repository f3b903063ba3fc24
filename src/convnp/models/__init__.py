"""Models: the functional graph (`Input`, `Model`), `Sequential`, and the training loop."""

from convnp.models.functional import Input
from convnp.models.model import Model
from convnp.models.sequential import Sequential

__all__ = ["Input", "Model", "Sequential"]
