"""Shared test fixtures: where the course's data files are, and a seeded generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def course_file(name: str) -> Path:
    """Path of a course .h5 file in ../shared/datasets, or skip the test when it is absent."""
    path = DATASETS / name
    if not path.is_file():
        pytest.skip(f"course data file {path} is absent (expected in ../shared/datasets)")
    return path


@pytest.fixture(autouse=True)
def _fixed_seed():
    """Every test starts from the same global generator state, so weight initialisations
    (and hence numerical tolerances) do not depend on which tests ran before."""
    import convnp.random

    convnp.random.set_seed(1234)


@pytest.fixture
def happy_h5() -> Path:
    return course_file("test_happy.h5")


@pytest.fixture
def signs_h5() -> Path:
    return course_file("test_signs.h5")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def clean_registry():
    """Registrations made by the test are forgotten after it (other tests look names up)."""
    from convnp import serialization

    before = dict(serialization.get_custom_objects())
    yield
    serialization.get_custom_objects().clear()
    serialization.get_custom_objects().update(before)
