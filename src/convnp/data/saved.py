"""`Dataset.save` / `Dataset.load`'s files: a dataset's elements kept in a directory.

The layout is convnp's own (TensorFlow's snapshot files are protocol buffers): ``dataset.json``
holds the element structure (tuples, dicts and their keys) and the element spec (each
component's shape and dtype); ``elements.npz`` holds one array per component of every element,
named ``e<element>_<component>``, read back without pickles. Elements need not share shapes
(a saved `padded_batch` or generator keeps its sizes).

This module knows arrays, structure specs (None, ``("tuple", [...])`` or ``("dict", keys,
[...])``, as `convnp.data.dataset` writes them) and plain dicts; `dataset.py` turns elements
into those and back.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

_FORMAT = "convnp.data.saved/1"
_COMPRESSIONS = (None, "", "NONE", "GZIP")


def _spec_json(spec: Any) -> Any:
    """A structure spec as JSON."""
    if spec is None:
        return None
    if spec[0] == "dict":
        return {"dict": list(spec[1]), "items": [_spec_json(s) for s in spec[2]]}
    return {"tuple": [_spec_json(s) for s in spec[1]]}


def _spec_from_json(data: Any) -> Any:
    if data is None:
        return None
    if "dict" in data:
        return ("dict", list(data["dict"]), [_spec_from_json(s) for s in data["items"]])
    return ("tuple", [_spec_from_json(s) for s in data["tuple"]])


def write(path: Any, rows: list[list[np.ndarray]], structure: Any,
          components: list[tuple[list, str]], compression: str | None) -> None:
    """Write ``rows`` (each element's component arrays), the element ``structure`` and the
    ``components`` (shape, NumPy dtype string) of the element spec into the directory."""
    from convnp.io._files import atomic_write

    if compression not in _COMPRESSIONS:
        raise ValueError(f"Dataset.save: compression must be None or 'GZIP', got "
                         f"{compression!r}")
    directory = Path(os.fspath(path))
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {f"e{i}_{j}": np.asarray(leaf) for i, row in enumerate(rows)
              for j, leaf in enumerate(row)}
    for name, array in arrays.items():
        if array.dtype.kind == "O":  # np.savez would pickle it; convnp writes no pickles
            raise ValueError(f"Dataset.save: element {name[1:].split('_')[0]} holds Python "
                             f"objects (dtype object), which cannot be saved without pickle; "
                             f"convert them to numbers or strings first")
    meta = {"format": _FORMAT, "count": len(rows), "structure": _spec_json(structure),
            "spec": [{"shape": list(shape), "dtype": dtype} for shape, dtype in components]}
    save = np.savez_compressed if compression == "GZIP" else np.savez
    atomic_write(directory / "elements.npz", lambda f: save(f, **arrays))
    atomic_write(directory / "dataset.json", lambda f: json.dump(meta, f), text=True)


def read(path: Any) -> tuple[list[list[np.ndarray]], Any, list[tuple[list, str]]]:
    """``(rows, structure, components)`` as `write` wrote them.

    Raises:
        FileNotFoundError: no saved dataset in the directory.
        ValueError: damaged files.
    """
    directory = Path(os.fspath(path))
    meta_file, data_file = directory / "dataset.json", directory / "elements.npz"
    if not meta_file.is_file() or not data_file.is_file():
        raise FileNotFoundError(f"Dataset.load: no saved dataset in {directory} (expected "
                                f"dataset.json and elements.npz from Dataset.save)")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"unknown format {meta.get('format')!r}")
        components = [(list(item["shape"]), str(item["dtype"])) for item in meta["spec"]]
        # the archive's declared sizes are checked before any array is allocated
        from convnp._limits import expansion_limit
        from convnp.io.saving import _load_npz

        stored = data_file.read_bytes()
        data = _load_npz(stored, data_file, "elements.npz", limit=expansion_limit(len(stored)))
        rows = [[data[f"e{i}_{j}"] for j in range(len(components))]
                for i in range(int(meta["count"]))]
        return rows, _spec_from_json(meta["structure"]), components
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"Dataset.load: {directory} holds a damaged saved dataset "
                         f"({exc})") from None
