"""`convnp.compat.as_tensorflow`: a notebook's own tensorflow imports resolve to convnp."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

import convnp
from convnp import compat


@pytest.fixture
def aliased():
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not convnp:
        pytest.skip("the real TensorFlow is imported in this process")
    names = compat.as_tensorflow()
    yield names
    compat.restore()


def test_notebook_imports_resolve_to_convnp(aliased):
    import tensorflow as tf
    import tensorflow.keras.layers as tfl
    from tensorflow.keras.initializers import constant, glorot_uniform, identity, random_uniform
    from tensorflow.keras.layers import Add, BatchNormalization, Conv2D
    from tensorflow.keras.models import Model
    from tensorflow.python.framework.ops import EagerTensor

    assert tf is convnp and tfl is convnp.keras.layers
    assert Conv2D is convnp.keras.layers.Conv2D and Model is convnp.keras.Model
    assert random_uniform is convnp.initializers.RandomUniform
    assert glorot_uniform(seed=0) is not None and constant(value=1) is not None
    np.testing.assert_array_equal(identity(gain=2.0)((2, 3)), [[2, 0, 0], [0, 2, 0]])
    assert Add and BatchNormalization
    out = Conv2D(2, 1)(np.ones((1, 2, 2, 3), dtype=np.float32))
    assert type(out) is EagerTensor
    assert "tensorflow.keras.applications" in aliased
    from tensorflow.keras.applications.convnext import ConvNeXtTiny
    from tensorflow.keras.applications.efficientnet_v2 import EfficientNetV2B0
    from tensorflow.keras.applications.mobilenet_v3 import MobileNetV3Small
    from tensorflow.keras.applications.resnet_v2 import ResNet50V2, preprocess_input

    assert ResNet50V2 is convnp.applications.ResNet50V2
    assert preprocess_input is convnp.applications.resnet_v2.preprocess_input
    assert MobileNetV3Small is convnp.applications.MobileNetV3Small
    assert EfficientNetV2B0 is convnp.applications.EfficientNetV2B0
    assert ConvNeXtTiny is convnp.applications.ConvNeXtTiny


def test_restore_removes_the_aliases(aliased):
    compat.restore()
    assert not any(sys.modules.get(name) is convnp for name in aliased)
    assert "tensorflow.python.framework.ops" not in sys.modules


def test_import_convnp_registers_nothing():
    code = ("import sys, convnp, convnp.keras; "
            "assert not any(m.split('.')[0] == 'tensorflow' for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, env=None)


def test_real_tensorflow_is_not_replaced(monkeypatch):
    fake = type(sys)("tensorflow")
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    with pytest.raises(RuntimeError, match="already imported"):
        compat.as_tensorflow()
    assert sys.modules["tensorflow"] is fake


def test_tensorflow_namespaces_and_newer_keras_paths(aliased):
    """The import lines of later tutorials: tf's own namespaces, the optimizer submodules and
    a star import of the experimental preprocessing layers."""
    from tensorflow.data.experimental import AUTOTUNE
    from tensorflow.image import resize
    from tensorflow.keras.optimizers.experimental import AdamW
    from tensorflow.keras.optimizers.legacy import Adam
    from tensorflow.keras.optimizers.schedules import ExponentialDecay
    from tensorflow.math import reduce_sum
    from tensorflow.nn import relu

    assert resize is convnp.image.resize and relu is convnp.nn.relu
    assert reduce_sum is convnp.math.reduce_sum and AUTOTUNE == convnp.data.AUTOTUNE
    assert Adam is convnp.keras.optimizers.Adam and AdamW is convnp.keras.optimizers.AdamW
    assert ExponentialDecay is convnp.keras.optimizers.schedules.ExponentialDecay
    for name in ("image", "nn", "math", "linalg", "io", "errors", "config"):
        assert f"tensorflow.{name}" in aliased
    # what `from ... import *` does: every name of __all__ must be there
    module = importlib.import_module("tensorflow.keras.layers.experimental.preprocessing")
    scope = {name: getattr(module, name) for name in module.__all__}
    assert scope["RandomFlip"] is convnp.keras.layers.RandomFlip
    assert scope["Normalization"] is convnp.keras.layers.Normalization
    assert scope["Rescaling"] is convnp.keras.layers.Rescaling
