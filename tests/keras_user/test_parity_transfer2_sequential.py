"""``Sequential([base_model, ...])``: a built model as the first layer gives its input shape.

The transfer-learning guide's short form stacks a pretrained base and a head in a
Sequential. TF 2.21 (Keras 3) builds that Sequential as soon as a layer follows the model,
so the head's weights exist at once: ``trainable_variables``, ``count_params()`` and
``summary()`` count them before any data. A lone model, or a first model that is not built
(or subclassed), leaves the Sequential unbuilt. The counts below are TF 2.21's.
"""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()


def test_frozen_application_base_and_a_head():
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                          weights=None, alpha=0.35)
    base.trainable = True
    for layer in base.layers[:140]:
        layer.trainable = False
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, name="head")])
    assert model.built
    assert model.count_params() == 412770 and base.count_params() == 410208
    paths = [v.path for v in model.trainable_variables]
    assert len(paths) == 17
    assert paths[:2] == ["block_15_project/kernel", "block_15_project_BN/gamma"]
    assert paths[-2:] == ["sequential/head/kernel", "sequential/head/bias"]
    assert model.get_layer(index=0) is base and model.get_layer(index=-1).name == "head"
    assert model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0).shape == (1, 2)


def test_a_built_sequential_or_functional_first_layer():
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)], name="inner")
    model = keras.Sequential([inner, keras.layers.Dense(2)])
    assert model.built and len(model.weights) == 4 and model.count_params() == 26
    inputs = keras.Input((6,), name="x")
    func = keras.Model(inputs, keras.layers.Dense(4)(inputs), name="func")
    grown = keras.Sequential()
    grown.add(func)
    assert not grown.built  # a lone model: unbuilt, as in TF 2.21
    grown.add(keras.layers.Dense(1))
    assert grown.built and grown.count_params() == 33


def test_an_integer_input_keeps_its_dtype():
    ids = keras.Input((4,), dtype="int32")
    embed = keras.Model(ids, keras.layers.Embedding(10, 3)(ids), name="emb")
    model = keras.Sequential([embed, keras.layers.Flatten(), keras.layers.Dense(1)])
    assert model.built and model.count_params() == 43
    assert model.predict(np.ones((2, 4), np.int32), verbose=0).shape == (2, 1)


def test_unbuilt_or_subclassed_first_layers_leave_it_unbuilt():
    lone = keras.Sequential([keras.layers.Dense(3)], name="inner2")
    assert not keras.Sequential([lone, keras.layers.Dense(2)]).built

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(3)

        def call(self, x):
            return self.d(x)

    sub = Sub()
    sub(np.zeros((1, 4), np.float32))
    assert not keras.Sequential([sub, keras.layers.Dense(1)]).built
