"""ONNX export of calls fixed to ``training=True``: the course's ResNet blocks call
``BatchNormalization(axis=3)(X, training=training)`` with ``training=True``, so ``predict``
(in TF 2.21 as in convnp) normalizes with the statistics of the batch it is given. The
exporter wrote the moving statistics there (a file computing something else, silently); it
now writes the batch's statistics, follows a model called with ``training=True`` into its
layers, and refuses the calls that are random in training mode."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.layers.base import Layer
from convnp.models import Input, Model, Sequential
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check

ATOL = 1e-5


def identity_block(x, filters, training):
    """The course's identity block (ResNet-50 assignment), small."""
    shortcut = x
    x = L.Conv2D(filters, 1)(x)
    x = L.Activation("relu")(L.BatchNormalization(axis=3)(x, training=training))
    x = L.Conv2D(filters, 3, padding="same")(x)
    x = L.BatchNormalization(axis=3)(x, training=training)
    return L.Activation("relu")(L.Add()([x, shortcut]))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("opset", [13, 17])
def test_course_identity_block(training, opset):
    inputs = Input((6, 6, 4))
    model = Model(inputs, identity_block(inputs, 4, training))
    randomize(model, 5)
    x = np.random.default_rng(0).standard_normal((5, 6, 6, 4)).astype(np.float32)
    check(model, x, opset=opset, atol=ATOL)


@pytest.mark.parametrize("shape, axis", [((7,), -1), ((5, 3), 1), ((4, 3, 5, 2), -1)])
def test_batch_normalization_in_training_mode_on_other_ranks(shape, axis):
    inputs = Input(shape)
    model = Model(inputs, L.BatchNormalization(axis=axis)(inputs, training=True))
    randomize(model, 6)
    x = np.random.default_rng(1).standard_normal((4, *shape)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_model_called_in_training_mode_uses_batch_statistics_inside():
    inner_inputs = Input((5,))
    h = L.BatchNormalization()(L.Dense(4)(inner_inputs))
    # a call fixed to training=False keeps its moving statistics inside that model
    inner = Model(inner_inputs, L.BatchNormalization()(h, training=False))
    randomize(inner, 7)
    inputs = Input((5,))
    model = Model(inputs, inner(inputs, training=True))
    x = np.random.default_rng(2).standard_normal((6, 5)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_dropout_in_a_model_called_in_training_mode_is_refused():
    inner = Sequential([Input((5,)), L.Dense(4), L.Dropout(0.5, name="drop")])
    inputs = Input((5,))
    model = Model(inputs, inner(inputs, training=True))
    with pytest.raises(ValueError, match=r"'drop' of type Dropout.*training=True"):
        export_bytes(model)


class Scale(Layer):
    def call(self, x, training=None):
        return x * 2.0 if training else x


def test_user_layer_fixed_to_training_mode_is_refused():
    inputs = Input((5,))
    model = Model(inputs, Scale(name="scale")(inputs, training=True))
    with pytest.raises(ValueError, match=r"'scale' of type Scale.*training=True"):
        export_bytes(model)


def test_spectral_normalization_exports_its_layer():
    """A GAN discriminator's SpectralNormalization (was refused: no exporter): at inference
    the wrapped layer with its kernel as it is."""
    inputs = Input((8, 8, 3))
    h = L.SpectralNormalization(L.Conv2D(4, 3, strides=2, padding="same"))(inputs)
    h = L.LeakyReLU(0.2)(h)
    out = L.SpectralNormalization(L.Dense(1))(L.Flatten()(h))
    model = Model(inputs, out)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, rng.standard_normal((4, 1)).astype(np.float32), epochs=1, verbose=0)
    check(model, x, atol=ATOL)


def test_spectral_normalization_in_training_mode_is_refused():
    inputs = Input((5,))
    model = Model(inputs, L.SpectralNormalization(L.Dense(2), name="sn")(inputs,
                                                                         training=True))
    with pytest.raises(ValueError, match=r"'sn' of type SpectralNormalization.*training=True"):
        export_bytes(model)
