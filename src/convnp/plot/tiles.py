"""Picture grids as plain pixels, and a PNG encoder: no matplotlib needed.

The live training page (`convnp.app.dashboard`) redraws the first-layer filters and the
feature maps of one image after every epoch. Drawing them with matplotlib takes about a
second; laying the tiles out as a uint8 array and compressing it with zlib takes a few
milliseconds, so the page never slows training down.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from convnp.plot._canvas import grid_shape, unit_range


def tile_grid(tiles: np.ndarray, scale: int = 1, gap: int = 2,
              max_columns: int = 8) -> np.ndarray:
    """Tiles ``(n, h, w)`` or ``(n, h, w, 3)`` with values in [0, 1] laid out on a white grid.

    Each tile is enlarged ``scale`` times (nearest neighbour) and separated by ``gap``
    pixels. Returns a uint8 image ``(H, W)`` or ``(H, W, 3)``.
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim not in (3, 4) or (tiles.ndim == 4 and tiles.shape[-1] != 3):
        raise ValueError(f"expected tiles (n, h, w) or (n, h, w, 3), got shape {tiles.shape}")
    if scale < 1 or gap < 0:
        raise ValueError(f"scale must be >= 1 and gap >= 0, got {scale} and {gap}")
    tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    n, h, w = tiles.shape[:3]
    rows, cols = grid_shape(n, max_columns)
    canvas = np.ones((rows * (h + gap) + gap, cols * (w + gap) + gap) + tiles.shape[3:])
    for i, tile in enumerate(tiles):
        top = gap + (i // cols) * (h + gap)
        left = gap + (i % cols) * (w + gap)
        canvas[top:top + h, left:left + w] = tile
    return np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)


def filter_images(kernel: np.ndarray, max_filters: int = 64) -> tuple[np.ndarray, bool]:
    """One small image per filter of a conv kernel ``(f_h, f_w, n_C_prev, n_C)``.

    A kernel over 3 input channels gives RGB images, each filter scaled to [0, 1] on its own;
    any other kernel is averaged over its input channels (raw values, for one shared colour
    scale). Returns ``(images, is_rgb)``: images ``(n, f_h, f_w, 3)`` or ``(n, f_h, f_w)``.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 4:
        raise ValueError(f"expected a conv kernel (f_h, f_w, n_C_prev, n_C), got shape "
                         f"{kernel.shape}")
    chosen = np.moveaxis(kernel[..., :max_filters], -1, 0)  # (n, f_h, f_w, n_C_prev)
    if kernel.shape[2] == 3:
        return np.stack([unit_range(f) for f in chosen]), True
    return chosen.mean(axis=-1), False


def filter_tiles(kernel: np.ndarray, max_filters: int = 32, size: int = 48) -> np.ndarray:
    """`filter_images` laid out as one uint8 picture (grey filters on one shared scale)."""
    images, rgb = filter_images(kernel, max_filters)
    if not rgb:
        images = unit_range(images)
    return tile_grid(images, scale=max(1, size // max(images.shape[1:3])))


def feature_tiles(maps: np.ndarray, max_maps: int = 16, size: int = 64) -> np.ndarray:
    """The channels of one feature map ``(H, W, C)`` as a grey uint8 picture, each channel
    stretched to its own range."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"expected feature maps (H, W, C), got shape {maps.shape}")
    tiles = np.stack([unit_range(maps[:, :, c]) for c in range(min(max_maps, maps.shape[-1]))])
    return tile_grid(tiles, scale=max(1, size // max(maps.shape[:2])))


def encode_png(image: np.ndarray) -> bytes:
    """A uint8 image ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB) as the bytes of a PNG file."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (
            image.ndim == 3 and image.shape[-1] != 3) or 0 in image.shape[:2]:
        raise ValueError(f"expected a non-empty uint8 image (H, W) or (H, W, 3), got "
                         f"{image.dtype} {image.shape}")
    height, width = image.shape[:2]
    colour_type = 0 if image.ndim == 2 else 2
    # every scanline starts with filter byte 0 (no filter)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))
