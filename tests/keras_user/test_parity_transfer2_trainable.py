"""A layer unfrozen after compile, without a new compile, as TF 2.21 treats it.

Fine-tuning code sometimes sets ``base.trainable = True`` and calls ``fit`` again without
recompiling. TF 2.21 traces one train function for ``fit`` and one for ``train_on_batch``,
each at its first call after `compile`, and each keeps the trainable variables it saw then:
the unfrozen layer is not trained by that entry and nothing fails; the next `compile` takes
the new list. The other entry's first call (or any call with ``run_eagerly=True``) sees the
unfrozen weights, and the optimizer refuses variables it was not built with (a ValueError).
The outcomes below are TF 2.21's (checked with SGD and Adam).
"""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras

X = np.random.RandomState(0).rand(8, 4).astype("float32")
Y = np.random.RandomState(1).rand(8, 1).astype("float32")


def frozen_first_layer(optimizer, run_eagerly=False):
    inputs = keras.Input((4,))
    first, second = keras.layers.Dense(3), keras.layers.Dense(1)
    model = keras.Model(inputs, second(first(inputs)))
    first.trainable = False
    model.compile(optimizer, "mse", run_eagerly=run_eagerly)
    model.fit(X, Y, verbose=0)
    first.trainable = True  # no compile after this
    return model, first, second


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_keeps_the_variables_of_its_first_run_until_compile(optimizer):
    model, first, second = frozen_first_layer(optimizer)
    assert len(model.trainable_variables) == 4  # the property itself follows the flag
    before, head = first.get_weights()[0].copy(), second.get_weights()[0].copy()
    history = model.fit(X, Y, verbose=0, epochs=2)
    assert list(history.history) == ["loss"]
    np.testing.assert_array_equal(first.get_weights()[0], before)  # not trained
    assert not np.allclose(second.get_weights()[0], head)  # the head still is
    model.compile(optimizer, "mse")
    model.fit(X, Y, verbose=0)
    assert not np.allclose(first.get_weights()[0], before)  # trained after compile


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_train_on_batch_reads_the_flags_and_the_optimizer_refuses(optimizer):
    model, _, _ = frozen_first_layer(optimizer)
    with pytest.raises(ValueError):
        model.train_on_batch(X, Y)


def test_run_eagerly_reads_the_flags_at_each_fit():
    model, _, _ = frozen_first_layer("adam", run_eagerly=True)
    with pytest.raises(ValueError):
        model.fit(X, Y, verbose=0)


def test_fine_tuning_with_a_recompile_trains_the_unfrozen_part():
    # the guide's order: freeze, compile, fit, unfreeze, compile again, fit
    model, first, _ = frozen_first_layer("adam")
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    before = first.get_weights()[0].copy()
    model.fit(X, Y, verbose=0)
    assert not np.allclose(first.get_weights()[0], before)


def test_train_on_batch_keeps_the_variables_of_its_own_first_call():
    inputs = keras.Input((4,))
    first, second = keras.layers.Dense(3), keras.layers.Dense(1)
    model = keras.Model(inputs, second(first(inputs)))
    first.trainable = False
    model.compile("adam", "mse")
    model.train_on_batch(X, Y)
    first.trainable = True
    before = first.get_weights()[0].copy()
    model.train_on_batch(X, Y)  # TF 2.21: its trace is reused, no error
    np.testing.assert_array_equal(first.get_weights()[0], before)
    with pytest.raises(ValueError):  # fit's first call sees the unfrozen layer
        model.fit(X, Y, verbose=0)
