"""The optimizers a GAN keeps in its own attributes (keras.io's CycleGAN sets four in its
`compile` override) are in its ``.weights.h5`` file, as TensorFlow 2.21 writes them, and
``load_weights`` gives their state back to built optimizers, so that training resumed from a
checkpoint goes on as it would have. Expected values are what TF 2.21 gave."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class Two(keras.Model):
    def __init__(self):
        super().__init__()
        self.gen = keras.Sequential([keras.Input((3,)),
                                     keras.layers.Dense(2, kernel_initializer="ones")])
        self.disc = keras.Sequential([keras.Input((2,)),
                                      keras.layers.Dense(1, kernel_initializer="ones")])

    def call(self, x):
        return self.disc(self.gen(x))

    def compile(self, g_opt, d_opt, private_opt=None):
        super().compile()
        self.g_opt = g_opt
        self.d_opt = d_opt
        self.alias = g_opt  # sorts first: Keras stores g_opt's state under "alias"
        if private_opt is not None:
            self._p_opt = private_opt
        self.opts = [keras.optimizers.SGD(0.1, momentum=0.9)]

    def train_step(self, data):
        x, y = data
        with tf.GradientTape(persistent=True) as tape:
            p = self.disc(self.gen(x))
            g_loss = tf.reduce_mean(tf.square(p - y))
            d_loss = tf.reduce_mean(tf.square(p + y))
        self.g_opt.apply_gradients(zip(tape.gradient(g_loss, self.gen.trainable_variables),
                                       self.gen.trainable_variables))
        self.d_opt.apply_gradients(zip(tape.gradient(d_loss, self.disc.trainable_variables),
                                       self.disc.trainable_variables))
        return {"g": g_loss, "d": d_loss}


_X = np.arange(12, dtype="float32").reshape(4, 3) / 10
_Y = np.ones((4, 1), "float32")


def _two(g_opt, d_opt, private_opt=None, steps=0):
    model = Two()
    model(_X[:1])
    model.compile(g_opt, d_opt, private_opt)
    if steps:
        model.fit(_X[:2 * steps], _Y[:2 * steps], batch_size=2, epochs=1, verbose=0,
                  shuffle=False)
    return model


@pytest.fixture
def trained(tmp_path):
    model = _two(keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02),
                 keras.optimizers.SGD(0.1))
    model.fit(_X, _Y, batch_size=2, epochs=2, verbose=0, shuffle=False)
    path = str(tmp_path / "a.weights.h5")
    model.save_weights(path)
    return model, path


def test_held_optimizers_are_written_under_their_attributes(trained):
    _, path = trained
    with h5py.File(path, "r") as f:
        # TF 2.21's groups: public attributes sorted, then private ones; a list's optimizer
        # under its class key; an optimizer held twice under the first attribute only
        assert sorted(f.keys()) == ["_p_opt", "alias", "d_opt", "disc", "gen", "optimizer",
                                    "opts", "vars"]
        assert len(f["d_opt/vars"]) == 6 and len(f["alias/vars"]) == 6
        assert len(f["_p_opt/vars"]) == 2 and len(f["optimizer/vars"]) == 2
        assert "opts/sgd/vars" in f
        assert int(f["alias/vars/0"][()]) == 4
        np.testing.assert_allclose(f["alias/vars/1"][()], 0.01)


def test_load_weights_gives_built_held_optimizers_their_state(trained):
    original, path = trained
    model = _two(keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.05), steps=1)
    model.load_weights(path)
    # TF 2.21: the step counts and the rate come from the file
    assert int(model.g_opt.iterations) == 4 and int(model.d_opt.iterations) == 4
    assert float(np.asarray(model.g_opt.learning_rate)) == pytest.approx(0.01)
    resumed = model.fit(_X, _Y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    went_on = original.fit(_X, _Y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    # TF 2.21: {'d': [29.00796], 'g': [11.69929]} for both
    for key, value in [("d", 29.00796), ("g", 11.69929)]:
        np.testing.assert_allclose(resumed.history[key], [value], rtol=1e-5)
        np.testing.assert_allclose(went_on.history[key], [value], rtol=1e-5)


def test_load_weights_skips_unbuilt_or_other_held_optimizers_with_a_warning(trained):
    _, path = trained
    fresh = _two(keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.05))
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        fresh.load_weights(path)
    assert int(fresh.g_opt.iterations) == 0 and not fresh.g_opt.built
    # another kind (SGD with momentum keeps 4 variables here, the file's Adam 6): skipped
    # with a warning, the matching one restored (TF 2.21)
    other = _two(keras.optimizers.SGD(0.05, momentum=0.5), keras.optimizers.Adam(0.05),
                 steps=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other.load_weights(path)
    assert len([w for w in caught if "Skipping" in str(w.message)]) == 1
    assert int(other.g_opt.iterations) == 1 and int(other.d_opt.iterations) == 4
