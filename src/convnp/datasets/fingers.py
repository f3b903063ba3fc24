"""The built-in ``"fingers"`` dataset (alias ``"signs"``): a hand showing 0–5 raised fingers.

A procedural stand-in for the course's SIGNS photos, for the 6-class convolutional model:
1080 training and 120 test images, 64×64×3, 180/20 images per class. Nothing is downloaded
or stored; the images are drawn from a seed with vectorized NumPy (see
:mod:`convnp.datasets._draw`).

How a picture is made (all per image, from the seeded generator):

* background: a light two-colour gradient (as the SIGNS photos have) with the occasional
  soft coloured blob;
* a hand seen from the palm side, left or right: a forearm, an elliptic palm and five
  fingers (four fingers and a thumb) drawn as capsules, with a darker outline. The label
  ``k`` is the number of raised fingers. In 85% of images they are the usual ones for that
  count (index, middle, ring, little, then thumb); in the rest they are a random subset of
  size ``k`` (a "2" may be thumb+little), so the network must count rather than match one
  template per class. Folded fingers show as short knuckle stubs; a folded thumb lies across
  the palm;
* pose: position (±0.12 of the half width), scale (0.70–0.85), rotation (±15°); finger
  lengths, thickness and spread jitter; skin tone from pale to dark;
* lighting gradient, contrast/brightness jitter and Gaussian noise; quantized to uint8.

Use it through :func:`convnp.datasets.load` (``load("fingers")``) or :func:`load_data`.
"""

from __future__ import annotations

import numpy as np

from convnp.datasets import _draw as d
from convnp.datasets._seeded import DatasetInfo, Splits, draw

IMAGE_SIZE = 64
TRAIN_SIZE = 1080
TEST_SIZE = 120
CLASSES = ["0", "1", "2", "3", "4", "5"]
INFO = DatasetInfo("fingers", tuple(CLASSES), (IMAGE_SIZE, IMAGE_SIZE, 3), TRAIN_SIZE,
                   TEST_SIZE, (),
                   "a drawn hand showing 0-5 raised fingers: a stand-in for the course's SIGNS")
# Share of images whose raised fingers are the usual ones for their count.
CANONICAL = 0.85

# Index, middle, ring, little finger, in the hand's own frame (palm centre near the origin,
# fingers pointing to -v, i.e. up): base x, base y, raised length, tilt in degrees.
_FINGER_BASE_X = np.array([-0.27, -0.09, 0.09, 0.26])
_FINGER_BASE_Y = np.array([-0.12, -0.17, -0.15, -0.08])
_FINGER_LENGTH = np.array([0.55, 0.63, 0.58, 0.45])
_FINGER_TILT = np.array([-13.0, -4.0, 5.0, 14.0])


def generate(m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``m`` hands.

    Args:
        m: number of images (a multiple of 6, so every count is equally frequent).
        rng: the generator every random choice comes from, in a fixed order.

    Returns:
        ``(x, y)``: x uint8 ``(m, 64, 64, 3)``, y int64 ``(m,)`` = number of raised fingers.
    """
    x, y = d.grid(IMAGE_SIZE)
    labels = d.balanced_labels(rng, m, 6)
    image = d.background(rng, m, x, y, blobs=0.2, level=(0.55, 0.95), tint=0.12)

    u, v, pixel = d.random_pose(rng, m, x, y, shift_x=(-0.12, 0.12), shift_y=(-0.05, 0.15),
                                degrees=15.0, scale=(0.7, 0.85))
    # Mirror half of the hands so the thumb is on either side.
    u = u * d.col(np.where(rng.random(m) < 0.5, -1.0, 1.0))

    # Which fingers are up: a random subset of size `label` (rank of a random key < label).
    ranks = np.argsort(np.argsort(rng.random((m, 5)), axis=1), axis=1)
    canonical = rng.random(m) < CANONICAL
    ranks = np.where(canonical[:, None], np.arange(5), ranks)
    raised = ranks < labels[:, None]

    width = rng.uniform(0.9, 1.1, m)
    radius = rng.uniform(0.075, 0.1, m)
    hand = d.capsule(u, v, 0.0, 0.35, 0.0, 2.5, d.col(0.27 * width))  # forearm
    hand = np.minimum(hand, d.ellipse(u, v, 0.0, 0.12, d.col(0.4 * width), 0.38))

    for i in range(4):
        length = np.where(raised[:, i], _FINGER_LENGTH[i] * rng.uniform(0.85, 1.15, m),
                          rng.uniform(0.04, 0.1, m))
        tilt = np.deg2rad(_FINGER_TILT[i] * rng.uniform(0.5, 1.6, m) + rng.uniform(-4, 4, m))
        bx = _FINGER_BASE_X[i] * width
        by = np.full(m, _FINGER_BASE_Y[i])
        tx, ty = bx + length * np.sin(tilt), by - length * np.cos(tilt)
        hand = np.minimum(hand, d.capsule(u, v, d.col(bx), d.col(by), d.col(tx), d.col(ty),
                                          d.col(radius)))

    # The thumb sticks out sideways when raised and lies across the palm when folded.
    up = raised[:, 4]
    thumb_angle = np.deg2rad(np.where(up, rng.uniform(35.0, 70.0, m),
                                      rng.uniform(-115.0, -95.0, m)))
    thumb_length = np.where(up, rng.uniform(0.36, 0.48, m), rng.uniform(0.18, 0.26, m))
    tbx, tby = 0.34 * width, np.full(m, 0.22)
    ttx = tbx + thumb_length * np.sin(thumb_angle)
    tty = tby - thumb_length * np.cos(thumb_angle)
    hand = np.minimum(hand, d.capsule(u, v, d.col(tbx), d.col(tby), d.col(ttx), d.col(tty),
                                      d.col(radius * 1.15)))

    skin = d.skin_tones(rng, m)
    outline = (skin * rng.uniform(0.55, 0.8, (m, 1))).astype(np.float32)
    d.paint(image, d.coverage(hand, pixel), outline)
    d.paint(image, d.coverage(hand + 0.03, pixel), skin)

    return d.finish(rng, image, x, y, noise=(0.005, 0.04), light=0.3), labels


def load_data(seed: int = 0, one_hot: bool = False) -> Splits:
    """Keras-style: ``(x_train, y_train), (x_test, y_test)``, as ``load("fingers", ...)``."""
    return draw(INFO, generate, seed, one_hot)
