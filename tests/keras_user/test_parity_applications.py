"""``keras.applications``' ``preprocess_input`` as TF 2.21 (Keras 3.15) gives it: a tensor back
for a tensor, both data formats, and images with more channels than RGB (or any number for
the scaling-only "tf" mode). The expected values were computed by TF 2.21 on the same inputs."""

import json

import numpy as np
import pytest

import convnp as tf

apps = tf.keras.applications


def _images():
    # a (2, 3, 2, 2) channels-first batch: 0, 10, 20, ... in order
    return np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) * 10


def test_a_tensor_comes_back_as_a_tensor():
    # TF 2.21 returns a tf.Tensor for a tensor (or Variable) input: `.numpy()` works on it
    x = np.full((1, 1, 1, 3), 100, np.float32)
    for module in (apps.vgg16, apps.mobilenet_v2, apps.densenet):
        for given in (tf.constant(x), tf.Variable(x)):
            out = module.preprocess_input(given)
            assert tf.is_tensor(out), module.__name__
            assert out.numpy().shape == (1, 1, 1, 3)
    np.testing.assert_allclose(apps.vgg16.preprocess_input(tf.constant(x)).numpy().ravel(),
                               [-3.939, -16.779, -23.68], rtol=1e-5)
    assert isinstance(apps.vgg16.preprocess_input(x), np.ndarray)
    assert not tf.is_tensor(apps.vgg16.preprocess_input(x))


def test_channels_first_batches_and_single_images():
    # TF 2.21's values for the batch (first six) and for its first image alone
    expected = {
        "vgg16": [-23.939, -13.939, -3.939, 6.061, -76.779, -66.779],
        "densenet": [-2.1179, -1.9467, -1.7754, -1.6042, -1.3354, -1.1604],
        "mobilenet_v2": [-1.0, -0.9216, -0.8431, -0.7647, -0.6863, -0.6078],
    }
    for name, values in expected.items():
        module = getattr(apps, name)
        batch = module.preprocess_input(_images(), data_format="channels_first")
        single = module.preprocess_input(_images()[0], data_format="channels_first")
        assert batch.shape == (2, 3, 2, 2) and single.shape == (3, 2, 2)
        np.testing.assert_allclose(batch.ravel()[:6], values, atol=1e-4)
        np.testing.assert_allclose(single.ravel()[:6], values, atol=1e-4)
    # 'caffe': the channel axis (axis 1) is reversed, so blue (80 ... 110) comes first
    out = apps.resnet50.preprocess_input(_images(), data_format="channels_first")
    np.testing.assert_allclose(out[0, 0].ravel(), np.array([80, 90, 100, 110]) - 103.939,
                               rtol=1e-5)


def test_extra_and_fewer_channels():
    rgba = np.full((1, 1, 1, 4), 100, np.float32)
    # TF 2.21: "caffe" reverses all four channels, then subtracts the means from the first three
    np.testing.assert_allclose(apps.vgg16.preprocess_input(rgba.copy()).ravel(),
                               [-3.939, -16.779, -23.68, 100.0], rtol=1e-5)
    # "torch" standardizes the first three and only scales the fourth
    np.testing.assert_allclose(apps.densenet.preprocess_input(rgba).ravel(),
                               [-0.4054, -0.285, -0.0615, 0.3922], atol=1e-4)
    # "tf" scales every value: grayscale images work
    gray = np.full((2, 4, 4, 1), 100, np.float32)
    out = apps.mobilenet_v2.preprocess_input(gray)
    assert out.shape == (2, 4, 4, 1)
    np.testing.assert_allclose(out, -0.2157, atol=1e-4)
    # a single pixel
    np.testing.assert_allclose(apps.vgg16.preprocess_input(np.full(3, 100, np.float32)),
                               [-3.939, -16.779, -23.68], rtol=1e-5)
    # fewer than three channels cannot be read as RGB (TF fails with an IndexError)
    with pytest.raises(ValueError, match="at least 3 channels"):
        apps.vgg16.preprocess_input(np.zeros((2, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="at least 3 channels"):
        apps.densenet.preprocess_input(np.zeros((2, 1, 4, 4)), data_format="channels_first")
    with pytest.raises(ValueError, match="data_format"):
        apps.vgg16.preprocess_input(np.zeros((2, 4, 4, 3)), data_format="nhwc")


def test_the_tf_mode_on_a_grayscale_model_input():
    # TF 2.21 builds this: the "tf" mode is two scalar operations, any channel count
    inputs = tf.keras.Input((4, 4, 1))
    model = tf.keras.Model(inputs, apps.mobilenet_v2.preprocess_input(inputs))
    out = model.predict(np.full((1, 4, 4, 1), 255.0, np.float32), verbose=0)
    np.testing.assert_allclose(out, 1.0)


def test_decode_predictions_reads_the_keras_cache(tmp_path, monkeypatch):
    # TF 2.21 downloads imagenet_class_index.json once into $KERAS_HOME/models and reads it
    # from there afterwards: with that file in place, no class_index argument is needed
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    preds = np.zeros((2, 1000), np.float32)
    preds[0, 7], preds[0, 3], preds[1, 999] = 0.75, 0.25, 1.0
    with pytest.raises(ValueError, match="downloads nothing.*imagenet_class_index.json"):
        apps.resnet50.decode_predictions(preds)  # not cached: a clear error, nothing fetched
    (tmp_path / "models").mkdir()
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (tmp_path / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    decoded = apps.vgg16.decode_predictions(preds, top=2)
    assert [t[:2] for t in decoded[0]] == [("n00000007", "class_7"), ("n00000003", "class_3")]
    assert decoded[1][0][:2] == ("n00000999", "class_999")
    # TF 2.21's score is the NumPy scalar of the predictions, here np.float32
    score = decoded[0][0][2]
    assert type(score) is np.float32 and score == np.float32(0.75)


def test_input_tensor_from_a_layer_starts_the_model_at_its_input():
    # TF 2.21: the model's input is the keras.Input behind input_tensor, so the layers in
    # between (here Rescaling) are part of the model and run on the raw images
    inputs = tf.keras.Input((32, 32, 3))
    scaled = tf.keras.layers.Rescaling(1 / 255.0)(inputs)
    model = apps.MobileNetV2(input_tensor=scaled, include_top=False, weights=None,
                             pooling="avg", alpha=0.35)
    assert model.inputs[0] is inputs
    assert [type(layer).__name__ for layer in model.layers[:3]] == ["InputLayer", "Rescaling",
                                                                    "Conv2D"]
    assert len(model.layers) == 156  # TF 2.21's count (155 with a plain Input)
    same = tf.keras.Model(model.inputs, model.outputs)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(images, verbose=0),
                               same.predict(images, verbose=0), rtol=1e-6)
    for builder in (apps.ConvNeXtTiny, apps.MobileNetV3Small):  # their own model endings
        model = builder(input_tensor=scaled, include_top=False, weights=None)
        assert model.inputs[0] is inputs and type(model.layers[1]).__name__ == "Rescaling"


def test_input_tensor_wins_over_input_shape():
    # TF 2.21 checks input_shape but builds on input_tensor's own shape (no error)
    inputs = tf.keras.Input((40, 40, 3))
    model = apps.ResNet50(input_tensor=inputs, input_shape=(32, 32, 3), include_top=False,
                          weights=None)
    assert model.inputs[0] is inputs and model.output_shape == (None, 2, 2, 2048)


def test_classifier_activation_may_be_a_function():
    # TF 2.21 (weights=None) accepts any activation Dense accepts, functions too
    model = apps.MobileNetV2(input_shape=(32, 32, 3), classes=3, weights=None, alpha=0.35,
                             classifier_activation=tf.keras.activations.sigmoid)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    model = apps.VGG16(input_shape=(32, 32, 3), classes=2, weights=None,
                       classifier_activation=lambda t: t * 2)
    assert model.output_shape == (None, 2)
    model = apps.MobileNet(input_shape=(32, 32, 3), classes=2, weights=None, alpha=0.25,
                           classifier_activation=tf.keras.activations.sigmoid)
    out = model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0)
    assert out.shape == (1, 2) and np.all((out > 0) & (out < 1))
    with pytest.raises(TypeError, match="classifier_activation"):
        apps.VGG16(input_shape=(32, 32, 3), weights=None, classifier_activation=3)


def test_weights_of_the_wrong_type_is_a_value_error():
    # TF 2.21 raises ValueError for weights that are neither None, 'imagenet' nor a path
    with pytest.raises(ValueError, match="weights"):
        apps.VGG16(weights=3, input_shape=(32, 32, 3))


def test_a_gradient_tape_sees_preprocess_input():
    # TF 2.21 computes a tensor's preprocessing with tensor operations, so the gradient of a
    # score with respect to the raw image (a saliency map) flows through it; values from TF
    x = tf.constant(np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3) * 20)
    weights = tf.constant(np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3))
    expected = {"mobilenet_v2": [0.0, 0.0078, 0.0157, 0.0235, 0.0314, 0.0392],
                "resnet50": [2.0, 1.0, 0.0, 5.0, 4.0, 3.0],
                "densenet": [0.0, 0.0175, 0.0349, 0.0514, 0.07, 0.0871]}
    for name, values in expected.items():
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(getattr(apps, name).preprocess_input(x) * weights)
        grad = tape.gradient(score, x)
        assert grad is not None, name
        np.testing.assert_allclose(np.asarray(grad).ravel()[:6], values, atol=1e-4)


def test_alpha_of_the_wrong_type_is_a_type_error():
    # TF 2.21 fails with a TypeError on alpha="1.0" (a NumPy float is a number, as in TF)
    with pytest.raises(TypeError, match="alpha must be a positive number"):
        apps.MobileNetV2(input_shape=(32, 32, 3), alpha="1.0", weights=None)
    with pytest.raises(TypeError, match="alpha"):
        apps.MobileNet(input_shape=(32, 32, 3), alpha=None, weights=None)
    model = apps.MobileNetV2(input_shape=(32, 32, 3), alpha=np.float32(0.35), weights=None,
                             include_top=False)
    assert model.name == "mobilenetv2_0.35_32"
