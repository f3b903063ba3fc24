"""``tf.keras.utils.legacy`` (Keras 2's serialize/deserialize_keras_object, still exported by
TF 2.21): the expected layouts and errors are TF 2.21's."""

import pytest

import convnp as tf

legacy = tf.keras.utils.legacy


def test_serialize_keras_object():
    assert legacy.serialize_keras_object(None) is None
    assert legacy.serialize_keras_object(tf.keras.activations.relu) == "relu"
    config = legacy.serialize_keras_object(tf.keras.losses.MeanSquaredError())
    assert config == {"class_name": "MeanSquaredError",
                      "config": {"name": "mean_squared_error",
                                 "reduction": "sum_over_batch_size"}}
    assert legacy.serialize_keras_object(tf.keras.optimizers.Adam(0.01))["class_name"] == "Adam"
    with pytest.raises(ValueError):  # TF: a string has no get_config()
        legacy.serialize_keras_object("relu")


def test_deserialize_keras_object():
    dense = legacy.deserialize_keras_object({"class_name": "Dense",
                                             "config": {"units": 3, "name": "x"}},
                                            {"Dense": tf.keras.layers.Dense})  # module_objects
    assert type(dense).__name__ == "Dense" and dense.units == 3 and dense.name == "x"
    made = legacy.deserialize_keras_object({"class_name": "Dense", "config": {"units": 3}},
                                           custom_objects={"Dense": tf.keras.layers.Dense})
    assert type(made).__name__ == "Dense"
    with pytest.raises(ValueError):
        legacy.deserialize_keras_object({"class_name": "Dense", "config": {"units": 3}})
    with pytest.raises(ValueError):
        legacy.deserialize_keras_object(5)
    assert legacy.deserialize_keras_object(None) is None
    adam = legacy.deserialize_keras_object(
        legacy.serialize_keras_object(tf.keras.optimizers.Adam(0.01)),
        module_objects={"Adam": tf.keras.optimizers.Adam})
    assert type(adam).__name__ == "Adam"
