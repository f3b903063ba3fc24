"""Built-in procedural datasets: shapes, dtypes, ranges, balance, determinism, metadata."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import convnp
from convnp import datasets

SPECS = {
    # name: (train size, test size, classes)
    "smiles": (600, 150, 2),
    "fingers": (1080, 120, 6),
}


@pytest.fixture(scope="module")
def drawn() -> dict[str, tuple]:
    # Drawing takes a fraction of a second per dataset; share it across the module's tests.
    return {name: datasets.load(name) for name in SPECS}


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.dtype, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", SPECS)
def test_shapes_dtypes_and_ranges(drawn, name):
    (x_train, y_train), (x_test, y_test) = drawn[name]
    n_train, n_test, _ = SPECS[name]
    assert x_train.shape == (n_train, 64, 64, 3) and x_test.shape == (n_test, 64, 64, 3)
    for x in (x_train, x_test):
        assert x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0
        # Pixels are uint8 / 255, like the course's photos after normalisation.
        np.testing.assert_array_equal(np.rint(x * 255) / np.float32(255), x)
    if name == "smiles":
        assert y_train.shape == (n_train, 1) and y_test.shape == (n_test, 1)
        assert y_train.dtype == np.float32
        assert set(np.unique(y_train)) == {0.0, 1.0}
    else:
        assert y_train.shape == (n_train,) and y_test.shape == (n_test,)
        assert y_train.dtype == np.int64


@pytest.mark.parametrize("name", SPECS)
def test_classes_are_balanced(drawn, name):
    (_, y_train), (_, y_test) = drawn[name]
    n_train, n_test, k = SPECS[name]
    for y, n in ((y_train, n_train), (y_test, n_test)):
        counts = np.bincount(y.ravel().astype(np.int64), minlength=k)
        assert counts.tolist() == [n // k] * k


@pytest.mark.parametrize("name", SPECS)
def test_images_are_not_degenerate(drawn, name):
    (x_train, y_train), _ = drawn[name]
    # Every image has real content and no two images are the same.
    assert (x_train.reshape(len(x_train), -1).std(axis=1) > 0.02).all()
    flat = x_train.reshape(len(x_train), -1)
    assert len(np.unique(flat[:100], axis=0)) == 100
    # Labels are not readable from the global colour alone (class means are close).
    labels = y_train.ravel().astype(np.int64)
    means = np.stack([x_train[labels == c].mean() for c in np.unique(labels)])
    assert np.ptp(means) < 0.05


@pytest.mark.parametrize("name", SPECS)
def test_same_seed_same_bytes(drawn, name):
    again = datasets.load(name, seed=0)
    assert _digest(*drawn[name][0], *drawn[name][1]) == _digest(*again[0], *again[1])


@pytest.mark.parametrize("name", SPECS)
def test_different_seeds_differ(drawn, name):
    (x0, _), (t0, _) = drawn[name]
    (x1, _), (t1, _) = datasets.load(name, seed=1)
    assert not np.array_equal(x0, x1)
    assert not np.array_equal(t0, t1)


def test_train_and_test_splits_differ(drawn):
    (x_train, _), (x_test, _) = drawn["smiles"]
    assert not np.array_equal(x_train[: len(x_test)], x_test)


def test_same_bytes_in_a_fresh_interpreter(drawn):
    # Determinism across runs, not just within one process (no hash() or global state).
    code = (
        "import hashlib, numpy as np, convnp.datasets as d\n"
        "(a, b), (c, e) = d.load('fingers', seed=0)\n"
        "h = hashlib.sha256()\n"
        "for x in (a, b, c, e):\n"
        "    h.update(str((x.dtype, x.shape)).encode()); h.update(x.tobytes())\n"
        "print(h.hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(*drawn["fingers"][0], *drawn["fingers"][1])


def test_signs_alias_and_case(drawn):
    (x, y), _ = datasets.load("SIGNS")
    np.testing.assert_array_equal(x, drawn["fingers"][0][0])
    np.testing.assert_array_equal(y, drawn["fingers"][0][1])
    assert datasets.info("signs").name == "fingers"


@pytest.mark.parametrize("name", SPECS)
def test_one_hot(drawn, name):
    (_, y_train), (_, y_test) = datasets.load(name, one_hot=True)
    _, _, k = SPECS[name]
    labels = drawn[name][0][1].ravel().astype(np.int64)
    assert y_train.dtype == np.float32 and y_train.shape == (len(labels), k)
    np.testing.assert_array_equal(y_train.argmax(axis=1), labels)
    np.testing.assert_array_equal(y_train.sum(axis=1), 1.0)
    assert y_test.shape[1] == k


def test_info_and_class_names():
    smiles = datasets.info("smiles")
    assert smiles.classes == ("not_smiling", "smiling") and smiles.num_classes == 2
    assert (smiles.train_size, smiles.test_size, smiles.image_shape) == (600, 150, (64, 64, 3))
    assert datasets.class_names("fingers") == ["0", "1", "2", "3", "4", "5"]
    assert {"smiles", "fingers", "signs"} <= set(datasets.available())


def test_keras_style_modules_match_load(drawn):
    (x, y), _ = datasets.smiles.load_data()
    np.testing.assert_array_equal(x, drawn["smiles"][0][0])
    np.testing.assert_array_equal(y, drawn["smiles"][0][1])


def test_lazy_top_level_attribute():
    assert convnp.datasets.load is datasets.load


@pytest.mark.parametrize("bad, error", [("mnist", ValueError), (3, TypeError)])
def test_unknown_name(bad, error):
    with pytest.raises(error, match="dataset"):
        datasets.load(bad)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        datasets.load("smiles", seed=seed)
