"""The built-in ``"smiles"`` dataset: drawn faces that smile (1) or do not (0).

A procedural stand-in for the course's Happy House photos, for the binary ``happyModel``:
600 training and 150 test images, 64×64×3, classes balanced. Nothing is downloaded or stored;
the images are drawn from a seed with vectorized NumPy (see :mod:`convnp.datasets._draw`).

How a picture is made (all per image, from the seeded generator):

* background: a two-colour gradient with up to three soft coloured blobs;
* a face: a skin-coloured ellipse (pale to dark tones) with a darker rim, roughly centred
  (±0.06 of the half width, ±10°, scale 0.62–0.80) as in the course's photos, because
  ``happyModel`` ends in a position-specific Dense layer; hair 60% of the time;
* eyes (20% nearly closed), a nose shadow, and eyebrows drawn with the mouth's own curve bent
  at random either way, so "an upturned stroke somewhere" does not give the answer;
* the mouth: a thick stroke along ``v = c - bend·u²``. The label is the sign of the corner
  lift ``bend·w²`` (``w`` = half the mouth width): smiling mouths lift their corners by
  0.05–0.20 face units, other mouths range from a frown (-0.16) to nearly flat (-0.005).
  Mouth width, thickness and colour contrast vary;
* lighting gradient, contrast/brightness jitter and Gaussian noise; quantized to uint8.

Use it through :func:`convnp.datasets.load` (``load("smiles")``) or :func:`load_data`.
"""

from __future__ import annotations

import numpy as np

from convnp.datasets import _draw as d
from convnp.datasets._seeded import DatasetInfo, Splits, draw

IMAGE_SIZE = 64
TRAIN_SIZE = 600
TEST_SIZE = 150
CLASSES = ["not_smiling", "smiling"]
INFO = DatasetInfo("smiles", tuple(CLASSES), (IMAGE_SIZE, IMAGE_SIZE, 3), TRAIN_SIZE,
                   TEST_SIZE, (1,),
                   "drawn faces, smiling (1) or not (0); stands in for the Happy House")


def generate(m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``m`` faces.

    Args:
        m: number of images (even, so both classes get ``m // 2``).
        rng: the generator every random choice comes from, in a fixed order.

    Returns:
        ``(x, y)``: x uint8 ``(m, 64, 64, 3)``, y int64 ``(m,)`` with 1 = smiling.
    """
    x, y = d.grid(IMAGE_SIZE)
    labels = d.balanced_labels(rng, m, 2)
    image = d.background(rng, m, x, y, blobs=0.4, level=(0.1, 0.9), tint=0.3)

    u, v, pixel = d.random_pose(rng, m, x, y, shift_x=(-0.06, 0.06), shift_y=(-0.06, 0.06),
                                degrees=10.0, scale=(0.62, 0.8))

    skin = d.skin_tones(rng, m)
    shade = (skin * 0.72).astype(np.float32)
    face_rx = rng.uniform(0.72, 0.88, m)
    face_ry = rng.uniform(0.90, 1.02, m)

    hair = rng.uniform(0.0, 0.35, (m, 3)) * rng.uniform(0.3, 1.0, (m, 1))
    has_hair = rng.random(m) < 0.6
    hair_d = d.ellipse(u, v, 0.0, -0.45, face_rx * 1.08, face_ry * 0.62)
    d.paint(image, d.coverage(hair_d, pixel) * d.col(has_hair), hair)

    face_d = d.ellipse(u, v, 0.0, 0.0, face_rx, face_ry)
    d.paint(image, d.coverage(face_d - 0.03, pixel), shade)  # a darker rim
    d.paint(image, d.coverage(face_d, pixel), skin)

    eye_x = rng.uniform(0.26, 0.38, m)
    eye_y = rng.uniform(-0.32, -0.16, m)
    eye_r = rng.uniform(0.07, 0.12, m)
    eye_open = np.where(rng.random(m) < 0.2, rng.uniform(0.2, 0.4, m), rng.uniform(0.8, 1.2, m))
    eye_colour = rng.uniform(0.0, 0.25, (m, 3))
    for side in (-1.0, 1.0):
        eye = d.ellipse(u, v, side * eye_x, eye_y, eye_r, eye_r * eye_open)
        d.paint(image, d.coverage(eye, pixel), eye_colour)

    # Eyebrows are the same kind of curve as the mouth, bent either way: the network must
    # look at the right place, not just detect "an upturned stroke somewhere".
    brow_bend = rng.uniform(-2.5, 2.5, m)
    brow_dy = rng.uniform(0.14, 0.24, m)
    brow_colour = np.clip(hair + rng.uniform(0.0, 0.2, (m, 1)), 0.0, 1.0)
    has_brows = rng.random(m) < 0.75
    for side in (-1.0, 1.0):
        brow = d.parabola_stroke(u - d.col(side * eye_x), v, d.col(eye_y - brow_dy),
                                 brow_bend, 0.13, 0.025)
        d.paint(image, d.coverage(brow, pixel) * d.col(has_brows), brow_colour)

    nose = d.ellipse(u, v, 0.0, rng.uniform(0.02, 0.14, m), 0.06, 0.1)
    d.paint(image, d.coverage(nose, pixel) * np.float32(0.6), shade)

    # The mouth: the corner lift decides the label, with a narrow gap at zero.
    half_width = rng.uniform(0.28, 0.45, m)
    lift = np.where(labels == 1, rng.uniform(0.05, 0.2, m), rng.uniform(-0.16, -0.005, m))
    bend = lift / half_width**2
    mouth_y = rng.uniform(0.38, 0.55, m) + 0.5 * lift  # keep the mouth's middle on the face
    thickness = rng.uniform(0.04, 0.075, m)
    contrast = rng.uniform(0.7, 1.0, (m, 1))
    lip = rng.uniform([0.35, 0.0, 0.0], [0.75, 0.2, 0.2], (m, 3))
    mouth_colour = skin + contrast * (lip - skin)
    mouth = d.parabola_stroke(u, v, d.col(mouth_y), d.col(bend), d.col(half_width),
                              d.col(thickness))
    d.paint(image, d.coverage(mouth, pixel), mouth_colour)

    return d.finish(rng, image, x, y, noise=(0.005, 0.05), light=0.35), labels


def load_data(seed: int = 0) -> Splits:
    """Keras-style: ``(x_train, y_train), (x_test, y_test)``, as ``load("smiles", seed=seed)``."""
    return draw(INFO, generate, seed, one_hot=False)
