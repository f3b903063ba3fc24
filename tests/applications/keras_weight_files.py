"""An application against what Keras recorded of it, shared by the InceptionResNetV2 and
NASNet tests: its layers (names, classes, shapes, wiring, parameter counts), and Keras's
weight files rebuilt from a recorded layout (the files themselves are too big to commit):
the Keras 3 ``.weights.h5`` and the Keras 2 ``.h5`` of the published weights, filled with
convnp's seeded arrays after checking every array's shape and sum against what Keras
wrote."""

from __future__ import annotations

import numpy as np
import pytest

from tests.applications.test_applications_more import _same_name, _shape_text


def check_layers_match_keras(model, keras_record, key: str) -> None:
    """``model``'s layers are Keras's ``key`` build: names (auto-numbered ones by stem),
    classes, output shapes, what each reads, trainable and frozen parameter counts."""
    names = [str(n) for n in keras_record[f"{key}/names"]]
    assert len(model.layers) == len(names)
    renamed = {}
    for layer, theirs in zip(model.layers, names):
        assert _same_name(layer.name, theirs), (layer.name, theirs)
        renamed[layer.name] = theirs
    assert [type(layer).__name__ for layer in model.layers] == \
        list(keras_record[f"{key}/classes"])
    assert [_shape_text(layer.output.shape) for layer in model.layers] == \
        list(keras_record[f"{key}/shapes"])
    for layer, expected in zip(model.layers[1:], keras_record[f"{key}/inbound"][1:]):
        read = ",".join(renamed[t.layer.name] for t in layer.inbound_nodes[0].input_tensors)
        assert read == str(expected), layer.name
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert [trainable, frozen] == list(keras_record[f"{key}/params"])


def seeded_arrays(model, keras_names) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> the arrays of that layer of ``model`` (in Keras's order)."""
    return {str(n): [np.asarray(w) for w in layer.weights]
            for n, layer in zip(keras_names, model.layers)}


def _check(value: np.ndarray, shape, total: float, what: str) -> None:
    assert list(value.shape) == list(shape), what
    assert float(value.astype(np.float64).sum()) == pytest.approx(total, abs=1e-9), what


def write_keras3_weights(path, layout: dict, arrays: dict, sums: dict) -> None:
    """A Keras 3 ``.weights.h5``: its groups, their attributes and datasets."""
    import h5py

    with h5py.File(path, "w") as f:
        for group, attrs in layout["groups"].items():
            target = f.require_group(group) if group else f
            target.attrs.update(attrs)
        for name, entry in layout["datasets"].items():
            layer, _cls, index = entry["source"]
            value = arrays[layer][index]
            _check(value, entry["shape"], sums[name], name)
            f[name] = value


def check_keras3_layout(path, layout: dict, sums: dict) -> None:
    """The ``.weights.h5`` at ``path`` has Keras's datasets, shapes and values."""
    import h5py

    written = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: written.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    expected = layout["datasets"]
    assert sorted(written) == sorted(expected)
    for name, value in written.items():
        _check(value, expected[name]["shape"], sums[name], name)


def write_keras2_h5(path, layout: dict, arrays: dict, sums: dict) -> None:
    """A Keras 2 ``.h5`` weights file (the published weights' layout): ``layer_names`` and
    per layer its ``weight_names`` and arrays, matched in order as Keras does."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs.update({k: v for k, v in layout["root"].items() if k != "layer_names"})
        f.attrs["layer_names"] = [n.encode() for n in layout["root"]["layer_names"]]
        for layer, weights in layout["layers"].items():
            group = f.create_group(layer)
            group.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for (weight, shape), value in zip(weights, arrays[layer]):
                _check(value, shape, sums[f"{layer}/{weight}"], weight)
                group[weight] = value
