"""Without the top, Keras's applications take images of any size: no input_shape gives
(None, None, None, 3) and input_shape=(None, None, 3) is accepted; with the top the size is
fixed. The shapes below are TF 2.21 / Keras 3.15's model.output_shape and
model(np.zeros((1, rows, cols, 3))).shape for weights=None."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.keras import applications as apps

# name, kwargs, Keras's (75x75 output, 100x131 output)
FAMILIES = [
    ("VGG16", {}, (1, 2, 2, 512), (1, 3, 4, 512)),
    ("ResNet50", {}, (1, 3, 3, 2048), (1, 4, 5, 2048)),
    ("MobileNet", {"alpha": 0.25}, (1, 2, 2, 256), (1, 3, 4, 256)),
    ("MobileNetV2", {"alpha": 0.35}, (1, 2, 2, 1280), (1, 3, 4, 1280)),
    ("DenseNet121", {}, (1, 2, 2, 1024), (1, 3, 4, 1024)),
    ("EfficientNetB0", {}, (1, 2, 2, 1280), (1, 3, 4, 1280)),
    ("Xception", {}, (1, 3, 3, 2048), (1, 3, 4, 2048)),
    ("InceptionV3", {}, (1, 1, 1, 2048), (1, 1, 2, 2048)),
]


@pytest.mark.parametrize("name, kwargs, small, large", FAMILIES)
def test_no_top_takes_any_image_size(name, kwargs, small, large):
    model = getattr(apps, name)(include_top=False, weights=None, **kwargs)
    assert model.input_shape == (None, None, None, 3)
    assert model.output_shape == (None, None, None, small[-1])
    assert tuple(model(np.zeros((1, 75, 75, 3), np.float32)).shape) == small
    assert tuple(model(np.zeros((1, 100, 131, 3), np.float32)).shape) == large
    pooled = getattr(apps, name)(include_top=False, weights=None, pooling="avg",
                                 input_shape=(None, None, 3), **kwargs)
    assert pooled.input_shape == (None, None, None, 3)
    assert pooled.output_shape == (None, small[-1])


@pytest.mark.parametrize("name, minimum", [
    ("VGG16", 32), ("VGG19", 32), ("ResNet50", 32), ("ResNet101", 32), ("ResNet50V2", 32),
    ("MobileNet", 32), ("MobileNetV2", 32), ("DenseNet121", 32), ("EfficientNetB3", 32),
    ("EfficientNetV2B0", 32), ("Xception", 71), ("InceptionV3", 75), ("ConvNeXtTiny", 32)])
def test_keras_size_rules(name, minimum):
    build = getattr(apps, name)
    # Keras 3.15's messages, after convnp's model name
    with pytest.raises(ValueError, match=r"If `include_top` is True, you should specify a "
                                         r"static `input_shape`\. Received: input_shape="
                                         r"\(None, None, 3\)"):
        build(include_top=True, weights=None, input_shape=(None, None, 3))
    small = (minimum - 1, minimum - 1, 3)
    with pytest.raises(ValueError, match=rf"Input size must be at least {minimum}x{minimum}; "
                                         rf"Received: input_shape=\({minimum - 1}, "):
        build(include_top=False, weights=None, input_shape=small)
    with pytest.raises(ValueError, match=rf"at least {minimum}x{minimum}"):
        build(include_top=False, weights=None, input_shape=(None, minimum - 1, 3))


@pytest.mark.parametrize("name, kwargs", [("MobileNet", {"alpha": 0.25}),
                                          ("MobileNetV2", {"alpha": 0.35})])
def test_with_the_top_the_size_stays_the_default(name, kwargs):
    model = getattr(apps, name)(include_top=True, weights=None, **kwargs)
    assert model.input_shape == (None, 224, 224, 3)


def test_mobilenet_v3_any_size_even_with_its_top():
    # Keras 3.15: MobileNetV3 is (None, None, None, 3) with or without the top
    assert apps.MobileNetV3Small(weights=None).input_shape == (None, None, None, 3)
    assert apps.MobileNetV3Small(weights=None, input_shape=(None, None, 3)).input_shape == \
        (None, None, None, 3)
    assert apps.MobileNetV3Small(weights=None, include_top=False,
                                 input_shape=(None, None, 1)).input_shape == \
        (None, None, None, 1)
