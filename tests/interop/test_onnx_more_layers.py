"""ONNX export of the preprocessing, normalization and other core layers (Rescaling,
Normalization, Resizing, CenterCrop, the augmentation layers, GroupNormalization,
UnitNormalization, RMSNormalization, LayerScale, Masking, RepeatVector, Dot, Embedding,
Identity, ActivityRegularization, Lambda): each runs in onnxruntime and agrees with `predict`
(1e-5 absolute); what cannot be exported is refused by name before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export, export_bytes
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of, single

ATOL = 1e-5
ops = tf.keras.ops


def agree(model, x, opset: int = 17, atol: float = ATOL):
    return check(model, x, opset, atol)


IMAGE_CASES = {
    "rescaling": lambda i: L.Rescaling(1 / 127.5, offset=-1)(i),
    "rescaling_after_conv": lambda i: L.Rescaling(0.5)(L.Conv2D(2, 3)(i)),
    "rescaling_per_channel": lambda i: L.Rescaling([2.0, 0.5, -1.0], offset=[0.1, 0.0, 0.3])(
        L.Conv2D(3, 1)(i)),
    "normalization_given": lambda i: L.Normalization(mean=[0.1, -0.2, 0.3],
                                                     variance=[1.5, 0.5, 2.0])(i),
    "normalization_invert_scalar": lambda i: L.Normalization(mean=0.5, variance=4.0,
                                                             invert=True)(i),
    "normalization_axis_none": lambda i: L.Normalization(axis=None, mean=0.2, variance=0.0)(i),
    "normalization_two_axes": lambda i: L.Normalization(
        axis=(2, 3), mean=np.linspace(-1, 1, 27).reshape(9, 3),
        variance=np.linspace(0.5, 2, 27).reshape(9, 3))(i),
    "resizing_bilinear_down": lambda i: L.Resizing(4, 5)(i),
    "resizing_bilinear_up": lambda i: L.Resizing(11, 13)(L.Conv2D(2, 1)(i)),
    "resizing_nearest_down": lambda i: L.Resizing(3, 4, interpolation="nearest")(i),
    "resizing_nearest_up": lambda i: L.Resizing(10, 14, interpolation="nearest")(i),
    "resizing_nearest_odd": lambda i: L.Resizing(5, 6, interpolation="nearest")(i),
    "resizing_crop_aspect": lambda i: L.Resizing(4, 8, crop_to_aspect_ratio=True)(i),
    "resizing_pad_aspect": lambda i: L.Resizing(4, 8, pad_to_aspect_ratio=True,
                                                fill_value=0.5)(i),
    "center_crop": lambda i: L.CenterCrop(4, 5)(i),
    "center_crop_larger": lambda i: L.CenterCrop(8, 12)(i),
    "group_norm": lambda i: L.GroupNormalization(2, beta_initializer="random_normal",
                                                 gamma_initializer="random_normal")(
        L.Conv2D(4, 1)(i)),
    "group_norm_instance_plain": lambda i: L.GroupNormalization(-1, center=False)(i),
    "group_norm_width_axis": lambda i: L.GroupNormalization(3, axis=2, scale=False)(i),
    "unit_norm": lambda i: L.UnitNormalization()(i),
    "unit_norm_spatial": lambda i: L.UnitNormalization(axis=[1, 2])(L.Conv2D(3, 1)(i)),
    "rms_norm": lambda i: L.RMSNormalization()(i),
    "rms_norm_two_axes": lambda i: L.RMSNormalization(axis=[2, 3], epsilon=1e-3)(i),
    "layer_scale": lambda i: L.LayerScale(0.3, 3)(i),
    "layer_norm_inner_axis": lambda i: L.LayerNormalization(axis=1)(i),
    "identity_layers": lambda i: L.Identity()(L.ActivityRegularization(0.1, 0.1)(i)),
    "softmax_two_axes": lambda i: L.Softmax(axis=[1, 2])(L.Conv2D(3, 1)(i)),
    "pipeline": lambda i: L.Pipeline([L.RandomFlip(), L.Rescaling(0.5), L.Resizing(4, 4)])(i),
    "time_distributed_conv": lambda i: L.TimeDistributed(L.Conv1D(2, 3, activation="relu"))(
        i),
    "time_distributed_dense": lambda i: L.TimeDistributed(L.Dense(4))(i),
}


@pytest.mark.parametrize("case", sorted(IMAGE_CASES))
def test_image_layers_export_and_agree(case):
    model, x = single(IMAGE_CASES[case], shape=(7, 9, 3))
    agree(model, x)


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_normalizations_at_opsets(opset):
    def build(i):
        a = L.LayerNormalization(beta_initializer="random_normal")(i)
        b = L.GroupNormalization(3)(L.UnitNormalization(axis=[1, 2])(i))
        return L.Concatenate()([a, b, L.RMSNormalization(axis=[1, 3])(i)])
    model, x = single(build, shape=(5, 6, 3))
    proto = agree(model, x, opset)
    assert ("LayerNormalization" in ops_of(proto)) == (opset >= 17)


def test_resizing_sizes_unknown_at_export():
    inputs = Input(shape=(None, None, 2))
    model = Model(inputs, L.Resizing(6, 4)(inputs))
    for hw in ((5, 9), (12, 3)):
        x = np.random.default_rng(hw[0]).standard_normal((2, *hw, 2)).astype(np.float32)
        agree(model, x)


def test_video_classifier_time_distributed_then_lstm():
    frames = Input(shape=(4, 8, 8, 3))
    x = L.TimeDistributed(L.MaxPooling2D())(L.TimeDistributed(L.Conv2D(4, 3))(frames))
    x = L.TimeDistributed(L.GlobalAveragePooling2D())(x)
    model = Model(frames, L.Dense(2, activation="softmax")(L.LSTM(3)(x)))
    randomize(model, 9)
    agree(model, np.random.default_rng(9).random((2, 4, 8, 8, 3), dtype=np.float32))


def test_time_distributed_refusals():
    model, _ = single(lambda i: L.TimeDistributed(L.LSTM(2), name="td")(i), shape=(7, 9, 3))
    with pytest.raises(ValueError, match="'td' of type TimeDistributed.*LSTM cannot be "
                                         "exported inside it"):
        export_bytes(model)
    inputs = Input(shape=(None, None, 3))
    model = Model(inputs, L.TimeDistributed(L.Dense(2), name="td")(inputs))
    with pytest.raises(ValueError, match="'td' of type TimeDistributed.*must be known"):
        export_bytes(model)


def test_aspect_ratio_crop_needs_known_sizes():
    inputs = Input(shape=(None, None, 2))
    model = Model(inputs, L.Resizing(6, 4, crop_to_aspect_ratio=True, name="fit")(inputs))
    with pytest.raises(ValueError, match="'fit' of type Resizing.*height and width must be"):
        export_bytes(model)


AUGMENTATION = [
    lambda: L.RandomFlip(), lambda: L.RandomRotation(0.2), lambda: L.RandomZoom(0.1),
    lambda: L.RandomTranslation(0.1, 0.1), lambda: L.RandomContrast(0.2),
    lambda: L.RandomCrop(6, 6), lambda: L.RandomBrightness(0.1), lambda: L.RandomHeight(0.2),
    lambda: L.RandomWidth(0.2), lambda: L.RandomInvert(), lambda: L.RandomGrayscale(),
    lambda: L.RandomColorDegeneration(0.3), lambda: L.RandomHue(0.2),
    lambda: L.RandomSaturation(0.3), lambda: L.RandomPosterization(4),
    lambda: L.RandomSharpness(0.2), lambda: L.RandomGaussianBlur(0.5),
    lambda: L.RandomColorJitter(brightness_factor=0.2), lambda: L.RandomShear(0.2),
    lambda: L.RandomErasing(), lambda: L.RandomPerspective(), lambda: L.RandomElasticTransform(),
    lambda: L.Solarization(0.5), lambda: L.Equalization(), lambda: L.MixUp(),
    lambda: L.CutMix(), lambda: L.RandAugment(), lambda: L.AugMix(),
]


@pytest.mark.parametrize("make", AUGMENTATION)
def test_augmentation_layers_are_the_identity(make):
    layer = make()
    model, x = single(lambda i: L.Conv2D(2, 1)(layer(i)), shape=(6, 6, 3))
    x = np.abs(x)  # images in [0, ...): the color layers' value range
    proto = agree(model, x)
    assert ops_of(proto) == ["Transpose", "Conv", "Transpose"]


def test_random_crop_changing_the_size_is_refused():
    inputs = Input(shape=(6, 6, 3))
    model = Model(inputs, L.RandomCrop(4, 4, name="crop")(inputs))
    with pytest.raises(ValueError, match="'crop' of type RandomCrop.*unchanged"):
        export_bytes(model)


def test_augmentation_fixed_to_training_is_refused():
    inputs = Input(shape=(6, 6, 3))
    model = Model(inputs, L.RandomFlip(name="flip")(inputs, training=True))
    with pytest.raises(ValueError, match="'flip' of type RandomFlip.*training=True"):
        export_bytes(model)


def test_masking_repeat_vector_and_dot():
    inputs = Input(shape=(6, 4))
    masked = L.Masking(0.0)(inputs)
    pooled = L.GlobalMaxPooling1D()(masked)  # drops the mask (Keras 3.15)
    repeated = L.RepeatVector(3)(L.Dense(4)(pooled))
    similarity = L.Dot(axes=(2, 2), normalize=True)([repeated, masked])
    score = L.Dot(axes=1)([pooled, L.Dense(4)(pooled)])
    model = Model(inputs, [similarity, score, L.Dot(axes=(1, 1))([masked, inputs])])
    randomize(model, 3)
    x = np.random.default_rng(4).standard_normal((3, 6, 4)).astype(np.float32)
    x[0, 2:4] = 0.0  # masked steps
    x[1, 5] = 0.0
    agree(model, x)


def test_a_layer_reading_a_models_mask_is_refused_by_name():
    """GlobalAveragePooling1D averages the kept steps of a Masking's mask (Keras 3): the
    graph's call reads the mask, which ONNX cannot follow."""
    inputs = Input(shape=(6, 4))
    pooled = L.GlobalAveragePooling1D(name="pool")(L.Masking(0.0)(inputs))
    model = Model(inputs, L.Dense(2)(pooled))
    with pytest.raises(ValueError, match="'pool' of type GlobalAveragePooling1D.*reads a mask"):
        export_bytes(model)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_embedding(dtype):
    inputs = Input(shape=(5,), dtype=dtype)
    y = L.Embedding(12, 4)(inputs)
    model = Model(inputs, L.Dense(2)(L.Flatten()(y)))
    randomize(model, 5)
    x = np.random.default_rng(6).integers(0, 12, (3, 5)).astype(dtype)
    data = export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == f"tensor({'float' if dtype == 'float32' else dtype})"
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=ATOL)


LAMBDAS = {
    "arithmetic": (lambda t: t * 2.0 - 1.0, False),
    "ops": (lambda t: ops.mean(ops.relu(t), axis=1) + tf.nn.relu(t)[:, 0], False),
    "on_a_list": (lambda ts: ts[0] * ts[1] + ts[0], True),
    "identity": (lambda t: t, False),
}


@pytest.mark.parametrize("case", sorted(LAMBDAS))
def test_lambda_is_traced(case):
    function, on_list = LAMBDAS[case]
    inputs = Input(shape=(5, 3))
    x = L.Dense(3)(inputs)
    layer = L.Lambda(function)
    model = Model(inputs, L.Dense(2)(layer([x, inputs] if on_list else x)))
    randomize(model, 7)
    agree(model, np.random.default_rng(8).standard_normal((2, 5, 3)).astype(np.float32))


def test_lambda_with_arguments_and_training():
    def scale(t, factor, training=False):
        return t * factor if not training else t
    model, x = single(lambda i: L.Lambda(scale, arguments={"factor": 3.0})(i), shape=(4,))
    agree(model, x)


@pytest.mark.parametrize("function, message", [
    (lambda t: t.numpy(), "could not be traced"),
    (lambda t: ops.sort(t, axis=-1) * 1.0, "'sort' has no ONNX mapping"),
])
def test_lambda_that_cannot_be_exported_is_refused(function, message, tmp_path):
    inputs = Input(shape=(4,))
    model = Model(inputs, L.Lambda(function, name="fn")(inputs))
    target = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=message):
        export(model, target)
    assert not target.exists()


@pytest.mark.parametrize("opset", list(range(13, 22)))
def test_a_model_of_the_new_layers_at_every_opset(opset):
    def build(i):
        x = L.Resizing(6, 8, interpolation="nearest")(L.Rescaling(0.5, offset=-0.2)(i))
        x = L.GroupNormalization(3)(L.Resizing(5, 7)(L.Conv2D(6, 3, padding="same")(x)))
        x = L.Softmax(axis=[1, 2])(L.UnitNormalization()(L.RMSNormalization()(x)))
        seq = L.Reshape((35, 6))(x)
        seq = L.Conv1D(4, 3, padding="causal")(L.LayerNormalization(axis=1)(seq))
        attended = L.MultiHeadAttention(2, 3)(seq, seq, use_causal_mask=True)
        pooled = L.Attention()([seq, attended])
        recurrent = L.Bidirectional(L.GRU(3, return_sequences=True))(pooled)
        scores = L.Dot(axes=(2, 2))([recurrent, recurrent])
        return L.Dense(2)(L.LSTM(3)(L.TimeDistributed(L.Dense(4))(scores)))
    model, x = single(build, shape=(7, 9, 3), batch=2)
    agree(model, x, opset)
