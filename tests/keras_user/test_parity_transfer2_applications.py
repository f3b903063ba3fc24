"""keras.applications' ``input_tensor`` misuse: TF 2.21 raises a ValueError in every family.

An array, an eager tensor, a string or a number as ``input_tensor`` (with or without
``input_shape``) is refused with a ValueError by each TF 2.21 application; convnp raised a
TypeError, or an AttributeError when no ``input_shape`` was given.
"""

import numpy as np
import pytest

import convnp as tf

apps = tf.keras.applications


@pytest.mark.parametrize("name", ["VGG16", "ResNet50", "MobileNetV2", "EfficientNetB0",
                                  "DenseNet121", "MobileNetV3Small", "ConvNeXtTiny"])
@pytest.mark.parametrize("bad", [np.zeros((1, 32, 32, 3), np.float32), "x", 5])
def test_input_tensor_that_is_not_a_keras_tensor(name, bad):
    with pytest.raises(ValueError, match="input_tensor must be a KerasTensor"):
        getattr(apps, name)(input_tensor=bad, include_top=False, weights=None)
    with pytest.raises(ValueError, match="input_tensor must be a KerasTensor"):
        getattr(apps, name)(input_tensor=bad, include_top=False, weights=None,
                            input_shape=(32, 32, 3))


def test_an_eager_tensor_is_refused_too():
    with pytest.raises(ValueError, match="input_tensor must be a KerasTensor"):
        apps.MobileNetV2(input_tensor=tf.constant(np.zeros((1, 32, 32, 3), np.float32)),
                         include_top=False, weights=None, input_shape=(32, 32, 3))
