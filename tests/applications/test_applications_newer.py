"""ResNet50V2/101V2/152V2, MobileNetV3Small/Large, EfficientNetV2B0..B3/S/M/L and ConvNeXt against Keras 3.15.1's own builds
(``tests/fixtures/make_applications_newer.py``): every layer's name, class, output shape and
inputs, the parameter counts, predictions from the same seeded weights, and Keras-written
weight files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import applications as apps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from applications_specs import NEWER_PREDICT, NEWER_SPECS
from seeded_weights import seed_model

from tests.applications.test_applications_more import _same_name, _shape_text

SLOW = {"resnet152v2", "effv2m", "effv2l", "convnext_small"}


@pytest.fixture(scope="module")
def keras_record():
    return np.load(FIXTURES / "applications_newer.npz", allow_pickle=False)


def build(key, **changes):
    builder, kwargs = NEWER_SPECS[key]
    return getattr(apps, builder)(**{"weights": None, **kwargs, **changes})


def _keras_class(layer) -> str:
    # Keras 3 computes MobileNetV3's squeeze-excite gate as ReLU(6)(x + 3) * (1/6) around an
    # automatic ReLU; convnp has one Activation("hard_sigmoid") in that ReLU's place
    if type(layer).__name__ == "Activation" and layer.get_config()["activation"] == \
            "hard_sigmoid":
        return "ReLU"
    return type(layer).__name__


def _inputs(key, keras_record):
    shape = NEWER_SPECS[key][1]["input_shape"]
    x = keras_record[f"x/{shape[0]}" if shape[0] == shape[1] else f"x/{shape[0]}x{shape[1]}"]
    if key.startswith("resnet"):
        x = apps.resnet_v2.preprocess_input(x)
    return x


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k
                                 for k in NEWER_SPECS])
def test_architecture_matches_keras(key, keras_record):
    model = build(key)
    z = {name: keras_record[f"{key}/{name}"] for name in
         ("names", "classes", "shapes", "inbound", "params", "model_name")}
    assert model.name == str(z["model_name"])
    assert len(model.layers) == len(z["names"])
    renamed = {}
    for layer, theirs in zip(model.layers, z["names"]):
        assert _same_name(layer.name, str(theirs)), (layer.name, str(theirs))
        renamed[layer.name] = str(theirs)
    assert [_keras_class(layer) for layer in model.layers] == list(z["classes"])
    assert [_shape_text(layer.output.shape) for layer in model.layers] == list(z["shapes"])
    for layer, expected in zip(model.layers, z["inbound"]):
        nodes = layer.inbound_nodes
        if not str(expected):
            continue
        read = ",".join(renamed[t.layer.name] for t in nodes[0].input_tensors)
        assert read == str(expected), layer.name
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert [trainable, frozen] == list(z["params"])


@pytest.mark.parametrize("key", NEWER_PREDICT)
def test_predictions_match_keras(key, keras_record):
    model = build(key)
    seed_model(model, keras_record[f"{key}/names"])
    np.testing.assert_allclose(model.predict(_inputs(key, keras_record), verbose=0),
                               keras_record[f"{key}/logits"], atol=1e-4)


def test_full_size_parameter_counts_are_keras():
    # Keras 3.15.1's counts at 224x224 with the 1000-class top
    assert apps.ResNet50V2().count_params() == 25_613_800
    assert apps.MobileNetV3Small().count_params() == 2_554_968
    assert apps.MobileNetV3Large().count_params() == 5_507_432
    assert apps.EfficientNetV2B0().count_params() == 7_200_312
    assert apps.EfficientNetV2S().count_params() == 21_612_360
    assert apps.ConvNeXtTiny().count_params() == 28_589_128


def test_keras2_h5_weights_load(keras_record):
    pytest.importorskip("h5py")
    model = build("mnv3small_min_a075",
                  weights=FIXTURES / "mobilenet_v3_small_min_0.75_64_no_top.h5")
    np.testing.assert_allclose(model.predict(_inputs("mnv3small_min_a075", keras_record),
                                             verbose=0),
                               keras_record["mnv3small_min_a075/logits"], atol=1e-4)


def test_keras3_weights_h5_loads(keras_record):
    # written by Keras's model.save_weights: its keys count Keras's ReLU layers, convnp's
    # hard-sigmoid Activation stands in one of them (neither has weights)
    pytest.importorskip("h5py")
    model = build("mnv3small_a035",
                  weights=FIXTURES / "mobilenet_v3_small_0.35_64_no_top.weights.h5")
    np.testing.assert_allclose(model.predict(_inputs("mnv3small_a035", keras_record),
                                             verbose=0),
                               keras_record["mnv3small_a035/logits"], atol=1e-4)


def test_saved_by_convnp_and_loaded_back(tmp_path, keras_record):
    pytest.importorskip("h5py")
    source = build("mnv3small_a035")
    seed_model(source, keras_record["mnv3small_a035/names"])
    source.save(tmp_path / "m.keras")
    model = build("mnv3small_a035", weights=tmp_path / "m.keras")
    np.testing.assert_allclose(model.predict(_inputs("mnv3small_a035", keras_record),
                                             verbose=0),
                               keras_record["mnv3small_a035/logits"], atol=1e-4)


def test_a_weights_file_of_another_model_is_refused():
    pytest.importorskip("h5py")
    with pytest.raises(ValueError, match="expects weights of shapes"):
        apps.MobileNetV3Small(input_shape=(64, 64, 3), alpha=1.0, minimalistic=True,
                              include_top=False,
                              weights=FIXTURES / "mobilenet_v3_small_min_0.75_64_no_top.h5")


def test_keras_namespace_and_modules():
    ka = tf.keras.applications
    for name in ("ResNet50V2", "ResNet101V2", "ResNet152V2", "MobileNetV3Small",
                 "MobileNetV3Large", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
                 "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
                 "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge",
                 "ConvNeXtXLarge"):
        assert getattr(ka, name) is getattr(apps, name)
    assert ka.resnet_v2.ResNet50V2 is apps.ResNet50V2
    assert ka.resnet_v2.ResNet152V2 is apps.ResNet152V2
    assert ka.mobilenet_v3.MobileNetV3Small is apps.MobileNetV3Small
    assert ka.mobilenet_v3.MobileNetV3Large is apps.MobileNetV3Large
    assert ka.efficientnet_v2.EfficientNetV2S is apps.EfficientNetV2S
    assert ka.convnext.ConvNeXtTiny is apps.ConvNeXtTiny
    from convnp.applications import _common

    for module in (ka.resnet_v2, ka.mobilenet_v3, ka.efficientnet_v2, ka.convnext):
        assert module.decode_predictions is _common.decode_predictions


def test_preprocess_input():
    from convnp.applications import convnext, efficientnet_v2, mobilenet_v3, resnet_v2

    x = np.array([[[[0.0, 127.5, 255.0]]]], dtype=np.float32)
    np.testing.assert_allclose(resnet_v2.preprocess_input(x.copy()), [[[[-1, 0, 1]]]])
    assert x[0, 0, 0, 2] == 255.0  # a copy was changed (TF 2.21 changes a float array in place)
    assert mobilenet_v3.preprocess_input(x) is x  # the model rescales itself
    assert efficientnet_v2.preprocess_input(x) is x
    assert convnext.preprocess_input(x) is x
    inputs = tf.keras.Input((1, 1, 3))
    model = tf.keras.Model(inputs, resnet_v2.preprocess_input(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), [[[[-1, 0, 1]]]])
    assert mobilenet_v3.preprocess_input(x, data_format="channels_first") is x
    with pytest.raises(ValueError, match="channels_last"):
        mobilenet_v3.preprocess_input(x, data_format="channels_middle")


@pytest.mark.parametrize("builder, file", [
    ("ResNet50V2", "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5"),
    ("ResNet152V2", "resnet152v2_weights"),
    ("MobileNetV3Small", "weights_mobilenet_v3_small_224_1.0_float.h5"),
    ("MobileNetV3Large", "weights_mobilenet_v3_large_224_1.0_float.h5"),
    ("EfficientNetV2B0", "efficientnetv2-b0.h5"), ("EfficientNetV2S", "efficientnetv2-s.h5"),
    ("EfficientNetV2L", "efficientnetv2-l.h5"), ("ConvNeXtTiny", "convnext_tiny.h5"),
    ("ConvNeXtXLarge", "convnext_xlarge.h5")])
def test_imagenet_weights_are_refused_with_the_file_to_pass(builder, file):
    with pytest.raises(ValueError, match=f"downloads nothing.*{file}.*weights='/path/to/"):
        getattr(apps, builder)(weights="imagenet")


def test_imagenet_file_name_follows_the_variant():
    with pytest.raises(ValueError, match="v3_large_minimalistic_224_1.0_float_no_top_v2.h5"):
        apps.MobileNetV3Large(weights="imagenet", minimalistic=True, include_top=False)
    with pytest.raises(ValueError, match="efficientnetv2-b3_notop.h5"):
        apps.EfficientNetV2B3(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match="convnext_base_notop.h5"):
        apps.ConvNeXtBase(weights="imagenet", include_top=False)


def test_bad_arguments_are_refused_before_building():
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        apps.MobileNetV3Small(alpha=0)
    with pytest.raises(TypeError, match="minimalistic must be a bool, got 'yes'"):
        apps.MobileNetV3Small(minimalistic="yes")
    with pytest.raises(TypeError, match="include_preprocessing must be a bool"):
        apps.MobileNetV3Large(include_preprocessing=None)
    with pytest.raises(ValueError, match=r"dropout_rate must be a number in \[0, 1\), got 1"):
        apps.MobileNetV3Large(dropout_rate=1)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.MobileNetV3Small(input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.ResNet50V2(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        apps.ResNet101V2(include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="classes must be a positive int, got 0"):
        apps.ResNet152V2(classes=0)
    with pytest.raises(ValueError, match="does not exist"):
        apps.MobileNetV3Small(weights="/no/such/file.h5")
    with pytest.raises(TypeError, match="include_preprocessing must be a bool"):
        apps.EfficientNetV2B0(include_preprocessing=1)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.EfficientNetV2S(input_shape=(32, 30, 3))
    with pytest.raises(TypeError, match="include_preprocessing must be a bool"):
        apps.ConvNeXtTiny(include_preprocessing="no")
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        apps.ConvNeXtTiny(name=None)


def test_minimalistic_has_no_squeeze_excite_or_hard_swish():
    model = apps.MobileNetV3Small(input_shape=(32, 32, 3), minimalistic=True, weights=None)
    names = [layer.name for layer in model.layers]
    assert not any("squeeze_excite" in n for n in names)
    activations = {layer.get_config()["activation"] for layer in model.layers
                   if type(layer).__name__ == "Activation"}
    assert activations == {"softmax"}
    assert model.get_layer("expanded_conv_3_depthwise").kernel_size == (3, 3)
    full = apps.MobileNetV3Small(input_shape=(32, 32, 3), weights=None)
    assert full.get_layer("expanded_conv_3_depthwise").kernel_size == (5, 5)


def test_a_training_step_reaches_every_trainable_weight():
    # backward through hard swish, the hard-sigmoid gate, Multiply, the 1x1-conv top, Flatten
    tf.keras.utils.set_random_seed(3)
    model = apps.MobileNetV3Small(input_shape=(32, 32, 3), alpha=0.35, classes=3, weights=None)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]


@pytest.mark.slow
def test_resnet50v2_trains_one_step():
    tf.keras.utils.set_random_seed(4)
    model = apps.ResNet50V2(input_shape=(32, 32, 3), classes=2, weights=None)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    before = np.array(model.get_layer("conv1_conv").kernel)
    assert np.isfinite(model.train_on_batch(x, np.array([0, 1])))
    assert not np.array_equal(before, np.asarray(model.get_layer("conv1_conv").kernel))


def test_efficientnet_v2_blocks_fused_then_depthwise():
    model = apps.EfficientNetV2B0(input_shape=(32, 32, 3), include_top=False)
    names = [layer.name for layer in model.layers]
    # stage 1: fused without expansion: a 3x3 projection followed by swish
    assert model.get_layer("block1a_project_conv").kernel_size == (3, 3)
    assert "block1a_project_activation" in names and "block1a_drop" not in names
    # stage 2: fused, its 3x3 expansion carries the stride, the projection is 1x1
    assert model.get_layer("block2a_expand_conv").strides == (2, 2)
    assert model.get_layer("block2a_project_conv").kernel_size == (1, 1)
    assert not any(n.startswith("block2") and "dwconv" in n for n in names)
    # stage 4 on: depthwise blocks with squeeze-and-excitation
    assert model.get_layer("block4a_dwconv2").strides == (2, 2)
    assert "block4a_se_excite" in names
    # drop connect: rate 0.2 * block index / 21 blocks
    assert model.get_layer("block2b_drop").rate == pytest.approx(0.2 * 2 / 21)
    assert model.get_layer("block6h_drop").rate == pytest.approx(0.2 * 20 / 21)
    # the B variants normalize with ImageNet's statistics in the model, without weights
    assert not model.get_layer(names[2]).weights
    s_model = apps.EfficientNetV2S(input_shape=(32, 32, 3), include_top=False)
    assert type(s_model.layers[2]).__name__ == "Conv2D"  # S: only a Rescaling to [-1, 1]


def test_efficientnet_v2_trains_one_step():
    # backward through fused and depthwise blocks, squeeze-and-excitation, drop connect and the
    # fixed Normalization stem
    tf.keras.utils.set_random_seed(5)
    model = apps.EfficientNetV2B0(input_shape=(32, 32, 3), classes=3, weights=None)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(2).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]


def test_convnext_stages_and_nested_sequentials():
    model = apps.ConvNeXtTiny(input_shape=(32, 32, 3), include_top=False, name="cnx")
    stem = model.get_layer("cnx_stem")
    assert type(stem).__name__ == "Sequential"
    assert [layer.name for layer in stem.layers] == ["cnx_stem_conv", "cnx_stem_layernorm"]
    down = model.get_layer("cnx_downsampling_block_2")
    assert [layer.name for layer in down.layers] == ["cnx_downsampling_layernorm_2",
                                                     "cnx_downsampling_conv_2"]
    conv = model.get_layer("cnx_stage_2_block_8_depthwise_conv")
    assert conv.groups == 384 and conv.kernel_size == (7, 7)
    scale = model.get_layer("cnx_stage_0_block_0_layer_scale")
    np.testing.assert_array_equal(np.asarray(scale.weights[0]), np.full(96, 1e-6, np.float32))
    # without the top: a layer normalization ends the model, even without pooling
    assert type(model.layers[-1]).__name__ == "LayerNormalization"
    assert model.output_shape == (None, 1, 1, 768)
    assert not model.get_layer("cnx_prestem_normalization").weights


@pytest.mark.slow
def test_convnext_trains_one_step():
    # backward through the nested Sequentials, grouped 7x7 convs, layer norms, Dense on
    # 4-D tensors, GELU, LayerScale and the residual Add layers
    tf.keras.utils.set_random_seed(6)
    model = apps.ConvNeXtTiny(input_shape=(32, 32, 3), classes=2, weights=None)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    before = [np.array(w) for w in model.trainable_weights]
    assert np.isfinite(model.train_on_batch(x, np.array([0, 1])))
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]


@pytest.mark.parametrize("builder, kwargs", [
    ("ResNet50V2", {"include_top": False}),
    ("MobileNetV3Small", {"classes": 5}),
    ("MobileNetV3Large", {"include_top": False, "minimalistic": True}),
    ("EfficientNetV2B0", {"include_top": False, "pooling": "avg"}),
    ("ConvNeXtTiny", {"include_top": False, "pooling": "max"})])
def test_any_image_size_without_input_shape_as_keras(builder, kwargs):
    # Keras's default without a size-bound top (MobileNetV3: always) is (None, None, 3);
    # keras.io's "Visualizing what convnets learn" feeds ResNet50V2 180x180 images so
    model = getattr(apps, builder)(**kwargs)
    assert model.input_shape == (None, None, None, 3)
    rng = np.random.default_rng(0)
    for rows, cols in ((32, 32), (45, 61)):
        out = model.predict(rng.uniform(0, 255, (1, rows, cols, 3)).astype(np.float32),
                            verbose=0)
        assert np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="at least 32x32"):
        getattr(apps, builder)(input_shape=(None, 31, 3), **kwargs)
    with_top = {"ResNet50V2": 224, "EfficientNetV2B0": 224, "ConvNeXtTiny": 224}
    if builder in with_top:
        assert getattr(apps, builder)().input_shape == (None, 224, 224, 3)


def test_any_size_model_predicts_as_keras(keras_record):
    # the same weights in a (None, None, 3) build give Keras's 64x64 predictions
    model = build("mnv3small_a035", input_shape=None)
    seed_model(model, keras_record["mnv3small_a035/names"])
    np.testing.assert_allclose(model.predict(_inputs("mnv3small_a035", keras_record),
                                             verbose=0),
                               keras_record["mnv3small_a035/logits"], atol=1e-4)
    with pytest.raises(ValueError, match=r"rows and cols may be None"):
        apps.ResNet50V2(include_top=False, input_shape=(64, 64, None))
    with pytest.raises(ValueError,
                       match=r"static `input_shape`. Received: input_shape=\(None, 64, 3\)"):
        apps.ResNet50V2(include_top=True, input_shape=(None, 64, 3))
