"""tf.random: seeds (global + op rule, stateless), Generator, categorical/gamma/poisson."""

import numpy as np
import pytest

import convnp as tf


def test_op_seed_sequence_differs_call_to_call_and_restarts_after_set_seed():
    tf.random.set_seed(5)
    a, b = tf.random.uniform([4], seed=1), tf.random.uniform([4], seed=1)
    assert not np.array_equal(a, b)
    tf.random.set_seed(5)
    np.testing.assert_array_equal(tf.random.uniform([4], seed=1), a)
    np.testing.assert_array_equal(tf.random.uniform([4], seed=1), b)
    # another global seed gives another sequence for the same op seed
    tf.random.set_seed(6)
    assert not np.array_equal(tf.random.uniform([4], seed=1), a)


def test_global_seed_alone_repeats_the_run():
    tf.random.set_seed(9)
    first = [tf.random.normal([3]).numpy(), tf.random.categorical([[0.0, 1.0]], 4).numpy()]
    tf.random.set_seed(9)
    again = [tf.random.normal([3]).numpy(), tf.random.categorical([[0.0, 1.0]], 4).numpy()]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)


def test_stateless_functions_depend_only_on_the_seed():
    for fn in (lambda s: tf.random.stateless_uniform([5], seed=s),
               lambda s: tf.random.stateless_normal([5], seed=s, mean=2.0),
               lambda s: tf.random.stateless_uniform([5], seed=s, minval=3, maxval=9,
                                                     dtype=tf.int32),
               lambda s: tf.random.stateless_truncated_normal([5], seed=s)):
        tf.random.set_seed(1)
        x = fn((7, 8)).numpy()
        tf.random.set_seed(2)
        np.testing.assert_array_equal(fn(np.array([7, 8], np.int64)), x)
        assert not np.array_equal(fn((8, 7)), x)
    ints = tf.random.stateless_uniform([200], seed=(1, 1), minval=3, maxval=9, dtype=tf.int32)
    assert ints.dtype == np.int32 and ints.numpy().min() >= 3 and ints.numpy().max() <= 8


def test_stateless_split_gives_new_seeds_deterministically():
    seeds = tf.random.experimental.stateless_split((1, 2), num=3)
    # TF 2.21: the seed's dtype (int32 for Python ints, int64 for an int64 tensor)
    assert seeds.shape == (3, 2) and seeds.dtype == np.int32
    assert tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64)).dtype == \
        np.int64
    assert tf.random.experimental.stateless_fold_in(tf.constant([1, 2], tf.int64), 5).dtype \
        == np.int32
    np.testing.assert_array_equal(seeds, tf.random.experimental.stateless_split((1, 2), num=3))
    draws = {tf.random.stateless_uniform([2], seed=s).numpy().tobytes() for s in seeds.numpy()}
    assert len(draws) == 3
    folded = tf.random.experimental.stateless_fold_in((1, 2), 5)
    np.testing.assert_array_equal(folded, tf.random.experimental.stateless_fold_in((1, 2), 5))


def test_generator_from_seed_repeats_and_advances():
    g1, g2 = tf.random.Generator.from_seed(42), tf.random.Generator.from_seed(42)
    a = g1.normal([3])
    np.testing.assert_array_equal(a, g2.normal([3]))
    assert not np.array_equal(a, g1.normal([3]))
    u = g1.uniform([100], minval=2.0, maxval=3.0)
    assert u.dtype == np.float32 and 2.0 <= u.numpy().min() and u.numpy().max() < 3.0
    ints = g1.uniform([50], maxval=4, dtype=tf.int64)
    assert set(ints.numpy().tolist()) <= {0, 1, 2, 3}
    copy = tf.random.Generator(copy_from=g1)
    np.testing.assert_array_equal(copy.normal([2]), g1.normal([2]))
    children = g1.split(2)
    assert not np.array_equal(children[0].normal([2]), children[1].normal([2]))
    assert g1.make_seeds(4).shape == (2, 4)
    assert isinstance(tf.random.get_global_generator(), tf.random.Generator)


def test_categorical_follows_the_softmax_probabilities():
    logits = np.log([[0.2, 0.8], [0.9, 0.1]])
    draws = tf.random.categorical(logits, 4000, seed=3)
    assert draws.shape == (2, 4000) and draws.dtype == np.int64
    share = draws.numpy().mean(axis=1)
    np.testing.assert_allclose(share, [0.8, 0.1], atol=0.03)
    never = tf.random.categorical([[0.0, -np.inf, 0.0]], 500).numpy()
    assert 1 not in never
    assert tf.random.categorical([[0.0, 1.0]], 3, dtype=tf.int32).dtype == np.int32


def test_gamma_and_poisson_shapes_and_means():
    g = tf.random.gamma([20000], alpha=[2.0, 5.0], beta=2.0, seed=1)
    assert g.shape == (20000, 2) and g.dtype == np.float32
    np.testing.assert_allclose(g.numpy().mean(axis=0), [1.0, 2.5], rtol=0.03)
    p = tf.random.poisson([10000], lam=[1.0, 4.0], seed=1)
    assert p.shape == (10000, 2) and p.dtype == np.float32
    np.testing.assert_allclose(p.numpy().mean(axis=0), [1.0, 4.0], rtol=0.04)


@pytest.mark.parametrize("call, error, match", [
    (lambda: tf.random.stateless_uniform([2], seed=3), ValueError, "shape \\[2\\]"),
    (lambda: tf.random.stateless_normal([2], seed=(1.0, 2.0)), ValueError, "integer"),
    (lambda: tf.random.uniform([2], dtype=tf.int32), ValueError, "maxval"),
    (lambda: tf.random.uniform([2], minval=3, maxval=3, dtype=tf.int32), ValueError, "minval"),
    (lambda: tf.random.normal([2], dtype=tf.int32), ValueError, "floating"),
    (lambda: tf.random.categorical([0.0, 1.0], 2), ValueError, "batch, num_classes"),
    (lambda: tf.random.categorical([[0.0, 1.0]], 2, dtype=tf.float32), ValueError, "int32"),
    (lambda: tf.random.gamma([2], alpha=0.0), ValueError, "alpha"),
    (lambda: tf.random.poisson([2], lam=-1.0), ValueError, "lam"),
    (lambda: tf.random.uniform([2], seed=1.5), TypeError, "seed"),
    (lambda: tf.random.Generator.from_seed("a"), TypeError, "seed"),
    (lambda: tf.random.Generator(), ValueError, "from_seed"),
])
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_random_crop_alias_is_the_image_function():
    assert tf.random.random_crop is tf.image.random_crop
    out = tf.random.random_crop(np.arange(10), [4], seed=2).numpy()
    assert out.tolist() == list(range(out[0], out[0] + 4))
