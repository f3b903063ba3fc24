"""`Dataset.save` / `Dataset.load`: a dataset's elements kept in a directory.

The layout is convnp's own (TensorFlow's snapshot files are protocol buffers): ``dataset.json``
holds the element structure (tuples, dicts and their keys), each component's dtype and the
element spec; ``elements.npz`` holds one array per component of every element, named
``e<element>_<component>``, read back without pickles. Elements need not share shapes (a
saved `padded_batch` or generator keeps its sizes).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from convnp.data.dataset import Dataset, _flatten, _Stored, _unflatten

_FORMAT = "convnp.data.saved/1"
_COMPRESSIONS = (None, "", "NONE", "GZIP")


def _spec_json(spec: Any) -> Any:
    """A structure spec (None, ("tuple", [...]) or ("dict", keys, [...])) as JSON."""
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


def save_dataset(dataset: Dataset, path: Any, compression: str | None) -> None:
    from convnp.io._files import atomic_write

    if compression not in _COMPRESSIONS:
        raise ValueError(f"Dataset.save: compression must be None or 'GZIP', got "
                         f"{compression!r}")
    directory = Path(os.fspath(path))
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    structure = None
    count = 0
    for i, element in enumerate(dataset._iter_plain()):
        leaves, structure = _flatten(element)
        for j, leaf in enumerate(leaves):
            arrays[f"e{i}_{j}"] = np.asarray(leaf)
        count = i + 1
    spec = dataset.element_spec
    leaves = _flatten(spec)[0] if spec is not None else []
    meta = {
        "format": _FORMAT,
        "count": count,
        "structure": _spec_json(structure if count else _flatten(spec)[1]
                                if spec is not None else None),
        "spec": [{"shape": list(leaf.shape), "dtype": np.dtype(leaf.dtype.dtype).str}
             for leaf in leaves],
    }
    save = np.savez_compressed if compression == "GZIP" else np.savez
    atomic_write(directory / "elements.npz", lambda f: save(f, **arrays))
    atomic_write(directory / "dataset.json", lambda f: json.dump(meta, f), text=True)


def load_dataset(path: Any, element_spec: Any = None) -> Dataset:
    from convnp.tensor.spec import TensorSpec

    directory = Path(os.fspath(path))
    meta_file, data_file = directory / "dataset.json", directory / "elements.npz"
    if not meta_file.is_file() or not data_file.is_file():
        raise FileNotFoundError(f"Dataset.load: no saved dataset in {directory} (expected "
                                f"dataset.json and elements.npz from Dataset.save)")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"unknown format {meta.get('format')!r}")
        structure = _spec_from_json(meta["structure"])
        spec_leaves = [TensorSpec(item["shape"], item["dtype"]) for item in meta["spec"]]
        count = int(meta["count"])
        with np.load(data_file, allow_pickle=False) as data:
            width = len(spec_leaves)
            elements = [_unflatten(structure, [data[f"e{i}_{j}"] for j in range(width)])
                        for i in range(count)]
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"Dataset.load: {directory} holds a damaged saved dataset "
                         f"({exc})") from None
    spec = _unflatten(structure, spec_leaves) if spec_leaves else None
    if element_spec is not None and spec is not None and element_spec != spec:
        raise ValueError(f"Dataset.load: element_spec {element_spec} does not match the "
                         f"saved one {spec}")
    return _Stored(elements, spec)
