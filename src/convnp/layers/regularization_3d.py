"""`SpatialDropout3D`: dropout of whole channels of NDHWC volumes."""

from __future__ import annotations

from typing import Any

from convnp.layers import _three_d, _utils
from convnp.layers.registry import register
from convnp.layers.regularization import SpatialDropout


@register
class SpatialDropout3D(SpatialDropout):
    """In training, zero each channel of each volume with probability ``rate`` (the rest
    scaled by ``1 / (1 - rate)``); the identity at inference. Suits 3-D conv features, whose
    neighbouring voxels are correlated (plain dropout would barely regularize them).

    Args:
        rate: fraction of channels to drop.
        data_format: only ``"channels_last"``.
        seed: as `Dropout`.

    Caches the keep mask ``(m, 1, 1, 1, n_C)``.
    """

    rank = 5
    layout = _three_d.VOLUMES

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _utils.channels_last(data_format, "SpatialDropout3D")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
