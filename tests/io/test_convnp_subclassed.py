"""A user's keras.Model subclass has no layer graph for a .convnp file to describe: saving it
there is refused before anything is written (it used to save and then fail to load), while
.keras and save_weights keep it."""

import numpy as np
import pytest

import convnp as tf
from convnp import keras


class Net(keras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.head = keras.layers.Dense(units)

    def call(self, x):
        return self.head(x)

    def get_config(self):
        return {"units": self.units}


def test_a_subclassed_model_is_refused_and_an_old_file_kept(tmp_path):
    net = Net()
    net(np.ones((1, 4), np.float32))
    target = tmp_path / "net.convnp"
    target.write_bytes(b"an older save")
    with pytest.raises(ValueError, match=r"subclass of keras.Model \(Net.*'\.keras'"):
        net.save(target)
    assert target.read_bytes() == b"an older save"
    # inside a functional model too
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, keras.layers.Dense(1)(Net()(inputs)))
    with pytest.raises(ValueError, match="subclass of keras.Model"):
        outer.save(tmp_path / "outer.convnp")
    assert not (tmp_path / "outer.convnp").exists()


def test_the_formats_that_keep_it(tmp_path):
    pytest.importorskip("h5py")
    net = Net()
    x = np.ones((2, 4), np.float32)
    expected = net.predict(x, verbose=0)
    net.save(tmp_path / "net.keras")
    loaded = tf.keras.models.load_model(tmp_path / "net.keras", custom_objects={"Net": Net})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    net.save_weights(tmp_path / "net.weights.h5")
    twin = Net()
    twin(x)
    twin.load_weights(tmp_path / "net.weights.h5")
    np.testing.assert_allclose(twin.predict(x, verbose=0), expected, rtol=1e-6)
