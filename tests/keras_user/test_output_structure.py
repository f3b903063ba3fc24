"""A model gives its outputs back in the structure they were made with, as Keras 3 does: a
``call`` returning a tuple gives tuples, a list gives lists, a dict gives dicts (by key) from
``model(x)``, ``predict`` and ``predict_on_batch``; ``Model(x, (a, b))`` gives tuples. A
subclassed model returning a dict trains with losses and metrics by key and logs them by key
(``p_loss``, ``p_mae``: the names Keras 3.15 logs for the same model)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)


class Pair(keras.Model):
    def __init__(self, as_list=False):
        super().__init__()
        self.a = keras.layers.Dense(2)
        self.b = keras.layers.Dense(3)
        self.as_list = as_list

    def call(self, x):
        out = (self.a(x), self.b(x))
        return list(out) if self.as_list else out


class Heads(keras.Model):
    def __init__(self, key="p"):
        super().__init__()
        self.a = keras.layers.Dense(2)
        self.b = keras.layers.Dense(3)
        self.key = key

    def call(self, x):
        return {"q": self.b(x), self.key: self.a(x)}  # not in sorted order


def test_a_call_returning_a_tuple_or_a_list_keeps_it():
    model = Pair()
    for result in (model(X), model.predict(X, verbose=0), model.predict_on_batch(X)):
        assert type(result) is tuple and [np.shape(r) for r in result] == [(6, 2), (6, 3)]
    listed = Pair(as_list=True)
    assert type(listed.predict(X, verbose=0)) is list and type(listed(X)) is list


def test_functional_outputs_given_as_a_tuple_come_back_as_one():
    inputs = keras.Input((4,))
    a, b = keras.layers.Dense(2)(inputs), keras.layers.Dense(1)(inputs)
    as_tuple, as_list = keras.Model(inputs, (a, b)), keras.Model(inputs, [a, b])
    assert type(as_tuple.predict(X, verbose=0)) is tuple and type(as_tuple(X)) is tuple
    assert type(as_list.predict(X, verbose=0)) is list and type(as_list(X)) is list
    np.testing.assert_array_equal(as_tuple.predict(X, verbose=0)[1],
                                  as_list.predict(X, verbose=0)[1])


def test_a_call_returning_a_dict_gives_dicts():
    model = Heads()
    called = model(X)
    assert isinstance(called, dict) and sorted(called) == ["p", "q"]
    np.testing.assert_allclose(called["p"].numpy(), model.a(X).numpy(), rtol=1e-6)
    predicted = model.predict(X, batch_size=4, verbose=0)  # two batches, put back together
    assert isinstance(predicted, dict)
    assert (predicted["p"].shape, predicted["q"].shape) == ((6, 2), (6, 3))
    np.testing.assert_allclose(predicted["q"], model.b(X).numpy(), rtol=1e-6)
    assert sorted(model.predict_on_batch(X)) == ["p", "q"]
    with tf.GradientTape() as tape:  # a user's train_step reads the outputs by key
        loss = tf.reduce_sum(model(X, training=True)["p"])
    grads = tape.gradient(loss, model.a.trainable_weights)
    np.testing.assert_allclose(grads[0].numpy(), np.tile(X.sum(0)[:, None], (1, 2)), rtol=1e-5)


def test_a_dict_model_trains_by_key_as_its_functional_twin():
    targets = {"p": np.zeros((6, 2), np.float32), "q": np.ones((6, 3), np.float32)}
    keras.utils.set_random_seed(1)
    model = Heads()
    model.compile(keras.optimizers.SGD(0.1), loss={"p": "mse", "q": "mae"},
                  metrics={"p": "mae"})  # compiled before it was ever called
    model(X)
    inputs = keras.Input((4,))
    twin = keras.Model(inputs, {"q": keras.layers.Dense(3, name="b")(inputs),
                                "p": keras.layers.Dense(2, name="a")(inputs)})
    twin.get_layer("b").set_weights(model.b.get_weights())
    twin.get_layer("a").set_weights(model.a.get_weights())
    twin.compile(keras.optimizers.SGD(0.1), loss={"p": "mse", "q": "mae"}, metrics={"p": "mae"})
    history = model.fit(X, targets, epochs=3, batch_size=3, shuffle=False,
                        verbose=0).history
    twin_history = twin.fit(X, targets, epochs=3, batch_size=3, shuffle=False,
                        verbose=0).history
    assert sorted(history) == ["loss", "p_loss", "p_mae", "q_loss"]  # Keras 3.15's keys
    for key in history:
        np.testing.assert_allclose(history[key], twin_history[key], rtol=1e-5)
    assert history["loss"][-1] < history["loss"][0]
    logs = model.evaluate(X, targets, verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "p_loss", "p_mae", "q_loss"]


def test_dict_outputs_that_do_not_match_the_losses_are_refused():
    model = Heads(key="r")
    model.compile("sgd", loss={"p": "mse", "q": "mae"})
    with pytest.raises(ValueError, match="'q', 'r'"):
        model.fit(X, {"p": np.zeros((6, 2)), "q": np.zeros((6, 3))}, verbose=0)

    class BadKeys(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = keras.layers.Dense(2)

        def call(self, x):
            return {1: self.a(x)}

    with pytest.raises(TypeError, match="keys must be strings"):
        BadKeys()(X)
