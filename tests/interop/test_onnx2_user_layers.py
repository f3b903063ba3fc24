"""ONNX export of what users write themselves: their own Layer subclasses and subclassed
models (their ``call`` traced on symbolic tensors, as a Lambda's function is), the patch
extraction of keras.io's ViT, and the refusals when a ``call`` cannot be followed.

Keras 3 (TF 2.21) exports such models (``model.export(path, format="onnx")`` traces the
whole ``call``); convnp refused every user layer by its class before.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.keras import ops
from convnp.layers.base import Layer
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of

ATOL = 1e-5


class Patches(Layer):
    """keras.io's ViT (Keras 3 version): the batch size read with ``ops.shape``."""

    def __init__(self, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, images):
        shape = ops.shape(images)
        batch, rows, cols, channels = shape[0], shape[1], shape[2], shape[3]
        patches = ops.image.extract_patches(images, size=self.patch_size)
        count = (rows // self.patch_size) * (cols // self.patch_size)
        return ops.reshape(patches, (batch, count, self.patch_size ** 2 * channels))


class PatchEncoder(Layer):
    """keras.io's ViT: a projection plus a learned position embedding."""

    def __init__(self, num_patches, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = num_patches
        self.projection = L.Dense(projection_dim)
        self.position_embedding = L.Embedding(num_patches, projection_dim)

    def call(self, patch):
        positions = ops.expand_dims(ops.arange(0, self.num_patches, 1), axis=0)
        return self.projection(patch) + self.position_embedding(positions)


def small_vit():
    inputs = Input((16, 16, 3))
    encoded = PatchEncoder(16, 8)(Patches(4)(inputs))
    for _ in range(2):
        x1 = L.LayerNormalization(epsilon=1e-6)(encoded)
        attended = L.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(x1, x1)
        x2 = L.Add()([attended, encoded])
        x3 = L.Dense(8, activation="gelu")(L.LayerNormalization(epsilon=1e-6)(x2))
        encoded = L.Add()([L.Dropout(0.1)(x3), x2])
    features = L.Flatten()(L.LayerNormalization(epsilon=1e-6)(encoded))
    return Model(inputs, L.Dense(5)(L.Dropout(0.5)(features)))


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_keras_io_vit_with_user_layers(opset):
    model = small_vit()
    randomize(model, 3)
    x = np.random.default_rng(0).random((3, 16, 16, 3)).astype(np.float32)
    check(model, x, opset=opset, atol=ATOL)


def test_reshape_to_a_none_batch_on_keras_tensors():
    # TF 2.21: keras.ops.reshape(KerasTensor (None, 4, 4, 48), (None, 16, 48)) has shape
    # (None, 16, 48), and the model runs on any batch
    inputs = Input((4, 4, 48))
    y = ops.reshape(inputs, (None, 16, 48))
    assert tuple(y.shape) == (None, 16, 48)
    x = np.random.default_rng(0).random((2, 4, 4, 48)).astype(np.float32)
    out = Model(inputs, y).predict(x, verbose=0)
    np.testing.assert_array_equal(out, x.reshape(2, 16, 48))


def test_tf_extract_patches_overlapping_same_and_dilated():
    """TensorFlow's spelling, windows that overlap, 'same' padding and rates: a one-hot
    convolution, so exact."""
    inputs = Input((9, 10, 2))
    a = tf.image.extract_patches(inputs, sizes=[1, 3, 2, 1], strides=[1, 2, 1, 1],
                                 rates=[1, 1, 2, 1], padding="SAME")
    b = ops.image.extract_patches(inputs, size=(2, 3), strides=1, padding="valid")
    model = Model(inputs, [a, b])
    x = np.random.default_rng(1).standard_normal((2, 9, 10, 2)).astype(np.float32)
    proto = check(model, x, atol=0.0)
    assert "Conv" in ops_of(proto)


def test_extract_patches_of_unknown_image_size():
    inputs = Input((None, None, 3))
    model = Model(inputs, ops.image.extract_patches(inputs, size=2, padding="same"))
    x = np.random.default_rng(2).random((2, 7, 5, 3)).astype(np.float32)
    check(model, x, atol=0.0)


class Net(Model):
    """A subclassed model returning a dict (Keras 3 predict gives it back by key)."""

    def __init__(self):
        super().__init__()
        self.conv = L.Conv2D(4, 3, activation="relu")
        self.pool = L.GlobalAveragePooling2D()
        self.head = L.Dense(3)
        self.drop = L.Dropout(0.5)

    def call(self, x, training=False):
        h = self.drop(self.pool(self.conv(x)), training=training)
        return {"logits": self.head(h), "features": h}


def test_subclassed_model_exports_its_call():
    model = Net()
    model.build((None, 10, 10, 3))
    randomize(model, 1)
    x = np.random.default_rng(3).random((2, 10, 10, 3)).astype(np.float32)
    data = export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})
    want = model.predict(x, verbose=0)
    # the graph's outputs are the dict's values in sorted-key order (features, logits)
    for g, key in zip(got, sorted(want)):
        np.testing.assert_allclose(g, want[key], atol=ATOL)


class Scaled(Layer):
    """A weight of its own, a ``training`` flag and a second tensor argument."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x, other, training=None):
        if training:
            x = x * 0.0
        return tf.matmul(x * self.w, other, transpose_b=False) + ops.mean(x, axis=-1,
                                                                         keepdims=True)


def test_user_layer_with_weights_training_flag_and_two_tensors():
    a, b = Input((4, 5)), Input((5, 3))
    layer = Scaled()
    model = Model([a, b], layer(a, b))
    layer.set_weights([np.linspace(-1, 1, 5).astype(np.float32)])
    rng = np.random.default_rng(4)
    xs = [rng.random((2, 4, 5)).astype(np.float32), rng.random((2, 5, 3)).astype(np.float32)]
    check(model, xs, atol=ATOL)


class ShapeReader(Layer):
    """The TF-2 spelling ``tf.shape(x)[0]``: a tensor without the batch axis, which a
    functional model (and so tracing) cannot hold."""

    def call(self, x):
        return tf.reshape(x, [tf.shape(x)[0], -1])


class Counter(Layer):
    """State of its own: each call multiplies by how often it ran, which tracing freezes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def call(self, x):
        self.calls += 1
        return x * float(self.calls)


class Sorter(Layer):
    def call(self, x):
        return ops.sort(x, axis=-1)


@pytest.mark.parametrize("layer, words", [
    (ShapeReader(name="reader"), r"'reader' of type ShapeReader.*could not be traced"),
    (Counter(name="counter"), r"'counter' of type Counter.*computes something else"),
    (Sorter(name="sorter"), r"'sorter' of type Sorter.*cannot be exported.*'sort'"),
])
def test_user_layers_that_cannot_be_followed_are_refused_by_name(layer, words):
    inputs = Input((3, 4))
    model = Model(inputs, layer(inputs))
    with pytest.raises(ValueError, match=words):
        export_bytes(model)


def test_user_layer_inside_time_distributed_is_refused():
    inputs = Input((3, 4, 5))
    model = Model(inputs, L.TimeDistributed(Sorter(), name="td")(inputs))
    with pytest.raises(ValueError, match=r"'td' of type TimeDistributed.*Sorter"):
        export_bytes(model)


def test_keras_tensor_times_a_variable():
    # TF 2.21: KerasTensor * keras.Variable is a KerasTensor of the tensor's shape (the
    # variable held by the operation, so a later assign is seen)
    inputs = Input((4, 5))
    weight = tf.Variable(np.arange(5, dtype=np.float32))
    y = inputs * weight
    assert tuple(y.shape) == (None, 4, 5)
    model = Model(inputs, y - weight)
    weight.assign(np.full(5, 2.0, np.float32))
    x = np.ones((2, 4, 5), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.zeros((2, 4, 5)))
    check(model, x, atol=0.0)


class Features(tf.keras.Model):
    """A subclassed model used as a layer of a functional or Sequential model."""

    def __init__(self):
        super().__init__()
        self.conv = L.Conv2D(4, 3, activation="relu")
        self.pool = L.GlobalAveragePooling2D()

    def call(self, x, training=False):
        return self.pool(self.conv(x))


@pytest.mark.parametrize("outer", ["functional", "sequential"])
def test_subclassed_model_inside_another_model(outer):
    if outer == "functional":
        inputs = Input((8, 8, 3))
        model = Model(inputs, L.Dense(2)(Features()(inputs)))
    else:
        model = tf.keras.Sequential([Input((8, 8, 3)), Features(), L.Dense(2)])
    x = np.random.default_rng(5).random((2, 8, 8, 3)).astype(np.float32)
    check(model, x, atol=ATOL)


class Block(Layer):
    """keras.io's TransformerBlock pattern: sublayers called with the call's training flag."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flip = L.RandomFlip("horizontal")
        self.norm = L.BatchNormalization()
        self.drop = L.Dropout(0.5)

    def call(self, x, training=None):
        return self.drop(self.norm(self.flip(x, training=training), training=training),
                         training=training)


def test_tracing_leaves_the_modes_of_the_layers_inside_as_they_were():
    """Tracing calls the sublayers on symbolic tensors with training=False, which a layer
    keeps as its fixed mode (a RandomFlip would then stop flipping in model(x)); the export
    puts every mode back."""
    block = Block()
    inputs = Input((4, 4, 3))
    model = Model(inputs, block(inputs))
    before = [vars(layer).get("_fixed_training", "unset")
              for layer in (block.flip, block.norm, block.drop)]
    check(model, np.random.default_rng(6).random((2, 4, 4, 3)).astype(np.float32), atol=ATOL)
    after = [vars(layer).get("_fixed_training", "unset")
             for layer in (block.flip, block.norm, block.drop)]
    assert after == before


def test_the_check_of_a_trace_runs_on_unknown_sizes_too():
    inputs = Input((None, 4))
    model = Model(inputs, Counter(name="counter")(inputs))
    with pytest.raises(ValueError, match=r"'counter' of type Counter.*computes something else"):
        export_bytes(model)
