"""convnp.plot.tiles: tile grids and the PNG encoder (decoded back with Pillow)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from convnp.plot import tiles


@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 3), (1, 1), (300, 2, 3)])
def test_png_round_trip(shape):
    image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    with image.open(io.BytesIO(tiles.encode_png(pixels))) as im:
        im.load()
        assert im.mode == ("L" if len(shape) == 2 else "RGB")
        np.testing.assert_array_equal(np.asarray(im), pixels)


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.zeros((2, 2, 4), np.uint8),
                                 np.zeros((0, 3), np.uint8), np.zeros(5, np.uint8)])
def test_png_refuses_what_it_cannot_encode(bad):
    with pytest.raises(ValueError, match="uint8 image"):
        tiles.encode_png(bad)


def test_tile_grid_layout():
    grid = tiles.tile_grid(np.zeros((3, 2, 2)), scale=2, gap=1)
    # 3 tiles -> 2 columns, 2 rows; each tile 4x4 plus gaps of 1
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1)
    assert grid[1:5, 1:5].max() == 0 and grid[0].min() == 255  # tile black, gap white
    assert grid[6:10, 6:10].min() == 255  # the fourth cell stays empty


def test_filter_and_feature_tiles():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 3, 5))
    rgb = tiles.filter_tiles(kernel)
    assert rgb.ndim == 3 and rgb.dtype == np.uint8
    grey = tiles.filter_tiles(kernel[:, :, :2])
    assert grey.ndim == 2
    maps = tiles.feature_tiles(np.random.default_rng(2).random((8, 8, 20)), max_maps=6)
    assert maps.ndim == 2 and maps.std() > 0
    with pytest.raises(ValueError, match="conv kernel"):
        tiles.filter_tiles(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="feature maps"):
        tiles.feature_tiles(np.zeros((3, 3)))
