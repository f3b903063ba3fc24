"""Keras parity of the functional-API layers: outputs and gradients from the same weights,
against `tests/fixtures/fnlayers_parity.npz` (made once with TensorFlow by
`tests/fixtures/make_fnlayers_parity.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convnp.layers import get_layer_class

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fnlayers_parity.npz"
TOL = 2e-5  # max |ours - keras| relative to max |keras|: float32 sums in another order


def _load() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


DATA = _load()
CASES = sorted({key.split("/")[0] for key in DATA if "/class_name" in key})
ACTIVATIONS = sorted({key.split("/")[1] for key in DATA if key.startswith("act/")})


def _indexed(case: str, part: str) -> list[np.ndarray]:
    out, i = [], 0
    while f"{case}/{part}/{i}" in DATA:
        out.append(DATA[f"{case}/{part}/{i}"])
        i += 1
    return out


def close(ours, theirs, tol=TOL):
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(float(np.max(np.abs(theirs))), 1e-12)
    err = float(np.max(np.abs(ours - theirs))) / scale
    assert err < tol, f"relative error {err:.2e} >= {tol:.0e}"


def test_fixture_has_cases():
    assert len(CASES) >= 32
    assert len(ACTIVATIONS) == 10


@pytest.mark.parametrize("case", CASES)
def test_layer_matches_keras(case):
    cls = get_layer_class(str(DATA[f"{case}/class_name"]))
    layer = cls(**json.loads(str(DATA[f"{case}/config"])))
    xs = _indexed(case, "x")
    arg = xs if len(xs) > 1 else xs[0]
    layer(arg)  # build
    layer.set_weights(_indexed(case, "w"))
    y = layer(arg, training=False)
    close(y, DATA[f"{case}/y"])
    dx = layer.backward(DATA[f"{case}/dy"])
    for ours, theirs in zip(dx if len(xs) > 1 else [dx], _indexed(case, "dx")):
        close(ours, theirs)
    for variable, theirs in zip(layer.trainable_weights, _indexed(case, "dw")):
        close(variable.grad, theirs)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_keras(name):
    import convnp as tf

    x = DATA[f"act/{name}/x"]
    activation = tf.keras.activations.get(name)
    y = activation.forward(x)
    close(y, DATA[f"act/{name}/y"])
    close(activation.backward(np.ones_like(x), x, y), DATA[f"act/{name}/dx"])
