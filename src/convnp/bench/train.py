"""``python -m convnp.bench train``: one training epoch of each spec model in convnp.

happyModel: 600 images 64×64×3, batch 16; SIGNS model: 1080 images, batch 64 (synthetic data
of the course's shapes). Prints one JSON line per model with the median epoch time over
``--repeat`` epochs after a warm-up epoch. `peers` compares the same numbers with PyTorch and
TensorFlow.
"""

from __future__ import annotations

from convnp.bench.common import emit, machine_info
from convnp.bench.worker_keras import measure

MODELS = ("happy", "signs")


def run(args) -> int:
    emit({"bench": "train", "machine": machine_info(), "repeat": args.repeat})
    for model in MODELS:
        result = measure("convnp", model, args.repeat)
        emit({"bench": "train", **result})
    return 0
