"""Initializers: fan rules, distributions, seeding through convnp.random, configs."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import initializers, random


def test_fans_follow_keras():
    assert initializers.compute_fans((7, 7, 3, 32)) == (7 * 7 * 3, 7 * 7 * 32)
    assert initializers.compute_fans((100, 10)) == (100, 10)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans(()) == (1, 1)


def test_glorot_uniform_limit_and_spread():
    random.set_seed(0)
    w = initializers.get("glorot_uniform")((4, 4, 3, 8))
    limit = np.sqrt(6 / (4 * 4 * 3 + 4 * 4 * 8))
    assert w.dtype == np.float32 and w.shape == (4, 4, 3, 8)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.9 * limit
    np.testing.assert_allclose(w.std(), limit / np.sqrt(3), rtol=0.1)


@pytest.mark.parametrize("name,std", [
    ("glorot_normal", np.sqrt(2 / (300 + 200))),
    ("he_normal", np.sqrt(2 / 300)),
    ("lecun_normal", np.sqrt(1 / 300)),
])
def test_truncated_normals_have_target_std(name, std):
    random.set_seed(1)
    w = initializers.get(name)((300, 200))
    np.testing.assert_allclose(w.std(), std, rtol=0.03)
    # Truncated at two (corrected) standard deviations.
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_he_uniform_limit():
    random.set_seed(2)
    w = initializers.HeUniform()((50, 40))
    assert np.abs(w).max() <= np.sqrt(6 / 50)


def test_constants():
    assert np.all(initializers.get("zeros")((2, 3)) == 0)
    assert np.all(initializers.get("ones")((2,)) == 1)
    assert np.all(initializers.Constant(3.5)((2,)) == 3.5)
    assert initializers.get("zeros")((2,), dtype=np.float64).dtype == np.float64


def test_set_seed_repeats_and_draws_at_call_time():
    init = initializers.get("glorot_uniform")  # created before seeding
    random.set_seed(42)
    a = init((3, 3))
    random.set_seed(42)
    b = init((3, 3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(init((3, 3)), a)


def test_own_seed_is_fixed():
    init = initializers.RandomNormal(seed=3)
    np.testing.assert_array_equal(init((4,)), init((4,)))


def test_config_round_trip():
    init = initializers.RandomUniform(-0.1, 0.2, seed=5)
    again = initializers.deserialize(initializers.serialize(init))
    assert isinstance(again, initializers.RandomUniform)
    assert again.get_config() == init.get_config()
    assert initializers.serialize("he_normal") == {"class_name": "HeNormal",
                                                    "config": {"seed": None}}
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)


def test_bad_input():
    with pytest.raises(ValueError, match="glorot_uniform"):
        initializers.get("glorot")
    with pytest.raises(TypeError):
        initializers.get(None)
    with pytest.raises(ValueError):
        initializers.get("zeros")((-1, 2))
    with pytest.raises(TypeError):  # the fills make int arrays, as Keras's; draws do not
        initializers.get("random_normal")((2,), dtype=np.int32)
