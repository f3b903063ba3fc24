"""The pixels of a box outline as OpenCV's ``cv2.rectangle`` draws them (8-connected lines,
no anti-aliasing), which Keras' ``draw_bounding_boxes`` calls; NumPy only, so
``keras.visualization`` needs no OpenCV.

For an axis-aligned rectangle OpenCV's drawing reduces to simple shapes:

* thickness 1 (and 0): the one-pixel outline through the four corners;
* thickness t > 1: each side is a band reaching ``r = (t + 1) // 2`` pixels either side of
  the side's line (ends included), and each corner gets a filled disc of radius ``r`` drawn
  by the midpoint circle algorithm, which rounds the outer corners;
* a negative thickness: the filled rectangle.

Coordinates outside the image are allowed; what falls outside is not drawn.
"""

from __future__ import annotations

import numpy as np


def _fill(mask: np.ndarray, top: int, bottom: int, left: int, right: int) -> None:
    """Set ``mask[top:bottom+1, left:right+1]``, clipped to the mask."""
    height, width = mask.shape
    top, bottom = max(top, 0), min(bottom, height - 1)
    left, right = max(left, 0), min(right, width - 1)
    if top <= bottom and left <= right:
        mask[top:bottom + 1, left:right + 1] = True


def _disc(mask: np.ndarray, cx: int, cy: int, radius: int) -> None:
    """A filled disc as the midpoint circle algorithm makes it: for each step, a row span
    ``2 * dx + 1`` wide at ``cy +- dy`` and one ``2 * dy + 1`` wide at ``cy +- dx``."""
    dx, dy, err, plus, minus = radius, 0, 0, 1, 2 * radius - 1
    while dx >= dy:
        for row in (cy - dy, cy + dy):
            _fill(mask, row, row, cx - dx, cx + dx)
        for row in (cy - dx, cy + dx):
            _fill(mask, row, row, cx - dy, cx + dy)
        dy += 1
        err += plus
        plus += 2
        if err > 0:  # step inwards
            err -= minus
            dx -= 1
            minus -= 2


def rectangle_mask(height: int, width: int, x1: int, y1: int, x2: int, y2: int,
                   thickness: int) -> np.ndarray:
    """A boolean ``(height, width)`` mask of the pixels ``cv2.rectangle`` colours for the
    corners ``(x1, y1)`` and ``(x2, y2)`` (integers) and ``thickness``."""
    mask = np.zeros((height, width), dtype=bool)
    left, right = min(x1, x2), max(x1, x2)
    top, bottom = min(y1, y2), max(y1, y2)
    if thickness < 0:
        _fill(mask, top, bottom, left, right)
        return mask
    r = 0 if thickness <= 1 else (thickness + 1) // 2
    for y in (top, bottom):  # the horizontal sides
        _fill(mask, y - r, y + r, left, right)
    for x in (left, right):  # the vertical sides
        _fill(mask, top, bottom, x - r, x + r)
    if r:
        for x in (left, right):
            for y in (top, bottom):
                _disc(mask, x, y, r)
    return mask
