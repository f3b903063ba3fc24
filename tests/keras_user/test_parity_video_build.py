"""TensorFlow parity of ``model.build`` as the TF video tutorial calls it: on a batch of clips
(``frames, label = next(iter(train_ds)); model.build(frames)``) rather than on a shape. The
expected behaviour is TF 2.21's (Keras 3.15)."""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


def _clips():
    return np.zeros((2, 3, 8, 8, 3), "float32")


def _functional():
    inp = keras.Input((3, 8, 8, 3))
    x = layers.GlobalAveragePooling3D()(layers.Conv3D(2, 3)(inp))
    return keras.Model(inp, layers.Dense(2)(x))


@pytest.mark.parametrize("argument", [
    _clips(), tf.constant(_clips()), (None, 3, 8, 8, 3), (None, 4, 8, 8, 3), (None, 8, 8, 3),
    [None, 3, 8, 8, 3]])
def test_build_of_a_functional_model_takes_anything(argument):
    # TF 2.21: a functional model is built when made; build() accepts data, other shapes
    model = _functional()
    weights = [w.copy() for w in model.get_weights()]
    assert model.build(argument) is None
    assert model.built
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert model.predict(_clips(), verbose=0).shape == (2, 2)


def test_build_of_a_sequential_model_on_data_builds_nothing_and_raises_nothing():
    # TF 2.21: Sequential.build(frames) returns quietly (no shape is read from data); a
    # shape that differs from the built one is still a ValueError
    built = keras.Sequential([keras.Input((3, 8, 8, 3)), layers.Conv3D(2, 3),
                              layers.GlobalAveragePooling3D(), layers.Dense(2)])
    assert built.build(_clips()) is None
    with pytest.raises(ValueError):
        built.build((None, 4, 8, 8, 3))
    unbuilt = keras.Sequential([layers.Conv3D(2, 3), layers.GlobalAveragePooling3D(),
                                layers.Dense(2)])
    unbuilt.build(tf.constant(_clips()))
    unbuilt.build((None, 3, 8, 8, 3))  # a shape still builds it
    assert unbuilt.count_params() == 170


def test_build_of_a_subclassed_model_on_data_raises_nothing():
    # TF 2.21: no error (Keras warns and builds nothing); the first call builds it
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv3D(2, 3)
            self.pool = layers.GlobalAveragePooling3D()

        def call(self, x):
            return self.pool(self.conv(x))

    net = Net()
    assert net.build(_clips()) is None
    assert tuple(net(_clips()).shape) == (2, 2)
    assert net.count_params() == 164


def test_a_lambda_folding_the_batch_into_frames_builds():
    # a per-frame feature extractor's (batch * frames, features) folded back into clips: a
    # batch of one cannot be reshaped to (-1, 4, 6), so the trial call retries with a larger
    # batch (TF 2.21: output (None, 4, 6); the model maps 8 rows to 2 clips)
    inp = tf.keras.Input((8,))
    h = tf.keras.layers.Dense(6)(inp)
    h = tf.keras.layers.Lambda(lambda v: tf.keras.ops.reshape(v, (-1, 4, 6)))(h)
    assert tuple(h.shape) == (None, 4, 6)
    model = tf.keras.Model(inp, tf.keras.layers.GRU(3)(h))
    assert tuple(model(np.ones((8, 8), "float32")).shape) == (2, 3)
