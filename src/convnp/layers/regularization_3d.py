"""`SpatialDropout3D`: dropout of whole channels of NDHWC volumes."""

from __future__ import annotations

from convnp.layers import _three_d
from convnp.layers.registry import register
from convnp.layers.regularization import ChannelsLastSpatialDropout


@register
class SpatialDropout3D(ChannelsLastSpatialDropout):
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
