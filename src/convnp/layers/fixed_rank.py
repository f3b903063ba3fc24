"""`FixedRankLayer`: the base of weightless layers whose input has one fixed rank."""

from __future__ import annotations

from convnp.layers import _utils
from convnp.layers.base import Layer


class FixedRankLayer(Layer):
    """A layer without weights whose input has one fixed rank: building only checks it.

    Subclasses set ``input_rank`` and ``input_layout`` and call `check_rank` first in their
    `compute_output_shape`.
    """

    #: The rank every input must have (4: one image per example).
    input_rank: int = 4
    #: The names of the input's axes, as error messages print them.
    input_layout: str = "(batch, height, width, channels)"

    def check_rank(self, input_shape) -> None:
        """Refuse a list of inputs or an input whose rank is not ``input_rank``."""
        _utils.check_rank(input_shape, self.input_rank, type(self).__name__, self.input_layout)

    def build(self, input_shape) -> None:
        self.check_rank(input_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=self.input_rank)
