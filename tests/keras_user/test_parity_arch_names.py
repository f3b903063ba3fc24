"""Automatic model names around keras.io's convnet examples, whose user layers make a
`Sequential` in `build` (the Involution kernel generator, PatchConvNet's MLP).

Keras 3 runs a Sequential as a `Functional` model it makes on every (re)build; that model
takes the next automatic name, so the user's own `keras.Model(...)` is numbered after it.
The expected names are TensorFlow 2.21's for the same programs (run side by side).
"""

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers


def _next_model_name() -> str:
    inputs = keras.Input((4,))
    return keras.Model(inputs, layers.Dense(2)(inputs)).name


class KernelGenerator(layers.Layer):
    """A user's layer that builds a Sequential, as keras.io's Involution layer does."""

    def build(self, input_shape):
        self.kernel_gen = keras.Sequential([layers.Dense(3), layers.ReLU()])

    def call(self, x):
        return self.kernel_gen(x)


def test_sequential_built_inside_a_user_layer_takes_a_model_name():
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    first = KernelGenerator()(inputs)
    second = KernelGenerator()(first)
    model = keras.Model(inputs, second)
    assert model.name == "functional_2"  # TF 2.21: two Sequentials were built first
    assert [layer.name for layer in model.layers] == [
        "input_layer", "kernel_generator", "kernel_generator_1"]


def test_each_build_of_a_sequential_counts():
    x = np.zeros((2, 4), "float32")
    cases = [  # (what the program did, TF 2.21's name of the next functional model)
        (lambda: keras.Sequential([keras.Input((4,)), layers.Dense(3)]), "functional_1"),
        (lambda: keras.Sequential([layers.Dense(3)]), "functional"),  # never built
        (lambda: keras.Sequential([layers.Dense(3)])(x), "functional_1"),
        (lambda: keras.Sequential([layers.Dense(3)]).build((None, 4)), "functional_1"),
    ]
    for make, expected in cases:
        keras.backend.clear_session()
        make()
        assert _next_model_name() == expected


def test_adding_to_a_built_sequential_builds_it_again():
    keras.backend.clear_session()
    model = keras.Sequential()
    model.add(keras.Input((4,)))
    model.add(layers.Dense(3))  # first build
    model.add(layers.Dense(3))  # rebuilt
    assert _next_model_name() == "functional_2"  # TF 2.21

    keras.backend.clear_session()
    model = keras.Sequential([layers.Dense(3)])
    model.build((None, 4))
    model.add(layers.Dense(2))
    assert _next_model_name() == "functional_2"  # TF 2.21


def test_a_named_sequential_still_counts_and_keeps_its_name():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)], name="augmenter")
    assert model.name == "augmenter"
    assert _next_model_name() == "functional_1"  # TF 2.21
