"""Seeded fuzzing of convnp's file readers: byte flips and truncations of a ``.convnp``, a
``.keras``, a course ``.h5`` and a legacy Keras ``.h5`` model file.

    python -m tests.hardening.fuzz --seed 0 --cases 300

prints one JSON line: the number of cases per file kind and the outcomes by type
(``"loaded"`` when the damaged file still reads). Every outcome other than ``loaded`` must be
``ValueError``: the test runs this in a child process (a crash of the HDF5 C library would
take the test run with it) and checks that.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np


def _originals(folder: Path) -> dict[str, bytes]:
    import h5py

    import convnp.layers as L
    from convnp.models import Sequential

    model = Sequential([L.Conv2D(2, 3, input_shape=(6, 6, 1)), L.BatchNormalization(),
                        L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((4, 6, 6, 1)).astype("f4"), np.array([0, 1, 2, 0]),
              epochs=1, verbose=0)
    model.save(folder / "m.convnp")
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")  # Keras's legacy HDF5 model file
    with h5py.File(folder / "c.h5", "w") as f:
        f["test_set_x"] = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
        f["test_set_y"] = np.array([0, 1, 2, 1, 0])
        f["list_classes"] = np.array([0, 1, 2])
    return {kind: (folder / name).read_bytes()
            for kind, name in (("convnp", "m.convnp"), ("keras", "m.keras"), ("h5", "c.h5"),
                               ("legacy_h5", "m.h5"))}


def _mutate_member(data: bytes, rng: np.random.Generator) -> bytes:
    """Damage one member of a zip archive and write a valid archive around it (correct CRC),
    so the fuzzing reaches the JSON, npz and HDF5 parsers behind the zip layer."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    index = int(rng.integers(0, len(members)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (info, content) in enumerate(members):
            if i == index:
                content = _mutate(content, rng, zip_members=False)
            archive.writestr(info, content)
    return buffer.getvalue()


def _mutate(data: bytes, rng: np.random.Generator, zip_members: bool = False) -> bytes:
    if zip_members and rng.integers(0, 2):
        return _mutate_member(data, rng)
    out = bytearray(data)
    how = rng.integers(0, 3)
    if how in (0, 2):  # flip 1 to 8 bytes
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(0, len(out)))] ^= int(rng.integers(1, 256))
    if how in (1, 2):  # truncate
        out = out[:int(rng.integers(0, len(out)))]
    return bytes(out)


def _load(kind: str, path: Path) -> None:
    if kind == "convnp":
        from convnp.io.saving import load_model

        load_model(path).predict(np.zeros((1, 6, 6, 1), "f4"), verbose=0)
    elif kind == "keras":
        from convnp.io.keras_format import load_keras

        load_keras(path).predict(np.zeros((1, 6, 6, 1), "f4"), verbose=0)
    elif kind == "legacy_h5":
        from convnp.io.saving import load_model

        load_model(path).predict(np.zeros((1, 6, 6, 1), "f4"), verbose=0)
    else:
        from convnp.datasets import load_h5

        load_h5(path)


def run(seed: int, cases: int) -> dict:
    rng = np.random.default_rng(seed)
    outcomes: dict[str, collections.Counter] = {}
    unexpected: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        originals = _originals(folder)
        for kind, data in originals.items():
            counts = outcomes.setdefault(kind, collections.Counter())
            suffix = {"convnp": ".convnp", "keras": ".keras", "h5": ".h5",
                      "legacy_h5": ".h5"}[kind]
            for case in range(cases):
                path = folder / f"case{suffix}"
                path.write_bytes(_mutate(data, rng, zip_members=kind in ("convnp", "keras")))
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        _load(kind, path)
                except ValueError:
                    counts["ValueError"] += 1
                except Exception as exc:  # noqa: BLE001 - what the fuzz test looks for
                    counts[type(exc).__name__] += 1
                    unexpected.append(f"{kind} case {case}: {type(exc).__name__}: {exc}"[:300])
                else:
                    counts["loaded"] += 1
    return {"seed": seed, "cases_per_kind": cases, "cases": cases * len(outcomes),
            "outcomes": {k: dict(v) for k, v in outcomes.items()}, "unexpected": unexpected}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(run(args.seed, args.cases)))


if __name__ == "__main__":
    main()
