"""ONNX export of the tensor functions users put in Lambdas and their own layers that the
exporter refused before (each was "has no ONNX mapping"): l2_normalize / normalize (FaceNet's
embedding), gelu (both forms), image resize, einsum, stack, pad, depth_to_space /
space_to_depth (ESPCN's sub-pixel shuffle), cumsum, std / variance, norm, matmul with
transposes and cast to float32; and the clear refusals of the options without an ONNX form.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.keras import backend as K
from convnp.keras import ops
from convnp.models import Input, Model
from tests.interop.test_onnx_export import check

ATOL = 1e-5

FUNCTIONS = {
    "tf.math.l2_normalize": lambda t: tf.math.l2_normalize(t, axis=-1),
    "tf.nn.l2_normalize two axes": lambda t: tf.nn.l2_normalize(t, axis=[1, 2], epsilon=1e-3),
    "K.l2_normalize": lambda t: K.l2_normalize(t, axis=1),
    "ops.normalize": lambda t: ops.normalize(t, axis=-1),
    "ops.normalize epsilon": lambda t: ops.normalize(t * 1e-4, axis=-1, epsilon=0.5),
    "tf.nn.gelu": lambda t: tf.nn.gelu(t),
    "tf.nn.gelu approximate": lambda t: tf.nn.gelu(t, approximate=True),
    "ops.gelu (tanh form by default)": lambda t: ops.gelu(t),
    "tf.image.resize": lambda t: tf.image.resize(t, (13, 7)),
    "tf.image.resize nearest": lambda t: tf.image.resize(t, (16, 20), method="nearest"),
    "ops.image.resize": lambda t: ops.image.resize(t, (5, 11), interpolation="bilinear"),
    "tf.einsum": lambda t: tf.einsum("bhwc,bhwc->bhw", t, t),
    "ops.einsum constant": lambda t: ops.einsum("...c,cd->...d", t,
                                                np.linspace(-1, 1, 6).reshape(3, 2)),
    "tf.stack": lambda t: tf.stack([t, 2 * t], axis=-1),
    "ops.stack": lambda t: ops.stack([t, t + 1.0, t], axis=1),
    "tf.pad": lambda t: tf.pad(t, [[0, 0], [1, 2], [0, 1], [0, 0]], constant_values=0.5),
    "tf.pad reflect": lambda t: tf.pad(t, [[0, 0], [2, 1], [1, 1], [0, 0]], mode="REFLECT"),
    "ops.pad reflect": lambda t: ops.pad(t, [[0, 0], [1, 1], [2, 0], [0, 1]], mode="reflect"),
    "tf.nn.depth_to_space": lambda t: tf.nn.depth_to_space(tf.concat([t, t * 2, -t, t], -1),
                                                           2),
    "tf.nn.space_to_depth": lambda t: tf.nn.space_to_depth(t, 2),
    "tf.cumsum": lambda t: tf.cumsum(t, axis=2),
    "tf.cumsum exclusive reverse": lambda t: tf.cumsum(t, axis=1, exclusive=True, reverse=True),
    "tf.math.reduce_std": lambda t: tf.math.reduce_std(t, axis=-1),
    "ops.var keepdims": lambda t: ops.var(t, axis=[1, 2], keepdims=True),
    "tf.norm": lambda t: tf.norm(t, axis=-1, keepdims=True),
    "ops.norm": lambda t: ops.norm(t, axis=2),
    "tf.matmul transpose_b": lambda t: tf.matmul(t, t, transpose_b=True),
    "tf.matmul transpose_a": lambda t: tf.matmul(t, t, transpose_a=True),
    "tf.cast float32": lambda t: tf.cast(t, tf.float32) / 255.0,
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_lambda_function_exports(name):
    inputs = Input((8, 6, 3))
    model = Model(inputs, L.Lambda(FUNCTIONS[name])(inputs))
    x = np.random.default_rng(0).standard_normal((2, 8, 6, 3)).astype(np.float32)
    check(model, x, atol=ATOL)


@pytest.mark.parametrize("opset", [13, 21])
def test_facenet_style_embedding_and_espcn_shuffle(opset):
    """The course's FaceNet head (Dense, then l2_normalize in a Lambda) and keras.io's ESPCN
    upscaler (Conv2D, then depth_to_space)."""
    inputs = Input((6, 6, 1))
    h = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    up = L.Lambda(lambda t: tf.nn.depth_to_space(t, 2))(h)
    embedding = L.Dense(8)(L.Flatten()(up))
    out = L.Lambda(lambda t: K.l2_normalize(t, axis=1))(embedding)
    model = Model(inputs, [up, out])
    x = np.random.default_rng(1).random((3, 6, 6, 1)).astype(np.float32)
    check(model, x, opset=opset, atol=ATOL)


REFUSED = {
    "l2_normalize over everything": (lambda t: tf.math.l2_normalize(t), r"axis=None"),
    "normalize order 1": (lambda t: ops.normalize(t, axis=-1, order=1), r"order=1"),
    "resize bicubic": (lambda t: tf.image.resize(t, (4, 4), method="bicubic"), r"bicubic"),
    "resize antialias": (lambda t: tf.image.resize(t, (4, 4), antialias=True), r"antialias"),
    "pad symmetric": (lambda t: tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC"),
                      r"SYMMETRIC"),
    "cast to int": (lambda t: tf.cast(t, tf.int32), r"float32 only"),
    "cumsum over the batch": (lambda t: tf.cumsum(t, axis=0), r"batch"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_options_without_an_onnx_form_are_refused_by_name(name):
    function, words = REFUSED[name]
    inputs = Input((8, 6, 3))
    model = Model(inputs, L.Lambda(function, name="user_fn")(inputs))
    with pytest.raises(ValueError, match=r"'user_fn' of type Lambda.*" + words):
        export_bytes(model)


def test_argmax_and_argmin_give_the_models_integer_types():
    """keras.ops.argmax gives int32, tf.argmax int64 (its output_type), as predict does; an
    index cast back to float computes on."""
    inputs = Input((6, 5, 3))
    h = L.Conv2D(4, 1)(inputs)
    outputs = [ops.argmax(h, axis=-1), tf.argmax(h, axis=2),
               tf.cast(tf.math.argmin(h, axis=1, output_type=tf.int32), tf.float32) * 2.0,
               ops.argmin(h, axis=-1, keepdims=True)]
    model = Model(inputs, outputs)
    x = np.random.default_rng(3).random((2, 6, 5, 3)).astype(np.float32)
    session = ort.InferenceSession(export_bytes(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})
    for g, w in zip(got, model.predict(x, verbose=0)):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)



def test_split_and_unstack_export_each_part():
    """tf.split (a count, or sizes with one -1), keras.ops.split (NumPy's split points),
    tf.unstack, and a gate made of two halves in a Lambda."""
    inputs = Input((4, 6))
    a, _, c = tf.split(inputs, 3, axis=-1)
    d, e = tf.split(inputs, [1, -1], axis=1)
    f, _, h = ops.split(inputs, [1, 4], axis=-1)
    rows = tf.unstack(inputs, axis=1)
    gate = L.Lambda(lambda t: tf.split(t, 2, axis=-1)[0]
                    * tf.nn.sigmoid(tf.split(t, 2, axis=-1)[1]))(inputs)
    model = Model(inputs, [a, c, d * 1.0, e, f, h, rows[0], rows[3], gate])
    x = np.random.default_rng(4).standard_normal((2, 4, 6)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_keras_2_batch_dot():
    """K.batch_dot of older siamese and attention code: 2-D pairs give (batch, 1)."""
    rng = np.random.default_rng(5)
    a, b = Input((6,)), Input((6,))
    pair = Model([a, b], L.Lambda(lambda v: K.batch_dot(v[0], v[1], axes=1))([a, b]))
    check(pair, [rng.random((2, 6)).astype(np.float32)] * 2, atol=ATOL)
    a, b, c = Input((4, 6)), Input((5, 6)), Input((6, 3))
    model = Model([a, b, c], [K.batch_dot(a, b, axes=(2, 2)), K.batch_dot(b, a, axes=[2, 2]),
                              K.batch_dot(a, c)])
    xs = [rng.random((2, *shape)).astype(np.float32) for shape in ((4, 6), (5, 6), (6, 3))]
    check(model, xs, atol=ATOL)
