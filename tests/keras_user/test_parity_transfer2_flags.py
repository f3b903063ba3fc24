"""``model.trainable = True`` on a model that is already trainable changes nothing, as TF 2.21.

TF 2.21's layers skip an assignment of the object an attribute already holds, so setting
``trainable`` to the value it has (``True`` on a trainable model) does not reach the layers:
the ones frozen one by one stay frozen. A change (False to True) or another object (``1``)
runs the setter, which sets every layer. The flags below are TF 2.21's.
"""

import numpy as np

import convnp as tf

keras = tf.keras


def two_dense():
    inputs = keras.Input((4,))
    first, second = keras.layers.Dense(3), keras.layers.Dense(2)
    return keras.Model(inputs, second(first(inputs))), first, second


def test_the_same_value_leaves_the_layers_alone():
    model, first, second = two_dense()
    first.trainable = False
    model.trainable = True
    assert first.trainable is False and len(model.trainable_weights) == 2
    model.trainable = False
    first.trainable = True
    model.trainable = False
    assert first.trainable is True and second.trainable is False
    assert len(model.trainable_weights) == 0  # the model's own flag still wins


def test_a_change_or_another_object_reaches_every_layer():
    model, first, second = two_dense()
    first.trainable = False
    model.trainable = False
    model.trainable = True
    assert first.trainable and second.trainable
    stack = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    stack.layers[0].trainable = False
    stack.trainable = True
    assert stack.layers[0].trainable is False
    stack.trainable = 1  # not the object held: the setter runs
    assert stack.layers[0].trainable is True
    stack.trainable = np.bool_(False)
    assert stack.trainable is False and not any(layer.trainable for layer in stack.layers)


def test_a_feature_extractor_sharing_a_frozen_base():
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                          weights=None, alpha=0.35)
    base.trainable = False
    extractor = keras.Model(base.input, [base.get_layer("block_1_expand_relu").output,
                                         base.get_layer("block_3_expand_relu").output])
    assert extractor.trainable and len(extractor.trainable_weights) == 0
    assert len(extractor.non_trainable_weights) == 50 and len(extractor.layers) == 30
    extractor.trainable = True  # already True: TF 2.21 leaves the shared layers frozen
    assert sum(layer.trainable for layer in base.layers) == 0
