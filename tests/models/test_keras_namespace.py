"""``import convnp as tf`` exposes the tf.keras names the course code uses."""

from __future__ import annotations

import numpy as np

import convnp as tf


def test_namespace_has_the_keras_names():
    keras = tf.keras
    for name in ["Conv2D", "BatchNormalization", "MaxPool2D", "MaxPooling2D",
                 "AveragePooling2D", "Dense", "Flatten", "ZeroPadding2D", "ReLU", "Activation",
                 "Dropout", "InputLayer", "Add", "Concatenate", "Layer", "Input"]:
        assert hasattr(keras.layers, name), name
    assert keras.Sequential is keras.models.Sequential
    assert keras.Model is keras.models.Model
    assert callable(keras.Input) and callable(keras.models.load_model)
    for name in ["SGD", "Adam", "RMSprop", "get"]:
        assert hasattr(keras.optimizers, name), name
    for module, name in [(keras.losses, "BinaryCrossentropy"), (keras.metrics, "get"),
                         (keras.callbacks, "EarlyStopping"), (keras.callbacks, "History"),
                         (keras.initializers, "get"), (keras.activations, "relu"),
                         (keras.utils, "set_random_seed"), (keras.utils, "to_categorical"),
                         (keras.backend, "clear_session")]:
        assert hasattr(module, name), name
    assert isinstance(keras.layers.Conv2D(2, 3), keras.layers.Layer)


def test_data_dataset_via_top_level():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2)), np.ones((5, 1)))).batch(2)
    assert len(list(ds)) == 3


def test_user_layer_subclass_works_in_a_model():
    class Double(tf.keras.layers.Layer):
        def call(self, inputs, training=False):
            return inputs * 2

        def backward(self, dy):
            return dy * 2

    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,),
                                                       kernel_initializer="ones"), Double()])
    np.testing.assert_allclose(model.predict(np.ones((2, 3)), verbose=0), 6.0)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 1)), epochs=1, verbose=0)
