"""Listing a CNN's filters as the tutorials do: ``layer.get_weights()`` of each conv layer,
min-max normalised, picking layers by ``hasattr(layer, "kernel")``. In TF 2.21 a
SeparableConv2D has no ``kernel`` attribute (its weights are ``depthwise_kernel`` and
``pointwise_kernel``); convnp's was None, so the loop broke on ``None.numpy()``. Shapes and
weight names below are TF 2.21's."""

import numpy as np

from convnp import keras


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="c1")(inputs)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = keras.layers.SeparableConv2D(5, 3, name="sep")(x)
    x = keras.layers.Conv2DTranspose(3, 3, strides=2, name="tr")(x)
    return keras.Model(inputs, x)


def test_layers_with_a_kernel_and_their_weights():
    model = _model()
    with_kernel = [layer.name for layer in model.layers if hasattr(layer, "kernel")]
    assert with_kernel == ["c1", "dw", "tr"]
    kernels = {layer.name: layer.kernel.numpy().shape for layer in model.layers
               if hasattr(layer, "kernel")}
    assert kernels == {"c1": (3, 3, 3, 4), "dw": (3, 3, 4, 2), "tr": (3, 3, 3, 5)}
    sep = model.get_layer("sep")
    assert [w.name for w in sep.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.shape for w in sep.get_weights()] == [(3, 3, 8, 1), (1, 1, 8, 5), (5,)]
    assert sep.depthwise_kernel.shape == (3, 3, 8, 1)


def test_first_layer_filters_normalised():
    model = _model()
    filters = model.layers[1].get_weights()[0]
    assert filters.shape == (3, 3, 3, 4) and filters.dtype == np.float32
    f_min, f_max = filters.min(), filters.max()
    scaled = (filters - f_min) / (f_max - f_min)
    assert scaled.min() == 0.0 and scaled.max() == 1.0 and scaled.dtype == np.float32
