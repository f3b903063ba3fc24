"""ONNX export of `MultiHeadAttention` (projections as MatMul + Add, the scaled dot product
and the softmax; other attended axes through Einsum), `Attention`, `AdditiveAttention` and
`EinsumDense` (Einsum): each agrees with `predict` in onnxruntime (1e-5 absolute), for
sequences, images and volumes, with the causal mask, an attention mask and the attention
scores."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of

ATOL = 1e-5


def agree(build, shapes, xs=None, opset: int = 17):
    inputs = [Input(shape) for shape in shapes]
    model = Model(inputs if len(inputs) > 1 else inputs[0], build(*inputs))
    randomize(model, 1)
    if xs is None:
        xs = [np.random.default_rng(k).standard_normal((3, *s)).astype(np.float32)
              for k, s in enumerate(shapes)]
    return check(model, xs, opset, atol=ATOL)


CASES = {
    "self_attention": (lambda x: L.MultiHeadAttention(2, 3)(x, x), [(5, 4)]),
    "cross_attention_scores": (lambda q, v: L.MultiHeadAttention(
        2, 3, value_dim=2, output_shape=(3, 2))(q, v, return_attention_scores=True),
        [(5, 4), (6, 3)]),
    "separate_key_no_bias": (lambda q, v, k: L.MultiHeadAttention(3, 2, use_bias=False)(
        q, v, key=k), [(5, 4), (6, 3), (6, 2)]),
    "causal": (lambda x: L.MultiHeadAttention(2, 3)(x, x, use_causal_mask=True), [(5, 4)]),
    "causal_scores_dropout": (lambda x: L.MultiHeadAttention(2, 3, dropout=0.3)(
        x, x, use_causal_mask=True, return_attention_scores=True), [(5, 4)]),
    "image": (lambda x: L.MultiHeadAttention(2, 3)(x, x, return_attention_scores=True),
              [(3, 4, 5)]),
    "image_one_axis": (lambda x: L.MultiHeadAttention(2, 3, attention_axes=(2,))(
        x, x, return_attention_scores=True), [(3, 4, 5)]),
    "volume_two_axes": (lambda x: L.MultiHeadAttention(2, 3, attention_axes=(1, 3))(x, x),
                        [(2, 3, 4, 5)]),
    "dot_attention": (lambda q, v: L.Attention()([q, v]), [(5, 4), (6, 4)]),
    "dot_attention_scale_key_scores": (lambda q, v, k: L.Attention(use_scale=True)(
        [q, v, k], return_attention_scores=True), [(5, 4), (6, 3), (6, 4)]),
    "concat_attention_causal": (lambda q, v: L.Attention(score_mode="concat", use_scale=True)(
        [q, v], use_causal_mask=True), [(5, 4), (6, 4)]),
    "additive_attention": (lambda q, v: L.AdditiveAttention()([q, v]), [(5, 4), (6, 4)]),
    "additive_attention_causal_scores": (lambda q, v: L.AdditiveAttention(use_scale=False)(
        [q, v], use_causal_mask=True, return_attention_scores=True), [(5, 4), (5, 4)]),
    "einsum_dense_heads": (lambda x: L.EinsumDense("abc,cde->abde", (None, 5, 2),
                                                   bias_axes="de", activation="relu")(x),
                           [(5, 4)]),
    "einsum_dense_ellipsis": (lambda x: L.EinsumDense("...b,bc->...c", 3, bias_axes="c")(x),
                              [(5, 4, 2)]),
    "einsum_dense_trailing_ellipsis": (lambda x: L.EinsumDense("ab...,bc->ac...", 3)(x),
                                       [(4, 5, 2)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_attention_exports_and_agrees(case):
    agree(*CASES[case])


@pytest.mark.parametrize("scores", [False, True])
def test_attention_mask(scores):
    """A 0/1 mask (batch, T, S) given as a model input; one query sees no key at all: Keras's
    fused path attends to every key alike there, its unfused one (scores asked) to none."""
    mask = np.random.default_rng(3).random((3, 5, 6)) > 0.4
    mask[1, 2] = False
    xs = [np.random.default_rng(4).standard_normal((3, 5, 4)).astype(np.float32),
          np.random.default_rng(5).standard_normal((3, 6, 4)).astype(np.float32),
          mask.astype(np.float32)]
    agree(lambda q, v, m: L.MultiHeadAttention(2, 3)(q, v, attention_mask=m,
                                                     return_attention_scores=scores),
          [(5, 4), (6, 4), (5, 6)], xs)


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_transformer_block_on_variable_length_sequences(opset):
    def block(ids):
        x = L.Embedding(30, 8)(ids)
        attended = L.MultiHeadAttention(2, 4, dropout=0.1)(x, x, use_causal_mask=True)
        x = L.LayerNormalization()(L.Add()([x, attended]))
        ffn = L.Dense(8)(L.Dense(16, activation="gelu")(x))
        x = L.LayerNormalization()(L.Add()([x, ffn]))
        return L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(x))

    inputs = Input((None,), dtype="int32")
    model = Model(inputs, block(inputs))
    randomize(model, 2)
    data = export_bytes(model, opset=opset)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for steps in (1, 4, 9):
        ids = np.random.default_rng(steps).integers(0, 30, (2, steps)).astype("int32")
        got = session.run(None, {session.get_inputs()[0].name: ids})[0]
        np.testing.assert_allclose(got, model.predict(ids, verbose=0), atol=ATOL)
    assert "MatMul" in ops_of(onnx.load_from_string(data))


def test_vision_transformer_patches():
    def vit(images):
        patches = L.Reshape((16, 12))(L.Conv2D(12, 2, strides=2)(images))
        x = L.LayerNormalization(epsilon=1e-6)(patches)
        x = L.Add()([patches, L.MultiHeadAttention(3, 4)(x, x)])
        return L.Dense(2)(L.GlobalAveragePooling1D()(x))
    agree(vit, [(8, 8, 3)])


@pytest.mark.parametrize("build, message", [
    (lambda x: L.MultiHeadAttention(2, 3, name="att")(L.Masking()(x), x),
     "'att' of type MultiHeadAttention.*carries masks"),
    (lambda x: L.Attention(name="att")([x, x], mask=[None, tf.keras.ops.greater(
        x[:, :, 0], 0.0)]), "'att' of type Attention.*takes a mask"),
    (lambda x: L.MultiHeadAttention(2, 3, name="att")(
        L.Reshape((2, 2, 4))(x[:, :4]), L.Reshape((2, 2, 4))(x[:, :4]),
        attention_mask=np.ones((1, 2, 2, 2, 2), bool)),
     "'att' of type MultiHeadAttention.*attention_mask is exported for sequences"),
    (lambda x: L.MultiHeadAttention(2, 3, attention_axes=(2,), name="att")(
        L.Reshape((2, 2, 4))(x[:, :4]), L.Reshape((2, 2, 4))(x[:, :4]), use_causal_mask=True),
     "'att' of type MultiHeadAttention.*use_causal_mask is exported for sequences"),

])
def test_refused_by_name(build, message):
    inputs = Input((5, 4))
    model = Model(inputs, build(inputs))
    with pytest.raises(ValueError, match=message):
        export_bytes(model)


def test_images_of_unknown_size_are_refused():
    inputs = Input((None, None, 4))
    model = Model(inputs, L.MultiHeadAttention(2, 3, name="att")(inputs, inputs))
    with pytest.raises(ValueError, match="'att' of type MultiHeadAttention.*known sizes"):
        export_bytes(model)


def test_subclassed_attention_is_refused():
    class Local(L.MultiHeadAttention):
        pass

    inputs = Input((5, 4))
    model = Model(inputs, Local(2, 3, name="local")(inputs, inputs))
    with pytest.raises(ValueError, match="'local' of type Local"):
        export_bytes(model)
