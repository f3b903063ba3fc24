"""``add_weight`` as Keras 3 blocks call it (LayerScale's ``self.add_weight((dim,),
"ones")``, Keras 3's keywords, ``add_variable``). Each expected value below is what TF 2.21
(Keras 3.15) gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


def _weight_of(make):
    class Scale(L.Layer):
        def build(self, input_shape):
            self.w = make(self, input_shape[-1])

        def call(self, x):
            return x * self.w

    layer = Scale()
    layer(np.ones((1, 4), "float32"))
    return layer.w


@pytest.mark.parametrize("make", [
    lambda s, d: s.add_weight((d,), "ones"),
    lambda s, d: s.add_weight((d,), "ones", "float32"),
    lambda s, d: s.add_weight(shape=(d,), initializer="ones", autocast=False),
    lambda s, d: s.add_weight(shape=(d,), initializer="ones", aggregation="mean"),
    lambda s, d: s.add_weight(shape=(d,), initializer="ones", overwrite_with_gradient=False),
    lambda s, d: s.add_variable((d,), initializer="ones"),
])
def test_keras3_spellings(make):
    # TF 2.21: a trainable float32 (4,) weight of ones (convnp took the shape for a name,
    # refused the keywords, had no add_variable)
    w = _weight_of(make)
    assert tuple(w.shape) == (4,) and w.dtype == np.float32 and w.trainable
    np.testing.assert_array_equal(np.asarray(w), np.ones(4))


def test_keras2_name_first_still_works():
    # convnp keeps Keras 2's add_weight("gamma", shape, ...) (TF 2.21 refuses it)
    w = _weight_of(lambda s, d: s.add_weight("gamma", (d,), initializer="ones"))
    assert w.name == "gamma" and tuple(w.shape) == (4,)


def test_refusals():
    # TF 2.21: a fourth positional argument after a shape is a TypeError; a bare number
    # for the shape a ValueError
    with pytest.raises(TypeError):
        _weight_of(lambda s, d: s.add_weight((d,), "ones", "float32", False))
    with pytest.raises(ValueError, match="shape"):
        _weight_of(lambda s, d: s.add_weight(shape=d, initializer="ones"))
    with pytest.raises(TypeError, match="multiple values"):
        _weight_of(lambda s, d: s.add_weight((d,), shape=(d,)))


class LayerScale(L.Layer):
    """ConvNeXt's LayerScale in Keras 3's spelling."""

    def __init__(self, init_values=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values

    def build(self, input_shape):
        self.gamma = self.add_weight((input_shape[-1],),
                                     keras.initializers.Constant(self.init_values))

    def call(self, x):
        return keras.ops.multiply(x, self.gamma)

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values}


def test_layer_scale_trains_and_round_trips(tmp_path):
    # TF 2.21: 8 parameters, the gradient of sum(x * gamma) is sum(x) per channel, and the
    # file gives the same outputs back
    inp = keras.Input((3, 3, 8))
    model = keras.Model(inp, LayerScale(0.5)(inp))
    assert model.count_params() == 8
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 8)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    grad = tape.gradient(loss, model.trainable_weights)[0]
    np.testing.assert_allclose(np.asarray(grad), x.sum(axis=(0, 1, 2)), rtol=1e-5)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras",
                                    custom_objects={"LayerScale": LayerScale})
    np.testing.assert_allclose(np.asarray(again(x)), 0.5 * x, rtol=1e-6)
